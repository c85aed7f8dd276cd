"""Piano rolls of note onsets for the autoencoder (R5, after HackerPoet's Composer).

A piece becomes a boolean grid, True where a note starts: ``steps_per_beat`` steps per quarter
note, measures of ``beats_per_measure`` quarter notes (a fixed window, not the piece's bars, as
the Composer's fixed 4/4 measure), ``measures`` measures per sample, and the pitches
``low`` (inclusive) to ``high`` (exclusive), default C2..B5. Only onsets are marked, as the Composer
marks note starts; durations are a playback choice (``note_beats``) at decoding. Pitches outside
the range are folded by octaves into it. A piece gives its consecutive ``measures``-measure
windows; a last, partial window is dropped.

Not a token sequence: ``vocab_size`` is the number of pitches (the width of a roll).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np
import pretty_midi

from core.data.midi_piece import RESOLUTION, MidiPiece
from core.tokenizers.note_chord import VELOCITY, check_playback


@dataclass(frozen=True)
class PianoRollTokenizer:
    """Pieces to onset rolls of shape (chunks, measures, steps_per_measure, pitches) and rolls back to MIDI.

    Attributes
    ----------
    steps_per_beat : int
        Grid steps per quarter note (4: sixteenth notes).
    beats_per_measure : int
        Quarter notes per measure (4).
    measures : int
        Measures per sample (16, as the Composer).
    low, high : int
        MIDI pitch range, ``low`` inclusive, ``high`` exclusive (36..84: C2..B5, 48 pitches); at
        least an octave, so that every pitch folds into it.
    trim_silence : bool
        Start the grid at the measure of the first onset, skipping leading silent measures (R5 cut
        leading silence); measures stay aligned with the file's quarter-note grid.
    """

    steps_per_beat: int = 4
    beats_per_measure: int = 4
    measures: int = 16
    low: int = 36
    high: int = 84
    trim_silence: bool = True

    kind = "pianoroll"

    def __post_init__(self):
        for name in ("steps_per_beat", "beats_per_measure", "measures", "low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value:
                raise ValueError(f"{name} must be a whole number, not {value!r}.")
        if min(self.steps_per_beat, self.beats_per_measure, self.measures) < 1:
            raise ValueError("steps_per_beat, beats_per_measure and measures must be at least 1.")
        if not (self.low >= 0 and self.low + 12 <= self.high <= 128):
            raise ValueError(f"The pitch range {self.low}..{self.high} must lie in 0..128 and span an octave or more.")

    @classmethod
    def fit(cls, pieces: Sequence[MidiPiece] = (), **options) -> PianoRollTokenizer:
        """The configured tokenizer: a piano roll learns nothing from the pieces. Unknown options are errors."""
        unknown = set(options) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"Unknown pianoroll option(s): {', '.join(sorted(unknown))}.")
        return cls(**options)

    @property
    def pitches(self) -> int:
        return self.high - self.low

    @property
    def vocab_size(self) -> int:
        """The number of pitches (a roll's last dimension)."""
        return self.pitches

    @property
    def steps_per_measure(self) -> int:
        return self.steps_per_beat * self.beats_per_measure

    @property
    def shape(self) -> tuple[int, int, int]:
        """One sample's shape: (measures, steps_per_measure, pitches)."""
        return (self.measures, self.steps_per_measure, self.pitches)

    def fold(self, pitches: np.ndarray) -> np.ndarray:
        """MIDI pitches moved by whole octaves into ``low``..``high - 1``."""
        p = np.asarray(pitches, dtype=np.int64).copy()
        below, above = p < self.low, p >= self.high
        p[below] += 12 * ((self.low - p[below] + 11) // 12)
        p[above] -= 12 * ((p[above] - self.high) // 12 + 1)
        return p

    def encode_piece(self, piece: MidiPiece) -> np.ndarray:
        """Bool onsets, shape (n_chunks, measures, steps_per_measure, pitches); n_chunks is 0 for a short piece.

        Onsets are rounded to the nearest step from the notes' quarter-note times (tempo does not
        matter); the piece lasts to the end of its last note.
        """
        notes = piece.notes()
        chunk = self.measures * self.steps_per_measure
        if not notes.size:
            return np.zeros((0, *self.shape), dtype=bool)
        steps = np.rint(notes["start_q"] * self.steps_per_beat).astype(np.int64)
        end = math.ceil(float(notes["end_q"].max()) * self.steps_per_beat - 1e-6)
        first = int(steps.min()) // self.steps_per_measure * self.steps_per_measure if self.trim_silence else 0
        n_chunks = max(end - first, 0) // chunk
        roll = np.zeros((n_chunks * chunk, self.pitches), dtype=bool)
        keep = (steps >= first) & (steps < first + n_chunks * chunk)
        roll[steps[keep] - first, self.fold(notes["pitch"][keep]) - self.low] = True
        return roll.reshape(n_chunks, *self.shape)

    def encode_pieces(self, pieces: Sequence[MidiPiece]) -> np.ndarray:
        """The samples of several pieces, concatenated: shape (total chunks, measures, steps, pitches)."""
        rolls = [self.encode_piece(p) for p in pieces]
        return np.concatenate(rolls) if rolls else np.zeros((0, *self.shape), dtype=bool)

    def decode_midi(self, roll: np.ndarray, qpm: float = 120.0, program: int = 0, threshold: float = 0.5,
                    note_beats: float = 0.5) -> pretty_midi.PrettyMIDI:
        """A roll (..., steps_per_measure, pitches), bool or probabilities, as one MIDI track.

        Every cell ``>= threshold`` starts a note of ``note_beats`` quarter notes, cut short at the
        next onset of its pitch; leading axes are played one after another (measures, chunks).
        Trailing silence has no note to keep it: re-encoding gives the same roll when a note
        sounds to the roll's end (and, with ``trim_silence``, one starts in its first measure).
        """
        check_playback(qpm, program)
        roll = np.asarray(roll)
        if roll.ndim < 2 or roll.shape[-2:] != (self.steps_per_measure, self.pitches):
            raise ValueError(f"A roll must end with axes (steps, pitches) = {self.shape[1:]}, not {roll.shape}.")
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], not {threshold!r}.")
        if not note_beats > 0:
            raise ValueError(f"note_beats must be positive, not {note_beats!r}.")
        flat = roll.reshape(-1, self.pitches).astype(np.float64) >= threshold
        pitch_idx, steps = np.nonzero(flat.T)  # sorted by pitch, then step
        gap = np.r_[np.diff(steps).astype(np.float64), np.inf]
        gap[np.r_[pitch_idx[1:] != pitch_idx[:-1], True]] = np.inf  # no next onset of this pitch
        length = np.minimum(note_beats * self.steps_per_beat, gap)  # steps
        step_s = 60.0 / (qpm * self.steps_per_beat)
        midi = pretty_midi.PrettyMIDI(resolution=RESOLUTION, initial_tempo=float(qpm))
        midi.time_signature_changes.append(pretty_midi.TimeSignature(self.beats_per_measure, 4, 0.0))
        inst = pretty_midi.Instrument(program=int(program))
        order = np.lexsort((pitch_idx, steps))
        inst.notes = [pretty_midi.Note(VELOCITY, int(self.low + pitch_idx[i]), steps[i] * step_s,
                                       (steps[i] + length[i]) * step_s) for i in order]
        midi.instruments.append(inst)
        return midi

    def to_dict(self) -> dict:
        return {"kind": self.kind, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> PianoRollTokenizer:
        if data.get("kind") != cls.kind:
            raise ValueError(f"Not a {cls.kind} tokenizer: {data.get('kind')!r}.")
        return cls.fit((), **{k: v for k, v in data.items() if k != "kind"})
