"""MIDI tokenizers: note/chord tokens, REMI events and onset piano rolls; round trips, cards and bad input.

Pieces are built inline with pretty_midi and read back through the importer's own parser, so a
decoded MIDI file is re-encoded exactly as an imported one; two real chorales come through the
corpus import (bwv66.6 in 4/4, bwv67.4 in 3/4).
"""

from __future__ import annotations

import io
import json
import shutil
import socket

import numpy as np
import pretty_midi
import pytest

from core.data.corpus import music21_corpus_dir
from core.data.midi_corpus import load_midi_corpus
from core.data.midi_parse import parse_midi
from core.data.midi_piece import MidiPiece
from core.errors import UserError
from core.tokenizers import (
    TOKENIZERS,
    EventConfig,
    EventTokenizer,
    NoteChordTokenizer,
    PianoRollTokenizer,
    tokenizer_from_dict,
)
from core.tokenizers.midi_events import bar_signature
from core.tokenizers.note_chord import chord_token, pitch_name


def as_piece(midi: pretty_midi.PrettyMIDI, title: str = "t") -> MidiPiece:
    """A MidiPiece of a pretty_midi object, through MIDI bytes and the importer's parser."""
    buf = io.BytesIO()
    midi.write(buf)
    parsed = parse_midi(buf.getvalue())
    return MidiPiece(title, f"{title}.mid", None, title, parsed.tempos, float(parsed.tempos[0, 1]),
                     parsed.time_signature, "C major", 0, parsed.tracks)


def piece(notes, qpm: float = 120.0, drums=(), time_signature=(4, 4), voice=()) -> MidiPiece:
    """A piece of (start, end, pitch[, velocity]) in quarter notes: a track of notes, a second voice, drums."""
    midi = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=qpm)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(*time_signature, 0.0))
    sec = 60.0 / qpm
    for program, is_drum, rows in ((0, False, notes), (0, False, voice), (0, True, drums)):
        if rows:
            inst = pretty_midi.Instrument(program=program, is_drum=is_drum)
            inst.notes = [pretty_midi.Note(int(r[3]) if len(r) > 3 else 90, int(r[2]), r[0] * sec, r[1] * sec)
                          for r in rows]
            midi.instruments.append(inst)
    return as_piece(midi)


@pytest.fixture(scope="module")
def chorales(tmp_path_factory) -> dict[str, MidiPiece]:
    """bwv66.6 (4/4, 163 notes) and bwv67.4 (3/4, 173 notes), imported as the bach corpus imports them."""
    root = tmp_path_factory.mktemp("scores") / "bach"
    root.mkdir()
    for name in ("bwv66.6.mxl", "bwv67.4.xml"):
        shutil.copy(music21_corpus_dir() / "bach" / name, root / name)
    return {p.title: p for p in load_midi_corpus(str(root.parent)).pieces}


# --- note/chord tokens -----------------------------------------------------------------------------------------


def test_pitch_names_and_chords_follow_music21():
    from music21 import chord, pitch

    assert [pitch_name(m) for m in range(128)] == [str(pitch.Pitch(midi=m)) for m in range(128)]
    assert [pitch_name(m) for m in (60, 63, 54, 70)] == ["C4", "E-4", "F#3", "B-4"]
    assert chord_token([67, 60, 64]) == "0.4.7" == ".".join(str(n) for n in chord.Chord([60, 64, 67]).normalOrder)
    assert chord_token([62, 65, 69, 72]) == "9.0.2.5"  # D minor seventh: normal order starts on A
    assert chord_token([48, 60]) == "0"  # an octave doubling is one pitch class


