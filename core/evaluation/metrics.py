"""Objective metrics of one piece: muspy's and the rest of Yang & Lerch (2018)'s.

Every function is pure. Times are in quarter notes (read from MIDI ticks, so a tune's tempo
does not change them); pitches are MIDI numbers, intervals semitones. Drum tracks are left
out everywhere. A piece without pitched notes is refused by :func:`core.notes.note_table`
(UserError); a metric that needs two notes or two onsets is NaN for a piece of one note.

Yang & Lerch's metrics are implemented here (their ``mgeval`` is Python 2 and not packaged);
pitch count, pitch range, entropies, polyphony and scale consistency come from muspy 0.5.
The empty-beat, empty-measure and groove measures follow muspy's definitions but are computed
here, because muspy 0.5 miscounts windows at note ends (see :func:`empty_rate`).

Reference: L.-C. Yang and A. Lerch, "On the evaluation of generative models in music",
Neural Computing and Applications 32, 2020 (online 2018).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pretty_midi

from core.data.notes import NoteTable, note_table

MUSPY_RESOLUTION = 24
"""Time steps per quarter note when a piece is handed to muspy (exact for 16ths, 32nds, triplets)."""
NOTE_LENGTHS = (4.0, 2.0, 1.0, 0.5, 0.25, 3.0, 1.5, 0.75, 0.375, 4 / 3, 2 / 3, 1 / 3)
"""Yang & Lerch's 12 note-length classes in quarter notes: whole, half, quarter, 8th, 16th, the
dotted half, quarter, 8th and 16th, and the half, quarter and 8th triplets."""
NOTE_LENGTH_NAMES = ("1", "1/2", "1/4", "1/8", "1/16", "1/2.", "1/4.", "1/8.", "1/16.", "1/2t", "1/4t", "1/8t")
PITCH_CLASS_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
SCALAR_METRICS = (
    "pitch_count",
    "pitch_class_count",
    "pitch_range",
    "average_pitch_interval",
    "note_count",
    "average_ioi",
    "pitch_entropy",
    "pitch_class_entropy",
    "scale_consistency",
    "polyphony",
    "polyphony_rate",
    "empty_beat_rate",
    "empty_measure_rate",
    "groove_consistency",
)
VECTOR_METRICS = (
    "pitch_class_histogram",
    "pitch_class_transition_matrix",
    "note_length_histogram",
    "note_length_transition_matrix",
)


def pitch_class_histogram(notes: NoteTable) -> np.ndarray:
    """Share of notes on each pitch class C, C#, ..., B; shape (12,), sums to 1."""
    counts = np.bincount(notes.pitch % 12, minlength=12).astype(float)
    return counts / counts.sum()


def pitch_class_transition_matrix(notes: NoteTable) -> np.ndarray:
    """Share of each transition between the pitch classes of consecutive notes; shape (12, 12).

    ``m[i, j]`` is the share of note pairs going from pitch class i to j (notes in onset order,
    chords from their lowest note up). Sums to 1; all NaN for a piece of one note.
    """
    return _transitions(notes.pitch % 12, 12)


def average_pitch_interval(notes: NoteTable) -> float:
    """Mean absolute interval between consecutive notes, in semitones; NaN for one note."""
    if len(notes) < 2:
        return math.nan
    return float(np.mean(np.abs(np.diff(notes.pitch))))


def average_ioi(notes: NoteTable) -> float:
    """Mean inter-onset interval in quarter notes: the time between consecutive distinct onsets.

    Yang & Lerch measure it in seconds; quarter notes keep tempo out of the comparison. NaN when
    the piece has a single onset.
    """
    onsets = np.unique(notes.onset)
    return float(np.mean(np.diff(onsets))) if onsets.size > 1 else math.nan


def note_length_classes(notes: NoteTable) -> np.ndarray:
    """Index into ``NOTE_LENGTHS`` of each note: the class nearest its length on a log scale."""
    lengths = np.maximum(notes.duration, 1e-6)
    distance = np.abs(np.log2(lengths)[:, None] - np.log2(np.array(NOTE_LENGTHS))[None, :])
    return np.argmin(distance, axis=1)


def note_length_histogram(notes: NoteTable) -> np.ndarray:
    """Share of notes in each of the 12 note-length classes (``NOTE_LENGTHS``); shape (12,)."""
    counts = np.bincount(note_length_classes(notes), minlength=12).astype(float)
    return counts / counts.sum()


def note_length_transition_matrix(notes: NoteTable) -> np.ndarray:
    """Share of each transition between the length classes of consecutive notes; shape (12, 12).

    Sums to 1; all NaN for a piece of one note.
    """
    return _transitions(note_length_classes(notes), 12)


def _transitions(states: np.ndarray, size: int) -> np.ndarray:
    if states.size < 2:
        return np.full((size, size), math.nan)
    matrix = np.zeros((size, size))
    np.add.at(matrix, (states[:-1], states[1:]), 1)
    return matrix / matrix.sum()


