"""Survey clips: every piece, human or machine, through one path to a fair WAV excerpt.

The path is the same for every clip, so that timbre, tempo, length or loudness cannot give the answer away:

1. melody only: guitar-chord symbols are removed from ABC before conversion, drum tracks are dropped;
2. one General MIDI program and one velocity for every note;
3. the tempo policy: every clip at the usual tempo of its meter (the Compose page's defaults, e.g. 6/8 at
   180 quarter notes a minute), or every clip at one fixed tempo;
4. FluidSynth with one SoundFont and one sample rate;
5. the first ``excerpt_seconds`` (the piece must last at least that long), raised-cosine fade in and out;
6. integrated loudness (ITU-R BS.1770-4, pyloudnorm) set to ``target_lufs``;
7. 16-bit PCM WAV with no metadata chunks: two clips of one policy have byte-identical headers.
"""

from __future__ import annotations

import copy
import hashlib
import io
import re
from dataclasses import asdict, dataclass, field

import numpy as np
import pretty_midi
import pyloudnorm

from core.audio.render import SAMPLE_RATE, render, wav_bytes
from core.data.abc import Tune
from core.data.corpus import decode_abc
from core.data.piece import Piece, UnplayableABC
from core.errors import UserError
from core.generation.tempo import default_tempo

MAX_UPLOAD_BYTES = 1024 * 1024
"""Largest uploaded MIDI or ABC file accepted by the survey builder (1 MiB)."""
PEAK_LIMIT = 10 ** (-1 / 20)  # -1 dBFS: a louder peak after loudness normalisation is refused
_CHORD_SYMBOL = re.compile(r'"[^"\n]*"')
TWINKLE_ABC = """X:1
T:Twinkle, Twinkle, Little Star
M:2/4
L:1/4
K:C
CC GG | AA G2 | FF EE | DD C2 | GG FF | EE D2 | GG FF | EE D2 |
CC GG | AA G2 | FF EE | DD C2 | CC GG | AA G2 | FF EE | DD C2 |]
"""
"""The known human catch clip: a melody every participant should recognise as human-made."""
FRERE_JACQUES_ABC = """X:2
T:Frere Jacques
M:4/4
L:1/4
K:F
FGAF | FGAF | AB c2 | AB c2 | c/d/c/B/ AF | c/d/c/B/ AF | FC F2 | FC F2 |]
"""
"""The practice trial's human tune: another well-known melody, so that practice never gives the catch away."""


@dataclass(frozen=True)
class ClipPolicy:
    """How every clip of a survey is made; one policy per survey.

    excerpt_seconds: length of every clip in seconds. fade_seconds: fade in and fade out, each, in seconds.
    program: General MIDI program 0-127. velocity: MIDI velocity 1-127 of every note. tempo_qpm: one tempo
    for every clip in quarter notes a minute, or None for the usual tempo of each clip's meter.
    target_lufs: integrated loudness of every clip (LUFS). soundfont: a .sf2 path, or None for the default.
    sample_rate: Hz.
    """

    excerpt_seconds: float = 20.0
    fade_seconds: float = 1.0
    program: int = 40
    velocity: int = 90
    tempo_qpm: float | None = None
    target_lufs: float = -20.0
    soundfont: str | None = None
    sample_rate: int = SAMPLE_RATE

    def validate(self) -> None:
        """Raise UserError for a setting out of range."""
        if not 3 <= self.excerpt_seconds <= 120:
            raise UserError(f"Excerpt length must be between 3 and 120 seconds, not {self.excerpt_seconds}.")
        if not 0 <= self.fade_seconds <= self.excerpt_seconds / 4:
            raise UserError(f"Fade must be between 0 and a quarter of the excerpt, not {self.fade_seconds} s.")
        if not 0 <= self.program <= 127:
            raise UserError(f"General MIDI program must be between 0 and 127, not {self.program}.")
        if not 1 <= self.velocity <= 127:
            raise UserError(f"Velocity must be between 1 and 127, not {self.velocity}.")
        if self.tempo_qpm is not None and not 20 <= self.tempo_qpm <= 400:
            raise UserError(f"Tempo must be between 20 and 400 quarter notes a minute, not {self.tempo_qpm}.")
        if not -40 <= self.target_lufs <= -10:
            raise UserError(f"Target loudness must be between -40 and -10 LUFS, not {self.target_lufs}.")


