"""A tune's rhythmic vocabulary, read from its body, so that a continuation stays in the tune's style.

What a continuation may use (see :class:`core.generation.bar_machine.Style`): the note lengths the tune
uses (spelled any way ABC spells the same length), chords only when the tune has chords, broken rhythm
and tuplets only when it has them. Chord symbols in quotes (``"Am"``) are not music to the machine: the
model reads them where it knows the characters, and a continuation never writes them.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from core.generation.meter import SUFFIX_TICKS, SUFFIXES, Style

NOT_MUSIC = re.compile(r'"[^"]*"|![^!]*!|%.*$|\[[A-Za-z]:[^\]]*\]|\[\d', re.M)
_NOTE = re.compile(r"(?:\^{1,2}|_{1,2}|=)?[A-Ga-gz][,']*([0-9]*/*[0-9]*)|\]([0-9]*/*[0-9]*)")


def _ticks_of(suffix: str) -> int | None:
    """Ticks of a length suffix as ABC reads it (``"3/2"``, ``"/"``, ``"//"``); None when unreadable."""
    num, slash, rest = suffix.partition("/")
    try:
        n = Fraction(int(num) if num else 1)
        if slash:
            n /= (2 ** (1 + rest.count("/"))) if rest.startswith("/") or not rest else int(rest)
    except (ValueError, ZeroDivisionError):
        return None
    ticks = n * SUFFIX_TICKS[""]
    return int(ticks) if ticks.denominator == 1 else None


def style_of(body: str) -> Style:
    """The rhythmic vocabulary of an ABC body: lengths used (always the unit), chords, broken rhythm, tuplets."""
    music = NOT_MUSIC.sub("", body)
    used = {SUFFIX_TICKS[""]}
    for match in _NOTE.finditer(music):
        ticks = _ticks_of(match.group(1) if match.group(1) is not None else match.group(2) or "")
        if ticks:
            used.add(ticks)
    allowed = {t for t in used if t in SUFFIX_TICKS.values()}
    grid = math.gcd(*allowed)
    if grid not in allowed and grid in SUFFIX_TICKS.values():  # so every length the tune has can be combined
        allowed.add(grid)
    suffixes = tuple(s for s in SUFFIXES if SUFFIX_TICKS[s] in allowed)
    chords = bool(re.search(r"\[[_=^]*[A-Ga-g]", music))
    return Style(suffixes, chords=chords, broken=bool(re.search(r"[<>]", music)),
                 tuplets=bool(re.search(r"\(\d", music)))