def test_note_chord_tokens_of_a_small_piece():
    p = piece([(0, 1, 60), (1, 2, 60), (1.02, 2, 64), (1, 2, 67),  # a C major chord, E 1/50 beat late
               (2, 2.5, 48), (2, 2.5, 60), (2, 2.5, 60),  # C3 + C4 (and C4 again): octave doubling "0"
               (3.5, 4, 54)], drums=[(0, 1, 36)])  # a second of silence, then F#3; drums ignored
    assert NoteChordTokenizer.fit([p]).piece_tokens(p) == ["C4", "0.4.7", "0", "F#3"]
    assert NoteChordTokenizer.fit([p], rests=True).piece_tokens(p) == ["C4", "0.4.7", "0", "rest", "rest", "F#3"]
    late = piece([(1.5, 2, 62)])  # silence before the first note counts
    assert NoteChordTokenizer.fit([late], rests=True).piece_tokens(late) == ["rest"] * 3 + ["D4"]


def test_min_count_drops_rare_tokens_and_orders_the_vocabulary():
    p = piece([(0, 1, 60), (1, 2, 60), (2, 3, 62), (3, 4, 60), (4, 5, 64), (4, 5, 67), (5, 6, 59)])
    full = NoteChordTokenizer.fit([p])
    assert full.vocab == ("B3", "C4", "D4", "4.7")  # notes by pitch, then chords
    common = NoteChordTokenizer.fit([p, p], min_count=3)
    assert common.vocab == ("C4",)  # seen 6 times; the rest only twice
    assert common.encode_piece(p) == [0, 0, 0]
    assert full.encode_tokens(["D4", "x", "4.7", "C#4"]) == [2, 3]  # unknown tokens dropped
    with pytest.raises(UserError, match="No note or chord occurs 99 times"):
        NoteChordTokenizer.fit([p], min_count=99)
    for bad in ({"min_count": 0}, {"min_count": 1.5}, {"stride": 2}, {"onset_grid": 0}, {"note_beats": 0}):
        with pytest.raises(ValueError):
            NoteChordTokenizer.fit([p], **bad)


def test_note_chord_decode_is_the_seeds_fixed_steps():
    tok = NoteChordTokenizer(("C4", "0.4.7", "0", "rest"), rests=True)
    midi = tok.decode_midi([0, 1, 3, 2], qpm=60)  # one second per quarter note
    notes = sorted((n.start, n.end, n.pitch) for n in midi.instruments[0].notes)
    assert notes == [(0.0, 0.5, 60), (0.5, 1.0, 60), (0.5, 1.0, 64), (0.5, 1.0, 67), (1.5, 2.0, 60), (1.5, 2.0, 72)]
    legato = NoteChordTokenizer(("C4",), note_beats=1.0).decode_midi([0, 0], qpm=60)
    assert [(n.start, n.end) for n in legato.instruments[0].notes] == [(0.0, 1.0), (0.5, 1.5)]


def test_note_chord_round_trip_on_any_token_list(chorales):
    rng = np.random.default_rng(0)
    tok = NoteChordTokenizer.fit(list(chorales.values()))
    for ids in (list(range(tok.vocab_size)), rng.integers(0, tok.vocab_size, 200).tolist()):
        assert tok.encode_piece(as_piece(tok.decode_midi(ids, qpm=97))) == ids
    rests = NoteChordTokenizer((*tok.vocab, "rest"), rests=True)
    ids = rng.integers(0, rests.vocab_size, 300).tolist()
    ids = ids[: max(i for i, t in enumerate(ids) if t != rests.index["rest"]) + 1]  # trailing rests leave no note
    assert rests.encode_piece(as_piece(rests.decode_midi(ids))) == ids


def test_note_chord_on_bach_chorales(chorales):
    tok = NoteChordTokenizer.fit(list(chorales.values()))
    assert tok.vocab_size == 45
    first = chorales["bwv66.6"]
    # the pickup: A major (A3 E4 A4 C#5) in normal order, then the tokens of each later onset
    assert tok.names(tok.encode_piece(first))[:4] == ["9.1.4", "8.11", "6.9.1", "4.8.11"]
    assert [len(tok.encode_piece(p)) for p in chorales.values()] == [51, 50]  # one token per onset
    assert NoteChordTokenizer.fit(list(chorales.values()), min_count=3).vocab_size < tok.vocab_size


