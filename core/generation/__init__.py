"""Generation: the sampler, its constraints and one compose entry point for every model family."""
