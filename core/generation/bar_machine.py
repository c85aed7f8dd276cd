"""The ABC bar machine: what each character does to the bar being written, and whether it can still be
completed; :mod:`core.generation.meter` turns it into the sampler's masks.

Durations are counted in ticks, ``TICKS`` to the tune's ``L:`` unit (integers, so the machine is fast
and exact: a triplet eighth is 32 ticks, a dotted sixteenth 18 with ``L:1/8``). The
machine reads notes and rests with the length suffixes in ``SUFFIXES`` (all multiples of a
quarter unit), chords ``[...]`` (their length after the ``]``), broken rhythm ``>``/``<`` (the
note before grows or shrinks by half, the next one the other way), tuplets ``(2``, ``(3``,
``(4`` (every note of a tuplet the same length, so the group lands back on the quarter-unit grid),
ties, slurs, grace notes ``{...}`` and the one-character decorations ``~`` and ``.`` (no time).
Inline fields, multi-bar rests, annotations and ``!...!`` decorations are never written.

A bar that must end on the tonic ends on it as it sounds: the tonic's letter with no accidental on
that letter anywhere in the bar (the key signature spells the tonic), not a chord, not a lone note
after a rest. Slurs and ties may cross bar lines but are closed by the end of each part.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

SUFFIXES = ("", "2", "3", "4", "6", "8", "/", "//", "/2", "/4", "3/2", "3/4")
"""Length suffixes the machine lets a note, rest or chord take (multiples of a quarter unit)."""
TICKS = 48  # per unit: divisible by the quarter-unit grid, by tuplets' 2, 3 and 4 and by broken rhythm's halves
GRID = TICKS // 4
PITCHES = "ABCDEFGabcdefg"
MUSIC = set(PITCHES + "z^_=,'0123456789/<>()-[]{}~. \n|:")
"""Every character the machine can read; all others are masked in a constrained body."""
MAX_CHORD, MAX_GRACE = 4, 4
def length_of(suffix: str) -> Fraction:
    """A length suffix as a multiple of the unit (``"3/2"`` -> 3/2, ``"//"`` -> 1/4)."""
    num, slash, rest = suffix.partition("/")
    n = Fraction(int(num) if num else 1)
    if not slash:
        return n
    if rest.startswith("/"):
        return n / 2 ** (1 + len(rest))
    return n / (int(rest) if rest else 2)


SUFFIX_TICKS = {s: int(length_of(s) * TICKS) for s in SUFFIXES}


@dataclass(frozen=True)
class Style:
    """The rhythmic vocabulary a bar may use: its note lengths and whether chords, broken rhythm and tuplets
    come in (a continuation keeps its tune's; see core.generation.style)."""

    suffixes: tuple[str, ...] = SUFFIXES
    chords: bool = True
    broken: bool = True
    tuplets: bool = True

    @property
    def prefixes(self) -> frozenset[str]:
        return _prefixes(self.suffixes)


@lru_cache(maxsize=64)
def _prefixes(suffixes: tuple[str, ...]) -> frozenset[str]:
    return frozenset(x[:k] for x in suffixes for k in range(len(x) + 1))


ANY_STYLE = Style()


@dataclass(frozen=True)
class BarRule:
    """What one bar must be: its length in units, the bar line that closes it, how it opens."""

    length: int  # ticks (TICKS to the unit)
    closing: str = "|"  # bar line text written when the bar is full
    opening: str = ""  # text forced before the bar's first note ("|:", "\n|:")
    tonic: str = ""  # a pitch letter (upper case): the bar's last note must be it; "" = any
    tonic_min: int = TICKS  # that last note lasts at least this many ticks
    pickup: bool = False  # may close short (an anacrusis)
    style: Style = ANY_STYLE  # the lengths and devices the bar may use


class State(NamedTuple):
    """Where the machine is inside the current bar (hashable, so masks are cached per state)."""

    mode: str = "idle"  # idle, pre (a note must follow), note, chord, grace, paren, literal, closed
    filled: int = 0  # ticks of the bar already committed
    suffix: str = ""  # the pending note's length suffix so far
    pitch: str = ""  # the pending (or last) note's letter, upper case; "z" for a rest
    last_len: int = 0  # the last finished note's ticks (for broken rhythm)
    after_note: bool = False  # the previous element was a note (a tie or broken rhythm may follow)
    was_broken: bool = False  # that note was broken or in a tuplet (it takes no broken rhythm after)
    broken: tuple[int, int] = (1, 1)  # factor of the next note: (1, 2) after >, (3, 2) after <
    tup_left: int = 0  # notes of the tuplet still to come, the pending one included
    tup_factor: tuple[int, int] = (1, 1)  # (q, p): p notes in the time of q
    tup_suffix: str | None = None  # the length every note of the running tuplet takes
    notes: int = 0
    count: int = 0  # notes inside the pending chord or grace group
    literal: str = ""  # forced text still to write (mode literal)
    then: str = "idle"  # the mode after the literal
    prev: str = ""  # the last character read in this bar
    marks: int = 0  # accidentals (or octave marks) in a row just before
    slurs: int = 0  # slurs open (carried across bar lines; closed by the end of a part)
    tie: bool = False  # a tie waits for its note (carried across bar lines; not across the end of a part)
    acc: bool = False  # an accidental waits for its note
    bar_accs: str = ""  # letters given an accidental in this bar (they sound altered to its end)
    last_pitch: str = ""  # the letter of the last finished note ("Z" for a rest)
    before_last: str = ""  # the letter of the note before it
    last_chord: bool = False  # the last finished note was a chord (it ends no part on the tonic)


def _on_grid(value: int) -> bool:
    return value % GRID == 0


def _with_letter(letters: str, c: str) -> str:
    return letters if c.upper() in letters else "".join(sorted(letters + c.upper()))


def _start_note(s: State, c: str) -> State:
    """A note or rest begins with letter ``c`` (after any accidental); it takes up a waiting tie."""
    accs = _with_letter(s.bar_accs, c) if s.acc else s.bar_accs
    return s._replace(mode="note", suffix="", pitch=c.upper(), count=0, acc=False, bar_accs=accs, tie=False)


def _tuplet_factor(p: int, compound: bool) -> tuple[int, int]:
    """ABC's default: (2 is 2 in the time of 3, (3 is 3 in the time of 2, (4 is 4 in the time of 3."""
    return {2: 3, 3: 2, 4: 3}[p], p


def _ticks(suffix: str, s: State) -> int:
    """Ticks of a note with this suffix in state ``s`` (broken rhythm or tuplet applied); exact by TICKS."""
    (bn, bd), (tq, tp) = s.broken, (s.tup_factor if s.tup_left else (1, 1))
    return SUFFIX_TICKS[suffix] * bn * tq // (bd * tp)


def _end_note(s: State, style: Style = ANY_STYLE) -> State | None:
    """Finish the pending note: its length is now known."""
    if s.suffix not in style.suffixes or (s.tup_suffix is not None and s.suffix != s.tup_suffix):
        return None
    d = _ticks(s.suffix, s)
    tup_left = max(0, s.tup_left - 1)
    tup_suffix = (s.tup_suffix if s.tup_suffix is not None else s.suffix) if tup_left else None
    return s._replace(mode="idle", filled=s.filled + d, suffix="", last_len=d, after_note=True, count=0,
                      was_broken=s.broken != (1, 1) or s.tup_left > 0,
                      broken=(1, 1), tup_left=tup_left, tup_factor=s.tup_factor if tup_left else (1, 1),
                      tup_suffix=tup_suffix, notes=s.notes + 1, last_pitch=s.pitch, before_last=s.last_pitch,
                      last_chord=s.count == 1)


def finish_note(s: State) -> State | None:
    """The state after the pending note of ``s`` ends (as at the end of a bar's text); None if it cannot."""
    return _end_note(s)


def _can_close(s: State, rule: BarRule) -> bool:
    if s.broken != (1, 1) or s.tup_left or not s.notes:
        return False
    if rule.closing != "|" and (s.slurs or s.tie):  # the end of a part closes every slur and tie
        return False
    left = rule.length - s.filled
    if left == 0:
        return not rule.tonic or _ends_on_tonic(s, rule)
    return rule.pickup and left > 0


def _ends_on_tonic(s: State, rule: BarRule) -> bool:
    """The last note is the tonic as it sounds: its letter, no accidental on that letter in the bar (the key
    signature spells the tonic), long enough, and not a lone note after a rest."""
    return (s.pitch == rule.tonic and rule.tonic not in s.bar_accs and s.last_len >= rule.tonic_min
            and s.before_last != "Z" and not s.last_chord)


def step(s: State, c: str, rule: BarRule, compound: bool = False) -> State | None:
    """The state after character ``c``, or None when ABC (as this machine reads it) cannot go on with it."""
    marks = 0
    for kind, limit in (("^_=", 2), (",'", 3)):
        if c in kind:
            marks = s.marks + 1 if s.prev and s.prev in kind else 1
            if marks > limit or (kind == "^_=" and s.prev in ",'"):
                return None
    nxt = _step(s, c, rule, compound)
    if nxt is None or nxt.mode in ("literal", "closed"):
        return nxt
    return nxt._replace(prev=c, marks=marks)


def _step(s: State, c: str, rule: BarRule, compound: bool) -> State | None:
    """One transition (``step`` adds what every mode shares).

    Long because it is the one transition table of the machine, mode by mode, easiest to check in one place.
    """
    mode = s.mode
    if mode == "literal":
        if c != s.literal[:1]:
            return None
        rest = s.literal[1:]
        return s._replace(literal=rest) if rest else s._replace(mode=s.then, literal="")
    if mode == "closed":
        return None
    if mode == "note":
        if c in "0123456789/":
            return s._replace(suffix=s.suffix + c) if s.suffix + c in rule.style.prefixes else None
        if c in ",'" and not s.suffix and s.pitch != "Z" and not s.count:  # count 1: a chord's length
            return s
        ended = _end_note(s, rule.style)
        return None if ended is None else _step(ended, c, rule, compound)
    if mode == "pre":
        if c in "^_=":
            return s._replace(acc=True)
        return _start_note(s, c) if c in PITCHES else None
    if mode in ("chord", "grace"):
        close = "]" if mode == "chord" else "}"
        room = s.count < (MAX_CHORD if mode == "chord" else MAX_GRACE)
        if c in PITCHES and room:
            accs = _with_letter(s.bar_accs, c) if s.acc else s.bar_accs
            return s._replace(count=s.count + 1, pitch=s.pitch or c.upper(), acc=False, bar_accs=accs)
        if c in "^_=" and room:
            return s._replace(acc=True)
        if c in ",'" and s.count and s.prev not in "^_=":
            return s
        if c == close and s.count and s.prev not in "^_=":
            if mode == "chord":
                return s._replace(mode="note", suffix="", count=1)
            return s._replace(mode="pre", count=0, pitch="")
        return None
    if mode == "paren":
        if c in "234" and not s.tup_left and s.broken == (1, 1) and rule.style.tuplets:
            return s._replace(mode="idle", tup_left=int(c), tup_factor=_tuplet_factor(int(c), compound),
                              tup_suffix=None, after_note=False)
        if c not in PITCHES + "z^_=[{~.":
            return None
        return _step(s._replace(mode="idle", slurs=s.slurs + 1), c, rule, compound)
    # idle
    if rule.closing and c == rule.closing[0] and _can_close(s, rule):  # a full bar: its closing text starts
        rest = rule.closing[1:]
        return s._replace(mode="literal", literal=rest, then="closed") if rest else s._replace(mode="closed")
    if c in PITCHES or c == "z":
        return _start_note(s, c)
    if c in "^_=~.":
        return s._replace(mode="pre", acc=c in "^_=")
    if c == "[" and rule.style.chords:
        return s._replace(mode="chord", count=0, pitch="", tie=False)
    if c == "{":
        return s._replace(mode="grace", count=0)
    if c == "(":
        return s._replace(mode="paren", after_note=False)
    if c == ")":
        return s._replace(slurs=s.slurs - 1) if s.slurs and s.notes and s.prev not in (" ", "(") else None
    if c == "-":
        return s._replace(after_note=False, tie=True) if s.after_note and s.pitch != "Z" else None
    if c in "<>" and rule.style.broken:
        if not (s.after_note and s.broken == (1, 1) and not s.tup_left and not s.was_broken and s.last_len % 2 == 0):
            return None
        half = s.last_len // 2
        if c == ">":
            return s._replace(filled=s.filled + half, broken=(1, 2), after_note=False)
        return s._replace(filled=s.filled - half, broken=(3, 2), after_note=False)
    if c == " ":
        return s if s.prev not in " \n" or not s.prev else None
    if c == "\n":
        return s if not s.notes and s.prev != "\n" and s.broken == (1, 1) else None
    return None


def _note_options(s: State, style: Style = ANY_STYLE) -> list[tuple[int, int]]:
    """(ticks of one note, notes of that length still to come) for the next or pending note."""
    if s.tup_suffix is not None:
        suffixes = [s.tup_suffix] if s.tup_suffix.startswith(s.suffix) else []
    else:
        suffixes = [x for x in style.suffixes if x.startswith(s.suffix)] if s.mode == "note" else list(style.suffixes)
    return [(_ticks(x, s), max(1, s.tup_left)) for x in suffixes]


def feasible(s: State, rule: BarRule) -> bool:
    """Whether the bar can still be completed to fit the rule from state ``s``.

    Answers are cached on the state with the fields that cannot change the answer made alike (the last
    character read beyond whether it blocks a ``)``, accidentals in a row, how many notes and slurs,
    the pitches where no tonic is asked), so most states share one cached answer.
    """
    if s.mode in ("closed", "literal"):
        return True
    tonic = bool(rule.tonic)
    key = s._replace(
        prev=" " if s.prev in (" ", "(") else "a", marks=0, notes=min(s.notes, 1), slurs=min(s.slurs, 1),
        count=1 if s.mode == "note" and s.count == 1 else 0, literal="", then="idle", after_note=False,
        was_broken=False, last_chord=s.last_chord and tonic,
        pitch=s.pitch if tonic else "", last_len=s.last_len if tonic else 0,
        bar_accs=rule.tonic if tonic and rule.tonic in s.bar_accs else "",
        last_pitch="Z" if tonic and s.last_pitch == "Z" else "",
        before_last="Z" if tonic and s.before_last == "Z" else "",
    )
    if tonic and key.bar_accs:
        return False
    return _feasible(key, rule)


@lru_cache(maxsize=65536)
def _feasible(key: State, rule: BarRule) -> bool:
    return feasible_reference(key, rule)


def feasible_reference(s: State, rule: BarRule) -> bool:
    """:func:`feasible` computed afresh (no cache): the definition the cached tables must equal."""
    if s.mode in ("closed", "literal"):
        return True
    left = rule.length - s.filled
    if left < 0:
        return False
    if rule.tonic and rule.tonic in s.bar_accs:
        return False  # the tonic letter sounds altered to the end of the bar
    part_end = rule.closing != "|"
    must_note = s.mode != "idle" or s.broken != (1, 1) or s.tup_left
    room = rule.tonic_min if rule.tonic else GRID  # the least a last note may leave
    if not must_note:
        if left == 0:
            if part_end and (s.tie or (s.slurs and (not s.notes or s.prev in (" ", "(")))):
                return False  # a tie or slur left open at the end of a part
            return not rule.tonic or _ends_on_tonic(s, rule)
        after_rest = rule.tonic and s.last_pitch == "Z"  # then a note, then the tonic: no lone tonic
        return _on_grid(left) and (rule.pickup or left >= room + (GRID if after_rest else 0))
    known = s.pitch if s.mode in ("note", "chord") else ""
    if s.mode == "chord" or (s.mode == "note" and s.count == 1):
        known = "["  # a chord: it cannot be the last note of a tonic ending
    for one, count in _note_options(s, rule.style):
        rest = left - one * count
        if rest < 0 or not _on_grid(rest):
            continue
        if not rule.tonic or (rest > 0 and rule.pickup) or rest >= room + (GRID if known == "Z" else 0):
            return True
        if rest == 0 and one >= rule.tonic_min and (
            count > 1 or (known in ("", rule.tonic) and not s.acc and s.last_pitch != "Z")
        ):
            return True
    return False