def test_note_chord_card_and_bad_input():
    tok = NoteChordTokenizer(("C4", "0.4.7"), onset_grid=4, note_beats=0.25)
    card = json.loads(json.dumps(tok.to_dict()))
    assert card["kind"] == "note_chord" and NoteChordTokenizer.from_dict(card) == tok == tokenizer_from_dict(card)
    with pytest.raises(ValueError, match="Not a note_chord tokenizer"):
        NoteChordTokenizer.from_dict({**card, "kind": "abc_chars"})
    with pytest.raises(ValueError, match="no other keys"):
        NoteChordTokenizer.from_dict({**card, "extra": 1})
    for vocab in (("C4", "C4"), ("H4",), ("4.0",), ("0.12",)):  # duplicate, no such note, not normal order, pc 12
        with pytest.raises(ValueError):
            NoteChordTokenizer(vocab)
    for ids in ([2], [-1], [0, 5]):
        with pytest.raises(UserError, match="outside this tokenizer's vocabulary of 2 tokens"):
            tok.decode_midi(ids)
    with pytest.raises(UserError, match="tempo"):
        tok.decode_midi([0], qpm=0)


# --- REMI events -----------------------------------------------------------------------------------------------


def test_events_quantize_a_small_piece():
    tok = EventTokenizer()
    p = piece([(0, 1, 60, 90), (0, 2, 60, 90),  # unison: the longer is kept
               (0.06, 0.36, 64, 20),  # onset 0.48 step -> 0; 2.4 steps -> 2; velocity 20 -> bin 15
               (1, 3, 67, 127),  # this G is cut where the other voice's G starts
               (3, 23, 72, 64),  # 20 quarter notes: cut to the longest duration, 12 quarters
               (4.125, 8.25, 71, 90),  # 33 steps: between 32 and 34, a tie goes up
               (0, 1, 10, 90)], voice=[(2, 2.5, 67, 127)], drums=[(0, 1, 36)])  # too low, and a drum: dropped
    q = tok.quantize(p)
    assert q.tolist() == [(0, 16, 60, 95), (0, 2, 64, 15), (8, 8, 67, 127), (16, 4, 67, 127), (24, 96, 72, 63),
                          (33, 34, 71, 95)]
    score = tok.to_score(p)
    assert tok.tokenizer.preprocess_score(score).tracks[0].notes == score.tracks[0].notes  # on MidiTok's grid


def test_events_round_trip_on_chorales(chorales):
    tok = EventTokenizer()
    for name, p in chorales.items():
        q = tok.quantize(p)
        orig = p.notes()
        assert np.array_equal(orig["start_q"] * 8, np.rint(orig["start_q"] * 8))  # chorales lie on the 1/8 grid
        assert set(zip(q["onset"].tolist(), q["pitch"].tolist(), strict=True)) == set(
            zip((orig["start_q"] * 8).astype(int).tolist(), orig["pitch"].tolist(), strict=True))
        ids = tok.encode_piece(p)
        names = tok.names(ids)
        assert names[:2] == ["Bar_None", f"TimeSig_{p.time_signature[0]}/4"]
        assert sum(n.startswith("Pitch_") for n in names) == len(q)
        midi = tok.decode_midi(ids, qpm=p.tempo)
        assert [(t.numerator, t.denominator) for t in midi.time_signature_changes] == [p.time_signature]
        back = as_piece(midi).notes()
        got = np.column_stack([np.rint(back["start_q"] * 8), np.rint((back["end_q"] - back["start_q"]) * 8),
                               back["pitch"], back["velocity"]]).astype(int)
        assert got.tolist() == [list(r) for r in q.tolist()], name
        assert np.allclose(back["start"], q["onset"] / 8 * 60 / p.tempo)


