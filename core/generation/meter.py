"""Meter-exact sampling: the allowed-character masks the sampler consults before every character.

The sampler asks :class:`MeterConstraint` before every character which characters of the
vocabulary may come next. A character is allowed when, after it, the bar can still be completed
to exactly one bar of the meter (or, for a pick-up, to less) with the note lengths below; the bar
line may only start when the bar is full. So every bar fits by construction and no bar is ever
deleted afterwards. What each character does is the bar machine's (:mod:`core.generation.bar_machine`);
the masks of each (state, rule) are kept in one table per vocabulary, shared by every tune and row.

Which bar line closes each bar, what opens the next (``|:``, a line break) and whether a bar
must end on the tonic come from a :class:`BarPlan` (see :mod:`core.generation.form`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import torch

from core.data.abc import meter_length, parse_fraction
from core.errors import UserError
from core.generation.bar_machine import (  # noqa: F401 (re-exported: the names callers know the meter by)
    ANY_STYLE,
    GRID,
    MUSIC,
    PITCHES,
    SUFFIX_TICKS,
    SUFFIXES,
    TICKS,
    BarRule,
    State,
    Style,
    feasible,
    feasible_reference,
    step,
)

MAX_TABLE = 50_000  # masks kept per vocabulary (each about 0.4 kB with its key); the table starts afresh past it
_TABLES: dict[tuple, dict[tuple, torch.Tensor]] = {}
"""(vocabulary, vocabulary size, compound meter) -> {(state, rule): allowed mask}: shared by every tune and row."""


class BarPlan(Protocol):
    """Decides each bar's rule; ``None`` ends the tune."""

    def rule(self, index: int, elapsed: int) -> BarRule | None:
        """The rule of bar ``index`` (0-based), after ``elapsed`` ticks of the bars before."""
        ...


class MeterConstraint:
    """The allowed-token mask the sampler consults before each character, and what it has read.

    ``advance`` must see every token fed or sampled after the constraint was set (the sampler does
    this); ``done`` turns true once the plan ends the tune.
    """

    def __init__(self, tokenizer, meter: str, unit: str, plan: BarPlan):
        bar = meter_length(meter)
        if bar is None:
            raise UserError(f"Meter {meter!r} is not readable, so bars cannot be measured; use one such as 6/8 or C|.")
        self.unit_len = parse_fraction(unit)
        self.bar_units = bar / self.unit_len
        if (self.bar_units * TICKS).denominator != 1:
            raise UserError(f"A bar of {meter} is not a whole number of {TICKS}ths of L:{unit}; pick another unit.")
        self.compound = bar.numerator % 3 == 0 and bar.numerator > 3
        self.plan, self.tokenizer = plan, tokenizer
        self.vocab = tuple((i, c) for i, c in enumerate(tokenizer.vocab) if c in MUSIC)
        self._masks = _TABLES.setdefault((self.vocab, tokenizer.vocab_size, self.compound), {})
        self.index, self.elapsed, self.done = 0, 0, False
        self.bars: list[int] = []  # ticks each finished bar lasted
        self.readers: list = []  # each called with (character, state before, state after) of every character read
        self._start_bar()

    def _start_bar(self, carry: State | None = None) -> None:
        """The next bar's rule and state; slurs and a tie open at the bar line carry over."""
        rule = self.plan.rule(self.index, self.elapsed)
        if rule is None:
            self.done, self.rule, self.state = True, None, State(mode="closed")
            return
        self.rule = rule
        kept = {"slurs": carry.slurs, "tie": carry.tie} if carry is not None else {}
        self.state = State(mode="literal", literal=rule.opening, then="idle", **kept) if rule.opening else State(**kept)

    def allowed(self) -> torch.Tensor:
        """Boolean mask (V,) of the tokens that may come next; shared and cached, so never modify it."""
        if self.done:
            raise RuntimeError("The tune is complete; nothing more may be sampled.")
        return self.mask_for(self.state, self.rule)

    def mask_for(self, state: State, rule: BarRule) -> torch.Tensor:
        """The allowed-token mask of any machine state under ``rule``, from the table of this vocabulary."""
        key = (_mask_key(state, rule), rule)
        mask = self._masks.get(key)
        if mask is None:
            ids = allowed_ids(state, rule, self.compound, self.vocab)
            if not ids and rule.style != ANY_STYLE:  # the tune's own vocabulary cannot close this bar: any may
                ids = allowed_ids(state, replace(rule, style=ANY_STYLE), self.compound, self.vocab)
            if not ids:
                raise RuntimeError(f"No character can continue the bar from {state}.")
            mask = torch.zeros(self.tokenizer.vocab_size, dtype=torch.bool)
            mask[list(ids)] = True
            if len(self._masks) >= MAX_TABLE:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def save(self) -> tuple:
        """Where the machine is, for :meth:`restore` (speculative sampling walks drafts on the machine)."""
        return self.state, self.rule, self.index, self.elapsed, self.done, len(self.bars)

    def restore(self, saved: tuple) -> None:
        """Go back to a :meth:`save`."""
        self.state, self.rule, self.index, self.elapsed, self.done, n = saved
        del self.bars[n:]

    def advance(self, token: int) -> None:
        """Read one token (sampled or forced); a closed bar starts the next one."""
        c = self.tokenizer.vocab[token]
        nxt = step(self.state, c, self.rule, self.compound) if not self.done else None
        if nxt is None and not self.done and self.rule.style != ANY_STYLE:  # as the mask's fallback allows
            nxt = step(self.state, c, replace(self.rule, style=ANY_STYLE), self.compound)
        if nxt is None:
            raise UserError(f"{c!r} cannot come here in a bar of {self.bar_units * self.unit_len} whole notes.")
        for reader in self.readers:
            reader(c, self.state, nxt)
        self.state = nxt
        if nxt.mode == "closed":
            self.bars.append(nxt.filled)
            self.elapsed += nxt.filled
            self.index += 1
            self._start_bar(nxt)


