"""Training jobs in the background: the Train page starts them, the CLI runs them.

A job is a folder under ``data_dir()/jobs/<id>/`` and a detached ``python -m core train
--job-dir <folder>`` process, so a page reload or a closed browser never stops it. The
process writes ``status.json`` (state, epoch, batch, loss, the per-epoch history) at most
every half second, atomically; the page only reads it. A ``cancel`` file asks the process
to stop after its current batch; a cancelled run saves no checkpoint.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import UserError
from core.paths import PROJECT_ROOT, data_dir
from core.server import server_settings
from core.training.config import Callbacks, EpochStats, TrainConfig, check_name_free, output_folder

STATUS = "status.json"
CANCEL = "cancel"
RUNNING, DONE, FAILED, CANCELLED, LOST = "running", "done", "failed", "cancelled", "lost"


class Cancelled(Exception):
    """The user cancelled a training job."""


@dataclass
class JobStatus:
    """What the Train page shows of a job."""

    id: str
    name: str
    state: str = RUNNING
    config: dict = field(default_factory=dict)
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches: int = 0
    loss: float | None = None
    history: list[dict] = field(default_factory=list)
    error: str = ""
    model: str = ""
    metrics: dict = field(default_factory=dict)
    pid: int = 0
    started: float = 0.0
    updated: float = 0.0

    @property
    def progress(self) -> float:
        """Share of all batches done, 0-1."""
        if not self.epochs or not self.batches:
            return 0.0 if self.state == RUNNING else 1.0
        return min(1.0, ((self.epoch + self.batch / self.batches) / self.epochs))


def jobs_dir() -> Path:
    return data_dir() / "jobs"


def _write_status(folder: Path, status: JobStatus) -> None:
    status.updated = time.time()
    tmp = folder / f".{STATUS}.tmp"
    tmp.write_text(json.dumps(asdict(status)))
    os.replace(tmp, folder / STATUS)


def train_argv(cfg: TrainConfig) -> list[str]:
    """The ``python -m core train`` arguments that run ``cfg``."""
    flags = {"preset": cfg.preset, "corpus": cfg.corpus, "name": cfg.name, "epochs": cfg.epochs, "lr": cfg.lr,
             "batch-size": cfg.batch_size, "seq-len": cfg.seq_len, "optimizer": cfg.optimizer, "device": cfg.device,
             "seed": cfg.seed, "checkpoint-every": cfg.checkpoint_every, "out": cfg.out_dir,
             "max-train-chars": cfg.max_train_chars, "patience": cfg.patience, "schedule": cfg.schedule,
             "warmup": cfg.warmup, "weight-decay": cfg.weight_decay, "grad-clip": cfg.grad_clip,
             "precision": cfg.precision, "resume": cfg.resume, "min-count": cfg.min_count}
    argv = ["train"]
    for flag, value in flags.items():
        if value is not None:
            argv += [f"--{flag}", str(value)]
    return argv + (["--compile"] if cfg.compile else [])


def start(cfg: TrainConfig, max_running: int | None = None) -> JobStatus:
    """Check ``cfg``, then start it as a detached process; returns the new job's status.

    At most ``max_running`` runs go at once on this machine (default: ``TUNELAB_MAX_TRAINING_RUNS``, 1);
    the count and the start happen under one file lock, so two sessions cannot both take the last place.
    """
    resolved = cfg.resolved()  # refuse a bad setting here, in one sentence, before any process starts
    check_name_free(resolved)
    if output_folder(resolved).exists():
        raise UserError(f"A model named {resolved.name!r} exists already; choose another name.")
    return _launch(resolved.name, asdict(resolved), resolved.epochs, train_argv(cfg), max_running)


def start_preferences(cfg, source: str, max_running: int | None = None) -> JobStatus:
    """Start ``train --init-from M --preferences SOURCE`` (a :class:`core.training.from_votes.PreferenceConfig`)
    as :func:`start` does; its progress counts optimizer steps (one "epoch" of all of them)."""
    from core.paths import SHIPPED_MODELS, user_models_dir
    from core.training.checkpoint import find_model
    from core.training.preferences import METHODS

    name = cfg.name or ""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise UserError(f"Model name {name!r} may only use letters, digits, '.', '_' and '-'.")
    if (SHIPPED_MODELS / name).exists() or (user_models_dir() / name).exists():
        raise UserError(f"A model named {name!r} exists already; choose another name.")
    if cfg.method not in METHODS or not (0 < cfg.beta <= 10) or not (1 <= cfg.epochs <= 50) or not 0 < cfg.lr < 1:
        raise UserError("Choose dpo or kto, a beta above 0 and at most 10, 1 to 50 epochs and a learning rate "
                        "between 0 and 1.")
    find_model(cfg.init_from)  # an unknown model: one sentence here, not in the background
    config = {"kind": "preferences", "preset": f"{cfg.method.upper()} from {cfg.init_from}", "corpus": source,
              "init_from": cfg.init_from, "method": cfg.method, "beta": cfg.beta, "epochs": cfg.epochs, "lr": cfg.lr}
    argv = ["train", "--init-from", cfg.init_from, "--preferences", source, "--method", cfg.method,
            "--beta", str(cfg.beta), "--epochs", str(cfg.epochs), "--lr", str(cfg.lr), "--name", name, "--threads", "1"]
    return _launch(name, config, 1, argv, max_running)


def _launch(name: str, config: dict, epochs: int, argv: list[str], max_running: int | None) -> JobStatus:
    """Under the start lock: refuse past the server's limit or a name already training, then make the job's
    folder and start ``python -m core ARGV --job-dir FOLDER --quiet`` detached."""
    limit = max_running if max_running is not None else server_settings().max_training_runs
    jobs_dir().mkdir(parents=True, exist_ok=True)
    with (jobs_dir() / ".start.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        running = [job for job in list_jobs() if job.state == RUNNING]
        if len(running) >= limit:
            raise UserError(f"{len(running)} training run(s) are going on this server already, the most it takes "
                            f"at once ({limit}); wait for one to finish or cancel it.")
        if any(job.name == name for job in running):
            raise UserError(f"A model named {name!r} is being trained already; choose another name.")
        job_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        folder = jobs_dir() / job_id
        folder.mkdir(parents=True)
        status = JobStatus(job_id, name, config=config, epochs=epochs, started=time.time())
        _write_status(folder, status)
        command = [sys.executable, "-m", "core", *argv, "--job-dir", str(folder), "--quiet"]
        with (folder / "output.log").open("wb") as log:
            proc = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        status.pid = proc.pid
        _write_status(folder, status)
        return status


def read(job_id: str) -> JobStatus:
    """A job's status; a running job whose process is gone is reported ``lost``."""
    folder = jobs_dir() / job_id
    try:
        status = JobStatus(**json.loads((folder / STATUS).read_text()))
    except (OSError, ValueError, TypeError):
        raise UserError(f"No training job {job_id!r}.") from None
    if status.state == RUNNING and status.pid and not _alive(status.pid):
        time.sleep(0.2)  # the process may have written its last status as it exited
        status = JobStatus(**json.loads((folder / STATUS).read_text()))
        if status.state == RUNNING:
            status.state, status.error = LOST, _last_line(folder / "output.log") or "The training process stopped."
    return status