@dataclass
class PreparedClip:
    """One clip ready for the survey database.

    truth: "human" or "machine". group: the model name (machine) or the corpus name (human). source: where
    it came from (model and settings, or corpus and title) and the policy, JSON-serialisable. wav: the audio.
    duration_s: seconds. loudness_lufs: integrated loudness measured on the final clip.
    """

    truth: str
    group: str
    source: dict
    wav: bytes = field(repr=False)
    duration_s: float
    loudness_lufs: float
    is_catch: bool = False


def strip_chord_symbols(abc: str) -> str:
    """Remove quoted guitar chords and annotations from the body lines (abc2midi would play the chords)."""
    lines = abc.splitlines()
    k = next((i for i, line in enumerate(lines) if line.startswith("K:")), -1)
    return "\n".join(lines[: k + 1] + [_CHORD_SYMBOL.sub("", line) for line in lines[k + 1 :]]) + "\n"


def meter_of(midi: pretty_midi.PrettyMIDI) -> str:
    """The first time signature as ABC writes it (``"6/8"``); ``"4/4"`` when the file has none."""
    if not midi.time_signature_changes:
        return "4/4"
    ts = midi.time_signature_changes[0]
    return f"{ts.numerator}/{ts.denominator}"


def target_qpm(midi: pretty_midi.PrettyMIDI, policy: ClipPolicy) -> float:
    """The tempo a clip plays at under the policy, in quarter notes a minute."""
    return float(policy.tempo_qpm or default_tempo(meter_of(midi)))


def apply_policy(midi: pretty_midi.PrettyMIDI, policy: ClipPolicy) -> pretty_midi.PrettyMIDI:
    """A copy with drums dropped, every note at the policy's program and velocity, retimed to its tempo.

    Retiming scales every time by (source tempo / target tempo), the source tempo being the file's first one.
    """
    out = copy.deepcopy(midi)
    out.instruments = [inst for inst in out.instruments if not inst.is_drum and inst.notes]
    if not out.instruments:
        raise UnplayableABC("The piece has no melodic notes.")
    for inst in out.instruments:
        inst.program = policy.program
        for note in inst.notes:
            note.velocity = policy.velocity
    source_qpm = float(out.get_tempo_changes()[1][0]) if len(out.get_tempo_changes()[1]) else 120.0
    end = out.get_end_time()
    factor = source_qpm / target_qpm(midi, policy)
    if abs(factor - 1) > 1e-9:
        out.adjust_times(np.array([0.0, end]), np.array([0.0, end * factor]))
    return out


def fade(audio: np.ndarray, seconds: float, sample_rate: int) -> np.ndarray:
    """Raised-cosine fade in over the first and fade out over the last ``seconds`` (audio shape (n, channels))."""
    n = min(round(seconds * sample_rate), len(audio) // 2)
    if n == 0:
        return audio
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n, dtype=np.float64))).astype(np.float32)[:, None]
    out = audio.copy()
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return out


def loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4); -inf for silence."""
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(audio.astype(np.float64)))


def prepare_clip(
    piece: Piece, truth: str, group: str, source: dict, policy: ClipPolicy, is_catch: bool = False
) -> PreparedClip:
    """Run one piece through the survey's clip path (module docstring); UserError when it cannot."""
    if truth not in ("human", "machine"):
        raise UserError(f"A clip is made by a human or a machine, not {truth!r}.")
    policy.validate()
    midi = apply_policy(piece.midi, policy)
    if midi.get_end_time() < policy.excerpt_seconds:
        raise UserError(
            f"{piece.title!r} lasts {midi.get_end_time():.1f} s at the survey's tempo, shorter than the "
            f"{policy.excerpt_seconds:g} s excerpt."
        )
    audio = render(midi, policy.soundfont, policy.sample_rate)
    audio = fade(audio[: round(policy.excerpt_seconds * policy.sample_rate)], policy.fade_seconds, policy.sample_rate)
    measured = loudness(audio, policy.sample_rate)
    if not np.isfinite(measured):
        raise UserError(f"{piece.title!r} is silent in its first {policy.excerpt_seconds:g} s.")
    audio = audio * np.float32(10 ** ((policy.target_lufs - measured) / 20))
    peak = float(np.abs(audio).max())
    if peak > PEAK_LIMIT:
        raise UserError(
            f"{piece.title!r} would peak at {20 * np.log10(peak):+.1f} dBFS at {policy.target_lufs:g} LUFS; "
            "choose a lower target loudness."
        )
    return PreparedClip(
        truth=truth, group=group, source={**source, "policy": asdict(policy)}, wav=wav_bytes(audio, policy.sample_rate),
        duration_s=len(audio) / policy.sample_rate, loudness_lufs=round(loudness(audio, policy.sample_rate), 3),
        is_catch=is_catch,
    )


def human_clip(tune: Tune, corpus: str, policy: ClipPolicy) -> PreparedClip:
    """A human clip from a corpus tune (take it from the test split: a model may have memorised training tunes)."""
    abc = tune.to_abc()
    piece = Piece.from_abc(strip_chord_symbols(abc), policy.program)
    source = {"kind": "corpus", "corpus": corpus, "title": tune.title, "split": "test", "abc": abc}
    return prepare_clip(piece, "human", corpus, source, policy)


def machine_clip(piece: Piece, policy: ClipPolicy) -> PreparedClip:
    """A machine clip from a composed Piece (its meta names the model and settings)."""
    if piece.abc:
        piece = Piece.from_abc(strip_chord_symbols(piece.abc), policy.program, piece.meta)
    model = piece.meta.get("model") or "unknown model"
    source = {"kind": "model", "model": model, "settings": piece.meta.get("settings"), "abc": piece.abc,
              "novelty": novelty_summary(piece.meta.get("novelty"))}
    return prepare_clip(piece, "machine", model, source, policy)


def novelty_summary(result: dict | None) -> str | None:
    """One phrase for clip lists: the verdict and the longest passage shared with a training tune."""
    if not result:
        return None
    shared = f"{result['shared_bars']:g} bars shared with {result['source_piece']}" if result.get("source_piece") \
        else "nothing shared"
    return f"{result['verdict']}: {shared}"


def piece_from_upload(name: str, data: bytes) -> Piece:
    """A MIDI (.mid, .midi) or ABC (.abc, first tune) upload as a Piece; UserError for anything else."""
    if len(data) > MAX_UPLOAD_BYTES:
        limit = MAX_UPLOAD_BYTES // 2**20
        raise UserError(f"{name} is {len(data) / 2**20:.1f} MiB; uploads may be at most {limit} MiB.")
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix in ("mid", "midi"):
        try:
            midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
        except (OSError, ValueError, EOFError, KeyError, IndexError) as exc:
            raise UserError(f"{name} is not a readable MIDI file ({exc}).") from None
        if not any(inst.notes for inst in midi.instruments):
            raise UserError(f"{name} has no notes.")
        return Piece(midi, None, name.rsplit(".", 1)[0])
    if suffix == "abc":
        return Piece.from_abc(strip_chord_symbols(decode_abc(data, name)))
    raise UserError(f"{name}: upload a MIDI (.mid) or ABC (.abc) file.")


