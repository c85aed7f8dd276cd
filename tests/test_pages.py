"""The pages through Streamlit's AppTest: Home's status, Compose from model pick to audio (ABC models; the MIDI
families are in test_midi_pages.py), Train."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SHIPPED
from tests.page_support import scores, visit_history

TIMEOUT = 120  # importing torch alone takes ~2 s here; AppTest's default is 3 s


def _app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def _compose_page() -> AppTest:
    at = _app()
    at.switch_page("pages/views/compose.py")
    at.run()
    assert not at.exception
    return at


def test_home_shows_audio_status_and_the_models():
    at = _app()
    assert any("FluidSynth ready" in s.value for s in at.success)
    assert any(s.value.startswith("Survey database ready: sqlite:///") for s in at.success)
    table = at.dataframe[0].value
    assert set(SHIPPED) <= set(table["name"])


def test_compose_generates_a_tune_with_audio_notation_and_downloads():
    at = _compose_page()
    labels = at.selectbox(key="model").options  # shown as "name · family · corpus · bits/char"
    assert all(any(label.startswith(f"{name} · char_rnn · oneills1850") for label in labels) for name in SHIPPED)
    assert all(" bits/char on test" in label for label in labels if " · char_rnn · " in label)
    at.selectbox(key="model").set_value(SHIPPED[1]).run()  # the picker sits above the form: its kind picks the form
    at.selectbox(key="tune_type").set_value("jig")
    at.slider(key="top_p").set_value(0.95)
    at.number_input(key="top_k").set_value(20)
    at.slider(key="seconds").set_value(20)
    at.number_input(key="seed").set_value(11)
    at.checkbox(key="lock_seed").check()
    at.number_input(key="variations").set_value(1)
    next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.exception and not at.error
    audio = at.get("audio")
    assert len(audio) == 1 and audio[0].proto.url.endswith(".wav")
    abc = at.text_area(key="edit_abc").value
    assert "M:6/8" in abc and "R:jig" in abc
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download ABC", "Download MIDI", "Download WAV"]
    score = scores(at)  # the score, drawn by abcjs in the browser, with its alt text
    assert len(score) == 1 and score[0]["alt"].startswith("Score of") and "R:jig" in score[0]["abc"]
    settings = visit_history(at)[0]["meta"]["settings"]
    assert settings["top_p"] == 0.95 and settings["top_k"] == 20

    # a second tune joins the visit's history, the first stays listed below it
    at.number_input(key="seed").set_value(12)
    next(b for b in at.button if b.label == "Generate").click().run()
    assert len(visit_history(at)) == 2
    assert len(at.get("audio")) == 2


def test_compose_shows_a_clear_error_and_keeps_working():
    at = _compose_page()
    at.selectbox(key="model").set_value(SHIPPED[0])
    at.selectbox(key="meter").set_value("6/8")
    at.number_input(key="variations").set_value(1)
    at.text_area(key="opening").set_value("A2B c2d e2f|")  # 9 eighths in a 6/8 bar
    at.button[0].click().run()
    assert not at.exception
    assert "does not fit the meter" in at.error[0].value
    at.text_area(key="opening").set_value("")
    at.slider(key="seconds").set_value(15)
    at.button[0].click().run()
    assert not at.error and len(at.get("audio")) == 1


@pytest.mark.parametrize("page", ["pages/views/home.py", "pages/views/compose.py"])
def test_pages_run_without_models(page, tmp_path, monkeypatch):
    import core.training.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "SHIPPED_MODELS", tmp_path / "none")
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path))
    at = _app()
    at.switch_page(page)
    at.run()
    assert not at.exception
    assert any("No trained models yet" in i.value for i in at.info)


def test_page_scripts_live_in_views_not_directly_in_pages():
    # A script directly in pages/ would turn on Streamlit's legacy page discovery (pages/__init__.py).
    assert sorted(p.name for p in (ROOT / "pages").glob("*.py")) == ["__init__.py"]
    registered = (ROOT / "app.py").read_text().count('st.Page("pages/views/')
    assert registered == len(list((ROOT / "pages" / "views").glob("*.py")))


def test_train_page_runs_a_tiny_model_that_then_appears_on_compose(tmp_path, monkeypatch):
    import time

    from core.training import jobs
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path))  # only this test's runs on the page
    at = _app()
    at.session_state["admin"] = True  # the Train page asks for the admin login
    at.switch_page("pages/views/train.py")
    at.run()
    at.selectbox(key="preset").set_value("tiny-lstm")
    at.text_input(key="name").set_value("page-tiny")
    at.number_input(key="epochs").set_value(1)
    at.checkbox(key="quick").check()
    at.button[0].click().run()
    assert not at.exception
    assert not at.error, at.error[0].value
    assert at.success[0].value == "Training page-tiny started."
    job = next(j for j in jobs.list_jobs() if j.name == "page-tiny")
    assert any("page-tiny" in m.value and "running" in m.value for m in at.markdown)  # the run is listed
    bar = at.get("progress")
    assert len(bar) == 1 and bar[0].proto.text.startswith("epoch 1 of 1, batch ")  # progress while it runs
    assert [b.label for b in at.button if b.key == f"cancel-{job.id}"] == ["Cancel"]
    deadline = time.time() + 180
    while jobs.read(job.id).state == jobs.RUNNING and time.time() < deadline:
        time.sleep(0.5)
    at.run()
    assert "Model page-tiny is ready" in at.success[0].value
    assert not at.get("progress")
    assert len(at.get("vega_lite_chart")) == 1  # the training and validation loss curves
    at.switch_page("pages/views/compose.py")
    at.run()
    assert any(label.startswith("page-tiny · char_rnn") for label in at.selectbox(key="model").options)


def test_train_page_refuses_a_bad_name_with_one_sentence():
    at = _app()
    at.session_state["admin"] = True  # the Train page asks for the admin login
    at.switch_page("pages/views/train.py")
    at.run()
    at.text_input(key="name").set_value("../../etc")
    at.button[0].click().run()
    assert not at.exception
    assert "may only use letters" in at.error[0].value
