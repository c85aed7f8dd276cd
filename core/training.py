"""The one training loop: the CLI, the app and the tests all call ``train``.

Character models train statefully as in the seed reports: the text is cut into
``batch_size`` parallel streams and read ``seq_len`` characters at a time, each batch's
row i continuing the previous batch's row i (truncated back-propagation through time).
"""

from __future__ import annotations

import csv
import math
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
from core.corpus import Corpus, load_corpus
from core.errors import UserError
from core.models import build_model, config_dict, count_parameters
from core.models.char_rnn import detach_state
from core.paths import SHIPPED_MODELS, user_models_dir
from core.presets import PRESETS
from core.tokenizers import CharTokenizer

OPTIMIZERS = {
    "adam": torch.optim.Adam,
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
    command: str = ""

    def resolved(self) -> TrainConfig:
        """A copy with the preset's defaults filled in, validated."""
        if self.preset not in PRESETS:
            raise UserError(f"Unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}.")
        defaults = PRESETS[self.preset].train
        out = TrainConfig(**asdict(self))
        for key in ("lr", "batch_size", "seq_len", "optimizer"):
            if getattr(out, key) is None:
                setattr(out, key, defaults[key])
        out.name = out.name or (Path(self.out_dir).name if self.out_dir else f"{self.preset}-{Path(self.corpus).stem}")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", out.name):
            raise UserError(f"Model name {out.name!r} may only use letters, digits, '.', '_' and '-'.")
        if out.epochs < 1 or out.batch_size < 1 or out.seq_len < 2 or out.lr <= 0:
            raise UserError("Epochs, batch size and learning rate must be positive and the sequence length at least 2.")
        if out.optimizer not in OPTIMIZERS:
            raise UserError(f"Unknown optimizer {out.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        return out


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

    @property
    def valid_bpc(self) -> float:
        return self.valid_loss / LN2


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


def streams(ids: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut a 1-D id tensor into ``batch_size`` parallel rows of inputs and next-token targets."""
    batch_size = max(1, min(batch_size, (len(ids) - 1) // 2))
    n = (len(ids) - 1) // batch_size
    x = ids[: n * batch_size].view(batch_size, n)
    y = ids[1 : n * batch_size + 1].view(batch_size, n)
    return x, y


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, ids: torch.Tensor, batch_size: int = 16, seq_len: int = 256
) -> tuple[float, float]:
    """Mean cross-entropy (nats per token) and accuracy of next-token prediction over ``ids``."""
    if len(ids) < 3:
        return float("nan"), float("nan")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    x, y = streams(ids, batch_size)
    total_loss, correct, count, state = 0.0, 0, 0, None
    for k in range(0, x.size(1), seq_len):
        xb, yb = x[:, k : k + seq_len].to(device), y[:, k : k + seq_len].to(device)
        logits, loss, state = model(xb, yb, state)
        total_loss += loss.item() * yb.numel()
        correct += (logits.argmax(-1) == yb).sum().item()
        count += yb.numel()
    model.train(was_training)
    return total_loss / count, correct / count


def _train_epoch(model, optimizer, x, y, cfg, device, callbacks) -> tuple[float, float]:
    model.train()
    state, total, correct, count = None, 0.0, 0, 0
    batches = max(1, (x.size(1) - 1) // cfg.seq_len + 1)
    for b, k in enumerate(range(0, x.size(1), cfg.seq_len)):
        xb, yb = x[:, k : k + cfg.seq_len].to(device), y[:, k : k + cfg.seq_len].to(device)
        logits, loss, state = model(xb, yb, state)
        state = detach_state(state)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        total += loss.item() * yb.numel()
        correct += (logits.detach().argmax(-1) == yb).sum().item()
        count += yb.numel()
        if callbacks.on_batch:
            callbacks.on_batch(b + 1, batches, loss.item())
        if callbacks.should_stop and callbacks.should_stop():
            break
    return total / count, correct / count


def output_folder(cfg: TrainConfig) -> Path:
    return Path(cfg.out_dir) if cfg.out_dir else user_models_dir() / cfg.name


def check_name_free(cfg: TrainConfig) -> None:
    """A user model may not take a shipped model's name (it would hide it from the picker)."""
    if not cfg.out_dir and (SHIPPED_MODELS / cfg.name).exists():
        raise UserError(f"{cfg.name} is a shipped model's name; pick another name.")


@dataclass
class _Data:
    corpus: Corpus
    texts: dict[str, str]
    tokenizer: CharTokenizer
    ids: dict[str, torch.Tensor]


def _prepare_data(cfg: TrainConfig) -> _Data:
    corpus = load_corpus(cfg.corpus)
    texts = {part: corpus.text(part) for part in ("train", "valid", "test")}
    tokenizer = CharTokenizer.from_text("".join(texts.values()))
    if cfg.max_train_chars:
        texts["train"] = texts["train"][: cfg.max_train_chars]
    ids = {part: torch.tensor(tokenizer.encode(t), dtype=torch.long) for part, t in texts.items()}
    if len(ids["train"]) < cfg.seq_len * 2:
        raise UserError(f"Corpus {cfg.corpus} is too small to train on ({len(ids['train'])} characters).")
    return _Data(corpus, texts, tokenizer, ids)


def train(config: TrainConfig, callbacks: Callbacks | None = None) -> TrainResult:
    """Train a model from a preset on a corpus; writes the best-by-validation checkpoint.

    Every epoch appends a row to ``log.csv``; every ``checkpoint_every`` epochs a snapshot is
    kept in the hidden ``.NAME-log`` folder beside the checkpoint.
    """
    cfg = config.resolved()
    callbacks = callbacks or Callbacks()
    check_name_free(cfg)
    folder = output_folder(cfg)
    device = pick_device(cfg.device)
    set_seed(cfg.seed)
    # Denormal floats in RNN gradients slow CPU arithmetic; flushing them costs no accuracy that matters.
    torch.set_flush_denormal(True)
    data = _prepare_data(cfg)
    preset = PRESETS[cfg.preset]
    model = build_model(preset.family, {**preset.model, "vocab_size": data.tokenizer.vocab_size}).to(device)
    optimizer = OPTIMIZERS[cfg.optimizer](model.parameters(), lr=cfg.lr)

    log_dir = folder.parent / f".{folder.name}-log"
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        history, best_epoch = _run_epochs(model, optimizer, data, cfg, device, callbacks, log_dir)
    except BaseException:
        shutil.rmtree(log_dir, ignore_errors=True)  # a stopped run leaves nothing behind
        raise
    wall = time.perf_counter() - started
    test_loss, test_acc = evaluate(model, data.ids["test"])
    card = ModelCard(
        name=cfg.name,
        family=preset.family,
        preset=cfg.preset,
        model=config_dict(model),
        tokenizer=data.tokenizer.to_dict(),
        corpus={
            "name": data.corpus.name,
            "source": cfg.corpus,
            "fingerprint": data.corpus.fingerprint(),
            "tunes": {p: len(data.corpus.split(p)) for p in ("train", "valid", "test")},
            "characters": {p: len(t) for p, t in data.texts.items()},
        },
        training={
            **{k: v for k, v in asdict(cfg).items() if k not in ("command", "out_dir")},
            "epochs_run": len(history),
            "best_epoch": best_epoch,
            "wall_time_s": round(wall, 1),
            "hardware": hardware(),
            "device": str(device),
            "command": cfg.command,
        },
        metrics=_metrics(history[best_epoch - 1], test_loss, test_acc),
        parameters=count_parameters(model),
        description=preset.description,
    )
    model.cpu()
    save_checkpoint(folder, model, card, {"log.csv": log_dir / "log.csv"})
    return TrainResult(folder, card, history)


def _run_epochs(
    model, optimizer, data: _Data, cfg: TrainConfig, device, callbacks: Callbacks, log_dir: Path
) -> tuple[list[EpochStats], int]:
    """Train epoch by epoch; leaves the best-by-validation weights in ``model``."""
    x, y = streams(data.ids["train"], cfg.batch_size)
    history: list[EpochStats] = []
    best_loss, best_state, best_epoch = float("inf"), None, 0
    with (log_dir / "log.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["epoch", "train_loss", "train_accuracy", "valid_loss", "valid_bpc", "valid_accuracy", "seconds"]
        )
        for epoch in range(1, cfg.epochs + 1):
            t0 = time.perf_counter()
            train_loss, train_acc = _train_epoch(model, optimizer, x, y, cfg, device, callbacks)
            valid_loss, valid_acc = evaluate(model, data.ids["valid"])
            stats = EpochStats(
                epoch, cfg.epochs, train_loss, train_acc, valid_loss, valid_acc, time.perf_counter() - t0
            )
            if valid_loss < best_loss or best_state is None:
                best_loss, best_epoch, stats.best = valid_loss, epoch, True
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            history.append(stats)
            writer.writerow(
                [
                    epoch,
                    f"{train_loss:.5f}",
                    f"{train_acc:.5f}",
                    f"{valid_loss:.5f}",
                    f"{stats.valid_bpc:.5f}",
                    f"{valid_acc:.5f}",
                    f"{stats.seconds:.2f}",
                ]
            )
            fh.flush()
            if callbacks.on_epoch:
                callbacks.on_epoch(stats)
            if cfg.checkpoint_every and epoch % cfg.checkpoint_every == 0:
                weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
                save_file(weights, str(log_dir / f"epoch-{epoch:03d}.safetensors"))
            if callbacks.should_stop and callbacks.should_stop():
                break
    model.load_state_dict(best_state)
    return history, best_epoch


def _metrics(best: EpochStats, test_loss: float, test_acc: float) -> dict:
    r = lambda v: round(v, 5)  # noqa: E731
    return {
        "train_loss": r(best.train_loss),
        "train_accuracy": r(best.train_accuracy),
        "valid_loss": r(best.valid_loss),
        "valid_bpc": r(best.valid_bpc),
        "valid_accuracy": r(best.valid_accuracy),
        "test_loss": r(test_loss),
        "test_bpc": r(test_loss / LN2),
        "test_accuracy": r(test_acc),
    }