def upload_clip(name: str, data: bytes, policy: ClipPolicy) -> PreparedClip:
    """A human clip from an uploaded MIDI or ABC file."""
    piece = piece_from_upload(name, data)
    source = {"kind": "upload", "file": name, "sha256": hashlib.sha256(data).hexdigest(), "abc": piece.abc}
    return prepare_clip(piece, "human", "upload", source, policy)


def random_notes_piece(seconds: float, seed: int) -> Piece:
    """An obviously machine-made piece: uniformly random pitches (MIDI 40-90) and durations (0.1-0.6 s)."""
    rng = np.random.default_rng(seed)
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    inst = pretty_midi.Instrument(program=0)
    t = 0.0
    while t < seconds:
        length = float(rng.uniform(0.1, 0.6))
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=int(rng.integers(40, 91)), start=t, end=t + length))
        t += length
    midi.instruments.append(inst)
    return Piece(midi, None, "random notes", {"model": "random notes", "settings": {"seed": seed}})


def catch_clips(policy: ClipPolicy, seed: int = 0, abc: str = TWINKLE_ABC) -> list[PreparedClip]:
    """The two attention checks: a known human melody (``abc``, repeated to fill the excerpt) and random notes
    (obviously machine-made). :func:`practice_clips` makes another pair the same way.

    The random notes are made at 120 quarter notes a minute in 4/4, so the tempo policy sets their pace too.
    """
    tune = Piece.from_abc(abc, policy.program)
    repeats = 1 + int(policy.excerpt_seconds // max(apply_policy(tune.midi, policy).get_end_time(), 1e-3))
    head, body = abc.split("\nK:", 1)
    key, body = body.split("\n", 1)
    tune = Piece.from_abc(f"{head}\nK:{key}\n" + body.replace("|]", "|") * repeats, policy.program)
    human = prepare_clip(tune, "human", "catch", {"kind": "catch", "title": tune.title}, policy, is_catch=True)
    noise = random_notes_piece(policy.excerpt_seconds * 4, seed)
    machine = prepare_clip(noise, "machine", "catch", {"kind": "catch", "title": "random notes", "seed": seed},
                           policy, is_catch=True)
    return [human, machine]


def practice_clips(policy: ClipPolicy) -> list[PreparedClip]:
    """The practice pair: 'Frere Jacques' and other random notes, never the catch pair (issue 23)."""
    return catch_clips(policy, seed=1, abc=FRERE_JACQUES_ABC)


def tone_check_wav(tones: int, policy: ClipPolicy | None = None) -> bytes:
    """The volume check: ``tones`` beeps (0.35 s each, 0.65 s apart, rising from 523 Hz) at the clips' loudness.

    A participant who hears and counts them has working sound at a level where the clips are audible.
    """
    policy = policy or ClipPolicy()
    if not 1 <= tones <= 9:
        raise UserError(f"A volume check has 1 to 9 tones, not {tones}.")
    sr = policy.sample_rate
    t = np.arange(round(0.35 * sr)) / sr
    silence = np.zeros(round(0.65 * sr), dtype=np.float32)
    parts = [silence]
    for i in range(tones):
        beep = np.sin(2 * np.pi * 523.25 * 2 ** (i * 2 / 12) * t).astype(np.float32)
        parts += [fade(beep[:, None], 0.02, sr)[:, 0], silence]
    audio = np.repeat(np.concatenate(parts)[:, None], 2, axis=1)
    gain = 10 ** ((policy.target_lufs - loudness(audio, sr)) / 20)
    return wav_bytes(np.clip(audio * np.float32(gain), -PEAK_LIMIT, PEAK_LIMIT), sr)


def policy_from_dict(values: dict) -> ClipPolicy:
    """A ClipPolicy from its ``asdict`` form (unknown keys are ignored, missing ones take the defaults)."""
    known = {f for f in ClipPolicy.__dataclass_fields__}
    return ClipPolicy(**{k: v for k, v in (values or {}).items() if k in known})
