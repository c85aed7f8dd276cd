"""The MIDI families end to end: tiny training runs, their cards, composing, generate and evaluate."""

import json

import pytest

from core.cli import main
from core.errors import UserError
from core.evaluation.compare import score
from core.generation.midi_compose import MidiComposeSettings, compose_midi, primer_titles
from core.training.checkpoint import load_checkpoint
from core.training.config import TrainConfig
from core.training.loop import train
from core.training.presets import PRESETS, Preset


@pytest.fixture(scope="module")
def tiny_models(small_midi_corpus, tmp_path_factory):
    """One tiny model per MIDI family, trained for two epochs on 40 chorales."""
    PRESETS.setdefault("tiny-gpt-events", Preset(
        "transformer",
        {"block_size": 256, "n_layer": 1, "n_head": 2, "n_embd": 32, "dropout": 0.0, "positions": "rope"},
        "test only", {"batch_size": 8, "seq_len": 256, "optimizer": "adamw", "lr": 3e-3},
        {"kind": "midi_events", "num_velocities": 0}))
    root = tmp_path_factory.mktemp("midi-models")
    out = {}
    for preset in ("tiny-note-gru", "tiny-gpt-events", "tiny-ae"):
        out[preset] = train(TrainConfig(preset=preset, corpus=small_midi_corpus, epochs=2, checkpoint_every=0,
                                        out_dir=str(root / preset)))
    return out


@pytest.mark.parametrize("preset,family,kind", [
    ("tiny-note-gru", "note_rnn", "note_chord"),
    ("tiny-gpt-events", "transformer", "midi_events"),
    ("tiny-ae", "autoencoder", "pianoroll"),
])
def test_each_family_learns_and_its_card_is_honest(tiny_models, preset, family, kind):
    result = tiny_models[preset]
    card = result.card
    assert card.family == family and card.tokenizer["kind"] == kind and card.corpus["kind"] == "midi"
    history = result.history
    assert history[1].train_loss < history[0].train_loss  # it learns
    m = card.metrics
    for key in ("valid_loss", "test_loss", "valid_accuracy", "test_accuracy"):
        assert 0 <= m[key] < 10 and m[key] == m[key], key  # held-out figures, finite
    assert "test_bpc" not in m and m["test_bits_per_token"] == pytest.approx(m["test_loss"] / 0.693147, rel=1e-4)
    assert card.corpus["pieces"]["test"] > 0 and card.corpus["fingerprint"]["test"]
    recomputed = score(load_checkpoint(result.folder), sample_tokens=8)
    assert recomputed.test_loss == pytest.approx(m["test_loss"], abs=1e-4)
    assert recomputed.accuracy == pytest.approx(m["test_accuracy"], abs=1e-4)
    assert recomputed.bits_per_char is None


def test_note_model_composes_from_a_held_out_primer_deterministically(tiny_models):
    loaded = load_checkpoint(tiny_models["tiny-note-gru"].folder)
    titles = primer_titles(loaded)
    settings = MidiComposeSettings(model=loaded.card.name, seed=3, seconds=12, primer=titles[0], primer_tokens=8)
    a, b = compose_midi(settings, loaded), compose_midi(settings, loaded)
    assert a.abc is None and a.n_notes > 4
    assert 10 <= a.duration <= 14.5
    assert [(n.pitch, n.start) for n in a.midi.instruments[0].notes] == [
        (n.pitch, n.start) for n in b.midi.instruments[0].notes]
    onsets = sorted({round(n.start * a.meta["tempo"] / 60, 6) for n in a.midi.instruments[0].notes})
    assert all((o * 2) == int(o * 2) for o in onsets)  # the reports' fixed 0.5-beat steps
    other = compose_midi(MidiComposeSettings(model=loaded.card.name, seed=4, seconds=12), loaded)
    assert other.meta["primer"] is None and other.n_notes > 0


def test_event_model_writes_durations_and_stops_at_the_length(tiny_models):
    loaded = load_checkpoint(tiny_models["tiny-gpt-events"].folder)
    piece = compose_midi(MidiComposeSettings(model=loaded.card.name, seed=1, seconds=8, top_p=0.95), loaded)
    durations = {round(n.end - n.start, 3) for n in piece.midi.instruments[0].notes}
    assert piece.duration <= 10.5 and piece.n_notes > 0
    assert len(durations) >= 1 and piece.meta["tokens"] > 0


def test_autoencoder_decodes_a_latent_point_at_a_fixed_length(tiny_models):
    loaded = load_checkpoint(tiny_models["tiny-ae"].folder)
    low = compose_midi(MidiComposeSettings(model=loaded.card.name, seed=2, threshold=0.05), loaded)
    high = compose_midi(MidiComposeSettings(model=loaded.card.name, seed=2, threshold=0.6), loaded)
    assert low.n_notes >= high.n_notes  # a lower threshold lets more notes through
    beats = 4 * loaded.card.model["measures"]
    assert low.duration <= beats * 60 / low.meta["tempo"] + 1.0


