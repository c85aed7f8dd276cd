"""Background training jobs: start, progress, finish, cancel, lost processes, refusals."""

import json
import os
import shutil
import signal
import time

import pytest

from core.errors import UserError
from core.paths import user_models_dir
from core.training import jobs
from core.training.checkpoint import list_models
from core.training.config import TrainConfig


def _tiny(name: str, epochs: int = 1, chars: int = 20_000) -> TrainConfig:
    return TrainConfig(preset="tiny-lstm", name=name, epochs=epochs, max_train_chars=chars)


def _wait(job_id: str, until, timeout: float = 180) -> jobs.JobStatus:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = jobs.read(job_id)
        if until(status):
            return status
        time.sleep(0.3)
    pytest.fail(f"job {job_id} did not get there in {timeout} s: {jobs.read(job_id)}")


def test_a_job_trains_in_the_background_and_its_model_is_offered():
    job = jobs.start(_tiny("job-done", epochs=2))
    assert job.state == jobs.RUNNING and job.pid > 0
    done = _wait(job.id, lambda s: s.state != jobs.RUNNING)
    assert done.state == jobs.DONE, done.error
    assert [h["epoch"] for h in done.history] == [1, 2] and done.progress == 1.0
    assert done.model == "job-done" and done.metrics["test_bpc"] > 0
    card = next(c for c in list_models() if c.name == "job-done")
    assert card.training["command"].startswith("python -m core train --preset tiny-lstm")
    assert json.loads((jobs.jobs_dir() / job.id / "status.json").read_text())["state"] == "done"


def test_cancel_stops_the_run_and_saves_nothing():
    job = jobs.start(_tiny("job-cancelled", epochs=50, chars=400_000))
    _wait(job.id, lambda s: s.batch > 0 or s.epoch > 0)
    jobs.cancel(job.id)
    status = _wait(job.id, lambda s: s.state != jobs.RUNNING, timeout=60)
    assert status.state == jobs.CANCELLED
    assert not (user_models_dir() / "job-cancelled").exists()
    assert not (user_models_dir() / ".job-cancelled-log").exists()


def test_a_killed_process_is_reported_lost():
    job = jobs.start(_tiny("job-lost", epochs=50, chars=400_000))
    _wait(job.id, lambda s: s.batch > 0 or s.epoch > 0)
    os.kill(job.pid, signal.SIGKILL)
    status = _wait(job.id, lambda s: s.state != jobs.RUNNING, timeout=30)
    assert status.state == jobs.LOST
    shutil.rmtree(jobs.jobs_dir() / job.id)  # the page tests that share this data folder expect no failed run


@pytest.mark.parametrize("cfg,message", [
    (TrainConfig(preset="nope"), "Unknown preset"),
    (TrainConfig(preset="tiny-lstm", name="../x"), "may only use"),
    (TrainConfig(preset="tiny-lstm", name="r1-lstm-oneills1850"), "shipped model"),
])
def test_bad_settings_are_refused_before_any_process_starts(cfg, message):
    before = len(jobs.list_jobs())
    with pytest.raises(UserError, match=message):
        jobs.start(cfg)
    assert len(jobs.list_jobs()) == before


def test_an_existing_model_name_is_refused():
    (user_models_dir() / "taken").mkdir(parents=True, exist_ok=True)
    with pytest.raises(UserError, match="exists already"):
        jobs.start(_tiny("taken"))


def test_unknown_job_is_a_user_error():
    with pytest.raises(UserError, match="No training job"):
        jobs.read("20990101-000000-abcdef")
