"""Tokenizers by kind; ``tokenizer_from_dict`` rebuilds the one saved in a checkpoint card."""

from core.tokenizers.abc_chars import CharTokenizer
from core.tokenizers.base import Tokenizer

TOKENIZERS = {CharTokenizer.kind: CharTokenizer}


def tokenizer_from_dict(data: dict) -> Tokenizer:
    """The tokenizer a card describes."""
    kind = data.get("kind")
    if kind not in TOKENIZERS:
        raise ValueError(f"Unknown tokenizer kind {kind!r} in checkpoint card.")
    return TOKENIZERS[kind].from_dict(data)


__all__ = ["CharTokenizer", "Tokenizer", "TOKENIZERS", "tokenizer_from_dict"]
