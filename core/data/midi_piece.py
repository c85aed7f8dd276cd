"""MidiPiece: one imported piece as note arrays, and its conversion to a :class:`core.piece.Piece`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pretty_midi

from core.data.midi_parse import Track
from core.data.piece import Piece

RESOLUTION = 480
"""Ticks per quarter note of the MIDI a MidiPiece becomes."""


@dataclass(frozen=True, eq=False)
class MidiPiece:
    """One imported piece after the import options.

    Attributes
    ----------
    title : str
        The file's name without extension (``"bwv66.6"``), with ``#N`` for the Nth score of an opus.
    source : str
        Path of the file inside the import (``"chopin/op10.mid"``, ``"set.zip:a/b.mid"``).
    artist : str or None
        Name of the folder the file sat in (a folder per artist), None at the top level.
    digest : str
        SHA-256 (hex) of the file's bytes, plus ``#N`` for an opus: decides the split.
    tempos : np.ndarray
        Tempo map, shape (k, 2): [position in quarter notes, quarter notes per minute].
    tempo : float
        Main tempo, quarter notes per minute (the one in force for the most quarter notes).
    time_signature : tuple of int
        First time signature, (numerator, denominator).
    key : str
        Estimated key of the file as read, e.g. ``"G major"`` (before transposition).
    transposed : int
        Semitones added to every pitched note (0 unless the import transposed).
    tracks : tuple of Track
        The kept tracks; note times in seconds and quarter notes.
    """

    title: str
    source: str
    artist: str | None
    digest: str
    tempos: np.ndarray
    tempo: float
    time_signature: tuple[int, int]
    key: str
    transposed: int
    tracks: tuple[Track, ...]

    @property
    def n_notes(self) -> int:
        return sum(int(t.notes.size) for t in self.tracks)

    @property
    def duration(self) -> float:
        """Seconds from the start of the file to the end of its last note."""
        return max((float(t.notes["end"].max()) for t in self.tracks if t.notes.size), default=0.0)

    def notes(self, drums: bool = False) -> np.ndarray:
        """Every note of the kept tracks (drums only when asked), sorted by start then pitch."""
        parts = [t.notes for t in self.tracks if drums or not t.is_drum]
        merged = np.concatenate(parts) if parts else np.empty(0, self.tracks[0].notes.dtype)
        return merged[np.lexsort((merged["pitch"], merged["start"]))]

    def to_midi(self) -> pretty_midi.PrettyMIDI:
        """The piece as pretty_midi, with its tempo map, first time signature and tracks."""
        midi = pretty_midi.PrettyMIDI(resolution=RESOLUTION, initial_tempo=float(self.tempos[0, 1]))
        if len(self.tempos) > 1:
            # pretty_midi has no public setter for tempo changes; its writer reads _tick_scales.
            midi._tick_scales = [(int(round(q * RESOLUTION)), 60.0 / (qpm * RESOLUTION)) for q, qpm in self.tempos]
            midi._update_tick_to_time(int(round(self.tempos[-1, 0] * RESOLUTION)) + 1)
        num, den = self.time_signature
        midi.time_signature_changes.append(pretty_midi.TimeSignature(num, den, 0.0))
        for t in self.tracks:
            inst = pretty_midi.Instrument(program=t.program, is_drum=t.is_drum, name=t.name)
            inst.notes = [
                pretty_midi.Note(int(v), int(p), float(s), float(e))
                for s, e, p, v in zip(t.notes["start"], t.notes["end"], t.notes["pitch"], t.notes["velocity"],
                                      strict=True)
            ]
            midi.instruments.append(inst)
        return midi

    def to_piece(self, corpus: str | None = None, split: str | None = None) -> Piece:
        """The :class:`core.piece.Piece` of this piece (no ABC text), with its import facts in ``meta``."""
        meta = {"source": self.source, "artist": self.artist, "key": self.key, "transposed": self.transposed,
                "tempo": self.tempo, "corpus": corpus, "split": split}
        return Piece(self.to_midi(), None, self.title, {k: v for k, v in meta.items() if v is not None})
