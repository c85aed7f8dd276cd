"""A server that faces the public (issue #14): two faces, the login on workspace pages, bounded work.

The participant-only face is also checked in a real browser (tests/test_public_browser.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import streamlit as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from core.errors import UserError
from core.server import ServerSettings, beyond_loopback, server_settings
from tests.conftest import ROOT
from tests.page_support import TIMEOUT, open_page

WORKSPACE = ["home", "compose", "train", "evaluate", "survey_builder", "survey_admin", "results"]


def test_settings_come_from_the_environment_and_bad_ones_are_one_sentence(monkeypatch):
    assert server_settings() == ServerSettings()
    monkeypatch.setenv("TUNELAB_MODE", "survey")
    monkeypatch.setenv("TUNELAB_MAX_TRAINING_RUNS", "3")
    assert server_settings().participant_only and server_settings().max_training_runs == 3
    for name, value, message in [("TUNELAB_MODE", "public", "TUNELAB_MODE must be one of full, survey"),
                                 ("TUNELAB_MAX_TRAINING_RUNS", "0", "must be 1 to 64"),
                                 ("TUNELAB_UPLOAD_QUOTA_MB", "nan", "must be a positive number"),
                                 ("TUNELAB_JOINS_PER_MINUTE", "ten", "must be a number")]:
        with monkeypatch.context() as m:
            m.setenv(name, value)
            with pytest.raises(UserError, match=message):
                server_settings()
    assert beyond_loopback(None) and beyond_loopback("0.0.0.0") and not beyond_loopback("127.0.0.1")


def test_a_participant_only_app_has_no_workspace_page(monkeypatch):
    monkeypatch.setenv("TUNELAB_MODE", "survey")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Listening survey"  # the default and only page
    for name in WORKSPACE:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"pages/views/{name}.py")


@pytest.mark.parametrize("name", ["train", "survey_builder", "survey_admin", "results"])
def test_the_full_app_asks_for_the_login_on_workspace_pages(name):
    at = open_page(f"pages/views/{name}.py")
    assert at.title[0].value == "Admin login"
    assert at.text_input(key="admin_password") is not None
    assert [b.label for b in at.button] == ["Log in"] and not at.selectbox  # nothing of the page behind it
    assert len(at.main.children) < 8


def test_the_train_page_shows_itself_once_logged_in():
    at = open_page("pages/views/train.py", admin=True)
    assert at.title[0].value == "Train" and at.selectbox(key="corpus") is not None


@pytest.mark.parametrize("name,title", [("compose", "Compose"), ("evaluate", "Evaluate")])
def test_compose_and_evaluate_ask_for_the_login_only_beyond_loopback(name, title):
    assert open_page(f"pages/views/{name}.py").title[0].value == title  # localhost (.streamlit/config.toml)
    before = st.get_option("server.address")
    config._set_option("server.address", "0.0.0.0", "test")  # as `--server.address 0.0.0.0` would
    try:
        at = open_page(f"pages/views/{name}.py")
    finally:
        config._set_option("server.address", before, "test")
    assert at.title[0].value == "Admin login"


def test_participants_see_no_toolbar():
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert 'toolbarMode = "minimal"' in config
    assert "--client.toolbarMode minimal" in (ROOT / "Makefile").read_text()


def test_one_training_run_at_a_time(tmp_path, monkeypatch):
    from core.training import jobs
    from core.training.config import TrainConfig

    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path))
    first = jobs.start(TrainConfig(preset="tiny-lstm", corpus="oneills1850", name="first-run", epochs=50,
                                   max_train_chars=400_000))
    try:
        with pytest.raises(UserError, match=r"1 training run\(s\) are going on this server already"):
            jobs.start(TrainConfig(preset="tiny-lstm", corpus="oneills1850", name="second-run", epochs=1))
        assert [j.name for j in jobs.list_jobs()] == ["first-run"]  # nothing started
        with pytest.raises(UserError, match="is being trained already"):  # a raised limit lets others through
            jobs.start(TrainConfig(preset="tiny-lstm", corpus="oneills1850", name="first-run", epochs=1),
                       max_running=2)
    finally:
        jobs.cancel(first.id)
        deadline = time.time() + 60
        while jobs.read(first.id).state == jobs.RUNNING and time.time() < deadline:
            time.sleep(0.3)


def test_an_abc_upload_is_written_only_when_saved(tmp_path, monkeypatch):
    from core.data.corpus import save_uploads, upload_folder

    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path))
    files = [("reels.abc", b"X:1\nT:A reel\nM:4/4\nL:1/8\nK:D\nABcd efga|\n")]
    folder = upload_folder(files)
    assert not folder.exists() and not (tmp_path / "uploads").exists()  # what the page computes on each rerun
    assert save_uploads(files) == folder and folder.is_dir()  # what pressing the button does


def _upload(root, name: str, mb: float, age_days: float) -> None:
    folder = root / "uploads" / name
    folder.mkdir(parents=True)
    (folder / "f.abc").write_bytes(b"x" * int(mb * 2**20))
    stamp = time.time() - age_days * 86_400
    os.utime(folder, (stamp, stamp))


def test_uploads_are_cleaned_by_age_then_oldest_first_within_the_quota(tmp_path, monkeypatch):
    from core.data.upload_quota import make_room

    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TUNELAB_UPLOAD_QUOTA_MB", "3")
    _upload(tmp_path, "ancient", 0.1, 30)
    _upload(tmp_path, "old", 1, 3)
    _upload(tmp_path, "used", 1, 4)
    _upload(tmp_path, "new", 1, 1)
    card = tmp_path / "models" / "m" / "card.json"
    card.parent.mkdir(parents=True)
    card.write_text(json.dumps({"corpus": {"source": str(tmp_path / "uploads" / "used")}}))
    removed = make_room(int(0.5 * 2**20))
    assert sorted(p.name for p in removed) == ["ancient", "old"]  # past 7 days; then the oldest unused one
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["new", "used"]
    with pytest.raises(UserError, match="space for uploads"):
        make_room(5 * 2**20)
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["new", "used"]  # a refusal removes nothing


BOMB = """
import os, re, sys, time


