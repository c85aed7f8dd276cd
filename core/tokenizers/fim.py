"""Fill-in-the-middle special tokens for the ABC character tokenizer.

A share of a FIM model's training tunes is rearranged so the model learns to write a middle
that connects to both sides (Bavarian et al. 2022), in one of two orders:

- ``psm``: ``PRE prefix SUF suffix MID middle END`` ("prefix-suffix-middle");
- ``spm``: ``SUF suffix PRE prefix middle END`` ("suffix-prefix-middle"): the middle goes on
  straight from the prefix, as left to right, with the suffix read first, so a bar the suffix
  repeats can be copied the way a left-to-right model copies a motif it has seen.

A model's order is ``fim_order`` in its card's training settings (``psm`` when absent). The four
tokens are ASCII separator control characters (file, group, record and unit separators): they never
occur in ABC text, so each stays one character of the vocabulary and the card format does not
change. They are appended after the characters a model already knows, so a left-to-right
checkpoint's ids stay valid.
"""

from __future__ import annotations

from core.tokenizers.abc_chars import FIM_TOKENS, CharTokenizer

PRE, SUF, MID, END = FIM_TOKENS
SPECIALS = (PRE, SUF, MID, END)
ORDERS = ("psm", "spm")


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


def fim_ids(tokenizer: CharTokenizer, prefix: str, suffix: str, middle: str | None = None,
            order: str = "psm") -> list[int]:
    """A training example (with ``middle``) or a prompt (``middle`` None) in ``order`` (see the module)."""
    ix = tokenizer.index
    if order == "spm":
        ids = [ix[SUF], *tokenizer.encode(suffix), ix[PRE], *tokenizer.encode(prefix)]
    elif order == "psm":
        ids = [ix[PRE], *tokenizer.encode(prefix), ix[SUF], *tokenizer.encode(suffix), ix[MID]]
    else:
        raise ValueError(f"unknown fill-in-the-middle order {order!r}")
    if middle is not None:
        ids += [*tokenizer.encode(middle), ix[END]]
    return ids


def order_of(training: dict) -> str:
    """The fill-in-the-middle order a model was trained in, from its card's training settings."""
    return training.get("fim_order") or "psm"
