"""MIDI to audio with FluidSynth.

One ``fluidsynth.Synth`` per (SoundFont, sample rate) is kept for the life of the process,
so a SoundFont loads once (about 0.2 s) and a 40-second tune renders in a few tens of ms.
Audio is float32, shape (samples, 2), 44.1 kHz by default, peak-normalised to -1 dBFS.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
import wave
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pretty_midi

from core.errors import UserError

SAMPLE_RATE = 44100
PEAK = 10 ** (-1 / 20)  # -1 dBFS
TAIL_SECONDS = 1.0
_LOCK = threading.Lock()
GM_INSTRUMENTS = {
    "Acoustic grand piano": 0,
    "Harpsichord": 6,
    "Accordion": 21,
    "Acoustic guitar (nylon)": 24,
    "Violin (fiddle)": 40,
    "Cello": 42,
    "Harp": 46,
    "Flute": 73,
    "Recorder": 74,
    "Pan flute": 75,
    "Whistle": 78,
    "Bagpipe": 109,
    "Fiddle": 110,
}
"""A few General MIDI programs that suit folk tunes (the name a page shows -> program 0-127)."""
INSTALL_HINT = (
    "FluidSynth's system library is missing: install libfluidsynth3 "
    "(Debian/Ubuntu: `sudo apt-get install libfluidsynth3`; macOS: `brew install fluid-synth`)."
)


def default_soundfont() -> Path:
    """The General MIDI SoundFont that ships inside the pretty_midi wheel (TimGM6mb, 6 MB)."""
    return Path(str(resources.files("pretty_midi") / "TimGM6mb.sf2"))


def resolve_soundfont(path: str | Path | None) -> Path:
    """The SoundFont to use; raises UserError when a given path is not a readable .sf2/.sf3."""
    if path is None or str(path) == "":
        return default_soundfont()
    sf = Path(path).expanduser()
    if not sf.is_file():
        raise UserError(f"SoundFont {sf} does not exist.")
    if sf.suffix.lower() not in (".sf2", ".sf3"):
        raise UserError(f"SoundFont {sf.name} is not a .sf2 or .sf3 file.")
    return sf.resolve()


def _fluidsynth():
    try:
        import fluidsynth
    except ImportError as exc:
        if "FluidSynth library" in str(exc) or "libfluidsynth" in str(exc):
            raise UserError(INSTALL_HINT) from None
        raise UserError("pyfluidsynth is not installed: run `pip install -r requirements.txt`.") from None
    return fluidsynth


def fluidsynth_status() -> tuple[bool, str]:
    """Whether audio can be rendered, and a sentence saying why not."""
    try:
        _fluidsynth()
    except UserError as exc:
        return False, str(exc)
    sf = default_soundfont()
    if not sf.is_file():
        return False, f"The default SoundFont {sf} is missing; reinstall pretty_midi."
    return True, f"FluidSynth ready, SoundFont {sf.name}."


@lru_cache(maxsize=4)
def _synth(soundfont: str, sample_rate: int):
    fluidsynth = _fluidsynth()
    synth = fluidsynth.Synth(samplerate=float(sample_rate))
    sfid = synth.sfload(soundfont)
    if sfid == -1:
        synth.delete()
        raise UserError(f"FluidSynth could not load the SoundFont {Path(soundfont).name}.")
    return synth, sfid


def _events(midi: pretty_midi.PrettyMIDI, sample_rate: int) -> tuple[list[tuple], dict[int, tuple[int, int]]]:
    """Timed synth events (sample, order, kind, channel, a, b) and each channel's (bank, program)."""
    events, programs = [], {}
    melodic = [c for c in range(16) if c != 9]
    for i, inst in enumerate(midi.instruments):
        channel = 9 if inst.is_drum else melodic[i % len(melodic)]
        programs[channel] = (128 if inst.is_drum else 0, inst.program)
        for n in inst.notes:
            events.append((round(n.start * sample_rate), 1, "on", channel, n.pitch, n.velocity))
            events.append((round(n.end * sample_rate), 0, "off", channel, n.pitch, 0))
        for b in inst.pitch_bends:
            events.append((round(b.time * sample_rate), 1, "bend", channel, b.pitch, 0))
        for c in inst.control_changes:
            events.append((round(c.time * sample_rate), 1, "cc", channel, c.number, c.value))
    events.sort(key=lambda e: (e[0], e[1]))
    return events, programs


def render(
    midi: pretty_midi.PrettyMIDI, soundfont: str | Path | None = None, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Render MIDI to stereo float32 audio of ``end_time + 1 s`` (release tail), peak at -1 dBFS."""
    sf = resolve_soundfont(soundfont)
    events, programs = _events(midi, sample_rate)
    total = round((midi.get_end_time() + TAIL_SECONDS) * sample_rate)
    out = np.zeros((total, 2), dtype=np.float32)
    with _LOCK:
        synth, sfid = _synth(str(sf), sample_rate)
        synth.system_reset()
        synth.get_samples(sample_rate // 4)  # flush reverb and chorus left from the last render
        for channel, (bank, program) in programs.items():
            if synth.program_select(channel, sfid, bank, program) == -1:
                synth.program_select(channel, sfid, bank, 0)
        pos = 0
        for sample, _, kind, channel, a, b in events:
            pos = _advance(synth, out, pos, min(sample, total))
            if kind == "on":
                synth.noteon(channel, a, b)
            elif kind == "off":
                synth.noteoff(channel, a)
            elif kind == "bend":
                synth.pitch_bend(channel, a)
            else:
                synth.cc(channel, a, b)
        _advance(synth, out, pos, total)
    return normalise_peak(out)


def _advance(synth, out: np.ndarray, pos: int, until: int) -> int:
    if until > pos:
        block = synth.get_samples(until - pos).reshape(-1, 2)
        out[pos:until] = block.astype(np.float32) / 32768.0
    return max(pos, until)


def normalise_peak(audio: np.ndarray, peak: float = PEAK) -> np.ndarray:
    """Scale so the loudest sample sits at ``peak``; silence stays silence."""
    top = float(np.abs(audio).max()) if audio.size else 0.0
    return audio * (peak / top) if top > 0 else audio


def wav_bytes(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM WAV bytes of float audio in [-1, 1], shape (samples,) or (samples, channels)."""
    data = np.atleast_2d(audio.T).T if audio.ndim == 1 else audio
    pcm = np.clip(data, -1, 1)
    pcm = (pcm * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temp file in the same folder, so no half file is left."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
