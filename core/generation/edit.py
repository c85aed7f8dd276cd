"""The musician's edits to a tune: check typed ABC (bars that break the meter, syntax errors, by bar
number), transpose (Debian's ``abc2abc -t N``), change the playback tempo (the ``Q:`` line), and
replay: ABC -> abc2midi -> Piece, the same path a composed tune takes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from core.data.abc import analyse_body, default_unit, normalise_meter, parse_fraction
from core.data.piece import Piece, UnplayableABC
from core.errors import UserError

MAX_TUNE_CHARS = 6000
"""Longest ABC tune accepted for editing, continuing or replaying (a long tune is 1,500 characters)."""
_TONICS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_KEY = re.compile(r"^\s*([A-Ga-g])([#b]?)\s*([A-Za-z]*)")
_MODES = ("", "m", "min", "maj", "major", "minor", "ion", "dor", "phr", "lyd", "mix", "aeo", "loc")
_LINE_CHAR = re.compile(r"(Error|Warning) in line-char (\d+)-(\d+) : (.*)")


@dataclass
class TuneCheck:
    """What a typed tune holds and what is wrong with it; ``bar`` numbers count from 1."""

    title: str
    meter: str
    unit: str
    key: str
    bars: int
    broken: list[int] = field(default_factory=list)  # bars that break the meter
    errors: list[str] = field(default_factory=list)  # abc2midi's errors, each naming its bar

    def sentence(self) -> str:
        """One sentence for the page, empty when nothing is wrong."""
        parts = []
        if self.broken:
            shown = ", ".join(str(b) for b in self.broken[:8]) + (" …" if len(self.broken) > 8 else "")
            parts.append(f"bar{'s' if len(self.broken) > 1 else ''} {shown} break{'' if len(self.broken) > 1 else 's'} "
                         f"the meter {self.meter}")
        parts += self.errors[:3]
        text = "; ".join(parts)
        return text[:1].upper() + text[1:] + "." if parts else ""


def check_text(abc: str, what: str = "The tune") -> str:
    """Refuse text that is too long, binary or not one tune; returns it unchanged otherwise."""
    if len(abc) > MAX_TUNE_CHARS:
        raise UserError(f"{what} is {len(abc):,} characters long; at most {MAX_TUNE_CHARS:,} are accepted.")
    if "\x00" in abc or any(ord(c) < 32 and c not in "\n\r\t" for c in abc):
        raise UserError(f"{what} is not ABC text (it holds binary data).")
    return abc


def decode_upload(data: bytes, what: str = "The uploaded file") -> str:
    """An uploaded .abc file as text; one sentence for binary or over-long files."""
    if len(data) > 4 * MAX_TUNE_CHARS:
        raise UserError(f"{what} is {len(data):,} bytes; at most {MAX_TUNE_CHARS:,} characters of ABC are accepted.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("latin-1") if b"\x00" not in data else ""
        except UnicodeDecodeError:
            text = ""
        if not text:
            raise UserError(f"{what} is not ABC text (it holds binary data).") from None
    return check_text(text.replace("\r\n", "\n"), what)


def split_header(abc: str) -> tuple[dict[str, str], int]:
    """Header fields (first value of each letter) and the offset where the body starts, after ``K:``.

    Raises UserError when the tune has no ``K:`` line (ABC's header ends with it).
    """
    fields: dict[str, str] = {}
    offset = 0
    for line in abc.splitlines(keepends=True):
        offset += len(line)
        match = re.match(r"^([A-Za-z]):(.*)$", line.strip())
        if match:
            fields.setdefault(match.group(1), match.group(2).strip())
            if match.group(1) == "K":
                return fields, offset
    raise UserError("The tune has no K: line; ABC needs one (for example K:D) to end its header.")


def check_tune(abc: str) -> TuneCheck:
    """Bars that break the meter and abc2midi's errors, by bar number. Raises UserError for text that
    is not one tune (too long, binary, no K: line, no bars)."""
    check_text(abc)
    fields, start = split_header(abc)
    meter = normalise_meter(fields.get("M", "none") or "none")
    unit = (fields.get("L") or "").replace(" ", "") or (default_unit(meter) if meter != "none" else "1/8")
    parse_fraction(unit)
    body = abc[start:]
    analysis = analyse_body(body, meter, unit)
    if not analysis.bars:
        raise UserError("The tune has no bars of music after its K: line.")
    check = TuneCheck(fields.get("T", "Untitled"), meter, unit, fields.get("K", ""), len(analysis.bars),
                      [i + 1 for i in analysis.bad] if meter != "none" else [])
    starts = [bar.start for bar in analysis.bars]
    for line, char, text in abc2midi_errors(abc):
        position = _offset(abc, line, char) - start
        bar = sum(1 for s in starts if s <= position) or 1
        check.errors.append(f"bar {bar}: {text}" if position >= 0 else f"header: {text}")
    return check


def abc2midi_errors(abc: str) -> list[tuple[int, int, str]]:
    """abc2midi's errors as (line, character, message); empty when abc2midi is not installed."""
    if not shutil.which("abc2midi"):
        return []
    with tempfile.TemporaryDirectory(prefix="abc-check-") as tmp:
        src = Path(tmp) / "tune.abc"
        src.write_text(abc, encoding="utf-8")
        proc = subprocess.run(["abc2midi", str(src), "-o", str(Path(tmp) / "t.mid")], capture_output=True,
                              text=True, timeout=30, check=False)
    found = [_LINE_CHAR.match(line.strip()) for line in proc.stdout.splitlines()]
    return [(int(m.group(2)), int(m.group(3)), m.group(4).strip()) for m in found if m and m.group(1) == "Error"]


def _offset(abc: str, line: int, char: int) -> int:
    lines = abc.splitlines(keepends=True)
    return sum(len(x) for x in lines[: max(line - 1, 0)]) + char


def replay(abc: str, program: int = 0, meta: dict | None = None) -> tuple[Piece, TuneCheck]:
    """The edited tune as a Piece (abc2midi, as composed tunes are) and its check; one sentence when it
    yields no notes."""
    check = check_tune(abc)
    try:
        piece = Piece.from_abc(abc, program, meta=meta)
    except UnplayableABC as exc:
        detail = f" ({check.sentence()[:-1].lower()})" if check.sentence() else ""
        raise UserError(f"{exc}{detail}".rstrip(".") + ".") from None
    return piece, check


def semitones_to(key_from: str, key_to: str) -> int:
    """The nearest shift (-5 .. +6 semitones) from one key's tonic to another's."""
    shift = (_tonic(key_to) - _tonic(key_from)) % 12
    return shift - 12 if shift > 6 else shift


def _tonic(key: str) -> int:
    match = _KEY.match(key or "")
    if not match or match.group(3).lower() not in _MODES:
        raise UserError(f"{key!r} is not a key; use a note A to G, optionally # or b and a mode, as in D, F#m or Bb.")
    letter, accidental = match.group(1).upper(), match.group(2)
    return (_TONICS[letter] + {"#": 1, "b": -1, "": 0}[accidental]) % 12


def transpose(abc: str, semitones: int) -> str:
    """The tune moved by ``semitones`` (-12 .. 12) with ``abc2abc -t``, key line rewritten."""
    if not -12 <= semitones <= 12:
        raise UserError(f"Transpose by -12 to 12 semitones, not {semitones}.")
    split_header(check_text(abc))
    if semitones == 0:
        return abc
    if not shutil.which("abc2abc"):
        raise UserError("Transposing needs abc2abc (Debian's abcmidi package); install it with scripts/system-deps.sh.")
    with tempfile.TemporaryDirectory(prefix="abc2abc-") as tmp:
        src = Path(tmp) / "tune.abc"
        src.write_text(abc, encoding="utf-8")
        proc = subprocess.run(["abc2abc", str(src), "-t", str(semitones)], capture_output=True, text=True,
                              timeout=30, check=False)
    out = proc.stdout.strip()
    if proc.returncode != 0 or not re.search(r"(?m)^K:", out):
        raise UserError("abc2abc could not transpose the tune.")
    return out + "\n"


def set_tempo(abc: str, qpm: float) -> str:
    """The tune with its ``Q:`` line set to ``qpm`` quarter notes a minute (20-400); the notes stay."""
    if not 20 <= qpm <= 400:
        raise UserError(f"Tempo must be between 20 and 400 quarter notes a minute, not {qpm:g}.")
    fields, start = split_header(check_text(abc))
    header, body = abc[:start], abc[start:]
    line = f"Q:1/4={qpm:g}\n"
    if re.search(r"(?m)^Q:.*\n", header):
        header = re.sub(r"(?m)^Q:.*\n", line, header, count=1)
    else:
        header = re.sub(r"(?m)^K:", line.replace("\\", "\\\\") + "K:", header, count=1)
    return header + body


def transpose_midi(midi, semitones: int):
    """A copy of a pretty_midi piece with every pitched note moved by ``semitones`` (-12 .. 12, kept in 0-127)."""
    import copy

    if not -12 <= semitones <= 12:
        raise UserError(f"Transpose by -12 to 12 semitones, not {semitones}.")
    out = copy.deepcopy(midi)
    for inst in out.instruments:
        if not inst.is_drum:
            for note in inst.notes:
                note.pitch = min(127, max(0, note.pitch + semitones))
    return out


def retime_midi(midi, qpm_from: float, qpm_to: float):
    """A copy of a pretty_midi piece played at ``qpm_to`` instead of ``qpm_from`` quarter notes a minute."""
    import copy

    if not 20 <= qpm_to <= 400:
        raise UserError(f"Tempo must be between 20 and 400 quarter notes a minute, not {qpm_to:g}.")
    out = copy.deepcopy(midi)
    factor = qpm_from / qpm_to
    end = out.get_end_time()
    out.adjust_times([0.0, end], [0.0, end * factor])
    return out
