"""Compose as an instrument, in core: seeds, batched variations, edits (check, transpose, tempo, replay),
continuing a user's tune or MIDI file, and the best attempt when no attempt passes."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pretty_midi
import pytest
import torch

from core.data.abc import analyse_body
from core.data.piece import Piece
from core.errors import UserError
from core.generation.abc_compose import ComposeSettings, compose_abc
from core.generation.batch import run_lockstep, select_rows
from core.generation.continuation import ContinueSettings, continue_tune, midi_primer
from core.generation.edit import (
    check_tune,
    decode_upload,
    replay,
    semitones_to,
    set_tempo,
    transpose,
    transpose_midi,
)
from core.generation.rescue import NoPlayableTune, mark_broken_bars
from core.generation.settings import MAX_SEED, check_seed, draw_seed, load_model, one_thread
from core.generation.variations import compose_variations, variation_seeds
from tests.conftest import SHIPPED
from tests.test_cli import run

TUNE = "X:1\nT:Test Jig\nM:6/8\nL:1/8\nK:D\n|:A2B c2d|e2f g2e|f2d e2c|d3 d3:|\n"


def _pitches(midi: pretty_midi.PrettyMIDI) -> list[int]:
    return [n.pitch for inst in midi.instruments for n in sorted(inst.notes, key=lambda n: n.start)]


def test_seeds_are_drawn_fresh_and_checked():
    seeds = {draw_seed() for _ in range(20)}
    assert len(seeds) > 15 and all(0 <= s <= MAX_SEED for s in seeds)
    for bad in (-1, MAX_SEED + 1, 1.5, True):
        with pytest.raises(UserError, match="seed must be a whole number"):
            check_seed(bad)
    assert variation_seeds(MAX_SEED, 2) == [MAX_SEED, 0]


@pytest.mark.parametrize("name", [SHIPPED[0], "gpt-folk"])
def test_variations_are_the_single_tunes_of_their_seeds(name):
    """Lockstep rows (LSTM) and speculative tunes on threads (GPT): variation i is the tune seed i gives alone."""
    loaded = load_model(name)
    settings = ComposeSettings(name, seed=21, max_copy_bars=None, form="AB", bars_per_part=4)
    batch = compose_variations(settings, 3, loaded)
    with one_thread():  # as compose() runs: two OpenMP threads spin against a busy machine's neighbours
        singles = [compose_abc(replace(settings, seed=s), loaded) for s in (21, 22, 23)]
    assert [p.abc for p in batch] == [p.abc for p in singles]
    assert len({p.abc for p in batch}) == 3


def test_lockstep_runs_one_forward_pass_per_step_and_keeps_row_masks(shipped_lstm):
    model, tokenizer = shipped_lstm.model, shipped_lstm.tokenizer
    calls = []
    original = model.step

    def counting_step(idx, state):
        calls.append(idx.shape[0])
        return original(idx, state)

    def task(banned_char, make):
        sampler = make(model, tokenizer, torch.Generator().manual_seed(1), 1.0, 0, 1.0)
        sampler.feed("X:1\nT:")
        banned = tokenizer.index[banned_char]
        sampler.logits_hook = lambda logits: logits.index_fill(0, torch.tensor([banned]), float("-inf"))
        return "".join(sampler.next_char() for _ in range(60))

    model.step = counting_step
    try:
        out = run_lockstep(model, [lambda make: task("e", make), lambda make: task("a", make)])
    finally:
        del model.step
    assert "e" not in out[0] and "a" not in out[1] and len(out[0]) == len(out[1]) == 60
    assert calls.count(2) >= 60  # both rows in every step: one forward pass for the pair


def test_select_rows_keeps_the_named_rows_of_every_state_shape():
    h = torch.arange(2 * 3 * 4.0).view(2, 3, 4)  # (layers, B, H)
    assert torch.equal(select_rows([(h, h)], [0, 2])[0][0], h[:, [0, 2]])
    window = torch.arange(12).view(3, 4)  # (B, T)
    assert torch.equal(select_rows(window, [1]), window[[1]])


def test_check_tune_names_broken_bars_and_missing_key():
    check = check_tune("X:1\nT:t\nM:6/8\nL:1/8\nK:D\nA2B c2d|e2f g2e a|f2d e2c|\n")
    assert check.broken == [2] and check.sentence() == "Bar 2 breaks the meter 6/8."
    with pytest.raises(UserError, match="no K: line"):
        check_tune("X:1\nT:t\nM:6/8\nA2B c2d|\n")
    with pytest.raises(UserError, match="binary"):
        decode_upload(b"\x00\x01\x02MThd")
    with pytest.raises(UserError, match="at most 6,000"):
        check_tune("X:1\nK:D\n" + "A" * 7000)


def test_transpose_moves_every_note_by_the_interval_and_tempo_keeps_them():
    before = Piece.from_abc(TUNE).midi
    up = transpose(TUNE, semitones_to("D", "E"))
    assert "K:E" in up
    assert [p + 2 for p in _pitches(before)] == _pitches(Piece.from_abc(up).midi)
    slow = Piece.from_abc(set_tempo(TUNE, 60)).midi
    assert _pitches(slow) == _pitches(before) and slow.get_end_time() > 1.5 * before.get_end_time()
    with pytest.raises(UserError, match="is not a key"):
        semitones_to("D", "H")
    assert _pitches(transpose_midi(before, -3)) == [p - 3 for p in _pitches(before)]


def test_replay_plays_the_edit():
    edited = TUNE.replace("|:A2B", "|:G2B")
    piece, check = replay(edited)
    assert _pitches(piece.midi)[0] == 67 and not check.broken  # G above middle C, was A (69)
    with pytest.raises(UserError):
        replay("X:1\nT:t\nM:6/8\nL:1/8\nK:D\nz6|z6|\n")  # no notes


@pytest.mark.parametrize("model", [SHIPPED[0], "gpt-folk"])
def test_continue_keeps_the_pasted_tune_byte_for_byte(model):
    piece = continue_tune(ContinueSettings(model, TUNE, seed=4, seconds=10))
    assert piece.abc.startswith(TUNE) and len(piece.abc) > len(TUNE) + 10
    assert piece.duration > Piece.from_abc(TUNE).duration + 5


def test_continue_refuses_bad_tunes_with_one_sentence():
    for tune, message in [("K:D\n" + "A" * 7000, "at most"), ("T:x\nabc|", "no K: line"),
                          ("X:1\nK:D\nA2B|\nX:2\nK:D\nA|", "more than one tune"), ("X:1\nK:D\nABc|", "M: line")]:
        with pytest.raises(UserError, match=message):
            ContinueSettings(SHIPPED[0], tune).validate()


def test_midi_primer_refuses_text_and_a_file_without_notes():
    with pytest.raises(UserError, match="cannot be a primer: not a MIDI file"):
        midi_primer(b"X:1\nK:D\n")
    empty = pretty_midi.PrettyMIDI()
    empty.instruments.append(pretty_midi.Instrument(0))
    buf = io.BytesIO()
    empty.write(buf)
    with pytest.raises(UserError, match="no notes"):
        midi_primer(buf.getvalue())


def test_temperature_two_now_makes_a_tune_whose_bars_all_fit(shipped_lstm):
    # once "No playable tune after 10 attempts": meter-exact sampling keeps every bar whole at any temperature
    piece = compose_abc(ComposeSettings(SHIPPED[0], seed=1, temperature=2.0, max_copy_bars=None), shipped_lstm)
    fields = dict(line.split(":", 1) for line in piece.abc.splitlines() if line[1:2] == ":")
    body = piece.abc.split("\nK:", 1)[1].split("\n", 1)[1]
    assert piece.n_notes > 0 and analyse_body(body, fields["M"].strip(), fields["L"].strip()).bad == []


def test_no_playable_tune_shows_the_best_attempt_with_its_broken_bars_marked(shipped_lstm, monkeypatch):
    import core.generation.abc_compose as abc_compose

    monkeypatch.setattr(abc_compose, "_seconds", lambda *a: 1e6)  # every attempt "plays too short"
    settings = ComposeSettings(SHIPPED[0], seed=1, max_copy_bars=None, max_attempts=2)
    with pytest.raises(NoPlayableTune) as caught:
        compose_abc(settings, shipped_lstm)
    best = caught.value.best
    assert best is not None and caught.value.broken == [] and best.n_notes > 0
    assert "Try again" in str(caught.value) and "2 attempts" in str(caught.value)
    marked, broken = mark_broken_bars("X:1\nM:6/8\nL:1/8\nK:D\nA2B c2d|e2f g2e a|\n")
    assert broken == [2] and '|"^✗ bar 2"e2f' in marked


def test_generate_without_seed_draws_and_reports_one(tmp_path):
    proc = run("generate", "--model", SHIPPED[0], "--seconds", "10", "--allow-copies", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert isinstance(summary["seed"], int) and 0 <= summary["seed"] <= MAX_SEED


def test_generate_variations_prints_a_json_list_with_seeds_and_files(tmp_path):
    proc = run("generate", "--model", SHIPPED[0], "--seed", "5", "--variations", "3", "--seconds", "10",
               "--allow-copies", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    summaries = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [s["seed"] for s in summaries] == [5, 6, 7]
    for i, s in enumerate(summaries, start=1):
        assert s["files"]["abc"].endswith(f"tune-{i}.abc")
        assert all((tmp_path / f"tune-{i}.{ext}").is_file() for ext in ("abc", "mid", "wav"))
    bad = run("generate", "--model", SHIPPED[0], "--variations", "9", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "Variations must be a whole number from 1 to 8" in bad.stderr
    assert not (tmp_path / "x").exists()


def test_an_undertrained_model_gives_a_tune_or_its_best_attempt_with_a_way_on(tiny_model):
    from core.training.checkpoint import load_checkpoint

    loaded = load_checkpoint(tiny_model)
    settings = ComposeSettings(loaded.card.name, seed=2, seconds=10, max_attempts=4, max_copy_bars=None)
    try:
        piece = compose_abc(settings, loaded)
    except NoPlayableTune as exc:
        assert "Press Try again for another seed, or lower the temperature." in str(exc)
        assert exc.best is None or exc.best.n_notes > 0
    else:
        assert piece.n_notes > 0
