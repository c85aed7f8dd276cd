"""The MIDI families on the pages (AppTest): Compose with a note model and the autoencoder, Train on a MIDI
corpus, presets of the wrong kind refused, uploads imported as a corpus or refused in one sentence."""

import io
import time
import zipfile

import pretty_midi
import pytest
from streamlit.testing.v1 import AppTest

from core.data.midi_corpus import bach_files, list_midi_corpora
from core.training import jobs
from core.training.config import TrainConfig
from core.training.presets import PRESETS
from tests.conftest import SHIPPED
from tests.page_support import open_page, visit_history


@pytest.fixture(scope="module")
def midi_models(small_midi_corpus, data_dir):
    """A tiny note/chord GRU and a tiny piano-roll autoencoder in the data folder's models, so Compose lists them."""
    from core.training.config import TrainConfig
    from core.training.loop import train

    out = {}
    for preset, name in (("tiny-note-gru", "pages-note-gru"), ("tiny-ae", "pages-ae")):
        assert preset in PRESETS, f"{preset} is gone from core.training.presets"
        folder = data_dir / "models" / name
        if not folder.exists():
            train(TrainConfig(preset=preset, corpus=small_midi_corpus, epochs=1, checkpoint_every=0,
                              out_dir=str(folder)))
        out[preset] = name
    return out


def _compose_with(model: str) -> AppTest:
    at = open_page("pages/views/compose.py")
    at.selectbox(key="model").set_value(model).run()  # the form follows the model's kind
    assert not at.exception
    return at


def _downloads(at: AppTest) -> list[str]:
    return [b.label for b in at.get("download_button")]


def test_compose_lists_midi_models_with_their_held_out_loss(midi_models):
    at = open_page("pages/views/compose.py")
    labels = at.selectbox(key="model").options
    note = next(label for label in labels if label.startswith("pages-note-gru · note_rnn · chorales40 · "))
    assert "nats/token" in note and "accuracy" in note and "bits/char" not in note
    assert any(label.startswith("pages-ae · autoencoder · chorales40 · test loss") for label in labels)
    first_midi = next(i for i, label in enumerate(labels) if "nats/token" in label or "per cell" in label)
    assert all("bits/char" not in label for label in labels[first_midi:])  # ABC models first, by bits/char


def test_compose_with_a_note_model_gives_audio_piano_roll_tokens_and_midi(midi_models):
    at = _compose_with(midi_models["tiny-note-gru"])
    assert "meter" not in [s.key for s in at.selectbox]  # the ABC form is gone
    primers = at.selectbox(key="midi_primer").options
    assert len(primers) > 1  # none, then the held-out pieces of chorales40
    at.selectbox(key="midi_primer").set_value(primers[1])
    at.number_input(key="midi_primer_tokens").set_value(8)
    at.slider(key="midi_seconds").set_value(10)
    at.slider(key="midi_top_p").set_value(0.9)
    at.number_input(key="midi_seed").set_value(3)
    at.checkbox(key="midi_lock_seed").check()
    at.number_input(key="midi_variations").set_value(1)
    at.button[0].click().run()
    assert not at.exception and not at.error, at.error[0].value if at.error else ""
    audio = at.get("audio")
    assert len(audio) == 1 and audio[0].proto.url.endswith(".wav")
    piece = visit_history(at)[0]
    assert piece["svgs"] and piece["svgs"][0].lstrip().startswith("<svg")  # engraved on a grand staff
    assert len(at.get("image")) == len(piece["svgs"]) + 1  # the score's pages, then the piano roll
    assert _downloads(at) == ["Download MIDI", "Download WAV"]
    assert at.code[0].value.strip()  # the sampled tokens
    assert any("Novelty is checked for ABC models only." in c.value for c in at.caption)
    assert piece["abc"] is None and piece["midi"][:4] == b"MThd" and piece["meta"]["primer"] == primers[1]
    # the primer's notes play first, the join marked in the file and on the piano roll
    played = pretty_midi.PrettyMIDI(io.BytesIO(piece["midi"]))
    join = piece["meta"]["join_seconds"]
    assert [(t.text, round(t.time, 3)) for t in played.text_events] == [("continuation starts", join)]
    starts = sorted(n.start for inst in played.instruments for n in inst.notes)
    assert 0 < join < starts[-1] and starts[0] < join  # the given notes, then the model's

    # an ABC tune joins the same history; both still show
    at.selectbox(key="model").set_value(SHIPPED[0]).run()
    at.slider(key="seconds").set_value(15)
    at.number_input(key="variations").set_value(1)
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert [t["abc"] is None for t in visit_history(at)] == [False, True]
    assert len(at.get("audio")) == 2
    assert _downloads(at) == ["Download ABC", "Download MIDI", "Download WAV", "Download MIDI", "Download WAV"]


