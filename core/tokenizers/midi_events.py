"""Duration-aware event tokens through MidiTok's REMI (Huang & Yang 2020), the fix for the seeds' main flaw.

The seeds' note/chord tokens drop durations and rests (R5 names it as the main flaw). REMI
writes ``Bar``, ``Position_p`` (p steps into the bar), then ``Pitch``, ``Velocity`` and ``Duration``
per note. REMI rather than TSD: its bar and position tokens give a model the metre explicitly,
which helps chorales and piano music keep to bars, at the cost of about one position token per
onset; TSD's ``TimeShift`` tokens leave the model to count time.

Configuration for piano and chorales (:class:`EventConfig`): the piano's pitches, onsets on a
grid of 1/8 quarter note, durations of 1/8 to 4 quarters in 1/8 steps and 4 to 12 in 1/4 steps,
8 velocity bins, a time signature token per bar, no tempo tokens (tempo is a playback choice:
``decode_midi(qpm=...)``, as for the other tokenizers; the chorales' tempos carry no musical
information). All pitched tracks are merged into one piano stream (one sequence per piece,
no program tokens); unisons of two voices become one note (the longer). The chorales have one
velocity (90): ``fit(pieces, num_velocities=0)`` drops their velocity tokens, a third of each sequence.

Round trip: ``decode_midi(encode_piece(piece))`` holds exactly the notes of ``quantize(piece)``
(onsets on the grid, durations and velocities to their nearest token), also once written to MIDI.

Built from its configuration alone: nothing is learned and nothing is downloaded (MidiTok's
Hugging Face hub code runs only in ``from_pretrained``/``push_to_hub``, never called here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from importlib.metadata import version

import numpy as np
import pretty_midi
import symusic

from core.data.midi_piece import RESOLUTION, MidiPiece
from core.tokenizers.note_chord import check_ids, check_playback

GRID_NOTE = np.dtype([("onset", "i8"), ("duration", "i8"), ("pitch", "i2"), ("velocity", "i2")])
"""A note on the tokenizer's grid: onset and duration in steps of 1/max(beat_res) quarter note."""
MAX_BAR_BEATS = 8
"""Bars of 1 to 8 quarter notes get a time signature token; others are barred as 4/4."""
DEFAULT_VELOCITY = 100
"""MidiTok's velocity of decoded notes when there are no velocity tokens."""


@dataclass(frozen=True)
class EventConfig:
    """The few MidiTok settings that matter here; JSON-able (tuples come back from a card as lists).

    Attributes
    ----------
    pitch_range : (int, int)
        MIDI pitches ``low`` (inclusive) to ``high`` (exclusive); notes outside are dropped (21, 109: the piano).
    beat_res : tuple of (int, int, int)
        (first beat, end beat, steps per beat): durations between those beats (quarter notes) are
        counted in those steps; the largest step count is the onset grid. Durations longer than the
        last end beat are cut to it.
    num_velocities : int
        Velocity bins, evenly spaced up to 127; 0 drops velocity tokens (notes decode at 100).
    time_signatures : bool
        A ``TimeSig`` token after each ``Bar``. Bars are counted in quarter notes: 6/8 is barred
        as 3/4, 2/2 as 4/4, and a bar that is not a whole number of quarters (3/8) as 4/4.
    special_tokens : tuple of str
        MidiTok's special tokens; PAD is always added. Encoding adds none of them.
    """

    pitch_range: tuple[int, int] = (21, 109)
    beat_res: tuple[tuple[int, int, int], ...] = ((0, 4, 8), (4, 12, 4))
    num_velocities: int = 8
    time_signatures: bool = True
    special_tokens: tuple[str, ...] = ("PAD", "BOS", "EOS")

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "pitch_range", tuple(int(p) for p in self.pitch_range))
        set_(self, "beat_res", tuple(tuple(int(v) for v in r) for r in self.beat_res))
        set_(self, "special_tokens", tuple(str(t) for t in self.special_tokens))
        low, high = self.pitch_range if len(self.pitch_range) == 2 else (0, -1)
        if not 0 <= low < high - 1 < 128:  # MidiTok needs two pitches or more
            raise ValueError(f"pitch_range must be (low, high) with 0 <= low < high - 1 < 128, not {self.pitch_range}.")
        rows = self.beat_res
        grid = max((r[2] for r in rows if len(r) == 3), default=0)
        ok = bool(rows) and all(len(r) == 3 and r[0] < r[1] and r[2] >= 1 and grid % r[2] == 0 for r in rows)
        if not ok or rows[0][0] != 0 or any(a[1] != b[0] for a, b in zip(rows, rows[1:], strict=False)):
            raise ValueError(f"beat_res must be contiguous (start, end, steps) rows from beat 0 whose steps divide "
                             f"the largest, not {rows}.")
        if isinstance(self.num_velocities, bool) or not 0 <= self.num_velocities <= 127:
            raise ValueError(f"num_velocities must be 0-127, not {self.num_velocities!r}.")

    @property
    def grid(self) -> int:
        """Onset steps per quarter note."""
        return max(r[2] for r in self.beat_res)

    def durations(self) -> np.ndarray:
        """The durations the tokens can say, in grid steps, ascending (MidiTok's ``durations``)."""
        steps = [(beat * res + pos) * self.grid // res for start, end, res in self.beat_res
                 for beat in range(start, end) for pos in range(res)]
        return np.array(sorted(set(steps[1:] + [self.beat_res[-1][1] * self.grid])), dtype=np.int64)

    def velocities(self) -> np.ndarray:
        """The velocity bins (MidiTok's: ``linspace(0, 127, n + 1)[1:]`` as ints)."""
        return np.linspace(0, 127, self.num_velocities + 1, dtype=np.intc)[1:].astype(np.int64)

    def to_dict(self) -> dict:
        return {k: [list(r) for r in v] if k == "beat_res" else list(v) if isinstance(v, tuple) else v
                for k, v in asdict(self).items()}


