"""The one training loop for every family: the CLI, the app, ``torchrun`` and the tests call ``train``.

How a family's batches are cut is in :mod:`core.train_data` (stateful character streams for
the seed reports' RNNs, packed whole tunes for the Transformer, windows for the note models,
piano-roll chunks for the autoencoder). The loop adds what every run needs: validation each
epoch and the best-by-validation weights, early stopping, gradient clipping, a learning-rate
schedule, bf16 autocast on GPUs, ``torch.compile``, resume from a snapshot, and data-parallel
training under ``torchrun`` (:mod:`core.distributed`).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import random
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from core.checkpoint import ModelCard, hardware, save_checkpoint
from core.distributed import Dist, all_sum, any_flag, barrier, cleanup, local_device
from core.distributed import setup as setup_dist
from core.errors import UserError
from core.models import build_model, config_dict, count_parameters
from core.models.char_rnn import detach_state
from core.paths import SHIPPED_MODELS, user_models_dir
from core.presets import PRESETS
from core.train_data import IGNORE, CharStreams, Shard, TrainData, build_data, check_pairing

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adamax": torch.optim.Adamax,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}
LN2 = math.log(2)


@dataclass
class TrainConfig:
    """Everything a training run needs; None means "the preset's value"."""

    preset: str = "r1-lstm"
    corpus: str = "oneills1850"
    name: str | None = None
    epochs: int = 20
    lr: float | None = None
    batch_size: int | None = None
    seq_len: int | None = None
    optimizer: str | None = None
    device: str = "auto"
    seed: int = 1234
    checkpoint_every: int = 10
    grad_clip: float = 5.0
    out_dir: str | None = None
    max_train_chars: int | None = None
    patience: int = 0  # stop after this many epochs without a better validation loss (0: never)
    schedule: str | None = None  # "constant" or "cosine" (per step, after ``warmup`` steps)
    warmup: int = 0  # optimizer steps of linear warm-up
    weight_decay: float | None = None
    precision: str = "auto"  # "auto" (bf16 on a GPU that has it), "fp32" or "bf16"
    compile: bool = False  # torch.compile the model
    resume: str | None = None  # a snapshot (.pt) or a checkpoint (name or folder) to go on from
    min_count: int | None = None  # note/chord tokens: drop those seen fewer times in training (R2's threshold)
    command: str = ""

    def resolved(self) -> TrainConfig:
        """A copy with the preset's defaults filled in, validated."""
        if self.preset not in PRESETS:
            raise UserError(f"Unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}.")
        defaults = {**TRAIN_DEFAULTS, **PRESETS[self.preset].train}
        out = TrainConfig(**asdict(self))
        for key in ("lr", "batch_size", "seq_len", "optimizer", "schedule", "weight_decay"):
            if getattr(out, key) is None:
                setattr(out, key, defaults[key])
        out.name = out.name or (Path(self.out_dir).name if self.out_dir else f"{self.preset}-{Path(self.corpus).stem}")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", out.name):
            raise UserError(f"Model name {out.name!r} may only use letters, digits, '.', '_' and '-'.")
        if out.epochs < 1 or out.batch_size < 1 or out.seq_len < 2 or out.lr <= 0:
            raise UserError("Epochs, batch size and learning rate must be positive and the sequence length at least 2.")
        if out.optimizer not in OPTIMIZERS:
            raise UserError(f"Unknown optimizer {out.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        if out.schedule not in ("constant", "cosine"):
            raise UserError(f"Unknown learning-rate schedule {out.schedule!r}; choose constant or cosine.")
        if out.patience < 0 or out.warmup < 0 or out.grad_clip < 0 or out.weight_decay < 0:
            raise UserError("Patience, warm-up steps, gradient clipping and weight decay cannot be negative.")
        if out.precision not in ("auto", "fp32", "bf16"):
            raise UserError(f"Unknown precision {out.precision!r}; choose auto, fp32 or bf16.")
        preset = PRESETS[out.preset]
        check_pairing(preset.family, preset.tokenizer.get("kind", "abc_chars"), out.corpus)
        if out.min_count is not None:
            if preset.tokenizer.get("kind") != "note_chord":
                raise UserError(f"A rare-token threshold applies to note/chord tokens; preset {out.preset} "
                                f"reads {preset.tokenizer.get('kind', 'abc_chars')} tokens.")
            if out.min_count < 1:
                raise UserError("The rare-token threshold must be at least 1 (1 keeps every token).")
        return out

    def tokenizer_spec(self) -> dict:
        """The preset's tokenizer settings with this run's overrides."""
        spec = dict(PRESETS[self.preset].tokenizer)
        if self.min_count is not None:
            spec["min_count"] = self.min_count
        return spec


TRAIN_DEFAULTS = {"lr": 1e-3, "batch_size": 16, "seq_len": 64, "optimizer": "adam", "schedule": "constant",
                  "weight_decay": 0.0}


@dataclass
class EpochStats:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    valid_loss: float
    valid_accuracy: float
    seconds: float
    best: bool = False
    valid_bpc: float = float("nan")  # bits per character (ABC) or per token (MIDI)
    unit: str = "bits/char"  # what valid_bpc counts


@dataclass
class Callbacks:
    """Hooks the CLI progress bar and the Train page share; all optional."""

    on_batch: Callable[[int, int, float], None] | None = None  # (batch, batches, loss)
    on_epoch: Callable[[EpochStats], None] | None = None
    should_stop: Callable[[], bool] | None = None


@dataclass
class TrainResult:
    folder: Path
    card: ModelCard
    history: list[EpochStats] = field(default_factory=list)


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


EVAL_BATCH, EVAL_SEQ = 16, 256  # character streams are scored 16 x 256 at a time, state carried


@torch.no_grad()
def evaluate(model: torch.nn.Module, ids: torch.Tensor, batch_size: int = EVAL_BATCH,
             seq_len: int = EVAL_SEQ) -> tuple[float, float]:
    """Mean cross-entropy (nats per token) and accuracy of a stateful model over one id stream."""
    data = CharStreams(tokenizer=None, corpus={}, tokens={}, ids={"test": ids})
    return evaluate_split(model, data, "test", batch_size, seq_len)


@torch.no_grad()
def evaluate_split(model: torch.nn.Module, data: TrainData, part: str, batch_size: int,
                   seq_len: int) -> tuple[float, float]:
    """Mean loss per predicted token (nats) and accuracy over a held-out split, dropout off."""
    if data.n_batches(part, batch_size, seq_len) == 0:
        return float("nan"), float("nan")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, correct, count, state = 0.0, 0, 0, None
    for xb, yb in data.batches(part, batch_size, seq_len, 0, Shard()):
        xb, yb = xb.to(device), yb.to(device)
        logits, loss, state = model(xb, yb, state if data.stateful else None)
        c, n = _counts(model, logits, yb)
        total += loss.item() * n
        correct += c
        count += n
    model.train(was_training)
    return (total / count, correct / count) if count else (float("nan"), float("nan"))


def _counts(model: torch.nn.Module, logits: torch.Tensor, targets: torch.Tensor) -> tuple[int, int]:
    """(correct, scored) predictions: the family's own rule, else argmax over non-ignored targets."""
    if hasattr(model, "counts"):
        return model.counts(logits, targets)
    keep = targets != IGNORE
    return int((logits.argmax(-1) == targets)[keep].sum()), int(keep.sum())


def output_folder(cfg: TrainConfig) -> Path:
    return Path(cfg.out_dir) if cfg.out_dir else user_models_dir() / cfg.name


def check_name_free(cfg: TrainConfig) -> None:
    """A user model may not take a shipped model's name (it would hide it from the picker)."""
    if not cfg.out_dir and (SHIPPED_MODELS / cfg.name).exists():
        raise UserError(f"{cfg.name} is a shipped model's name; pick another name.")


def prepare_data(cfg: TrainConfig) -> TrainData:
    """The run's corpus, tokenized and batched the way its preset's family learns."""
    preset = PRESETS[cfg.preset]
    data = build_data(preset.family, cfg.tokenizer_spec(), cfg.corpus, seed=cfg.seed,
                      window=preset.model.get("window", 50), max_train_chars=cfg.max_train_chars)
    if data.n_batches("train", cfg.batch_size, cfg.seq_len) < 1 or data.tokens["train"] < 2 * cfg.seq_len:
        raise UserError(f"Corpus {cfg.corpus} is too small to train on ({data.tokens['train']} training tokens).")
    for part, role in (("valid", "pick the best epoch"), ("test", "give its held-out figures")):
        if data.n_batches(part, 1, cfg.seq_len) < 1:  # nothing to score: the run would pick or report NaN
            raise UserError(f"Corpus {cfg.corpus} has no {part} split long enough to {role} (about one piece in "
                            "ten goes there); add more pieces.")
    return data


@dataclass
class _Run:
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


def train(config: TrainConfig, callbacks: Callbacks | None = None) -> TrainResult:
    """Train a model from a preset on a corpus; writes the best-by-validation checkpoint.

    Every epoch appends a row to ``log.csv`` and refreshes ``last.pt`` (the resume snapshot);
    every ``checkpoint_every`` epochs a weights snapshot is kept; all in the hidden
    ``.NAME-log`` folder beside the checkpoint. Under ``torchrun`` every process trains on
    its share of each batch and rank 0 writes.
    """
    cfg = config.resolved()
    check_name_free(cfg)
    folder = output_folder(cfg)
    device = pick_device(cfg.device)
    d = setup_dist(device)
    try:
        return _train(cfg, folder, local_device(device, d), d, callbacks or Callbacks())
    finally:
        cleanup(d)


def _train(cfg: TrainConfig, folder: Path, device: torch.device, d: Dist, callbacks: Callbacks) -> TrainResult:
    set_seed(cfg.seed)
    # Denormal floats in RNN gradients slow CPU arithmetic; flushing them costs no accuracy that matters.
    torch.set_flush_denormal(True)
    data = prepare_data(cfg)
    preset = PRESETS[cfg.preset]
    model = build_model(preset.family, model_config(preset, data.tokenizer)).to(device)
    run = _make_run(cfg, model, data, device, d, callbacks if d.main else Callbacks(should_stop=callbacks.should_stop))
    log_dir = folder.parent / f".{folder.name}-log"
    if cfg.resume:
        _resume(run, cfg.resume, preset.family)
    elif d.main:
        shutil.rmtree(log_dir, ignore_errors=True)
    if d.main:
        log_dir.mkdir(parents=True, exist_ok=True)
    try:
        _run_epochs(run, log_dir)
    except BaseException:
        if d.main and not cfg.resume and not (log_dir / "last.pt").exists():
            shutil.rmtree(log_dir, ignore_errors=True)  # a run stopped before its first epoch leaves nothing
        raise
    _fit_latents(model, data)
    test_loss, test_acc = evaluate_split(model, data, "test", *_eval_shape(run))
    card = _card(run, preset, test_loss, test_acc)
    card.metrics.update(roll_metrics(model, data))
    if d.main:
        model.cpu()
        save_checkpoint(folder, model, card, {"log.csv": log_dir / "log.csv"})
    barrier(d)
    return TrainResult(folder, card, run.history)


@torch.no_grad()
def roll_metrics(model: torch.nn.Module, data: TrainData) -> dict:
    """For piano rolls, cell accuracy says little (2-3% of cells sound): the note F1 on the test rolls at
    the report's 0.5 threshold and at 0.3, and the accuracy of predicting silence everywhere."""
    rolls = getattr(data, "rolls", {}).get("test")
    if rolls is None or not len(rolls):
        return {}
    from core.models.autoencoder import note_f1

    model.eval()
    device = next(model.parameters()).device
    logits = torch.cat([model(rolls[k : k + 256].to(device))[0].cpu() for k in range(0, len(rolls), 256)])
    return {
        "test_note_f1": round(note_f1(logits, rolls, 0.5), 5),
        "test_note_f1_at_0.3": round(note_f1(logits, rolls, 0.3), 5),
        "test_silent_accuracy": round(1 - float(rolls.mean()), 5),
    }


@torch.no_grad()
def _fit_latents(model: torch.nn.Module, data: TrainData) -> None:
    """The autoencoder samples around its training songs' latents: fit their mean and principal axes."""
    rolls = getattr(data, "rolls", {}).get("train")
    if not hasattr(model, "fit_latent_space") or rolls is None or len(rolls) < 2:
        return
    model.eval()
    device = next(model.parameters()).device
    z = torch.cat([model.encode(rolls[k : k + 256].to(device)) for k in range(0, len(rolls), 256)])
    model.fit_latent_space(z)


def model_config(preset, tokenizer) -> dict:
    """The preset's model config completed by what the tokenizer decides (vocabulary, roll shape)."""
    config = dict(preset.model)
    if getattr(tokenizer, "kind", "") == "pianoroll":
        config["measures"], config["steps"], config["pitches"] = tokenizer.shape
    else:
        config["vocab_size"] = tokenizer.vocab_size
    return config


def _make_run(cfg, model, data, device, d, callbacks) -> _Run:
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
    return _Run(cfg, model, wrapped, optimizer, scheduler, data, device, d, callbacks, _autocast(cfg, device))


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


def _autocast(cfg: TrainConfig, device: torch.device) -> Callable[[], contextlib.AbstractContextManager]:
    """bf16 autocast on a GPU that supports it (or when asked for); full precision otherwise."""
    bf16 = cfg.precision == "bf16" or (
        cfg.precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported()
    )
    if not bf16:
        return contextlib.nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _eval_shape(run: _Run) -> tuple[int, int]:
    if run.data.stateful:
        return EVAL_BATCH, EVAL_SEQ
    return run.cfg.batch_size, run.cfg.seq_len


def _train_epoch(run: _Run, epoch: int) -> tuple[float, float, bool]:
    """One pass over this process's share of the training split: (mean loss, accuracy, stopped)."""
    cfg, model, data = run.cfg, run.wrapped, run.data
    model.train()
    state, total, correct, count, stopped = None, 0.0, 0, 0, False
    batches = data.n_batches("train", cfg.batch_size, cfg.seq_len)
    for b, (xb, yb) in enumerate(data.batches("train", cfg.batch_size, cfg.seq_len, epoch, Shard(run.dist.rank,
                                                                                                run.dist.world))):
        xb, yb = xb.to(run.device), yb.to(run.device)
        with run.autocast():
            logits, loss, state = model(xb, yb, state if data.stateful else None)
        if data.stateful:
            state = detach_state(state)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
        run.optimizer.step()
        run.scheduler.step()
        c, n = _counts(run.model, logits.detach().float(), yb)
        value = loss.item()  # one device sync per step
        total += value * n
        correct += c
        count += n
        if run.callbacks.on_batch:
            run.callbacks.on_batch(b + 1, batches, value)
        if run.callbacks.should_stop and any_flag(run.callbacks.should_stop(), run.dist):
            stopped = True
            break
    total, correct, count = all_sum([total, correct, count], run.dist)
    return total / max(count, 1), correct / max(count, 1), stopped


def _run_epochs(run: _Run, log_dir: Path) -> None:
    """Train epoch by epoch; leaves the best-by-validation weights in ``run.model``."""
    cfg, d = run.cfg, run.dist
    columns = ["epoch", "train_loss", "train_accuracy", "valid_loss", "valid_bpc", "valid_accuracy", "seconds", "lr"]
    log = log_dir / "log.csv"
    if d.main and not (run.start_epoch > 1 and log.exists()):
        log.write_text(",".join(columns) + "\n")
    waited = 0
    for epoch in range(run.start_epoch, cfg.epochs + 1):
        t0 = time.perf_counter()
        train_loss, train_acc, stopped = _train_epoch(run, epoch)
        valid_loss, valid_acc = evaluate_split(run.model, run.data, "valid", *_eval_shape(run))
        stats = EpochStats(epoch, cfg.epochs, train_loss, train_acc, valid_loss, valid_acc, time.perf_counter() - t0)
        stats.valid_bpc = bits_per_char(valid_loss, run.data, "valid")
        stats.unit = "bits/char" if run.data.characters else "bits/token"
        if valid_loss < run.best_loss or run.best_state is None:
            run.best_loss, run.best_epoch, stats.best = valid_loss, epoch, True
            run.best_state = {k: v.detach().clone() for k, v in run.model.state_dict().items()}
            waited = 0
        else:
            waited += 1
        run.history.append(stats)
        if d.main:
            lr = run.optimizer.param_groups[0]["lr"]
            with log.open("a", newline="") as fh:
                csv.writer(fh).writerow([epoch, f"{train_loss:.5f}", f"{train_acc:.5f}", f"{valid_loss:.5f}",
                                         f"{stats.valid_bpc:.5f}", f"{valid_acc:.5f}", f"{stats.seconds:.2f}",
                                         f"{lr:.3g}"])
            _save_snapshot(run, epoch, log_dir / "last.pt")
            if cfg.checkpoint_every and epoch % cfg.checkpoint_every == 0:
                weights = {k: v.detach().cpu().contiguous() for k, v in run.model.state_dict().items()}
                save_file(weights, str(log_dir / f"epoch-{epoch:03d}.safetensors"))
        if run.callbacks.on_epoch:
            run.callbacks.on_epoch(stats)
        if stopped or (cfg.patience and waited >= cfg.patience):
            break
    run.model.load_state_dict(run.best_state)


def bits_per_char(loss: float, data: TrainData, part: str) -> float:
    """Bits per character of ABC text (tokens may span several characters); per token for MIDI."""
    if data.characters and data.tokens.get(part):
        return loss / LN2 * data.tokens[part] / data.characters[part]
    return loss / LN2


SNAPSHOT_VERSION = 1


def _save_snapshot(run: _Run, epoch: int, path: Path) -> None:
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


def _resume(run: _Run, source: str, family: str) -> None:
    """Go on from a snapshot (weights, optimizer, schedule, history) or a finished checkpoint (weights)."""
    from core.checkpoint import find_model, read_card

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


def _check_epochs_left(run: _Run, what: str) -> None:
    done = run.start_epoch - 1
    if run.cfg.epochs <= done:
        raise UserError(f"{what} has already run {done} epochs; to go on, ask for more (--epochs {done + 5}).")


def _check_same(run: _Run, family: str, their_family: str, their_model: dict, their_tokenizer: dict, what: str):
    if their_family != family:
        raise UserError(f"Cannot resume from {what}: it is a {their_family} model and preset {run.cfg.preset} "
                        f"trains {family}.")
    if their_tokenizer != run.data.tokenizer.to_dict():
        raise UserError(f"Cannot resume from {what}: its vocabulary differs from this corpus's.")
    if their_model != config_dict(run.model):
        raise UserError(f"Cannot resume from {what}: its model shape differs from preset {run.cfg.preset}'s.")


def _card(run: _Run, preset, test_loss: float, test_acc: float) -> ModelCard:
    cfg, data = run.cfg, run.data
    best = next(h for h in run.history if h.epoch == run.best_epoch)
    training = {k: v for k, v in asdict(cfg).items() if k not in ("command", "out_dir", "resume")}
    training.update({
        "epochs_run": run.history[-1].epoch if run.history else 0,
        "best_epoch": run.best_epoch,
        "wall_time_s": round(sum(h.seconds for h in run.history), 1),  # resumed runs count every epoch
        "hardware": hardware() + (f", {run.dist.world} processes" if run.dist.active else ""),
        "device": str(run.device),
        "processes": run.dist.world,
        "resumed_from": cfg.resume,
        "command": cfg.command,
    })
    return ModelCard(
        name=cfg.name,
        family=preset.family,
        preset=cfg.preset,
        model=config_dict(run.model),
        tokenizer=data.tokenizer.to_dict(),
        corpus=data.corpus,
        training=training,
        metrics=_metrics(best, test_loss, test_acc, data),
        parameters=count_parameters(run.model),
        description=preset.description,
    )


def _metrics(best: EpochStats, test_loss: float, test_acc: float, data: TrainData) -> dict:
    r = lambda v: round(v, 5)  # noqa: E731
    out = {
        "train_loss": r(best.train_loss),
        "train_accuracy": r(best.train_accuracy),
        "valid_loss": r(best.valid_loss),
        "valid_accuracy": r(best.valid_accuracy),
        "test_loss": r(test_loss),
        "test_accuracy": r(test_acc),
    }
    if data.characters:
        out["valid_bpc"] = r(bits_per_char(best.valid_loss, data, "valid"))
        out["test_bpc"] = r(bits_per_char(test_loss, data, "test"))
    else:
        out["test_bits_per_token"] = r(test_loss / LN2)
    return out