def test_compose_with_the_autoencoder_sets_threshold_and_spread(midi_models):
    at = _compose_with(midi_models["tiny-ae"])
    assert any("The length is fixed by the model" in c.value for c in at.caption)
    keys = {w.key for w in at.slider}
    assert {"midi_threshold", "midi_spread"} <= keys and "midi_seconds" not in keys
    assert "0.5" in at.slider(key="midi_threshold").help
    at.slider(key="midi_threshold").set_value(0.2)
    at.slider(key="midi_spread").set_value(1.5)
    at.number_input(key="midi_variations").set_value(1)
    at.button[0].click().run()
    assert not at.exception and not at.error, at.error[0].value if at.error else ""
    assert len(at.get("audio")) == 1 and len(at.get("image")) == 1
    assert _downloads(at)[0] == "Download MIDI"
    assert "threshold 0.2" in visit_history(at)[0]["label"]


def test_compose_midi_settings_out_of_range_give_one_sentence(midi_models):
    at = _compose_with(midi_models["tiny-note-gru"])
    at.number_input(key="midi_tempo").set_value(10)
    at.button[0].click().run()
    assert not at.exception
    assert len(at.error) == 1 and "Tempo must be between 20 and 400" in at.error[0].value
    assert not visit_history(at) or all(t["meta"].get("tempo") != 10 for t in visit_history(at))


def _train_page(corpus: str | None = None) -> AppTest:
    at = open_page("pages/views/train.py", admin=True)
    if corpus:
        at.selectbox(key="corpus").set_value(corpus).run()
        assert not at.exception
    return at


def test_train_page_offers_every_corpus_kind_and_the_fitting_presets_first(small_midi_corpus):
    at = _train_page()
    corpora = at.selectbox(key="corpus").options
    assert any(c.startswith("oneills1850: ABC") for c in corpora)
    assert any(c.startswith("bach: MIDI") for c in corpora)
    assert any(c.startswith(f"{small_midi_corpus}: MIDI · imported") for c in corpora)
    at.selectbox(key="corpus").set_value(small_midi_corpus).run()
    options = at.selectbox(key="preset").options
    assert len(options) == len(PRESETS)  # every preset, with its family and description
    fitting = [o for o in options if not o.endswith("(does not fit this corpus)")]
    assert options[: len(fitting)] == fitting
    assert {o.split(" · ")[1] for o in fitting} <= {"note_rnn", "transformer", "autoencoder"}
    assert any(o.startswith("tiny-note-gru · note_rnn · ") for o in fitting)
    assert all(PRESETS[o.split(" · ")[0]].tokenizer.get("kind") != "abc_chars" for o in fitting)
    assert "quick" not in [c.key for c in at.checkbox]  # the quick try cuts ABC characters only

    # a preset's own hyper-parameters fill the form; the note models' window is fixed by the preset
    at.selectbox(key="preset").set_value("r2-lstm").run()
    assert at.number_input(key="batch_size").value == 64 and at.selectbox(key="optimizer").value == "adamax"
    assert "seq_len" not in [n.key for n in at.number_input]
    assert any("Window: 50 tokens" in c.value for c in at.caption)
    assert at.number_input(key="batch_size").label == "Windows per batch"


def test_train_page_trains_a_tiny_midi_model_that_then_appears_on_compose(small_midi_corpus):
    at = _train_page(small_midi_corpus)
    at.selectbox(key="preset").set_value("tiny-note-gru").run()
    at.text_input(key="name").set_value("page-note-gru")
    at.number_input(key="epochs").set_value(1)
    at.selectbox(key="optimizer").set_value("adamw")
    at.number_input(key="patience").set_value(2)
    assert at.number_input(key="min_count").value == 1  # the preset's rare-token threshold
    at.number_input(key="min_count").set_value(2)
    at.button[0].click().run()
    assert not at.exception
    assert not at.error, at.error[0].value
    assert at.success[0].value == "Training page-note-gru started."
    job = next(j for j in jobs.list_jobs() if j.name == "page-note-gru")
    assert job.config["corpus"] == small_midi_corpus and job.config["optimizer"] == "adamw"
    assert job.config["patience"] == 2 and job.config["min_count"] == 2
    argv = " ".join(jobs.train_argv(TrainConfig(**job.config)))  # what the background process was started with
    assert "--patience 2" in argv and "--optimizer adamw" in argv and "--min-count 2" in argv
    deadline = time.time() + 300
    while jobs.read(job.id).state == jobs.RUNNING and time.time() < deadline:
        time.sleep(0.5)
    done = jobs.read(job.id)
    assert done.state == jobs.DONE, done.error
    at.run()
    ready = next(s.value for s in at.success if "page-note-gru" in s.value)
    assert ready.startswith("Model page-note-gru is ready: test loss ") and "nats per token" in ready
    assert "bits per character" not in ready
    at.switch_page("pages/views/compose.py")
    at.run()
    assert any(label.startswith(f"page-note-gru · note_rnn · {small_midi_corpus} · test loss")
               for label in at.selectbox(key="model").options)