_PREV = {"": "", " ": " ", "\n": "\n", "(": "(", "^": "^", "_": "^", "=": "^", ",": ",", "'": ","}
"""The last character read, by what the machine asks of it (start of bar, space, line break, open paren,
accidental, octave mark); every other character is alike ("a")."""


def _mask_key(s: State, rule: BarRule) -> State:
    """The state with what cannot change its mask made alike: only whether the bar has a note, the last character
    by its kind, whether one or more slurs are open; and, in a bar with no tonic to end on, only whether the last
    note is a rest, none of the tonic's bookkeeping."""
    s = s._replace(notes=min(s.notes, 1), marks=s.marks if s.prev in "^_=,'" else 0, prev=_PREV.get(s.prev, "a"),
                   slurs=min(s.slurs, 2))
    if rule.tonic:
        return s
    if s.mode != "idle":  # the last note's length and kind only matter where > < or - may come next
        s = s._replace(last_len=0, after_note=False, was_broken=False)
    return s._replace(pitch="Z" if s.pitch == "Z" else "A" if s.pitch else "", bar_accs="", last_pitch="",
                      before_last="", last_chord=False)


def allowed_ids(state: State, rule: BarRule, compound: bool, vocab: tuple[tuple[int, str], ...]) -> tuple[int, ...]:
    """Ids of the characters of ``vocab`` ((id, char) pairs) that keep the bar completable after ``state``.

    Pitch letters are read once per kind: the machine tells them apart only as the bar's tonic or not."""
    out, letters = [], {}
    for i, c in vocab:
        kind = c.upper() == rule.tonic if c in PITCHES else None
        if kind is not None and kind in letters:
            ok = letters[kind]
        else:
            nxt = step(state, c, rule, compound)
            ok = nxt is not None and feasible(nxt, rule)
            if kind is not None:
                letters[kind] = ok
        if ok:
            out.append(i)
    return tuple(out)
