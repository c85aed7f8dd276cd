"""FluidSynth rendering: length, loudness, SoundFont errors, and the missing-library message."""

import builtins
import io
import tempfile
import wave
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from core.audio import render as render_mod
from core.audio.render import PEAK, SAMPLE_RATE, TAIL_SECONDS, default_soundfont, render, wav_bytes
from core.errors import UserError


def _one_note(seconds: float = 2.0, program: int = 0) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    inst.notes.append(pretty_midi.Note(velocity=100, pitch=69, start=0.0, end=seconds))  # A4, 440 Hz
    pm.instruments.append(inst)
    return pm


def test_default_soundfont_ships_with_pretty_midi():
    sf = default_soundfont()
    assert sf.name == "TimGM6mb.sf2" and sf.stat().st_size > 5_000_000


def test_audio_has_the_expected_length_and_is_not_silent():
    audio = render(_one_note(2.0))
    assert audio.shape == (round((2.0 + TAIL_SECONDS) * SAMPLE_RATE), 2)
    assert np.abs(audio).max() == pytest.approx(PEAK, rel=1e-4)  # peak-normalised to -1 dBFS
    note = audio[: 2 * SAMPLE_RATE, 0]
    assert np.sqrt(np.mean(note**2)) > 0.05  # loud while the note sounds
    # the strongest frequency is the note's: 440 Hz
    spectrum = np.abs(np.fft.rfft(note[:SAMPLE_RATE]))
    assert abs(np.argmax(spectrum) - 440) <= 2


def test_renders_do_not_leak_into_each_other():
    render(_one_note(2.0))
    late = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes.append(pretty_midi.Note(velocity=100, pitch=60, start=1.5, end=2.0))
    late.instruments.append(inst)
    audio = render(late)
    # the previous render's note, or its reverb, must not sound before this one starts
    assert np.abs(audio[:SAMPLE_RATE]).max() < 0.01  # FluidSynth dithers at 1 bit (~0.001 here)
    assert np.abs(audio[int(1.5 * SAMPLE_RATE) :]).max() > 0.5


def test_wav_bytes_is_16_bit_stereo_at_44k():
    data = wav_bytes(render(_one_note(0.5)))
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 44100)
        assert w.getnframes() == round(1.5 * 44100)


def test_missing_or_wrong_soundfont_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        render(_one_note(), tmp_path / "none.sf2")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(UserError, match="not a .sf2"):
        render(_one_note(), tmp_path / "notes.txt")


def test_missing_fluidsynth_library_names_the_package(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "fluidsynth":
            raise ImportError("Couldn't find the FluidSynth library.")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(UserError, match="libfluidsynth3"):
        render_mod._fluidsynth()
    ok, message = render_mod.fluidsynth_status()
    assert not ok and "libfluidsynth3" in message


def test_music21_fallback_converts_a_tune_its_midi_export_rejects():
    # music21's own MIDI export raises StreamException ("TimeSignature ... already found in this
    # Stream") on O'Neill's first tune; the fallback writes its notes all the same.
    from music21 import converter
    from music21.exceptions21 import StreamException

    from core.data.corpus import load_corpus
    from core.data.piece import _abc2midi, _music21

    tune = load_corpus("oneills1850").tunes[0]
    assert tune.title == "The Enchanted Valley"
    with pytest.raises(StreamException):
        converter.parse(tune.to_abc(), format="abc").write("midi", fp=str(Path(tempfile.mkdtemp()) / "x.mid"))
    by_music21 = _music21(tune.to_abc())
    by_abc2midi = _abc2midi(tune.to_abc())
    pitches = [n.pitch for n in by_music21.instruments[0].notes]
    # music21 reads some ties and accidentals of this tune differently from abc2midi (it merges
    # "G3-A", a tie between two pitches), so the two agree on the tune, not note for note
    assert len(pitches) > 50 and pitches[0] == 67  # starts on G4
    assert by_music21.get_end_time() == pytest.approx(by_abc2midi.get_end_time(), rel=0.2)
