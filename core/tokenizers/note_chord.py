"""Note/chord tokens: the seed reports' vocabulary (R2, R3, and R5's LSTM after Skuli's Classical-Piano-Composer).

A piece becomes one token per onset, durations dropped, as music21 gives them: the pitched notes
are grouped by onset (onsets rounded to ``1/onset_grid`` of a quarter note, so near-simultaneous
notes form a chord, as music21's MIDI quantisation does); one pitch is its name with octave in
music21's spelling (``"C4"``, ``"E-5"``, ``"F#3"``, ``str(note.pitch)``), two or more distinct
pitches are the chord's normal order of pitch classes (``"0.4.7"``, the reports'
``'.'.join(str(n) for n in chord.normalOrder)``). With ``rests=True`` a ``"rest"`` token marks each
whole ``step_beats`` of silence (from the start of the file on), as R2 encoded rests. Decoding
plays token k at ``k * step_beats`` quarter notes, as the seeds did: notes at their octave, chords'
pitch classes in octave 4 (the seeds' ``note.Note(int(pc))``).

Round trip: ``encode_piece(piece of decode_midi(ids)) == ids`` for any ids (with rests: any that
do not end in a rest, since trailing silence leaves no note; and ``note_beats <= step_beats``).
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import pretty_midi

from core.data.midi_piece import RESOLUTION, MidiPiece
from core.errors import UserError

PITCH_NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")
"""music21's default spelling of the 12 pitch classes of MIDI numbers (``pitch.Pitch(midi=m)``)."""
REST = "rest"
VELOCITY = 90
"""Velocity of decoded notes (music21 writes the chorales' notes at 90)."""
CHORD_OCTAVE_C = 60
"""MIDI number of C4: a chord token's pitch classes are decoded from here up."""


def pitch_name(midi: int) -> str:
    """music21's name of a MIDI pitch with octave: 60 -> ``"C4"``, 63 -> ``"E-4"``, 54 -> ``"F#3"``."""
    return f"{PITCH_NAMES[midi % 12]}{midi // 12 - 1}"


NAME_TO_MIDI = {pitch_name(m): m for m in range(128)}


@functools.lru_cache(maxsize=4096)
def normal_order(pitch_classes: tuple[int, ...]) -> tuple[int, ...]:
    """music21's ``Chord.normalOrder`` of a set of pitch classes (0-11), e.g. (0, 4, 7) or (9, 0, 2, 5)."""
    from music21 import chord  # 0.3 s to import, so only when a chord is first met

    return tuple(chord.Chord(list(pitch_classes)).normalOrder)


def chord_token(pitches: Iterable[int]) -> str:
    """The token of simultaneous MIDI pitches: ``"0.4.7"`` for C-E-G in any octaves and voicing."""
    return ".".join(str(pc) for pc in normal_order(tuple(sorted({int(p) % 12 for p in pitches}))))


def token_pitches(token: str) -> list[int]:
    """MIDI pitches a token decodes to (empty for a rest).

    A chord's pitch classes go to octave 4 (C4 = 60 upwards). A chord of one pitch class (an
    octave doubling such as C3+C4, token ``"0"``) becomes C4+C5, so that it encodes back to itself.
    """
    if token == REST:
        return []
    if token in NAME_TO_MIDI:
        return [NAME_TO_MIDI[token]]
    parts = token.split(".")
    if not all(p.isdigit() and int(p) < 12 for p in parts) or len(set(parts)) != len(parts):
        raise ValueError(f"Not a note, chord or rest token: {token!r}.")
    pcs = [int(p) for p in parts]
    if list(normal_order(tuple(sorted(pcs)))) != pcs:
        raise ValueError(f"Chord token {token!r} is not in music21's normal order.")
    pitches = [CHORD_OCTAVE_C + pc for pc in pcs]
    return pitches + [p + 12 for p in pitches] if len(pitches) == 1 else pitches


def check_ids(ids: Sequence[int], vocab_size: int) -> list[int]:
    """``ids`` as ints; raises UserError naming the first id outside ``0..vocab_size-1``."""
    out = [int(i) for i in ids]
    bad = next((i for i in out if not 0 <= i < vocab_size), None)
    if bad is not None:
        raise UserError(f"Token id {bad} is outside this tokenizer's vocabulary of {vocab_size} tokens.")
    return out


def check_playback(qpm: float, program: int) -> None:
    """Refuse a tempo that is not positive and a program outside General MIDI's 0-127."""
    if not (math.isfinite(qpm) and qpm > 0):
        raise UserError(f"The tempo must be a positive number of quarter notes per minute, not {qpm!r}.")
    if not 0 <= int(program) <= 127:
        raise UserError(f"The MIDI program must be 0-127, not {program!r}.")


def _order(token: str) -> tuple:
    """Vocabulary order: single notes by pitch, then chords by size and pitch classes, then the rest."""
    if token in NAME_TO_MIDI:
        return (0, NAME_TO_MIDI[token])
    if token == REST:
        return (2,)
    pcs = tuple(int(p) for p in token.split("."))
    return (1, len(pcs), pcs)


