"""Is an ABC text a well-formed tune? Parse, play, meter, final bar line, balanced repeats.

Pure functions over ABC text (``abc_validity`` also runs abc2midi unless given the MIDI it
made). Rates over many tunes are shares in [0, 1]; a rate over no tunes is NaN.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import pretty_midi

from core.data.abc import analyse_body, split_tunes
from core.data.piece import abc_to_midi
from core.errors import UserError

_FINAL_BAR = re.compile(r"(?:\|\]|::|:*\|+:*)\s*$")
_BAR_LINE = re.compile(r"\[\||\|\]|::|:*\|+:*")
_NOT_BAR_LINES = re.compile(r'\[[A-Za-z]:[^\]]*\]|"[^"]*"|![^!]*!|\[?\d+(?:[,-]\d+)*')


@dataclass(frozen=True)
class AbcValidity:
    """How well-formed one ABC text is.

    ``parses``: it holds a tune with a ``K:`` field and notes; ``plays``: abc2midi turns it into
    notes; ``bar_fit_rate``: share of its bars whose length fits the meter (an anacrusis or a
    section's last bar may be short), NaN when it does not parse or its meter is free;
    ``ends_on_bar_line``: the body's last symbol is a bar line; ``repeats_balanced``: see
    :func:`repeats_balanced`.
    """

    parses: bool
    plays: bool
    bar_fit_rate: float
    ends_on_bar_line: bool
    repeats_balanced: bool

    def to_dict(self) -> dict:
        return asdict(self)


def repeats_balanced(body: str, meter: str = "none", unit: str = "1/8") -> bool:
    """Whether the repeat signs and numbered endings of a tune body pair up.

    Every ``|:`` must be closed by a ``:|`` (or ``::``) before the next ``|:`` and before the end;
    a ``:|`` without an opening ``|:`` repeats from the start of the tune or from the previous
    ``:|`` (the usual shorthand, as abc2midi plays it) and is balanced. A first ending must be
    closed by a ``:|`` before its second ending, and a second ending must follow a first.
    """
    is_open, first_ending, first_closed = False, False, False
    for kind, text in _bar_events(body, meter, unit):
        if kind == "ending":
            if text.startswith("1"):
                first_ending, first_closed = True, False
            elif not (first_ending and first_closed):
                return False
            else:
                first_ending = False
            continue
        if text.startswith(":"):
            is_open = False
            first_closed = first_closed or first_ending
        if text.endswith(":"):
            if is_open:
                return False
            is_open = True
    return not is_open and not (first_ending and not first_closed)


def _bar_events(body: str, meter: str, unit: str) -> list[tuple[str, str]]:
    """Bar lines (``("line", "|:")``) and ending numbers (``("ending", "2")``) in order of the body.

    Bar lines with no note between them (``:| |:``) are recovered from the gaps between bars.
    """
    events: list[tuple[str, str]] = []
    position = 0
    for bar in analyse_body(body, meter, unit).bars:
        gap = _NOT_BAR_LINES.sub(" ", body[position : bar.start])
        events += [("line", tok) for tok in _BAR_LINE.findall(gap)]
        label = bar.ending.lstrip("[")
        if label[:1].isdigit():
            events.append(("ending", label))
        if bar.closing:
            events.append(("line", bar.closing))
        position = bar.close_end
    gap = _NOT_BAR_LINES.sub(" ", body[position:])
    return events + [("line", tok) for tok in _BAR_LINE.findall(gap)]


def abc_validity(abc: str, midi: pretty_midi.PrettyMIDI | None = None) -> AbcValidity:
    """Check one ABC tune; ``midi``, when given, is what abc2midi already made of it."""
    tunes = split_tunes(abc)
    if not tunes:
        return AbcValidity(False, False, math.nan, False, False)
    tune = tunes[0]
    if midi is None:
        try:
            midi = abc_to_midi(tune.to_abc())
        except UserError:
            midi = None
    plays = midi is not None and any(inst.notes for inst in midi.instruments)
    try:
        analysis = analyse_body(tune.body, tune.meter, tune.unit)
        fit = analysis.fit_rate if analysis.bar_length is not None else math.nan
        balanced = repeats_balanced(tune.body, tune.meter, tune.unit)
    except UserError:  # an unreadable L: field
        fit, balanced = math.nan, False
    return AbcValidity(True, plays, fit, bool(_FINAL_BAR.search(tune.body)), balanced)


def validity_rates(checks: list[AbcValidity]) -> dict[str, float]:
    """Shares of tunes that parse, play (parse and play), end on a bar line and balance their
    repeats, and the mean bar-fit rate of the tunes that parse (NaN where undefined)."""

    def share(values: list[bool]) -> float:
        return sum(values) / len(values) if values else math.nan

    fits = [c.bar_fit_rate for c in checks if c.parses and not math.isnan(c.bar_fit_rate)]
    return {
        "tunes": len(checks),
        "parse_rate": share([c.parses for c in checks]),
        "play_rate": share([c.parses and c.plays for c in checks]),
        "bar_fit_rate": sum(fits) / len(fits) if fits else math.nan,
        "ends_on_bar_line_rate": share([c.ends_on_bar_line for c in checks]),
        "repeats_balanced_rate": share([c.repeats_balanced for c in checks]),
    }
