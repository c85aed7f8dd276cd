"""What a training run is told (TrainConfig, checked against its preset) and what it reports back."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from core.errors import UserError
from core.paths import SHIPPED_MODELS, user_models_dir
from core.training.batching import check_pairing
from core.training.checkpoint import ModelCard
from core.training.presets import PRESETS

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
    init_from: str | None = None  # a finished checkpoint (name or folder) whose weights the run starts from
    fim_rate: float = 0.0  # share of training tunes rearranged for fill-in-the-middle (transformer, ABC)
    fim_order: str = "psm"  # "psm" (prefix, suffix, middle) or "spm" (suffix, prefix, middle)
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
        if out.epochs < 1 or out.batch_size < 1 or out.seq_len < 2 or not 0 < out.lr < math.inf:
            raise UserError("Epochs, batch size and learning rate must be positive and the sequence length at least 2.")
        if out.optimizer not in OPTIMIZERS:
            raise UserError(f"Unknown optimizer {out.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        if out.schedule not in ("constant", "cosine"):
            raise UserError(f"Unknown learning-rate schedule {out.schedule!r}; choose constant or cosine.")
        if out.patience < 0 or out.warmup < 0 or not 0 <= out.grad_clip < math.inf \
                or not 0 <= out.weight_decay < math.inf:
            raise UserError("Patience, warm-up, gradient clipping and weight decay must be finite and not negative.")
        if not 0 <= out.seed < 2**63:
            raise UserError(f"The seed must be a whole number from 0 to {2**63 - 1}, not {out.seed}.")
        if out.precision not in ("auto", "fp32", "bf16"):
            raise UserError(f"Unknown precision {out.precision!r}; choose auto, fp32 or bf16.")
        preset = PRESETS[out.preset]
        if not (0.0 <= out.fim_rate <= 0.9):
            raise UserError(f"The fill-in-the-middle share must be between 0 and 0.9, not {out.fim_rate}.")
        if out.fim_order not in ("psm", "spm"):
            raise UserError(f"Unknown fill-in-the-middle order {out.fim_order!r}; choose psm or spm.")
        if out.fim_rate and (preset.family != "transformer" or preset.tokenizer.get("kind") != "abc_chars"):
            raise UserError("Fill-in-the-middle training is for the ABC Transformer presets (gpt-folk, tiny-gpt, "
                            "tiny-gpt-512).")
        if out.init_from and out.resume:
            raise UserError("Start from a checkpoint (--init-from) or resume a run (--resume), not both.")
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


def output_folder(cfg: TrainConfig) -> Path:
    return Path(cfg.out_dir) if cfg.out_dir else user_models_dir() / cfg.name


def check_name_free(cfg: TrainConfig) -> None:
    """A user model may not take a shipped model's name (it would hide it from the picker)."""
    if not cfg.out_dir and (SHIPPED_MODELS / cfg.name).exists():
        raise UserError(f"{cfg.name} is a shipped model's name; pick another name.")
