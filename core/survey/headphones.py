"""The headphone check of Woods, Siegel, Traer and McDermott (2017, Attention, Perception and Psychophysics).

Each trial plays three 200 Hz tones; one is 6 dB quieter than the other two, and one of the two louder tones
is in antiphase between the left and right channels. "Which tone is the quietest?" Over headphones the
antiphase tone sounds as loud as the other; over loudspeakers the two channels partly cancel in the air, so it
sounds quieter and loudspeaker listeners pick it. Six trials; five or more right passes (20 of 20 headphone
users passed, 19 of 20 loudspeaker listeners failed in the paper).

The stimuli are made here (numpy), never downloaded. Tones: 1000 ms with 100 ms raised-cosine ramps, 500 ms
apart, as in the paper.
"""

from __future__ import annotations

import io
import random
import wave

import numpy as np

TRIALS = 6
PASS_MARK = 5
FREQUENCY_HZ = 200.0
TONE_S, RAMP_S, GAP_S = 1.0, 0.1, 0.5
QUIET_DB = -6.0
LEVEL = 0.25  # peak amplitude of the louder tones (-12 dBFS): room for the listener's volume
SAMPLE_RATE = 44_100


def trial_key(rng: random.Random) -> dict:
    """One trial: which of the three tones is quiet (1-3) and which of the other two is in antiphase."""
    quiet = rng.randint(1, 3)
    antiphase = rng.choice([p for p in (1, 2, 3) if p != quiet])
    return {"quiet": quiet, "antiphase": antiphase}


def new_key(rng: random.Random, trials: int = TRIALS) -> list[dict]:
    """The answer key of a participant's check: :func:`trial_key` ``trials`` times."""
    return [trial_key(rng) for _ in range(trials)]


def _tone(sample_rate: int) -> np.ndarray:
    t = np.arange(int(TONE_S * sample_rate)) / sample_rate
    tone = np.sin(2 * np.pi * FREQUENCY_HZ * t)
    ramp = int(RAMP_S * sample_rate)
    window = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    tone[:ramp] *= window
    tone[-ramp:] *= window[::-1]
    return tone


def trial_audio(quiet: int, antiphase: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The stereo signal of one trial, shape (samples, 2), floats in [-1, 1]."""
    if {quiet, antiphase} - {1, 2, 3} or quiet == antiphase:
        raise ValueError(f"quiet and antiphase are two different tones of 1-3, not {quiet} and {antiphase}")
    tone, gap = _tone(sample_rate), np.zeros(int(GAP_S * sample_rate))
    left, right = [], []
    for position in (1, 2, 3):
        level = LEVEL * (10 ** (QUIET_DB / 20) if position == quiet else 1.0)
        left.append(level * tone)
        right.append(-level * tone if position == antiphase else level * tone)
        if position < 3:
            left.append(gap)
            right.append(gap)
    return np.stack([np.concatenate(left), np.concatenate(right)], axis=1)


def trial_wav(quiet: int, antiphase: int, sample_rate: int = SAMPLE_RATE) -> bytes:
    """:func:`trial_audio` as a 16-bit stereo WAV."""
    pcm = np.round(trial_audio(quiet, antiphase, sample_rate) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buffer.getvalue()


def score(key: list[dict], answers: list[int | None]) -> int:
    """How many answers name the quiet tone."""
    return sum(1 for k, a in zip(key, answers, strict=False) if a == k["quiet"])
