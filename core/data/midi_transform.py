"""The import options of the MIDI reports: which tracks, drums, one key, a tempo range.

Pure functions on :class:`core.midi_parse.ParsedMidi` values. A piece that an option leaves
out raises :class:`FilteredOut` with the reason; the key is estimated from the notes with
the Aarden-Essen key profiles, because MIDI key signatures are often missing, a sequencer's
default C major, or (in Baroque scores) a mode's signature rather than the key's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from core.data.midi_parse import ParsedMidi, Track
from core.errors import UserError

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Aarden-Essen key profiles (Aarden 2003, from the Essen folk songs; music21's default key weights),
# tonic first. On the 412 chorale files of music21's corpus/bach, the key they find has the final
# bass note as its tonic for 85% of files; Krumhansl-Kessler's probe-tone profiles reach 75%.
MAJOR_PROFILE = np.array([17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587,
                          0.291248, 22.062, 0.145624, 8.15494, 0.232998, 4.95122])
MINOR_PROFILE = np.array([18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362,
                          0.702494, 18.6161, 4.56621, 1.93186, 7.37619, 1.75623])


class FilteredOut(UserError):
    """A readable piece that the import options leave out; the message is the reason."""


@dataclass(frozen=True)
class IngestOptions:
    """What to keep of each piece.

    Attributes
    ----------
    piano_only : bool
        Keep only piano tracks (General MIDI programs 0-7, not drums).
    track : str or None
        Keep only one track: its index among the tracks that hold notes (``"0"`` is the first)
        or a case-insensitive part of its name (``"soprano"``).
    keep_drums : bool
        Keep drum tracks (MIDI channel 10); by default they are dropped.
    transpose : bool
        Transpose every piece to C major or A minor (its estimated key's mode), by -6 to +5 semitones.
    tempo_min, tempo_max : float or None
        Keep only pieces whose main tempo, in quarter notes per minute, is within the range.
    """

    piano_only: bool = False
    track: str | None = None
    keep_drums: bool = False
    transpose: bool = False
    tempo_min: float | None = None
    tempo_max: float | None = None

    def __post_init__(self) -> None:
        if self.piano_only and self.track is not None:
            raise UserError("Choose either piano tracks only or one track, not both.")
        if self.track is not None and not str(self.track).strip():
            raise UserError("Name the track to keep: its index (0 is the first) or part of its name.")
        for bound in (self.tempo_min, self.tempo_max):
            if bound is not None and not bound > 0:
                raise UserError(f"A tempo bound must be a positive number of quarter notes per minute, not {bound}.")
        if self.tempo_min is not None and self.tempo_max is not None and self.tempo_min > self.tempo_max:
            raise UserError(f"The tempo range {self.tempo_min:g}-{self.tempo_max:g} is empty.")

    def to_dict(self) -> dict:
        return asdict(self)


def select_tracks(parsed: ParsedMidi, options: IngestOptions) -> tuple[Track, ...]:
    """The tracks an import keeps.

    Raises
    ------
    FilteredOut
        When no track is left: only drums, no piano track, or the named track is missing.
    """
    tracks = parsed.tracks
    if options.track is not None:
        tracks = (_pick(tracks, options.track),)
    elif options.piano_only:
        tracks = tuple(t for t in tracks if t.is_piano)
        if not tracks:
            raise FilteredOut(f"no piano track (programs 0-7); its tracks are {_describe(parsed.tracks)}")
    if not options.keep_drums:
        kept = tuple(t for t in tracks if not t.is_drum)
        if not kept:
            raise FilteredOut("only drum tracks: no pitched notes")
        tracks = kept
    return tracks


def _pick(tracks: tuple[Track, ...], wanted: str) -> Track:
    wanted = str(wanted).strip()
    if wanted.isdigit():
        if int(wanted) < len(tracks):
            return tracks[int(wanted)]
        raise FilteredOut(f"it has {len(tracks)} tracks with notes (0-{len(tracks) - 1}), no track {wanted}")
    found = [t for t in tracks if wanted.lower() in t.name.lower()]
    if not found:
        raise FilteredOut(f"no track named like {wanted!r}; its tracks are {_describe(tracks)}")
    return found[0]


def _describe(tracks: tuple[Track, ...]) -> str:
    shown = [f"{i}: {t.name or 'unnamed'} ({'drums' if t.is_drum else f'program {t.program}'})"
             for i, t in enumerate(tracks[:8])]
    return ", ".join(shown) + (", ..." if len(tracks) > 8 else "")


def main_tempo(tempos: np.ndarray, end_q: float) -> float:
    """The tempo (quarter notes per minute) in force for the most quarter notes up to ``end_q``.

    ``tempos`` has shape (k, 2): [position in quarter notes, tempo], sorted, first at 0.
    """
    bounds = np.append(np.minimum(tempos[:, 0], end_q), end_q)
    spans = np.diff(bounds)
    return float(tempos[int(np.argmax(spans)), 1]) if spans.max() > 0 else float(tempos[0, 1])


def check_tempo(tempo: float, options: IngestOptions) -> None:
    """Raise FilteredOut when ``tempo`` (quarter notes per minute) is outside the options' range."""
    low, high = options.tempo_min, options.tempo_max
    if (low is not None and tempo < low) or (high is not None and tempo > high):
        shown = f"{low or 0:g}-{high:g}" if high is not None else f"at least {low:g}"
        raise FilteredOut(f"its tempo {tempo:.4g} quarter notes per minute is outside {shown}")


def estimate_key(tracks: tuple[Track, ...]) -> tuple[int, str]:
    """The key of the pitched notes: tonic pitch class (0 = C) and ``"major"`` or ``"minor"``.

    The duration-weighted pitch-class histogram (durations in quarter notes) is correlated with
    the 24 rotations of the Aarden-Essen major and minor profiles (Pearson r); the best wins
    (on a tie, the lower tonic, major first). Returns (0, "major") when there are no pitched notes.
    """
    hist = np.zeros(12)
    for t in tracks:
        if not t.is_drum and t.notes.size:
            weight = np.maximum(t.notes["end_q"] - t.notes["start_q"], 1e-3)
            hist += np.bincount(t.notes["pitch"] % 12, weights=weight, minlength=12)
    if not hist.any() or np.all(hist == hist[0]):
        return 0, "major"
    z = (hist - hist.mean()) / hist.std()
    r = _PROFILES_Z @ z / 12  # Pearson correlation with each of the 24 keys
    best = int(np.argmax(r))  # the first of equal maxima: lower tonic, major first
    return best // 2, ("major", "minor")[best % 2]


def _rotations() -> np.ndarray:
    """The 24 key profiles, z-scored, shape (24, 12): row 2 * tonic is major, 2 * tonic + 1 minor."""
    rows = [np.roll(profile, tonic) for tonic in range(12) for profile in (MAJOR_PROFILE, MINOR_PROFILE)]
    rows = np.array(rows)
    return (rows - rows.mean(axis=1, keepdims=True)) / rows.std(axis=1, keepdims=True)


_PROFILES_Z = _rotations()


def key_name(tonic: int, mode: str) -> str:
    """A key's name, e.g. ``"F# minor"``."""
    return f"{PITCH_NAMES[tonic % 12]} {mode}"


def shift_to_c(tonic: int, mode: str) -> int:
    """Semitones (-6 to +5) that move a key to C major (major) or A minor (minor)."""
    target = 0 if mode == "major" else 9
    return (target - tonic + 6) % 12 - 6


def transpose(tracks: tuple[Track, ...], semitones: int) -> tuple[Track, ...]:
    """Every pitched note moved by ``semitones``; notes pushed outside MIDI's 0-127 are dropped."""
    out = []
    for t in tracks:
        if t.is_drum or semitones == 0:
            out.append(t)
            continue
        notes = t.notes.copy()
        notes["pitch"] += semitones
        notes = notes[(notes["pitch"] >= 0) & (notes["pitch"] <= 127)]
        out.append(Track(t.name, t.program, t.is_drum, notes))
    return tuple(out)
