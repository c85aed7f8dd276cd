"""The novelty check: exact results on a two-tune corpus, copies of real O'Neill tunes (moved,
retitled, spliced into other music) found, another collection's tune not, and its CLI contract."""

import json
import statistics
import subprocess
import sys
import time

import numpy as np
import pytest

from core.cli import main
from core.data.corpus import load_corpus
from core.data.notes import note_table
from core.data.piece import Piece
from core.errors import UserError
from core.evaluation.novelty import _index_path, check_novelty, load_index, melody_tokens
from tests.conftest import ROOT
from tests.handmade import make_midi, melody

TINY_BOOK = """X:1
T:Leaps
M:3/4
L:1/4
K:C
C c G | E2 A | F d B | c3 |]

X:2
T:Scale
M:4/4
L:1/8
K:C
CDEF GABc | dcBA GFED | C4 z4 |]
"""
# Four quarter notes of lead-in, then Scale's second bar and final C (d c B A G F E D C) a fourth
# lower: nine notes shared, from bar 2 of this piece and bar 2 (note 9) of Scale.
LEAD_IN = melody([60, 71, 62, 70], [1, 1, 1, 1])
COPY = melody([69, 67, 66, 64, 62, 60, 59, 57, 55], [0.5] * 8 + [2], start=4)


@pytest.fixture(scope="module")
def tiny_book(tmp_path_factory):
    path = tmp_path_factory.mktemp("book") / "tiny.abc"
    path.write_text(TINY_BOOK)
    return path


@pytest.fixture(scope="module")
def tiny_index(tiny_book):
    return load_index(str(tiny_book), "all")


@pytest.fixture(scope="module")
def oneills():
    return load_corpus("oneills1850")


@pytest.fixture(scope="module")
def oneills_index(oneills):
    return load_index(oneills, "train")


def test_tokens_are_intervals_and_inter_onset_times_of_the_top_line():
    # C quarter, then a chord (E under G) for an eighth, D eighth, G half: the chord reads as its G
    midi = make_midi([(60, 0, 1), (64, 1, 0.5), (67, 1, 0.5), (62, 1.5, 0.5), (67, 2, 2)])
    tokens, onsets = melody_tokens(note_table(midi))
    assert onsets.tolist() == [0, 48, 72, 96]  # 1/48 quarter notes
    assert tokens.tolist() == [(128 + 7) << 20 | 48, (128 - 5) << 20 | 24, (128 + 5) << 20 | 24]


def test_shared_run_length_place_and_ngram_share_are_exact(tiny_index):
    result = check_novelty(make_midi(LEAD_IN + COPY, tempo=90), tiny_index)
    assert result.longest_shared_notes == 9
    assert result.shared_bars == 1.5  # from its onset (4 quarters) to the piece's end (10 quarters)
    assert (result.source_piece, result.source_file, result.source_tune) == ("Scale", "tiny.abc", 1)
    assert (result.piece_note, result.piece_bar, result.source_note, result.source_bar) == (5, 2, 9, 2)
    assert result.ngrams == 6 and result.shared_ngram_fraction == pytest.approx(2 / 6)  # 13 notes: 6 runs of 8
    assert result.verdict == "novel"  # 1.5 bars < 2
    assert check_novelty(make_midi(LEAD_IN + COPY), tiny_index, threshold_bars=1.5).verdict == "copies"


def test_runs_under_eight_notes_never_copy_and_unrelated_notes_share_nothing(tiny_index):
    slow = melody([74, 72, 71, 69, 67, 65, 64], [4] * 7, start=4)  # Scale's d c B A G F E in whole notes
    assert check_novelty(make_midi(LEAD_IN + slow), tiny_index).longest_shared_notes == 0
    six = melody([69, 67, 66, 64, 62, 60], [0.5] * 5 + [4], start=4)  # six shared notes over 2.25 bars
    result = check_novelty(make_midi(LEAD_IN + six + melody([90, 50], [1, 1], start=10.5)), tiny_index)
    assert (result.longest_shared_notes, result.shared_bars) == (6, 1.625)
    result = check_novelty(make_midi(LEAD_IN + six + melody([90, 50], [1, 1], start=10.5)), tiny_index, 1.0)
    assert result.verdict == "novel"  # 6 notes: too short to be a copy, however long


def test_index_is_built_once_and_read_from_disk(tiny_book, tiny_index):
    path = _index_path(load_corpus(str(tiny_book)).content_hash, "all")
    assert path.is_file()
    again = load_index(str(tiny_book), "all")
    assert np.array_equal(again.hashes, tiny_index.hashes) and again.titles == ("Leaps", "Scale")
    path.write_bytes(b"not an index")  # a damaged cache is rebuilt, not trusted
    rebuilt = load_index(str(tiny_book), "all")
    assert np.array_equal(rebuilt.tokens, tiny_index.tokens)


def test_the_index_reads_tunes_as_a_single_conversion_does(oneills, oneills_index):
    tune = oneills.split("train")[100]
    tokens, _ = melody_tokens(note_table(Piece.from_abc(tune.to_abc()).midi))
    i = int(np.flatnonzero(oneills_index.tune_ids == 100)[0])
    assert np.array_equal(tokens, oneills_index.tokens[oneills_index.offsets[i] : oneills_index.offsets[i + 1]])


def test_a_training_tune_is_a_copy_as_written_transposed_and_retitled(oneills, oneills_index, tmp_path):
    tune = oneills.split("train")[100]
    piece = Piece.from_abc(tune.to_abc())
    result = check_novelty(piece.midi, oneills_index)
    assert result.verdict == "copies" and result.source_piece == tune.title
    assert result.shared_ngram_fraction == 1.0 and result.piece_note == 1 and result.source_note == 1
    for inst in piece.midi.instruments:  # up a fourth
        for note in inst.notes:
            note.pitch += 5
    assert check_novelty(piece.midi, oneills_index).source_piece == tune.title