def test_events_options_specials_and_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network blocked in this test")

    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    p = piece([(0, 1, 60, 40), (1, 1.5, 62, 100)])
    tok = EventTokenizer.fit([p])
    assert tok.vocab_size == 236 and tok.special_ids == {"PAD": 0, "BOS": 1, "EOS": 2}
    ids = tok.encode_piece(p)
    assert tok.names(ids) == ["Bar_None", "TimeSig_4/4", "Position_0", "Pitch_60", "Velocity_47", "Duration_1.0.8",
                              "Position_8", "Pitch_62", "Velocity_95", "Duration_0.4.8"]
    plain = [(n.start, n.end, n.pitch, n.velocity) for n in tok.decode_midi(ids).instruments[0].notes]
    framed = tok.decode_midi([1, *ids, 2, 0, 0])  # BOS, EOS and PAD decode to nothing
    assert [(n.start, n.end, n.pitch, n.velocity) for n in framed.instruments[0].notes] == plain
    quiet = EventTokenizer.fit([p], num_velocities=0, time_signatures=False)
    assert quiet.names(quiet.encode_piece(p)) == ["Bar_None", "Position_0", "Pitch_60", "Duration_1.0.8",
                                                  "Position_8", "Pitch_62", "Duration_0.4.8"]
    assert {n.velocity for n in quiet.decode_midi(quiet.encode_piece(p)).instruments[0].notes} == {100}
    assert tok.encode_piece(piece([], drums=[(0, 1, 36)])) == []


def test_bars_are_counted_in_quarter_notes():
    assert [bar_signature(*s) for s in [(4, 4), (3, 4), (6, 8), (12, 8), (2, 2), (3, 2), (3, 8), (9, 4)]] == [
        (4, 4), (3, 4), (3, 4), (6, 4), (4, 4), (6, 4), (4, 4), (4, 4)]
    tok = EventTokenizer()
    assert tok.names(tok.encode_piece(piece([(0, 1, 60)], time_signature=(6, 8))))[:2] == ["Bar_None", "TimeSig_3/4"]


def test_events_card_and_bad_input():
    tok = EventTokenizer.fit([], pitch_range=[36, 90], beat_res=[[0, 2, 4], [2, 8, 2]], num_velocities=4)
    card = json.loads(json.dumps(tok.to_dict()))
    assert card["kind"] == "midi_events" and card["config"]["beat_res"] == [[0, 2, 4], [2, 8, 2]]
    again = tokenizer_from_dict(card)
    assert again == tok and again.config == tok.config and again.vocab == tok.vocab
    assert tok != EventTokenizer()
    with pytest.raises(ValueError, match="Not a midi_events tokenizer"):
        EventTokenizer.from_dict({**card, "kind": "note_chord"})
    with pytest.raises(ValueError, match="another vocabulary"):
        EventTokenizer.from_dict({**card, "vocab": card["vocab"][::-1]})
    for bad in ({"pitch_range": (60, 61)}, {"pitch_range": (0, 129)}, {"beat_res": [(1, 4, 8)]},
                {"beat_res": [(0, 4, 8), (5, 8, 4)]}, {"beat_res": [(0, 4, 8), (4, 8, 3)]}, {"num_velocities": 200},
                {"tempos": True}):
        with pytest.raises(ValueError):
            EventTokenizer.fit([], **bad)
    with pytest.raises(UserError, match="Token id 299 is outside"):
        EventTokenizer().decode_midi([3, 299])
    assert EventConfig().durations()[[0, 31, 32, -1]].tolist() == [1, 32, 34, 96]  # 1/8 .. 4, then 1/4 .. 12 beats


# --- piano rolls -----------------------------------------------------------------------------------------------