@dataclass(frozen=True)
class NoteChordTokenizer:
    """One id per note or chord token seen in the training pieces (see the module docstring).

    Attributes
    ----------
    vocab : tuple of str
        The tokens, id = position; from :meth:`fit`, saved with the model.
    onset_grid : int
        Onsets are rounded to 1/onset_grid of a quarter note before grouping (12: sixteenths and triplets).
    step_beats : float
        Quarter notes between decoded tokens (0.5, as the seeds).
    note_beats : float
        Length of each decoded note in quarter notes (0.5: notes do not overlap; a longer one
        sounds legato but then hides rests, so the decode-encode round trip needs note_beats <= step_beats).
    rests : bool
        Whether encoding emits a ``"rest"`` token per ``step_beats`` of silence.
    """

    vocab: tuple[str, ...]
    onset_grid: int = 12
    step_beats: float = 0.5
    note_beats: float = 0.5
    rests: bool = False
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    kind = "note_chord"

    def __post_init__(self):
        object.__setattr__(self, "vocab", tuple(self.vocab))
        if len(set(self.vocab)) != len(self.vocab):
            raise ValueError("A note/chord vocabulary must hold distinct tokens.")
        for token in self.vocab:
            token_pitches(token)  # raises ValueError on a malformed token
        if int(self.onset_grid) != self.onset_grid or self.onset_grid < 1:
            raise ValueError(f"onset_grid must be a whole number of steps per quarter >= 1, not {self.onset_grid!r}.")
        if not (self.step_beats > 0 and self.note_beats > 0):
            raise ValueError(f"step_beats and note_beats must be positive (got {self.step_beats}, {self.note_beats}).")
        object.__setattr__(self, "index", {t: i for i, t in enumerate(self.vocab)})

    @classmethod
    def fit(cls, pieces: Sequence[MidiPiece], min_count: int = 1, **options) -> NoteChordTokenizer:
        """Vocabulary of the tokens seen at least ``min_count`` times in ``pieces`` (the reports' threshold).

        ``options`` are the other attributes (onset_grid, step_beats, note_beats, rests).
        """
        if int(min_count) != min_count or min_count < 1:
            raise ValueError(f"min_count must be a whole number >= 1, not {min_count!r}.")
        unknown = set(options) - {f.name for f in fields(cls) if f.init and f.name != "vocab"}
        if unknown:
            raise ValueError(f"Unknown note_chord option(s): {', '.join(sorted(unknown))}.")
        probe = cls((), **options)
        counts = Counter(t for piece in pieces for t in probe.piece_tokens(piece))
        vocab = sorted((t for t, n in counts.items() if n >= min_count), key=_order)
        if not vocab:
            raise UserError(f"No note or chord occurs {min_count} times or more in the training pieces.")
        return cls(tuple(vocab), **options)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def piece_tokens(self, piece: MidiPiece) -> list[str]:
        """Every token of a piece's pitched notes in time order, before the vocabulary filter."""
        notes = piece.notes()
        if not notes.size:
            return []
        keys = np.rint(notes["start_q"] * self.onset_grid).astype(np.int64)
        order = np.argsort(keys, kind="stable")
        keys, pitches, ends = keys[order], notes["pitch"][order], notes["end_q"][order]
        cuts = np.flatnonzero(np.diff(keys)) + 1
        tokens: list[str] = []
        sounding_until = 0.0  # quarter notes: silence before the first note counts too
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, keys.size], strict=True):
            onset = keys[lo] / self.onset_grid
            if self.rests:
                tokens += [REST] * max(math.floor((onset - sounding_until) / self.step_beats + 1e-6), 0)
            group = set(pitches[lo:hi].tolist())
            tokens.append(pitch_name(group.pop()) if len(group) == 1 else chord_token(group))
            sounding_until = max(sounding_until, float(ends[lo:hi].max()))
        return tokens

    def encode_tokens(self, tokens: Iterable[str]) -> list[int]:
        """Ids of the tokens in the vocabulary; the others are dropped, as the reports dropped rare notes."""
        return [self.index[t] for t in tokens if t in self.index]

    def encode_piece(self, piece: MidiPiece) -> list[int]:
        return self.encode_tokens(self.piece_tokens(piece))

    def names(self, ids: Sequence[int]) -> list[str]:
        return [self.vocab[i] for i in check_ids(ids, self.vocab_size)]

    def decode_midi(self, ids: Sequence[int], qpm: float = 120.0, program: int = 0) -> pretty_midi.PrettyMIDI:
        """One piano track: token k starts at ``k * step_beats`` quarter notes and lasts ``note_beats``."""
        check_playback(qpm, program)
        seconds = 60.0 / qpm  # per quarter note
        midi = pretty_midi.PrettyMIDI(resolution=RESOLUTION, initial_tempo=float(qpm))
        inst = pretty_midi.Instrument(program=int(program))
        for k, token in enumerate(self.names(ids)):
            start = k * self.step_beats * seconds
            inst.notes += [pretty_midi.Note(VELOCITY, p, start, start + self.note_beats * seconds)
                           for p in token_pitches(token)]
        midi.instruments.append(inst)
        return midi

    def to_dict(self) -> dict:
        return {"kind": self.kind, "vocab": list(self.vocab), "onset_grid": self.onset_grid,
                "step_beats": self.step_beats, "note_beats": self.note_beats, "rests": self.rests}

    @classmethod
    def from_dict(cls, data: dict) -> NoteChordTokenizer:
        if data.get("kind") != cls.kind:
            raise ValueError(f"Not a {cls.kind} tokenizer: {data.get('kind')!r}.")
        known = {f.name for f in fields(cls) if f.init}
        unknown = set(data) - known - {"kind"}
        if unknown or "vocab" not in data:
            raise ValueError(f"A {cls.kind} card needs a vocab and no other keys than {sorted(known)}.")
        return cls(**{k: v for k, v in data.items() if k != "kind"})