def test_a_retitled_training_tune_with_new_header_fields_is_a_copy_on_the_cli(oneills, oneills_index, tmp_path, capsys):
    tune = oneills.split("train")[100]
    # a new title, composer and tempo, and abc2midi transposes it down a minor third
    abc = tune.to_abc().replace(f"T:{tune.title}", "T:My Own Tune\nC:A. Composer\nQ:1/4=72\n%%MIDI transpose -3")
    (tmp_path / "mine.abc").write_text(abc)
    assert main(["novelty", str(tmp_path / "mine.abc"), "--corpus", "oneills1850", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["title"] == "My Own Tune" and row["verdict"] == "copies" and row["source_piece"] == tune.title
    assert row["shared_ngram_fraction"] == 1.0 and row["longest_shared_notes"] > 40


def test_a_passage_spliced_into_new_music_is_found_with_its_place(oneills, oneills_index):
    tune = oneills.split("train")[100]
    table = note_table(Piece.from_abc(tune.to_abc()).midi)
    onsets = table.onset[10:35]
    borrowed = [
        (int(p) + 3, float(t - onsets[0]) + 8, float(b - t))
        for p, t, b in zip(table.pitch[10:34], onsets[:-1], onsets[1:], strict=True)
    ]  # 24 notes up a minor third
    rng = np.random.default_rng(7)
    before = melody(rng.integers(40, 90, 16).tolist(), [0.5] * 16)
    end = borrowed[-1][1] + borrowed[-1][2]
    after = melody(rng.integers(40, 90, 16).tolist(), rng.choice([0.25, 0.75, 1.5], 16).tolist(), start=end)
    result = check_novelty(make_midi(before + borrowed + after, tempo=100), oneills_index)
    assert result.source_piece == tune.title and result.verdict == "copies"
    assert (result.piece_note, result.source_note, result.longest_shared_notes) == (17, 11, 24)


def test_a_tune_from_another_collection_is_novel(oneills_index):
    essen = load_corpus("essen").tunes[0]
    result = check_novelty(Piece.from_abc(essen.to_abc()).midi, oneills_index)
    assert result.verdict == "novel" and result.shared_bars < 2
    assert result.shared_ngram_fraction < 0.05


def test_a_check_takes_well_under_50_ms(oneills, oneills_index):
    midis = [Piece.from_abc(t.to_abc()).midi for t in oneills.split("test")[:20]]
    times = []
    for midi in midis:
        t0 = time.perf_counter()
        check_novelty(midi, oneills_index)
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 0.05


@pytest.mark.parametrize(
    "notes,drums,message",
    [
        ([], None, "has no notes"),
        ([(60, 0, 1)], None, "has 1 note; the novelty check needs at least 8"),
        (melody([60, 62, 64, 65], [1] * 4), None, "has 4 notes"),
        ([], [(36, i / 2, 0.25) for i in range(16)], "only drum tracks"),
    ],
)
def test_pieces_too_small_to_judge_are_refused(tiny_index, notes, drums, message):
    with pytest.raises(UserError, match=message):
        check_novelty(make_midi(notes, drums=drums), tiny_index)


def test_bad_threshold_split_or_corpus_are_refused(tiny_book, tiny_index):
    with pytest.raises(UserError, match="positive number of bars"):
        check_novelty(make_midi(LEAD_IN + COPY), tiny_index, threshold_bars=0)
    with pytest.raises(UserError, match="Unknown split"):
        load_index(str(tiny_book), "training")
    with pytest.raises(UserError, match="Unknown corpus"):
        load_index("no-such-corpus", "train")


def _write_midi(path, notes, drums=None):
    make_midi(notes, drums=drums).write(str(path))
    return str(path)


@pytest.mark.parametrize(
    "case,message",
    [
        ("empty.abc", "holds no ABC tune with a K: field and notes"),
        ("empty.mid", "has no notes"),
        ("one.abc", "has 1 note"),
        ("drums.mid", "only drum tracks"),
        ("unknown-corpus", "Unknown corpus 'atlantis'"),
        ("song.wav", "neither an ABC"),
    ],
)
def test_cli_mistakes_exit_2_with_one_sentence(tiny_book, tmp_path, capsys, case, message):
    files = {
        "empty.abc": lambda p: p.write_text("X:1\nT:Nothing\nK:D\n"),
        "one.abc": lambda p: p.write_text("X:1\nT:One\nM:4/4\nL:1/4\nK:D\nD4 |]\n"),
        "empty.mid": lambda p: _write_midi(p, []),
        "drums.mid": lambda p: _write_midi(p, [], drums=[(36, i / 2, 0.25) for i in range(16)]),
        "song.wav": lambda p: p.write_bytes(b"RIFF"),
    }
    path = tmp_path / (case if case in files else "one.abc")
    files.get(case, files["one.abc"])(path)
    corpus = "atlantis" if case == "unknown-corpus" else str(tiny_book)
    assert main(["novelty", str(path), "--corpus", corpus, "--json"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1
    assert lines[0].startswith("error: ") and message in lines[0]


def test_cli_runs_as_a_program(tiny_book, tmp_path):
    path = tmp_path / "lead-and-copy.mid"
    make_midi(LEAD_IN + COPY).write(str(path))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "core",
            "novelty",
            str(path),
            "--corpus",
            str(tiny_book),
            "--split",
            "all",
            "--threshold-bars",
            "1.5",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    assert (row["verdict"], row["longest_shared_notes"], row["source_piece"]) == ("copies", 9, "Scale")
