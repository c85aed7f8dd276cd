"""One run's moving parts (model, optimizer, schedule, data) and its resumable snapshots.

A snapshot holds plain tensors and numbers, so ``torch.load(weights_only=True)`` reads it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.errors import UserError
from core.models import config_dict
from core.training.batching import TrainData
from core.training.config import OPTIMIZERS, Callbacks, EpochStats, TrainConfig
from core.training.distributed import Dist
from core.training.presets import PRESETS
from core.training.scoring import EVAL_BATCH, EVAL_SEQ


@dataclass
class Run:
    """The moving parts of one run."""

    cfg: TrainConfig
    model: torch.nn.Module  # the plain model: what is saved and evaluated
    wrapped: torch.nn.Module  # what trains: compiled and/or DDP-wrapped
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    data: TrainData
    device: torch.device
    dist: Dist
    callbacks: Callbacks
    autocast: Callable[[], contextlib.AbstractContextManager]
    history: list[EpochStats] = field(default_factory=list)
    best_loss: float = float("inf")
    best_epoch: int = 0
    best_state: dict | None = None
    start_epoch: int = 1


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch in one place."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("A CUDA device was asked for but none is available; use --device cpu.")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UserError(f"Unknown device {name!r}; use auto, cpu or cuda.") from None


def make_run(cfg, model, data, device, d, callbacks) -> Run:
    decay, rest = [], []
    for p in model.parameters():
        (decay if p.dim() >= 2 else rest).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    optimizer = OPTIMIZERS[cfg.optimizer](groups, lr=cfg.lr)
    steps = cfg.epochs * max(1, data.n_batches("train", cfg.batch_size, cfg.seq_len))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg.schedule, cfg.warmup, steps))
    if d.active and device.type == "cuda":
        # batch norm over the global batch, as one process would see it (SyncBatchNorm runs on GPUs only);
        # in place, so the model that is saved keeps its parameters and buffers
        torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    wrapped = model
    if cfg.compile:
        wrapped = torch.compile(wrapped)
    if d.active:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(wrapped, device_ids=[device.index] if device.type == "cuda" else None)
    return Run(cfg, model, wrapped, optimizer, scheduler, data, device, d, callbacks, autocast_for(cfg, device))


def lr_factor(schedule: str, warmup: int, steps: int) -> Callable[[int], float]:
    """Learning-rate multiplier per optimizer step: linear warm-up, then constant or cosine down to 0.1."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, steps - warmup))
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def autocast_for(cfg: TrainConfig, device: torch.device) -> Callable[[], contextlib.AbstractContextManager]:
    """bf16 autocast on a GPU that supports it (or when asked for); full precision otherwise."""
    bf16 = cfg.precision == "bf16" or (
        cfg.precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported()
    )
    if not bf16:
        return contextlib.nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def eval_shape(run: Run) -> tuple[int, int]:
    if run.data.stateful:
        return EVAL_BATCH, EVAL_SEQ
    return run.cfg.batch_size, run.cfg.seq_len


SNAPSHOT_VERSION = 1


def save_snapshot(run: Run, epoch: int, path: Path) -> None:
    """Everything ``--resume`` needs, written atomically (plain tensors and numbers: weights_only loads it)."""
    snap = {
        "version": SNAPSHOT_VERSION,
        "family": PRESETS[run.cfg.preset].family,
        "model_config": json.dumps(config_dict(run.model), sort_keys=True),
        "tokenizer": json.dumps(run.data.tokenizer.to_dict(), sort_keys=True),
        "epoch": epoch,
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "best_loss": run.best_loss,
        "best_epoch": run.best_epoch,
        "best_state": run.best_state,
        "history": json.dumps([asdict(h) for h in run.history]),
        "torch_rng": torch.get_rng_state(),
    }
    tmp = path.with_suffix(".tmp")
    torch.save(snap, tmp)
    os.replace(tmp, path)


def resume(run: Run, source: str, family: str) -> None:
    """Go on from a snapshot (weights, optimizer, schedule, history) or a finished checkpoint (weights)."""
    from core.training.checkpoint import find_model, read_card

    path = Path(source)
    if path.suffix != ".pt":
        folder = find_model(source)
        snap_path = folder.parent / f".{folder.name}-log" / "last.pt"
        if not snap_path.is_file():
            card = read_card(folder)
            _check_same(run, family, card.family, card.model, card.tokenizer, folder.name)
            from safetensors.torch import load_file

            run.model.load_state_dict(load_file(str(folder / "model.safetensors")))
            run.start_epoch = int(card.training.get("epochs_run", 0)) + 1
            _check_epochs_left(run, folder.name)
            return
        path = snap_path
    try:
        snap = torch.load(path, map_location="cpu", weights_only=True)
        if snap.get("version") != SNAPSHOT_VERSION:
            raise ValueError("unknown snapshot version")
    except FileNotFoundError:
        raise UserError(f"No snapshot at {path}.") from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise UserError(f"{path} is not a readable training snapshot ({str(exc).splitlines()[0][:120]}).") from None
    _check_same(run, family, snap["family"], json.loads(snap["model_config"]), json.loads(snap["tokenizer"]),
                str(path))
    run.model.load_state_dict(snap["model"])
    run.optimizer.load_state_dict(snap["optimizer"])
    run.scheduler.load_state_dict(snap["scheduler"])
    run.best_loss, run.best_epoch, run.best_state = snap["best_loss"], snap["best_epoch"], snap["best_state"]
    run.history = [EpochStats(**h) for h in json.loads(snap["history"])]
    run.start_epoch = snap["epoch"] + 1
    torch.set_rng_state(snap["torch_rng"])
    _check_epochs_left(run, str(path))


def _check_epochs_left(run: Run, what: str) -> None:
    done = run.start_epoch - 1
    if run.cfg.epochs <= done:
        raise UserError(f"{what} has already run {done} epochs; to go on, ask for more (--epochs {done + 5}).")


def _check_same(run: Run, family: str, their_family: str, their_model: dict, their_tokenizer: dict, what: str):
    if their_family != family:
        raise UserError(f"Cannot resume from {what}: it is a {their_family} model and preset {run.cfg.preset} "
                        f"trains {family}.")
    if their_tokenizer != run.data.tokenizer.to_dict():
        raise UserError(f"Cannot resume from {what}: its vocabulary differs from this corpus's.")
    if their_model != config_dict(run.model):
        raise UserError(f"Cannot resume from {what}: its model shape differs from preset {run.cfg.preset}'s.")