def list_jobs() -> list[JobStatus]:
    """Every job, newest first."""
    root = jobs_dir()
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(root.iterdir(), reverse=True):
        if (folder / STATUS).is_file():
            try:
                out.append(read(folder.name))
            except UserError:
                continue
    return out


def cancel(job_id: str) -> None:
    """Ask a running job to stop after its current batch."""
    folder = jobs_dir() / job_id
    if not (folder / STATUS).is_file():
        raise UserError(f"No training job {job_id!r}.")
    (folder / CANCEL).touch()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a finished child of this process lingers as a zombie until reaped
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].removeprefix("error: ") if lines else ""


class JobReporter:
    """Inside the training process: turns training callbacks into ``status.json`` updates."""

    def __init__(self, folder: Path, min_interval: float = 0.5):
        self.folder = Path(folder)
        self.status = JobStatus(**json.loads((self.folder / STATUS).read_text()))
        self.status.pid = os.getpid()
        self.min_interval = min_interval
        self._last = 0.0

    def callbacks(self) -> Callbacks:
        return Callbacks(on_batch=self.on_batch, on_epoch=self.on_epoch, should_stop=self.should_stop)

    def on_batch(self, batch: int, batches: int, loss: float) -> None:
        self.status.batch, self.status.batches, self.status.loss = batch, batches, loss
        if time.monotonic() - self._last >= self.min_interval:
            self._last = time.monotonic()
            _write_status(self.folder, self.status)

    def on_epoch(self, stats: EpochStats) -> None:
        self.status.epoch, self.status.batch = stats.epoch, 0
        self.status.history.append({"epoch": stats.epoch, "train_loss": stats.train_loss,
                                    "valid_loss": stats.valid_loss, "train_accuracy": stats.train_accuracy,
                                    "valid_accuracy": stats.valid_accuracy, "valid_bpc": stats.valid_bpc})
        _write_status(self.folder, self.status)

    def should_stop(self) -> bool:
        if (self.folder / CANCEL).exists():
            raise Cancelled
        return False

    def finish(self, state: str, error: str = "", model: str = "", metrics: dict | None = None) -> None:
        self.status.state, self.status.error, self.status.model = state, error, model
        self.status.metrics = metrics or {}
        _write_status(self.folder, self.status)
