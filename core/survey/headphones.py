"""Two headphone checks: Woods, Siegel, Traer and McDermott (2017, Attention, Perception and Psychophysics), and
Huggins pitch (Milne et al. 2021, Behavior Research Methods), each six trials, passed with five or more right.

Woods' check:

Each trial plays three 200 Hz tones; one is 6 dB quieter than the other two, and one of the two louder tones
is in antiphase between the left and right channels. "Which tone is the quietest?" Over headphones the
antiphase tone sounds as loud as the other; over loudspeakers the two channels partly cancel in the air, so it
sounds quieter and loudspeaker listeners pick it. Six trials; five or more right passes (20 of 20 headphone
users passed, 19 of 20 loudspeaker listeners failed in the paper).

Its answer is in the file's levels (a script comparing the three tones' RMS passes it), so Huggins pitch is
offered beside it: three 1-second white noises, each made afresh for each trial of each participant; in one of
them a narrow band around 600 Hz (+/- 6%) is inverted in one ear only. Over headphones the brain hears a faint
tone in that noise; over loudspeakers the ears get both channels and hear none (Milne et al.: 80% of headphone
users passed, 20% of loudspeaker listeners). "Which noise has the faint tone?" Every channel of every noise has
the same RMS, and so do their sum and difference (the other two noises carry an equal, broadband interaural
difference): nothing in the levels tells the answer; only a cross-spectral analysis of the two channels would.

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


TESTS = {"woods": "Woods et al. 2017: which of three tones is quietest?",
         "huggins": "Huggins pitch (Milne et al. 2021): which of three noises hides a faint tone?"}
HUGGINS_HZ, HUGGINS_BAND, NOISE_RMS = 600.0, 0.06, 0.08


def trial_key(rng: random.Random, test: str = "woods") -> dict:
    """One trial. Woods: which of the three tones is quiet (1-3) and which other one is in antiphase. Huggins:
    which noise hides the tone ("quiet", so that :func:`score` reads both) and the seed of its noise."""
    quiet = rng.randint(1, 3)
    if test == "huggins":
        return {"quiet": quiet, "seed": rng.getrandbits(32)}
    antiphase = rng.choice([p for p in (1, 2, 3) if p != quiet])
    return {"quiet": quiet, "antiphase": antiphase}


def new_key(rng: random.Random, trials: int = TRIALS, test: str = "woods") -> list[dict]:
    """The answer key of a participant's check: :func:`trial_key` ``trials`` times."""
    return [trial_key(rng, test) for _ in range(trials)]


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


def _ramped_noise(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    noise = rng.standard_normal(int(TONE_S * sample_rate))
    ramp = int(0.02 * sample_rate)
    window = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    noise[:ramp] *= window
    noise[-ramp:] *= window[::-1]
    return noise


def _huggins_noise(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """A (samples, 2) noise with the band around HUGGINS_HZ inverted in the right channel."""
    left = _ramped_noise(rng, sample_rate)
    spectrum = np.fft.rfft(left)
    freqs = np.fft.rfftfreq(len(left), 1 / sample_rate)
    band = np.abs(freqs - HUGGINS_HZ) <= HUGGINS_BAND * HUGGINS_HZ
    spectrum[band] *= -1
    return np.stack([left, np.fft.irfft(spectrum, len(left))], axis=1)


def _decorrelated_noise(rng: np.random.Generator, sample_rate: int, rho: float) -> np.ndarray:
    """A (samples, 2) noise whose channels have equal energy and correlation ``rho``, with no tone in it."""
    common, extra = _ramped_noise(rng, sample_rate), _ramped_noise(rng, sample_rate)
    extra -= common * (extra @ common) / (common @ common)  # exactly orthogonal, then equally loud
    extra *= np.linalg.norm(common) / np.linalg.norm(extra)
    a, b = np.sqrt((1 + rho) / 2), np.sqrt((1 - rho) / 2)
    return np.stack([a * common + b * extra, a * common - b * extra], axis=1)


def huggins_audio(target: int, seed: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The stereo signal of one Huggins-pitch trial, noise ``target`` (1-3) hiding the tone; shape (samples, 2)."""
    if target not in (1, 2, 3):
        raise ValueError(f"the target noise is 1, 2 or 3, not {target}")
    rng = np.random.default_rng(seed)
    hidden = _huggins_noise(rng, sample_rate)
    rho = float(hidden[:, 0] @ hidden[:, 1] / np.linalg.norm(hidden[:, 0]) / np.linalg.norm(hidden[:, 1]))
    gap = np.zeros((int(GAP_S * sample_rate), 2))
    parts = []
    for position in (1, 2, 3):
        noise = hidden if position == target else _decorrelated_noise(rng, sample_rate, rho)
        noise = noise / np.sqrt((noise**2).mean(axis=0)) * NOISE_RMS  # each channel at the same RMS
        parts += [noise, gap] if position < 3 else [noise]
    return np.concatenate(parts)


def trial_wav(quiet: int, antiphase: int | None = None, sample_rate: int = SAMPLE_RATE,
              seed: int | None = None) -> bytes:
    """One trial as a 16-bit stereo WAV: Woods' (``antiphase``) or, with ``seed``, Huggins pitch."""
    audio = huggins_audio(quiet, seed, sample_rate) if seed is not None else trial_audio(quiet, antiphase, sample_rate)
    pcm = np.round(np.clip(audio, -1, 1) * 32767).astype("<i2")
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
