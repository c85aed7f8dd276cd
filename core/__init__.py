"""TuneLab core: corpus -> tokenizer -> model -> checkpoint + card -> sampler -> piece -> audio."""