def test_generate_writes_midi_wav_and_a_piano_roll_for_a_midi_model(tiny_models, tmp_path, capsys):
    folder = tiny_models["tiny-note-gru"].folder
    assert main(["generate", "--model", str(folder), "--seconds", "6", "--out", str(tmp_path), "--seed", "5"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["files"]) == {"midi", "wav", "png"}
    assert summary["temperature"] == 1.0  # a MIDI model's default, as on the Compose page
    assert (tmp_path / "tune.wav").stat().st_size > 44_100 and (tmp_path / "tune.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["generate", "--model", str(folder), "--top-p", "0", "--out", str(tmp_path / "x")]) == 2
    assert "top-p" in capsys.readouterr().err.lower()


def test_resume_refuses_a_checkpoint_of_another_family(tiny_models, small_midi_corpus, tmp_path):
    other = tiny_models["tiny-gpt-events"].folder
    snapshot = other.parent / f".{other.name}-log" / "last.pt"
    with pytest.raises(UserError, match="it is a transformer model"):
        train(TrainConfig(preset="tiny-note-gru", corpus=small_midi_corpus, epochs=3, out_dir=str(tmp_path / "x"),
                          resume=str(snapshot)))


@pytest.mark.parametrize("preset,corpus,message", [
    ("tiny-note-gru", "oneills1850", "is an ABC corpus"),
    ("tiny-lstm", "bach", "is a MIDI corpus"),
])
def test_a_preset_and_a_corpus_of_different_kinds_are_refused_before_loading(preset, corpus, message, tmp_path):
    with pytest.raises(UserError, match=message):
        train(TrainConfig(preset=preset, corpus=corpus, epochs=1, out_dir=str(tmp_path / "x")))


def test_primer_that_is_not_a_held_out_piece_is_refused(tiny_models):
    loaded = load_checkpoint(tiny_models["tiny-note-gru"].folder)
    with pytest.raises(UserError, match="No held-out piece"):
        compose_midi(MidiComposeSettings(model=loaded.card.name, primer="no such piece"), loaded)


def test_the_autoencoder_samples_around_its_training_latents(tiny_models):
    model = load_checkpoint(tiny_models["tiny-ae"].folder).model
    assert bool(model.latent_fitted)
    assert float(model.latent_std.max()) > 0 and float(model.latent_mean.abs().sum()) > 0


def test_the_autoencoder_card_puts_cell_accuracy_beside_its_silent_baseline_and_note_f1(tiny_models):
    m = tiny_models["tiny-ae"].card.metrics
    assert 0.9 < m["test_silent_accuracy"] < 1  # most cells are silent
    assert 0 <= m["test_note_f1"] <= 1 and 0 <= m["test_note_f1_at_0.3"] <= 1


def test_evaluate_fills_one_row_per_model_from_the_weights(tiny_models, capsys):
    folders = [str(tiny_models[p].folder) for p in ("tiny-note-gru", "tiny-ae")]
    assert main(["evaluate", "--model", folders[0], "--model", folders[1], "--json", "--sample-tokens", "16"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["family"] for r in rows] == ["note_rnn", "autoencoder"]
    assert rows[0]["test_loss"] == pytest.approx(tiny_models["tiny-note-gru"].card.metrics["test_loss"], abs=1e-4)
    assert rows[0]["sample_tokens_per_s"] > 0 and rows[1]["sample_tokens_per_s"] is None
    assert all(r["samples_per_s"] > 0 and r["parameters"] > 0 for r in rows)
    assert main(["evaluate"]) == 2 and "--all" in capsys.readouterr().err


def test_a_survey_takes_clips_from_midi_models_and_midi_compose_pieces(tiny_models, small_midi_corpus):
    from core.data.midi_corpus import load_midi_corpus
    from core.survey.build import BuildRequest, build_clips
    from core.survey.clips import ClipPolicy

    human = load_midi_corpus(small_midi_corpus).split("test")[0].to_piece().midi_bytes()
    folder = tiny_models["tiny-note-gru"].folder
    loaded = load_checkpoint(folder)
    made = compose_midi(MidiComposeSettings(model=str(folder), seed=9, seconds=14), loaded)
    request = BuildRequest(models=[str(folder)], per_model=1, first_seed=1, uploads=[("chorale.mid", human)],
                           history=[(None, made.meta, made.midi_bytes())])
    clips, _notes = build_clips(request, ClipPolicy(excerpt_seconds=8, fade_seconds=0.5, tempo_qpm=120))
    assert sorted(c.truth for c in clips) == ["human", "machine", "machine"]
    assert all(7.5 <= c.duration_s <= 8.5 for c in clips)


def test_the_rare_token_threshold_shrinks_the_vocabulary_and_reaches_the_card(tiny_models, small_midi_corpus,
                                                                               tmp_path):
    from core.training.jobs import train_argv

    every = tiny_models["tiny-note-gru"].card  # min_count 1: every token of the training pieces
    cfg = TrainConfig(preset="tiny-note-gru", corpus=small_midi_corpus, epochs=1, checkpoint_every=0,
                      min_count=5, out_dir=str(tmp_path / "common"))
    assert "--min-count 5" in " ".join(train_argv(cfg))  # the Train page's background run gets it too
    common = train(cfg).card
    kept, all_tokens = common.tokenizer["vocab"], every.tokenizer["vocab"]
    assert 1 < len(kept) < len(all_tokens) and set(kept) <= set(all_tokens)
    assert common.model["vocab_size"] == len(kept) and common.training["min_count"] == 5
    with pytest.raises(UserError, match="applies to note/chord tokens"):
        TrainConfig(preset="tiny-ae", corpus=small_midi_corpus, min_count=5).resolved()
    with pytest.raises(UserError, match="at least 1"):
        TrainConfig(preset="tiny-note-gru", corpus=small_midi_corpus, min_count=0).resolved()
