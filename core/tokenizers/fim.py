"""Fill-in-the-middle special tokens for the ABC character tokenizer.

A share of a FIM model's training tunes is rearranged as ``PRE prefix SUF suffix MID middle END``
(Bavarian et al. 2022, "prefix-suffix-middle"), so the model learns to write a middle that
connects to both sides. The four tokens are ASCII separator control characters (file, group,
record and unit separators): they never occur in ABC text, so each stays one character of the
vocabulary and the card format does not change. They are appended after the characters a
model already knows, so a left-to-right checkpoint's ids stay valid.
"""

from __future__ import annotations

from core.tokenizers.abc_chars import FIM_TOKENS, CharTokenizer

PRE, SUF, MID, END = FIM_TOKENS
SPECIALS = (PRE, SUF, MID, END)


def with_fim(tokenizer: CharTokenizer) -> CharTokenizer:
    """The tokenizer with the four FIM tokens appended (unchanged if it already has them)."""
    return CharTokenizer(list(tokenizer.vocab) + [c for c in SPECIALS if c not in tokenizer.index])


def has_fim(tokenizer) -> bool:
    """Whether the tokenizer has all four FIM tokens (so its model was trained to fill in the middle)."""
    index = getattr(tokenizer, "index", {})
    return all(c in index for c in SPECIALS)


def special_ids(tokenizer) -> list[int]:
    """Ids of the FIM tokens this tokenizer has: never to be sampled into a tune."""
    index = getattr(tokenizer, "index", {})
    return [index[c] for c in SPECIALS if c in index]


def fim_ids(tokenizer: CharTokenizer, prefix: str, suffix: str, middle: str | None = None) -> list[int]:
    """``PRE prefix SUF suffix MID [middle END]``: a training example, or (middle None) a prompt."""
    ix = tokenizer.index
    ids = [ix[PRE], *tokenizer.encode(prefix), ix[SUF], *tokenizer.encode(suffix), ix[MID]]
    if middle is not None:
        ids += [*tokenizer.encode(middle), ix[END]]
    return ids