@pytest.mark.parametrize("corpus,preset,message", [
    ("chorales40", "tiny-lstm", "is a MIDI corpus"),
    ("oneills1850", "tiny-note-gru", "is an ABC corpus"),
    ("chorales40", "tiny-ae", None),  # fits: only checked up to the name
])
def test_train_page_refuses_a_preset_of_the_wrong_kind_and_starts_nothing(small_midi_corpus, corpus, preset,
                                                                           message):
    at = _train_page(corpus)
    at.selectbox(key="preset").set_value(preset).run()
    at.text_input(key="name").set_value("../bad" if message is None else "mismatch")
    before = len(jobs.list_jobs())
    at.button[0].click().run()
    assert not at.exception
    assert len(at.error) == 1
    assert (message or "may only use letters") in at.error[0].value
    assert len(jobs.list_jobs()) == before


def test_an_oversize_upload_is_refused_in_one_sentence():
    at = _train_page()
    at.file_uploader(key="uploads").set_value(("big.mid", b"\0" * (50 * 2**20 + 1), "audio/midi")).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["big.mid is larger than the limit of 50 MB a file."]
    assert "import" not in [b.key for b in at.button]


def test_a_garbage_midi_upload_imports_nothing_and_says_why():
    at = _train_page()
    at.file_uploader(key="uploads").set_value(("junk.mid", b"this is not a MIDI file", "audio/midi")).run()
    at.text_input(key="import_name").set_value("junk")
    at.button(key="import").click().run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("Nothing could be imported from the upload (junk.mid")
    assert "junk" not in list_midi_corpora()


def test_a_garbage_abc_upload_is_refused_before_any_run_starts():
    at = _train_page()
    at.file_uploader(key="uploads").set_value(("tunes.abc", b"no tunes here, only words", "text/plain")).run()
    at.selectbox(key="preset").set_value("tiny-lstm").run()
    before = len(jobs.list_jobs())
    at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["No tunes with a K: field and notes were found in your upload."]
    assert len(jobs.list_jobs()) == before


def test_mixed_abc_and_midi_uploads_are_refused():
    at = _train_page()
    at.file_uploader(key="uploads").set_value([("a.abc", b"X:1\nK:D\nABC|\n", "text/plain"),
                                               ("b.mid", b"MThd", "audio/midi")]).run()
    assert [e.value for e in at.error] == ["Upload either ABC files or MIDI, MusicXML and zip files, not both at once."]


def test_a_zip_of_scores_is_imported_as_a_named_midi_corpus_and_selected():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for path in bach_files()[:3]:
            archive.write(path, f"chorales/{path.name}")
    at = _train_page()
    at.file_uploader(key="uploads").set_value(("three chorales.zip", buf.getvalue(), "application/zip")).run()
    at.text_input(key="import_name").set_value("three-chorales")
    at.button(key="import").click().run()
    assert not at.exception and not at.error, at.error[0].value if at.error else ""
    assert at.success[0].value.startswith("Imported 3 pieces as three-chorales")
    assert at.selectbox(key="corpus").value == "three-chorales"
    assert "three-chorales" in list_midi_corpora()
    assert at.selectbox(key="preset").value in {n for n, p in PRESETS.items() if p.tokenizer["kind"] != "abc_chars"}


def _finished_job(job_id: str, name: str, preset: str, metrics: dict) -> None:
    """A finished run's status as the training process leaves it (no process needed)."""
    import json
    from dataclasses import asdict

    folder = jobs.jobs_dir() / job_id
    folder.mkdir(parents=True)
    history = [{"epoch": 1, "train_loss": 2.0, "valid_loss": 2.1}, {"epoch": 2, "train_loss": 1.5, "valid_loss": 1.9}]
    status = jobs.JobStatus(job_id, name, state=jobs.DONE, config={"preset": preset, "corpus": "x"}, epoch=2,
                            epochs=2, history=history, model=name, metrics=metrics)
    (folder / jobs.STATUS).write_text(json.dumps(asdict(status)))


def test_finished_runs_show_the_figure_and_loss_unit_of_their_kind(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path))  # only these runs on the page
    _finished_job("20990101-000000-000001", "done-abc", "tiny-lstm",
                  {"test_bpc": 2.345, "test_accuracy": 0.41, "test_loss": 1.2})
    _finished_job("20990101-000000-000002", "done-notes", "tiny-note-gru",
                  {"test_loss": 2.5, "test_accuracy": 0.3, "test_bits_per_token": 3.607})
    _finished_job("20990101-000000-000003", "done-ae", "tiny-ae",
                  {"test_loss": 0.07, "test_accuracy": 0.977, "test_note_f1": 0.31, "test_silent_accuracy": 0.972})
    at = _train_page()
    messages = sorted(s.value for s in at.success)
    assert messages == [
        "Model done-abc is ready: 2.345 bits per character and 41.0% accuracy on held-out tunes.",
        "Model done-ae is ready: test loss 0.0700 (binary cross-entropy per piano-roll cell), note F1 0.31 and "
        "97.7% of cells right on held-out pieces; silence everywhere gets 97.2%.",
        "Model done-notes is ready: test loss 2.500 nats per token (3.607 bits) and 30.0% accuracy per token "
        "on held-out pieces.",
    ]
    charts = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert len(charts) == 3
    assert [unit in spec for spec, unit in zip(charts, ["binary cross-entropy per cell", "nats/token", "nats/char"],
                                              strict=True)] == [True, True, True]