def peak_kb():  # VmHWM: this process's own peak (ru_maxrss would carry pytest's over the fork and exec)
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", f.read()).group(1))


os.environ["TUNELAB_DATA_DIR"] = sys.argv[1]
import music21  # noqa: F401  (loaded before the baseline: the import's own memory is not the upload's)
from core.data.midi_corpus import import_corpus
from core.data.uploads import save_music_uploads
entity = "C" * 7_800_000
xml = ('<?xml version="1.0"?>\\n<!DOCTYPE score-partwise [<!ENTITY a "' + entity + '">]>\\n'
       '<score-partwise><work><work-title>' + "&a;" * 5000 + '</work-title></work></score-partwise>\\n')
base = peak_kb()
start = time.perf_counter()
folder = save_music_uploads([("bomb.xml", xml.encode())])  # what the Train page's Import does
corpus = import_corpus(str(folder), "bombed")
print(json.dumps({"bytes": len(xml), "pieces": len(corpus.pieces),
                  "reasons": [p.reason for p in corpus.failed], "seconds": time.perf_counter() - start,
                  "base_kb": base, "peak_kb": peak_kb()}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory is read from Linux's /proc")
def test_the_entity_bomb_is_refused_under_300_mb_of_peak_memory(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import json\n" + BOMB, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert 7 * 2**20 < got["bytes"] < 8 * 2**20  # under the 8 MB score cap, as in the issue
    assert got["pieces"] == 0 and len(got["reasons"]) == 1 and "declares XML entities" in got["reasons"][0]
    assert got["peak_kb"] < 300 * 1024, got  # the whole process, music21 included (it was 2,244 MB)
    assert got["peak_kb"] - got["base_kb"] < 100 * 1024, got  # the upload itself: a few copies of 8 MB
    assert got["seconds"] < 10


def test_the_load_benchmark_picks_an_abc_model_or_says_why(monkeypatch):
    from benchmarks import survey_load
    from core.training import checkpoint

    name = survey_load.abc_model()
    card = next(c for c in checkpoint.list_models() if c.name == name)
    assert not card.is_midi and checkpoint.list_models()[0].is_midi  # the first listed (the autoencoder) is not it
    monkeypatch.setattr(checkpoint, "list_models", lambda: [c for c in checkpoint.scan_models()[0] if c.is_midi])
    with pytest.raises(UserError, match="needs an ABC model and none is installed"):
        survey_load.abc_model()