def test_pianoroll_encodes_onsets_in_chunks():
    tok = PianoRollTokenizer(steps_per_beat=2, beats_per_measure=2, measures=2, low=48, high=72)
    p = piece([(0, 1, 60), (0.5, 1, 62), (1.26, 2, 100),  # step 2.52 -> 3; 100 folds down 3 octaves to 64
               (2, 3, 30), (8.5, 9, 61)])  # 30 folds up 2 octaves to 54; step 17 is in the dropped partial chunk
    roll = tok.encode_piece(p)
    assert roll.shape == (2, 2, 4, 24) and roll.dtype == bool  # 18 steps: two chunks of 8, the rest dropped
    flat = roll.reshape(-1, 24)
    assert sorted(zip(*np.nonzero(flat), strict=True)) == [(0, 12), (1, 14), (3, 16), (4, 6)]
    late = piece([(5, 6, 60), (10, 20, 62)])  # leading silence: starts at the measure of quarter 5 (step 10 -> 8)
    assert np.nonzero(tok.encode_piece(late).reshape(-1, 24))[0].tolist() == [2, 12]
    kept = PianoRollTokenizer(steps_per_beat=2, beats_per_measure=2, measures=2, low=48, high=72, trim_silence=False)
    assert np.nonzero(kept.encode_piece(late).reshape(-1, 24))[0].tolist() == [10, 20]
    assert tok.encode_piece(piece([(0, 3, 60)])).shape == (0, 2, 4, 24)  # shorter than one chunk
    assert tok.encode_pieces([p, late]).shape == (6, 2, 4, 24)  # 2 + (40 - 8) // 8
    assert tok.fold(np.arange(128)).min() == 48 and tok.fold(np.arange(128)).max() == 71


def test_pianoroll_round_trip_of_a_random_roll():
    tok = PianoRollTokenizer()
    rng = np.random.default_rng(1)
    roll = rng.random(tok.shape) < 0.03
    roll[0, 0, 5] = roll[-1, -1, 10] = True  # a note in the first measure and one sounding to the end
    midi = tok.decode_midi(roll, qpm=100)
    assert len(midi.instruments[0].notes) == roll.sum()
    assert np.array_equal(tok.encode_piece(as_piece(midi)), roll[None])
    probs = np.where(roll, rng.uniform(0.5, 1, roll.shape), rng.uniform(0, 0.5, roll.shape))
    assert np.array_equal(tok.encode_piece(as_piece(tok.decode_midi(probs, qpm=100))), roll[None])
    assert len(tok.decode_midi(probs, threshold=0.9).instruments[0].notes) < roll.sum()


def test_pianoroll_notes_end_at_the_next_onset_of_their_pitch():
    tok = PianoRollTokenizer(measures=1)
    roll = np.zeros(tok.shape, bool)
    roll[0, [0, 1, 8], 24] = True  # C4 at steps 0, 1 and 8
    notes = tok.decode_midi(roll, qpm=60, note_beats=1.0).instruments[0].notes  # 0.25 s per step
    assert [(n.start, n.end, n.pitch) for n in notes] == [(0.0, 0.25, 60), (0.25, 1.25, 60), (2.0, 3.0, 60)]
    assert tok.vocab_size == 48 and tok.steps_per_measure == 16


def test_pianoroll_card_and_bad_input():
    tok = PianoRollTokenizer.fit([], measures=4, low=48, high=96)
    card = json.loads(json.dumps(tok.to_dict()))
    assert card["kind"] == "pianoroll" and tokenizer_from_dict(card) == tok != PianoRollTokenizer()
    with pytest.raises(ValueError, match="Not a pianoroll tokenizer"):
        PianoRollTokenizer.from_dict({**card, "kind": "midi_events"})
    for bad in ({"low": 60, "high": 70}, {"measures": 0}, {"steps_per_beat": 1.5}, {"high": 129}, {"octaves": 2}):
        with pytest.raises(ValueError):
            PianoRollTokenizer.fit([], **bad)
    with pytest.raises(ValueError, match="must end with axes"):
        tok.decode_midi(np.zeros((4, 16, 47)))
    with pytest.raises(ValueError, match="threshold"):
        tok.decode_midi(np.zeros(tok.shape), threshold=0)


def test_every_kind_is_registered():
    assert {"abc_chars", "note_chord", "midi_events", "pianoroll"} <= set(TOKENIZERS)
    for tok in (NoteChordTokenizer(("C4",)), EventTokenizer(), PianoRollTokenizer()):
        assert tokenizer_from_dict(tok.to_dict()) == tok
    with pytest.raises(ValueError, match="Unknown tokenizer kind"):
        tokenizer_from_dict({"kind": "nope"})
