"""Character-level tokenizer over ABC text: the seed reports' ``char_to_idx``."""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import UserError

FIM_TOKENS = "\x1c\x1d\x1e\x1f"
"""Fill-in-the-middle tokens (see core.tokenizers.fim): in a vocabulary, never in music text."""


class CharTokenizer:
    """One id per character; the vocabulary is fixed at training time and saved with the model."""

    kind = "abc_chars"

    def __init__(self, vocab: Iterable[str]):
        self.vocab = list(vocab)
        if len(set(self.vocab)) != len(self.vocab) or any(len(c) != 1 for c in self.vocab):
            raise ValueError("A character vocabulary must hold distinct single characters.")
        self.index = {c: i for i, c in enumerate(self.vocab)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """Vocabulary of every character in ``text``, sorted so that it is reproducible."""
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def unknown(self, text: str) -> set[str]:
        """Characters of ``text`` that are not in the vocabulary."""
        return {c for c in text if c not in self.index}

    def encode(self, text: str) -> list[int]:
        """Ids of the characters of ``text``; raises UserError naming unknown characters."""
        missing = self.unknown(text)
        if any(c in FIM_TOKENS for c in text):
            raise UserError("The text holds control characters (ASCII 28-31) that ABC never uses; remove them.")
        if missing:
            shown = ", ".join(repr(c) for c in sorted(missing)[:5])
            raise UserError(f"The model has never seen the character(s) {shown}; remove them from the primer.")
        return [self.index[c] for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.vocab[i] for i in ids)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "vocab": self.vocab}

    @classmethod
    def from_dict(cls, data: dict) -> CharTokenizer:
        if data.get("kind") != cls.kind:
            raise ValueError(f"Not a {cls.kind} tokenizer: {data.get('kind')!r}.")
        return cls(data["vocab"])
