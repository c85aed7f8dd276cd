"""Header fields sampled only among values ABC and the tune books know, at any temperature.

A :class:`ChoiceConstraint` masks every character that would leave the set of allowed values, so a
sampled ``M:``, ``L:``, ``R:`` or ``K:`` is always one of ``METERS``, ``UNITS``, ``RHYTHMS`` or ``KEYS``
(the model still chooses which, with its own probabilities renormalised over what is allowed).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

METERS = ("C", "C|", "2/2", "3/2", "4/2", "6/2", "2/4", "3/4", "4/4", "5/4", "6/4", "2/8", "3/8", "4/8", "5/8",
          "6/8", "7/8", "9/8", "12/8", "3/1", "4/1")
"""Meters of the bundled tune books (O'Neill, Ryan, Aird, Essen), by bar length."""
UNITS = ("1/1", "1/2", "1/4", "1/8", "1/16", "1/32")
MODES = ("", "m", "min", "maj", "ion", "dor", "phr", "lyd", "mix", "aeo", "loc")
KEYS = tuple(f"{tonic}{accidental}{mode}" for tonic in "ABCDEFG" for accidental in ("", "#", "b") for mode in MODES)
"""Every major, minor and modal key ABC spells with a tonic, an accidental and a mode (``D``, ``Ador``, ``F#m``)."""
_RHYTHMS = ("reel", "jig", "double jig", "single jig", "slip jig", "slipjig", "hornpipe", "strathspey", "clog", "air",
            "slow air", "highland fling", "fling", "waltz", "walkaround", "slide", "polka", "march", "gavotte",
            "set dance", "barndance", "mazurka", "schottische", "lament")
RHYTHMS = tuple(sorted({f"{space}{case(r)}" for r in _RHYTHMS for space in ("", " ") for case in (str, str.title)}))
"""Tune types of the tune books' R: lines, as they spell them (``reel``, `` jig``, ``Slip jig``)."""


class ChoiceConstraint:
    """Allows exactly the strings of ``options``, each followed by ``end`` (a newline; "" for none).

    The sampler consults ``allowed()`` before each character and tells it each character read; ``done``
    turns true when a whole option and its end have been read.
    """

    def __init__(self, tokenizer, options: Iterable[str], end: str = "\n"):
        self.tokenizer, self.end = tokenizer, end
        self.options = frozenset(o for o in options if all(c in tokenizer.index for c in o + end))
        if not self.options:
            raise ValueError("None of the options can be written with this vocabulary.")
        self.prefixes = frozenset(o[:k] for o in self.options for k in range(len(o) + 1))
        self.text, self.done = "", False

    def _allowed_chars(self, text: str) -> set[str]:
        chars = {o[len(text)] for o in self.options if len(o) > len(text) and o.startswith(text)}
        if text in self.options and self.end:
            chars.add(self.end)
        return chars

    def allowed(self) -> torch.Tensor:
        """Boolean mask (V,) of the characters that keep the text an allowed value (or end it)."""
        if self.done:
            raise RuntimeError("The value is complete; nothing more may be sampled.")
        mask = torch.zeros(self.tokenizer.vocab_size, dtype=torch.bool)
        mask[[self.tokenizer.index[c] for c in self._allowed_chars(self.text)]] = True
        return mask

    def advance(self, token: int) -> None:
        """Read one character."""
        c = self.tokenizer.vocab[token]
        if self.done or c not in self._allowed_chars(self.text):
            raise ValueError(f"{c!r} cannot follow {self.text!r} here.")
        if c == self.end:
            self.done = True
        else:
            self.text += c
            self.done = not self.end and not self._allowed_chars(self.text)

    def save(self) -> tuple[str, bool]:
        return self.text, self.done

    def restore(self, saved: tuple[str, bool]) -> None:
        self.text, self.done = saved


def sample_choice(sampler, options: Iterable[str], end: str = "\n") -> str:
    """Sample one of ``options`` (then ``end``) from the sampler's model; returns the value without ``end``."""
    constraint = ChoiceConstraint(sampler.tokenizer, options, end)
    sampler.constraint = constraint
    try:
        while not constraint.done:
            sampler.next_tokens()
    finally:
        sampler.constraint = None
    return constraint.text
