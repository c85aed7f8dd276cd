"""The fair clip path (core.survey.clips): policy, excerpt, fade, loudness, uploads, catch clips, volume check."""

from __future__ import annotations

import io
import wave

import numpy as np
import pretty_midi
import pytest

from core.data.piece import Piece
from core.errors import UserError
from core.survey.clips import (
    ClipPolicy,
    apply_policy,
    catch_clips,
    fade,
    loudness,
    meter_of,
    piece_from_upload,
    policy_from_dict,
    prepare_clip,
    strip_chord_symbols,
    tone_check_wav,
)


def _midi(numerator: int = 4, qpm: float = 120.0, seconds: float = 12.0, drums: bool = False) -> pretty_midi.PrettyMIDI:
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(numerator, 8 if numerator == 6 else 4, 0))
    inst = pretty_midi.Instrument(program=0)
    inst.notes = [pretty_midi.Note(velocity=30 + i % 60, pitch=60 + i % 12, start=i * 0.5, end=i * 0.5 + 0.4)
                  for i in range(int(seconds * 2))]
    midi.instruments.append(inst)
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        kit.notes = [pretty_midi.Note(velocity=100, pitch=36, start=0, end=0.1)]
        midi.instruments.append(kit)
    return midi


def _pcm(wav: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(wav)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels()) / 32768
        return data, w.getframerate()


def test_policy_sets_program_velocity_drops_drums_and_retimes():
    out = apply_policy(_midi(drums=True), ClipPolicy(program=73, velocity=77))
    assert len(out.instruments) == 1 and out.instruments[0].program == 73
    assert {n.velocity for n in out.instruments[0].notes} == {77}
    # 4/4 plays at 150 quarter notes a minute (the Compose default): a note at 1.0 s at 120 moves to 0.8 s
    assert out.instruments[0].notes[2].start == pytest.approx(0.8)
    fixed = apply_policy(_midi(), ClipPolicy(tempo_qpm=60))
    assert fixed.instruments[0].notes[2].start == pytest.approx(2.0)
    assert apply_policy(_midi(numerator=6), ClipPolicy()).instruments[0].notes[2].start == pytest.approx(1 / 1.5)


def test_meter_and_chord_symbols():
    assert meter_of(_midi(numerator=6)) == "6/8" and meter_of(pretty_midi.PrettyMIDI()) == "4/4"
    abc = 'X:1\nT:"Quoted" title\nK:D\n"D"A2B "G"c2d|"A7"e4|\n'
    assert strip_chord_symbols(abc) == 'X:1\nT:"Quoted" title\nK:D\nA2B c2d|e4|\n'


def test_fade_is_a_raised_cosine_at_both_ends():
    out = fade(np.ones((100, 2), dtype=np.float32), 0.5, 20)  # 10 samples each end
    assert out[0, 0] == 0 and out[-1, 1] == 0 and out[50, 0] == 1
    assert out[5, 0] == pytest.approx(0.5 - 0.5 * np.cos(np.pi * 5 / 9))
    assert np.array_equal(out[:10, 0], out[::-1][:10, 0])


def test_two_pieces_give_clips_of_one_length_header_and_loudness():
    policy = ClipPolicy(excerpt_seconds=6, fade_seconds=0.5, target_lufs=-23)
    quiet, loud = _midi(seconds=14), _midi(numerator=6, seconds=14)
    for note in loud.instruments[0].notes:
        note.velocity = 127
    a = prepare_clip(Piece(quiet), "human", "a", {}, policy)
    b = prepare_clip(Piece(loud), "machine", "b", {}, policy)
    assert a.wav[:44] == b.wav[:44] and len(a.wav) == len(b.wav) == 44 + 6 * 44100 * 4
    for clip in (a, b):
        pcm, sr = _pcm(clip.wav)
        assert loudness(pcm, sr) == pytest.approx(-23, abs=0.05) and clip.loudness_lufs == pytest.approx(-23, abs=0.01)
        assert np.abs(pcm[:50]).max() < 1e-3 and np.abs(pcm[-50:]).max() < 1e-3
    assert (a.duration_s, a.source["policy"]["target_lufs"]) == (6.0, -23)


def test_a_piece_shorter_than_the_excerpt_is_refused():
    with pytest.raises(UserError, match="shorter than the 20 s excerpt"):
        prepare_clip(Piece(_midi(seconds=8), title="Short"), "human", "x", {}, ClipPolicy(excerpt_seconds=20))
    with pytest.raises(UserError, match="human or a machine"):
        prepare_clip(Piece(_midi()), "robot", "x", {}, ClipPolicy(excerpt_seconds=5))


@pytest.mark.parametrize(("field", "value"), [("excerpt_seconds", 1), ("velocity", 0), ("tempo_qpm", 500),
                                             ("target_lufs", -5), ("fade_seconds", 10), ("program", 128)])
def test_policy_limits(field, value):
    with pytest.raises(UserError):
        ClipPolicy(**{field: value}).validate()


def test_uploads_of_midi_and_abc():
    buf = io.BytesIO()
    _midi().write(buf)
    piece = piece_from_upload("reel.mid", buf.getvalue())
    assert piece.title == "reel" and piece.n_notes == 24
    abc = piece_from_upload("jig.abc", b'X:1\nT:Jig\nM:6/8\nL:1/8\nK:D\n"D"ABc def|gfe dcB|\n')
    assert abc.title == "Jig" and abc.n_notes == 12 and '"' not in abc.abc


def test_catch_clips_and_policy_round_trip():
    policy = ClipPolicy(excerpt_seconds=5, fade_seconds=0.5)
    human, machine = catch_clips(policy)
    assert (human.truth, machine.truth, human.is_catch, machine.is_catch) == ("human", "machine", True, True)
    assert human.group == machine.group == "catch" and len(human.wav) == len(machine.wav)
    assert policy_from_dict(human.source["policy"]) == policy and policy_from_dict({"x": 1}) == ClipPolicy()


@pytest.mark.parametrize("tones", [2, 5])
def test_volume_check_plays_the_number_of_tones_at_the_clip_loudness(tones):
    pcm, sr = _pcm(tone_check_wav(tones))
    loud = np.abs(pcm[:, 0]) > 0.01
    onsets = int(np.sum(loud[1:] & ~loud[:-1]))
    frame = sr // 100  # count bursts on a 10 ms envelope so zero crossings inside a tone do not count
    envelope = np.abs(pcm[: len(pcm) // frame * frame, 0]).reshape(-1, frame).max(axis=1) > 0.01
    assert int(np.sum(envelope[1:] & ~envelope[:-1])) == tones and onsets >= tones
    assert loudness(pcm, sr) == pytest.approx(-20, abs=0.1)
