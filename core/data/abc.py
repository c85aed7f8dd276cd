"""ABC notation: split tune books, canonical tune text, and bar-length analysis.

Durations here are in whole notes (``Fraction(1, 4)`` is a quarter note), the unit ABC's
``L:`` and ``M:`` fields use. The analyser understands the parts of ABC 2.1 that change
how long a bar is (note lengths, chords, rests, broken rhythm, tuplets, inline ``L:``/``M:``)
and skips what does not (decorations, grace notes, annotations, slurs, ties).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from core.errors import UserError

HEADER_ORDER = ("T", "M", "L", "R", "K")
"""Fields kept in canonical tunes, in the order they are written after ``X:``."""

_FIELD = re.compile(r"^([A-Za-z]):\s*(.*?)\s*$")
_COMMENT = re.compile(r"(?<!\\)%.*$")
_ANNOTATION = re.compile(r'"[^"\n]*"')

# One body element per match, tried in this order.
_ELEMENT = re.compile(
    r"""
    (?P<annotation>"[^"]*")
  | (?P<decoration>![^!\n]*!|\+[^+\n]*\+)
  | (?P<grace>\{[^}]*\})
  | (?P<field>\[[A-Za-z]:[^\]]*\])
  | (?P<bar>\[\||\|\]|::|:*\|+:*|:+)(?P<ending>\[?\d+(?:[,-]\d+)*)?
  | (?P<ending_start>\[\d+(?:[,-]\d+)*)
  | (?P<tuplet>\((?P<p>\d)(?::(?P<q>\d*))?(?::(?P<r>\d*))?)
  | (?P<chord>\[(?P<chord_body>[^\]|:]*)\](?P<chord_len>\d*/*\d*))
  | (?P<note>(?P<acc>[_=^]*)(?P<pitch>[A-Ga-g])(?P<oct>[,']*)(?P<len>\d*/*\d*))
  | (?P<rest>[zx](?P<rest_len>\d*/*\d*))
  | (?P<mrest>Z(?P<mrest_len>\d*))
  | (?P<broken>[<>]{1,3})
    """,
    re.VERBOSE,
)
_NOTE_IN_CHORD = re.compile(r"[_=^]*[A-Ga-g][,']*(\d*/*\d*)")
_SECTION_END = ("||", "|]", ":|", "::", ":||")


@dataclass
class Tune:
    """One tune: its header fields and its body (the music lines)."""

    title: str
    meter: str
    unit: str
    key: str
    body: str
    rhythm: str = ""
    source: str = ""

    def header(self, x: int = 1) -> str:
        """Header lines in canonical order, ending with the ``K:`` line."""
        values = {"T": self.title, "M": self.meter, "L": self.unit, "R": self.rhythm, "K": self.key}
        lines = [f"X:{x}"] + [f"{f}:{values[f]}" for f in HEADER_ORDER if values[f]]
        return "\n".join(lines) + "\n"

    def to_abc(self, x: int = 1) -> str:
        """The canonical tune text the character models learn from."""
        return self.header(x) + self.body.strip() + "\n"


def meter_length(meter: str) -> Fraction | None:
    """Length of one bar in whole notes (``"6/8"`` -> 3/4); None for free meter."""
    meter = meter.strip()
    if meter in ("C", "C|"):
        return Fraction(1)
    match = re.fullmatch(r"(\d+(?:\+\d+)*)\s*/\s*(\d+)", meter)
    if not match:
        return None
    numerator = sum(int(n) for n in match.group(1).split("+"))
    return Fraction(numerator, int(match.group(2))) if int(match.group(2)) else None


def default_unit(meter: str) -> str:
    """ABC's default unit note length: 1/16 for meters under 3/4, else 1/8."""
    length = meter_length(meter)
    return "1/16" if length is not None and length < Fraction(3, 4) else "1/8"


def parse_fraction(text: str) -> Fraction:
    """Parse an ``L:``-style fraction such as ``1/8``; raises UserError if malformed."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or int(match.group(2)) == 0 or int(match.group(1)) == 0:
        raise UserError(f"Unit note length {text!r} is not a fraction like 1/8.")
    return Fraction(int(match.group(1)), int(match.group(2)))


def _length(text: str) -> Fraction:
    """An ABC length suffix (``2``, ``/``, ``//``, ``3/2``, ``/4``) as a multiple of L."""
    if not text:
        return Fraction(1)
    num, _, rest = text.partition("/")
    numerator = int(num) if num else 1
    if "/" not in text:
        return Fraction(numerator)
    slashes = 1 + len(rest) - len(rest.lstrip("/"))
    denom_text = rest.lstrip("/")
    denominator = int(denom_text) if denom_text else 2**slashes
    return Fraction(numerator, denominator) if denominator else Fraction(numerator)


@dataclass
class Bar:
    """A bar of music: its length in whole notes and the bar line that closed it."""

    length: Fraction
    text: str
    closing: str = "|"
    ending: str = ""
    notes: int = 0
    start: int = 0  # character offsets into the body: content [start, end), bar line [end, close_end)
    end: int = 0
    close_end: int = 0


@dataclass
class BodyAnalysis:
    """The bars of a tune body and whether each fits the meter."""

    bars: list[Bar]
    bar_length: Fraction | None
    bad: list[int] = field(default_factory=list)

    @property
    def fit_rate(self) -> float:
        """Share of bars that fit the meter (NaN for a body with no bars)."""
        return 1 - len(self.bad) / len(self.bars) if self.bars else float("nan")

    def played_length(self) -> Fraction:
        """Whole notes as abc2midi plays them, repeats expanded.

        A ``:|`` repeats back to the last ``|:``, ``::`` or ``:|`` (a double bar ``||`` is no
        boundary), or to the start of the tune; first and second endings play once each.
        """
        total, section = Fraction(0), Fraction(0)
        for bar in self.bars:
            if bar.ending:
                total += bar.length
            else:
                section += bar.length
            if bar.closing.startswith(":"):
                total += 2 * section
                section = Fraction(0)
            elif bar.closing.endswith("|:"):
                total += section
                section = Fraction(0)
        return total + section


def analyse_body(body: str, meter: str, unit: str) -> BodyAnalysis:
    """Split a body into bars with their lengths and flag the bars that break the meter.

    A bar may be short when it opens the tune or a section (an anacrusis) or closes one;
    any other bar must last exactly one bar of the meter. Free meter flags nothing.

    Long because it is one left-to-right scan whose state (bar length so far, broken rhythm, tuplet)
    is easiest to check against the ABC standard when it reads in one place.
    """
    unit_len = parse_fraction(unit)
    bar_len = meter_length(meter)
    bars: list[Bar] = []
    current, start = Fraction(0), 0
    notes, ending = 0, ""
    broken_next = Fraction(1)
    tuplet_left, tuplet_factor = 0, Fraction(1)
    last_len = Fraction(0)
    text = body.replace("\\\n", "  ")  # same length, so offsets index ``body``

    def add(duration: Fraction) -> None:
        nonlocal current, broken_next, tuplet_left, last_len
        if tuplet_left:
            duration *= tuplet_factor
            tuplet_left -= 1
        duration *= broken_next
        broken_next = Fraction(1)
        current += duration
        last_len = duration

    for match in _ELEMENT.finditer(text):
        if match.group("bar") is not None:
            if notes or current:
                bars.append(
                    Bar(
                        current,
                        text[start : match.start()].strip(),
                        match.group("bar"),
                        ending,
                        notes,
                        start,
                        match.start(),
                        match.end(),
                    )
                )
            ending = match.group("ending") or ""
            current, start, notes = Fraction(0), match.end(), 0
        elif match.group("ending_start") is not None:
            ending = match.group("ending_start")
        elif match.group("field") is not None:
            name, value = match.group("field")[1], match.group("field")[3:-1]
            if name == "L":
                unit_len = parse_fraction(value)
            elif name == "M":
                bar_len = meter_length(value)
        elif match.group("tuplet") is not None:
            p = int(match.group("p"))
            q = match.group("q")
            compound = bar_len is not None and bar_len.numerator % 3 == 0 and bar_len.numerator > 3
            default_q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if compound else 2)
            tuplet_factor = Fraction(int(q) if q else default_q, p)
            tuplet_left = int(match.group("r")) if match.group("r") else p
        elif match.group("chord") is not None:
            inner = _NOTE_IN_CHORD.search(match.group("chord_body"))
            first = _length(inner.group(1)) if inner else Fraction(1)
            add(unit_len * first * _length(match.group("chord_len")))
            notes += 1
        elif match.group("note") is not None:
            add(unit_len * _length(match.group("len")))
            notes += 1
        elif match.group("rest") is not None:
            add(unit_len * _length(match.group("rest_len")))
            notes += 1
        elif match.group("mrest") is not None and bar_len is not None:
            add(bar_len * int(match.group("mrest_len") or 1))
            notes += 1
        elif match.group("broken") is not None:
            sign, n = match.group("broken")[0], len(match.group("broken"))
            short = Fraction(1, 2**n)
            factor_prev = 2 - short if sign == ">" else short
            current += last_len * (factor_prev - 1)
            broken_next = short if sign == ">" else 2 - short
    if notes or current:
        bars.append(Bar(current, text[start:].strip(), "", ending, notes, start, len(text), len(text)))
    analysis = BodyAnalysis(bars, bar_len)
    if bar_len is not None:
        analysis.bad = [i for i, bar in enumerate(bars) if not _fits(bars, i, bar_len)]
    return analysis


def _fits(bars: list[Bar], i: int, bar_len: Fraction) -> bool:
    bar = bars[i]
    if bar.length == bar_len:
        return True
    if bar.length > bar_len or bar.length == 0:
        return False
    opens_section = i == 0 or bars[i - 1].closing in _SECTION_END or bars[i - 1].closing.endswith(":")
    closes_section = bar.closing in _SECTION_END or bar.closing == "" or bar.closing.startswith(":")
    return opens_section or closes_section


def split_tunes(text: str, source: str = "") -> list[Tune]:
    """Split an ABC tune book into tunes; tunes without a ``K:`` field or notes are skipped."""
    tunes = []
    for block in re.split(r"(?m)^(?=X:)", text):
        tune = _parse_block(block, source)
        if tune is not None:
            tunes.append(tune)
    return tunes


def _parse_block(block: str, source: str) -> Tune | None:
    fields: dict[str, str] = {}
    body_lines: list[str] = []
    in_body = False
    for raw in block.splitlines():
        line = _COMMENT.sub("", raw).rstrip()
        if not line or line.startswith(("%", "I:")):
            continue
        match = _FIELD.match(line)
        if not in_body:
            if match:
                fields.setdefault(match.group(1), match.group(2))
                in_body = match.group(1) == "K"
            continue
        if match:
            if match.group(1) in ("K", "M", "L"):
                body_lines.append(f"[{match.group(1)}:{match.group(2)}]")
            continue
        body_lines.append(line)
    if "X" not in fields or "K" not in fields:
        return None
    body = clean_body("\n".join(body_lines))
    if not re.search(r"[A-Ga-g]", body):
        return None
    meter = normalise_meter(fields.get("M", "none"))
    return Tune(
        title=fields.get("T", "").strip() or "Untitled",
        meter=meter,
        unit=fields.get("L", "").replace(" ", "") or default_unit(meter),
        key=fields["K"].split("%")[0].strip() or "C",
        rhythm=fields.get("R", "").strip().lower(),
        body=body,
        source=source,
    )


def normalise_meter(meter: str) -> str:
    """``" 6 / 8"`` -> ``"6/8"``; empty or unreadable meters become ``"none"`` (free)."""
    meter = re.sub(r"\s+", "", meter)
    return meter if meter in ("C", "C|") or meter_length(meter) is not None else "none"


def clean_body(body: str) -> str:
    """Drop annotations (fingerings, chord names) and line continuations; tidy spaces."""
    body = _ANNOTATION.sub("", body)
    body = body.replace("\\\n", "\n").replace("\\", "")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in body.splitlines()]
    return "\n".join(line for line in lines if line)