def to_muspy(midi: pretty_midi.PrettyMIDI):
    """The pitched tracks of ``midi`` as a ``muspy.Music`` at ``MUSPY_RESOLUTION`` steps a quarter."""
    import muspy

    pitched = copy.copy(midi)  # shallow: shares the tempo map, gets its own list of tracks
    pitched.instruments = [inst for inst in midi.instruments if not inst.is_drum]
    return muspy.from_pretty_midi(pitched, resolution=MUSPY_RESOLUTION)


def muspy_metrics(midi: pretty_midi.PrettyMIDI) -> dict[str, float]:
    """muspy 0.5's pitch and polyphony metrics of the pitched tracks.

    ``pitch_count`` and ``pitch_class_count`` are the numbers of distinct pitches and pitch
    classes, ``pitch_range`` highest minus lowest pitch (semitones), the entropies are in bits,
    ``scale_consistency`` is the largest share of notes in one major or minor scale,
    ``polyphony`` the mean number of sounding pitches where any sounds and ``polyphony_rate``
    the share of time steps with two or more.
    """
    import muspy

    music = to_muspy(midi)
    return {
        "pitch_count": float(muspy.n_pitches_used(music)),
        "pitch_class_count": float(muspy.n_pitch_classes_used(music)),
        "pitch_range": float(muspy.pitch_range(music)),
        "pitch_entropy": float(muspy.pitch_entropy(music)),
        "pitch_class_entropy": float(muspy.pitch_class_entropy(music)),
        "scale_consistency": float(muspy.scale_consistency(music)),
        "polyphony": float(muspy.polyphony(music)),
        "polyphony_rate": float(muspy.polyphony_rate(music, threshold=1)),
    }


def empty_rate(notes: NoteTable, span: float) -> float:
    """Share of the windows of ``span`` quarter notes (from time 0 to the end of the last note,
    the last window possibly partial) in which no note sounds.

    ``span=1`` is the empty-beat rate, a bar's length the empty-measure rate. muspy 0.5 has both
    but counts a note that ends on a window's boundary as sounding in the next window and adds a
    window past the end, so "C quarter, half rest, D quarter" in 4/4 would get 1/5 instead of 2/4.
    """
    windows = max(1, math.ceil(float(notes.end.max()) / span - 1e-9))
    sounded = np.zeros(windows, dtype=bool)
    first = np.floor(notes.onset / span + 1e-9).astype(int)
    last = np.ceil(notes.end / span - 1e-9).astype(int) - 1  # a note ending on a boundary stops before it
    for a, b in zip(first, np.maximum(first, last), strict=True):
        sounded[a : b + 1] = True
    return float(1 - sounded.mean())


def groove_consistency(notes: NoteTable, steps_per_quarter: int = MUSPY_RESOLUTION) -> float:
    """One minus the mean Hamming distance between the onset patterns of neighbouring bars.

    Each bar's pattern has a one at every time step (``steps_per_quarter`` a quarter note) where a
    note starts, and the distance is divided by the steps in a bar (Wu & Yang 2020, as in muspy).
    Bars run from time 0 to the end of the last note; NaN for a piece of one bar. (muspy 0.5
    adds an empty bar after a piece that ends on a bar line, which lowers the value.)
    """
    bar_steps = max(1, round(notes.bar_quarters * steps_per_quarter))
    steps = np.rint(notes.onset * steps_per_quarter).astype(int)
    bars = max(1, math.ceil(float(notes.end.max()) * steps_per_quarter / bar_steps - 1e-9))
    if bars < 2:
        return math.nan
    patterns = np.zeros((max(bars, int(steps.max()) // bar_steps + 1), bar_steps), dtype=bool)
    patterns[steps // bar_steps, steps % bar_steps] = True
    distance = np.count_nonzero(patterns[:-1] != patterns[1:], axis=1)
    return float(1 - distance.mean() / bar_steps)


def piece_metrics(midi: pretty_midi.PrettyMIDI) -> dict[str, float | np.ndarray]:
    """Every metric of one piece: the names in ``SCALAR_METRICS`` (floats) and ``VECTOR_METRICS``.

    Raises
    ------
    UserError
        For a piece with no notes or only drums.
    """
    notes = note_table(midi)
    return {
        **muspy_metrics(midi),
        "empty_beat_rate": empty_rate(notes, 1.0),
        "empty_measure_rate": empty_rate(notes, notes.bar_quarters),
        "groove_consistency": groove_consistency(notes),
        "average_pitch_interval": average_pitch_interval(notes),
        "note_count": float(len(notes)),
        "average_ioi": average_ioi(notes),
        "pitch_class_histogram": pitch_class_histogram(notes),
        "pitch_class_transition_matrix": pitch_class_transition_matrix(notes),
        "note_length_histogram": note_length_histogram(notes),
        "note_length_transition_matrix": note_length_transition_matrix(notes),
    }