def closest(values: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Each value moved to the nearest allowed one (ascending); a tie goes up, as MidiTok's ``np_get_closest``."""
    idx = np.clip(np.searchsorted(allowed, values, side="left"), 0, len(allowed) - 1)
    lower = allowed[np.maximum(idx - 1, 0)]
    return np.where(np.abs(values - lower) < np.abs(values - allowed[idx]), lower, allowed[idx])


def bar_signature(numerator: int, denominator: int) -> tuple[int, int]:
    """The x/4 signature of a bar of the same length in quarter notes; (4, 4) when there is none."""
    quarters = numerator * 4 / denominator
    return (int(quarters), 4) if quarters.is_integer() and 1 <= quarters <= MAX_BAR_BEATS else (4, 4)


class EventTokenizer:
    """REMI tokens of a piece's pitched notes merged into one stream (see the module docstring)."""

    kind = "midi_events"

    def __init__(self, config: EventConfig | None = None):
        from miditok import REMI, TokenizerConfig  # 1.3 s to import (torch); only MIDI event models need it

        self.config = config or EventConfig()
        c = self.config  # MidiTok's pitch_range includes its end; ours, as Python's range, does not
        self.tokenizer = REMI(TokenizerConfig(
            pitch_range=(c.pitch_range[0], c.pitch_range[1] - 1), beat_res={(a, b): r for a, b, r in c.beat_res},
            num_velocities=max(c.num_velocities, 1), use_velocities=c.num_velocities > 0,
            special_tokens=list(c.special_tokens), use_time_signatures=c.time_signatures,
            time_signature_range={4: list(range(1, MAX_BAR_BEATS + 1))}, use_tempos=False, use_programs=False,
            use_chords=False, use_rests=False, use_pitchdrum_tokens=False, remove_duplicated_notes=False,
        ))
        self.vocab = [self.tokenizer[i] for i in range(len(self.tokenizer))]

    @classmethod
    def fit(cls, pieces: Sequence[MidiPiece] = (), **options) -> EventTokenizer:
        """The tokenizer of :class:`EventConfig` ``options``: REMI's vocabulary needs no training."""
        unknown = set(options) - {f.name for f in fields(EventConfig)}
        if unknown:
            raise ValueError(f"Unknown midi_events option(s): {', '.join(sorted(unknown))}.")
        return cls(EventConfig(**options))

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def special_ids(self) -> dict[str, int]:
        """Ids of the special tokens by name (``{"PAD": 0, "BOS": 1, "EOS": 2}``)."""
        return {t.removesuffix("_None"): self.tokenizer[t] for t in self.tokenizer.config.special_tokens}

    def quantize(self, piece: MidiPiece) -> np.ndarray:
        """The pitched notes as the tokens say them (GRID_NOTE, sorted by onset, pitch).

        Onsets rounded to the grid, durations to the nearest token duration, velocities to the
        nearest bin; notes outside ``pitch_range`` dropped; of notes with one onset and pitch the
        longest kept; a note that lasts past the next onset of its pitch is cut there (to the
        longest token duration that fits), as one piano key cannot sound twice.
        """
        c, notes = self.config, piece.notes()
        notes = notes[(notes["pitch"] >= c.pitch_range[0]) & (notes["pitch"] < c.pitch_range[1])]
        out = np.empty(notes.size, GRID_NOTE)
        if not notes.size:
            return out
        out["onset"] = np.rint(notes["start_q"] * c.grid)
        out["duration"] = closest((notes["end_q"] - notes["start_q"]) * c.grid, c.durations())
        out["pitch"] = notes["pitch"]
        velocity = closest(notes["velocity"].astype(np.int64), c.velocities()) if c.num_velocities else DEFAULT_VELOCITY
        out["velocity"] = velocity
        out = out[np.lexsort((-out["velocity"], -out["duration"], out["onset"], out["pitch"]))]
        out = out[np.r_[True, (out["onset"][1:] != out["onset"][:-1]) | (out["pitch"][1:] != out["pitch"][:-1])]]
        # One key per pitch: a note ends by the next onset of its pitch (else MIDI cannot keep both).
        gap = np.r_[np.diff(out["onset"]), np.iinfo(np.int64).max]
        gap[np.r_[out["pitch"][1:] != out["pitch"][:-1], True]] = np.iinfo(np.int64).max
        long = out["duration"] > gap
        allowed = c.durations()
        out["duration"][long] = allowed[np.searchsorted(allowed, gap[long], side="right") - 1]
        return out[np.lexsort((out["pitch"], out["onset"]))]

    def to_score(self, piece: MidiPiece) -> symusic.Score:
        """The quantized notes as a one-track symusic Score at ``grid`` ticks per quarter note."""
        notes = self.quantize(piece)
        score = symusic.Score(self.config.grid)
        track = symusic.Track("Piano", 0, False)
        track.notes = symusic.Note.from_numpy(
            time=notes["onset"].astype(np.int32), duration=notes["duration"].astype(np.int32),
            pitch=notes["pitch"].astype(np.int8), velocity=notes["velocity"].astype(np.int8))
        score.tracks.append(track)
        if self.config.time_signatures:
            score.time_signatures.append(symusic.TimeSignature(0, *bar_signature(*piece.time_signature)))
        return score

    def encode_piece(self, piece: MidiPiece) -> list[int]:
        score = self.to_score(piece)
        if not score.tracks[0].notes:
            return []
        return list(self.tokenizer.encode(score)[0].ids)

    def names(self, ids: Sequence[int]) -> list[str]:
        return [self.vocab[i] for i in check_ids(ids, self.vocab_size)]

    def decode_score(self, ids: Sequence[int]) -> symusic.Score:
        """MidiTok's decoding: a Score at ``grid`` ticks per quarter note (malformed runs are skipped)."""
        return self.tokenizer.decode([check_ids(ids, self.vocab_size)])

    def decode_midi(self, ids: Sequence[int], qpm: float = 120.0, program: int = 0) -> pretty_midi.PrettyMIDI:
        """One track of the decoded notes at a constant ``qpm``, with the tokens' time signatures."""
        check_playback(qpm, program)
        score = self.decode_score(ids)
        seconds = 60.0 / (qpm * score.ticks_per_quarter)  # per tick
        midi = pretty_midi.PrettyMIDI(resolution=RESOLUTION, initial_tempo=float(qpm))
        midi.time_signature_changes = [pretty_midi.TimeSignature(ts.numerator, ts.denominator, ts.time * seconds)
                                       for ts in score.time_signatures]
        inst = pretty_midi.Instrument(program=int(program))
        for track in score.tracks:
            inst.notes += [pretty_midi.Note(int(n.velocity), int(n.pitch), n.time * seconds, n.end * seconds)
                           for n in track.notes]
        inst.notes.sort(key=lambda n: (n.start, n.pitch))
        midi.instruments.append(inst)
        return midi

    def to_dict(self) -> dict:
        """Config, vocabulary (checked on loading) and the MidiTok version that built it."""
        return {"kind": self.kind, "config": self.config.to_dict(), "vocab": list(self.vocab),
                "miditok": version("miditok")}

    @classmethod
    def from_dict(cls, data: dict) -> EventTokenizer:
        if data.get("kind") != cls.kind:
            raise ValueError(f"Not a {cls.kind} tokenizer: {data.get('kind')!r}.")
        tokenizer = cls.fit((), **data.get("config", {}))
        if "vocab" in data and list(data["vocab"]) != tokenizer.vocab:
            raise ValueError(f"MidiTok {version('miditok')} builds another vocabulary from this configuration than "
                             f"the saved one (MidiTok {data.get('miditok', '?')}); install that version.")
        return tokenizer

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EventTokenizer) and self.to_dict() == other.to_dict()

    __hash__ = None
