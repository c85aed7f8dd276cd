"""Piece: the one value that flows from generation to audio, notation and surveys.

A Piece holds the music as MIDI (pretty_midi), the ABC text where it has one, and
metadata (title, the model and settings that made it). ABC becomes MIDI through
``abc2midi`` (abcMIDI, the ABC world's reference converter: milliseconds a tune);
where it is not installed music21 is used instead.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pretty_midi

from core.errors import UserError


class UnplayableABC(UserError):
    """ABC text that no converter could turn into notes."""


@dataclass
class Piece:
    midi: pretty_midi.PrettyMIDI
    abc: str | None = None
    title: str = "Untitled"
    meta: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Length in seconds, to the end of the last note."""
        return float(self.midi.get_end_time())

    @property
    def n_notes(self) -> int:
        return sum(len(i.notes) for i in self.midi.instruments)

    def midi_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.midi.write(buf)
        return buf.getvalue()

    @classmethod
    def from_abc(cls, abc: str, program: int = 0, meta: dict | None = None) -> Piece:
        """Convert one ABC tune; every melodic track is set to General MIDI ``program``."""
        midi = abc_to_midi(abc)
        set_program(midi, program)
        title = next((line[2:].strip() for line in abc.splitlines() if line.startswith("T:")), "Untitled")
        return cls(midi, abc, title, dict(meta or {}))


def set_program(midi: pretty_midi.PrettyMIDI, program: int) -> None:
    """Play every melodic track with one General MIDI program (0-127)."""
    if not 0 <= program <= 127:
        raise UserError(f"General MIDI program must be between 0 and 127, not {program}.")
    for inst in midi.instruments:
        if not inst.is_drum:
            inst.program = program


def abc_to_midi(abc: str) -> pretty_midi.PrettyMIDI:
    """One ABC tune to MIDI; raises UnplayableABC when it yields no notes."""
    midi = _abc2midi(abc) if shutil.which("abc2midi") else _music21(abc)
    if not any(inst.notes for inst in midi.instruments):
        raise UnplayableABC("The ABC tune has no playable notes.")
    return midi


def _abc2midi(abc: str) -> pretty_midi.PrettyMIDI:
    with tempfile.TemporaryDirectory(prefix="abc2midi-") as tmp:
        src, out = Path(tmp) / "tune.abc", Path(tmp) / "tune.mid"
        src.write_text(abc, encoding="utf-8")
        proc = subprocess.run(
            ["abc2midi", str(src), "-o", str(out), "-quiet"], capture_output=True, text=True, timeout=30, check=False
        )
        if not out.is_file():
            errors = [line for line in proc.stdout.splitlines() if "rror" in line]
            raise UnplayableABC(f"abc2midi could not convert the tune ({(errors or ['no output'])[0].strip()}).")
        try:
            return pretty_midi.PrettyMIDI(str(out))
        except (OSError, ValueError, EOFError, KeyError, IndexError) as exc:
            raise UnplayableABC(f"abc2midi wrote an unreadable MIDI file ({exc}).") from None


def _music21(abc: str) -> pretty_midi.PrettyMIDI:
    from music21 import converter, stream
    from music21.exceptions21 import Music21Exception

    try:
        score = converter.parse(abc, format="abc")
    except (Music21Exception, ValueError, IndexError) as exc:
        raise UnplayableABC(f"music21 could not parse the tune ({exc}).") from None
    with tempfile.TemporaryDirectory(prefix="m21-") as tmp:
        out = Path(tmp) / "tune.mid"
        try:
            score.write("midi", fp=str(out))
        except Music21Exception:
            # music21 raises StreamException ("TimeSignature already found in this Stream")
            # on about 1 in 5 O'Neill tunes; the flat notes and rests still convert.
            flat = stream.Stream(score.flatten().notesAndRests)
            flat.write("midi", fp=str(out))
        return pretty_midi.PrettyMIDI(str(out))
