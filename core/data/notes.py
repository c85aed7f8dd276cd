"""The notes of a piece as flat arrays, and many ABC tunes turned into MIDI in one go.

The novelty check and the objective metrics read music through :class:`NoteTable`: the
pitched (non-drum) notes of a MIDI file sorted by onset, with times both in quarter notes
(from MIDI ticks, so independent of tempo) and in seconds. Pieces without pitched notes
are refused here, once, with a sentence a user can act on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from core.data.abc import split_tunes
from core.data.piece import UnplayableABC, abc_to_midi
from core.errors import UserError


@dataclass(frozen=True)
class NoteTable:
    """Pitched notes of a piece, sorted by onset (then pitch).

    Attributes
    ----------
    pitch : np.ndarray
        MIDI pitch of each note, shape (n,), int.
    onset, end : np.ndarray
        Start and end of each note in quarter notes from the start of the file, shape (n,).
    onset_s, end_s : np.ndarray
        The same in seconds.
    bar_quarters : float
        Length of a bar in quarter notes, from the file's first time signature (4/4 when none).
    """

    pitch: np.ndarray
    onset: np.ndarray
    end: np.ndarray
    onset_s: np.ndarray
    end_s: np.ndarray
    bar_quarters: float

    def __len__(self) -> int:
        return int(self.pitch.size)

    @property
    def duration(self) -> np.ndarray:
        """Length of each note in quarter notes, shape (n,)."""
        return self.end - self.onset


def note_table(midi: pretty_midi.PrettyMIDI, what: str = "The piece") -> NoteTable:
    """The pitched notes of ``midi``; drum tracks are left out.

    Raises
    ------
    UserError
        When the file holds no notes, or only drum notes (``what`` names it in the message).
    """
    pitched = [note for inst in midi.instruments if not inst.is_drum for note in inst.notes]
    if not pitched:
        if any(inst.notes for inst in midi.instruments):
            raise UserError(f"{what} has only drum tracks: there is no melody to measure.")
        raise UserError(f"{what} has no notes.")
    pitched.sort(key=lambda n: (n.start, n.pitch))
    start_s = np.array([n.start for n in pitched], dtype=float)
    end_s = np.array([n.end for n in pitched], dtype=float)
    ticks = np.array([[midi.time_to_tick(n.start), midi.time_to_tick(n.end)] for n in pitched], dtype=float)
    ticks /= midi.resolution
    bar = 4.0
    if midi.time_signature_changes:
        ts = midi.time_signature_changes[0]
        bar = 4.0 * ts.numerator / ts.denominator
    return NoteTable(
        pitch=np.array([n.pitch for n in pitched], dtype=np.int64),
        onset=ticks[:, 0],
        end=ticks[:, 1],
        onset_s=start_s,
        end_s=end_s,
        bar_quarters=bar,
    )


def read_midi_file(path: str | Path) -> pretty_midi.PrettyMIDI:
    """Read a MIDI file; raises UserError when it is missing or not MIDI."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"No such file: {path}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return pretty_midi.PrettyMIDI(str(path))
    except (OSError, ValueError, EOFError, KeyError, IndexError) as exc:
        raise UserError(f"{path.name} is not a readable MIDI file ({exc}).") from None


def abc_book_to_midi(abcs: list[str]) -> list[pretty_midi.PrettyMIDI | None]:
    """Convert many one-tune ABC texts with a single abc2midi run (about 1 ms a tune).

    Each text is given its own ``X:`` number; the result lists one PrettyMIDI per text, or
    None where abc2midi wrote nothing or a file without notes. Without abc2midi every tune
    goes through :func:`core.piece.abc_to_midi` (music21, slower).
    """
    if not shutil.which("abc2midi"):
        return [_one(abc) for abc in abcs]
    out: list[pretty_midi.PrettyMIDI | None] = []
    with tempfile.TemporaryDirectory(prefix="abcbook-") as tmp:
        book = Path(tmp) / "book.abc"
        book.write_text("\n".join(_renumber(abc, i + 1) for i, abc in enumerate(abcs)), encoding="utf-8")
        subprocess.run(
            ["abc2midi", book.name, "-quiet", "-silent"], cwd=tmp, capture_output=True, timeout=600, check=False
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for i in range(1, len(abcs) + 1):
                out.append(_read(Path(tmp) / f"book{i}.mid"))
    return out


def _renumber(abc: str, x: int) -> str:
    lines = [line for line in abc.strip().splitlines() if not line.startswith("X:")]
    return f"X:{x}\n" + "\n".join(lines) + "\n"


def _read(path: Path) -> pretty_midi.PrettyMIDI | None:
    if not path.is_file():
        return None
    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except (OSError, ValueError, EOFError, KeyError, IndexError):
        return None
    return midi if any(inst.notes for inst in midi.instruments) else None


def _one(abc: str) -> pretty_midi.PrettyMIDI | None:
    try:
        return abc_to_midi(abc)
    except UnplayableABC:
        return None


def read_music_file(path: str | Path) -> list[tuple[str, pretty_midi.PrettyMIDI]]:
    """The pieces in an ``.abc`` file (each tune, through abc2midi) or a ``.mid`` file, with titles.

    ABC tunes go to abc2midi as written, so directives such as ``%%MIDI transpose`` apply.

    Raises
    ------
    UserError
        For a missing file, another extension, an ABC file with no tune that has a ``K:`` field
        and notes, a tune abc2midi cannot play, or an unreadable MIDI file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".mid", ".midi"):
        return [(path.stem, read_midi_file(path))]
    if suffix != ".abc":
        raise UserError(f"{path.name} is neither an ABC (.abc) nor a MIDI (.mid) file.")
    if not path.is_file():
        raise UserError(f"No such file: {path}.")
    text = path.read_text(encoding="utf-8", errors="replace")
    if not re.search(r"(?m)^X:", text):
        text = "X:1\n" + text
    pieces = []
    for chunk in re.split(r"(?m)^(?=X:)", text):
        tunes = split_tunes(chunk)
        if tunes:
            pieces.append((tunes[0].title, abc_to_midi(chunk)))
    if not pieces:
        raise UserError(f"{path.name} holds no ABC tune with a K: field and notes: the piece is empty.")
    return pieces
