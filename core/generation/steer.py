"""Keeping a continuation's notes, lengths and rhythm in the proportions of the tune it continues.

A character model reads the tune before it, yet drifts: a reel's continuation turns to quarter notes,
a tune in G lingers on F, a dotted hornpipe goes plain. :class:`StyleSteer` is a sampler
``logits_hook`` that tallies the notes written so far (their letters, their lengths in the bar
machine's ticks, how often broken rhythm ``>``/``<`` follows a note, how many rests there are) and,
before each character that starts a note, decides its length or may break the rhythm, adds to each
candidate's logit ``strength * log(target share / share so far)``: what the continuation has used
less than the tune did is favoured, what it has overused is held back. The model still chooses, and
the meter mask still rules: a masked character's logit stays minus infinity.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import torch

from core.generation.bar_machine import PITCHES, SUFFIX_TICKS, BarRule, State, finish_note, step
from core.generation.style import NOT_MUSIC

LETTER_WEIGHT = 0.5
"""Letters are pulled half as hard as lengths: the tune's pitches matter, but a melody must move."""
SMOOTHING = 4.0
"""Pseudo-notes of the target shares the running shares start from, so the first notes are not pushed hard."""
DIGITS = set("0123456789/")
_ENDING = re.compile(r"^\s*:*\s*(?:\[?[12])?\s*")  # a repeat sign and a first or second ending opening a bar


class Tally:
    """Letters (upper case), lengths (ticks) and broken-rhythm marks of the notes read, character by character."""

    def __init__(self):
        self.letters, self.lengths, self.marks = Counter(), Counter(), Counter()
        self.rests = 0

    def read(self, c: str, before: State, after: State) -> None:
        """One character, with the bar machine's state before and after it (a MeterConstraint reader)."""
        if after.notes > before.notes:
            if after.last_pitch == "Z":
                self.rests += 1
            else:
                self.letters[after.last_pitch] += 1
                self.lengths[after.last_len] += 1
        if c in "<>":  # read as broken rhythm (it may also have ended the note before it)
            self.marks[c] += 1

    @property
    def notes(self) -> int:
        """Notes read, rests not counted."""
        return sum(self.lengths.values())


def tune_tally(body: str, bar_ticks: int) -> Tally:
    """The tally of an ABC body's notes as the bar machine reads them; bars it cannot read are skipped."""
    tally = Tally()
    rule = BarRule(bar_ticks * 4, closing="")  # room for any bar, pick-ups and odd bars included
    for text in NOT_MUSIC.sub("", body).replace("\n", " ").split("|"):
        state, read = State(), []
        for c in _ENDING.sub("", text).rstrip(" :"):
            nxt = step(state, c, rule)
            if nxt is None:
                read = []
                break
            read.append((c, state, nxt))
            state = nxt
        if read and state.mode == "note":
            ended = finish_note(state)
            read += [(" ", state, ended)] if ended is not None else []
        for c, before, after in read:
            tally.read(c, before, after)
    return tally


class StyleSteer:
    """A ``logits_hook`` nudging letters and note lengths toward a tune's shares (see the module docstring).

    Reads the sampler's constraint (a :class:`core.generation.meter.MeterConstraint`) for where the bar is.
    """

    def __init__(self, tokenizer, constraint, target: Tally, strength: float = 1.0):
        self.constraint, self.strength = constraint, strength
        n = max(target.notes, 1)
        self.target_letters = _shares(target.letters)
        self.target_lengths = _shares(target.lengths)
        self.target_marks = {c: target.marks[c] / n for c in "<>"}
        self.target_rests = {"z": target.rests / (n + target.rests)}
        self.tally = Tally()
        constraint.readers.append(self.tally.read)
        index = tokenizer.index
        self.letter_ids = [(index[c], c.upper()) for c in PITCHES if c in index]
        self.suffix_ids = [(index[c], c) for c in sorted(DIGITS) if c in index]
        self.mark_ids = [(index[c], c) for c in "<>" if c in index]
        self.rest_id = index.get("z")
        self.size = len(tokenizer.vocab)
        self.ending = torch.ones(self.size, dtype=torch.bool)  # characters that end a pending note
        self.ending[[index[c] for c in DIGITS | set(",'") if c in index]] = False

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        state = self.constraint.state
        if self.constraint.done or not self.strength:
            return logits
        if state.mode in ("idle", "pre") and not state.tup_left:
            bias = self._note_start_bias(state)
        elif state.mode == "note" and state.count == 0 and state.pitch != "Z" and not state.tup_left:
            bias = self._length_bias(state)
        else:
            return logits
        return logits + self.strength * bias  # -inf (masked) stays -inf

    def _note_start_bias(self, state: State) -> torch.Tensor:
        """Letters (half weight), and between notes a rest and broken rhythm."""
        tally, bias = self.tally, torch.zeros(self.size)
        for i, c in self.letter_ids:
            bias[i] = LETTER_WEIGHT * _ratio(self.target_letters, tally.letters, c)
        if state.mode == "idle" and self.rest_id is not None:
            bias[self.rest_id] = _ratio(self.target_rests, {"z": tally.rests}, "z", tally.notes + tally.rests)
        if state.mode == "idle" and state.after_note:
            self._add_marks(bias)
        return bias

    def _length_bias(self, state: State) -> torch.Tensor:
        """Each suffix character: its best ratio over the lengths it may still lead to; every character that ends
        the note here: its current length's ratio (``>`` and ``<`` with broken rhythm's added)."""
        lengths, bias = self.tally.lengths, torch.zeros(self.size)
        suffixes = [s for s in self.constraint.rule.style.suffixes if s.startswith(state.suffix)]
        for i, c in self.suffix_ids:
            reach = [SUFFIX_TICKS[s] for s in suffixes if s.startswith(state.suffix + c)]
            if reach:
                bias[i] = max(_ratio(self.target_lengths, lengths, t) for t in reach)
        if state.suffix in SUFFIX_TICKS:
            bias[self.ending] = _ratio(self.target_lengths, lengths, SUFFIX_TICKS[state.suffix])
            self._add_marks(bias)
        return bias

    def _add_marks(self, bias: torch.Tensor) -> None:
        n = self.tally.notes
        for i, c in self.mark_ids:
            bias[i] += _ratio(self.target_marks, self.tally.marks, c, n)


def _ratio(target: dict, counts: Counter, key, total: int | None = None) -> float:
    """log(target share / running share), the running share smoothed toward the target; shares of ``total``
    (default: the counts' sum)."""
    want = target.get(key, 0.0)
    total = sum(counts.values()) if total is None else total
    now = (counts.get(key, 0) + SMOOTHING * want) / (total + SMOOTHING)
    return math.log((want + 1e-3) / (now + 1e-3))


def _shares(counts: Counter) -> dict:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total else {}
