"""Checkpoints: a folder with ``model.safetensors`` and ``card.json``.

The card says everything needed to rebuild and judge the model (family, config,
tokenizer vocabulary, corpus and split fingerprints, training command, hardware,
held-out metrics). Weights load through safetensors: nothing is ever unpickled.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from core.errors import UserError
from core.models import build_model
from core.paths import SHIPPED_MODELS, user_models_dir
from core.tokenizers import Tokenizer, tokenizer_from_dict
from core.training.card_check import check_card, check_size

CARD_VERSION = 1
WEIGHTS = "model.safetensors"
CARD = "card.json"


@dataclass
class ModelCard:
    """What a checkpoint is, how it was made, and how well it does on held-out data."""

    name: str
    family: str
    preset: str
    model: dict
    tokenizer: dict
    corpus: dict
    training: dict
    metrics: dict
    parameters: int
    description: str = ""
    format_version: int = CARD_VERSION
    extra: dict = field(default_factory=dict)

    @property
    def is_midi(self) -> bool:
        """True for models of MIDI tokens or piano rolls (no ABC text)."""
        return self.tokenizer.get("kind", "abc_chars") != "abc_chars"

    def summary(self) -> dict:
        """The row the model picker and ``python -m core models`` show."""
        return {
            "name": self.name,
            "family": self.family,
            "preset": self.preset,
            "corpus": self.corpus.get("name"),
            "parameters": self.parameters,
            "test_bpc": self.metrics.get("test_bpc"),
            "test_accuracy": self.metrics.get("test_accuracy"),
            "epochs": self.training.get("epochs_run"),
            "hardware": self.training.get("hardware"),
        }


@dataclass
class LoadedModel:
    card: ModelCard
    model: nn.Module
    tokenizer: Tokenizer
    path: Path


def save_checkpoint(
    folder: Path, model: nn.Module, card: ModelCard, extra_files: dict[str, Path] | None = None
) -> Path:
    """Write weights and card into ``folder`` atomically (a temp folder renamed into place)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    tmp.chmod(0o755)
    try:
        weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(weights, str(tmp / WEIGHTS), metadata={"family": card.family, "name": card.name})
        (tmp / CARD).write_text(json.dumps(asdict(card), indent=2) + "\n")
        for name, src in (extra_files or {}).items():
            shutil.copy2(src, tmp / name)
        for path in tmp.iterdir():
            path.chmod(0o644)
        if folder.exists():
            old = folder.with_name(f".{folder.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def read_card(folder: Path) -> ModelCard:
    """The card of a checkpoint folder; raises UserError if missing or malformed (see :func:`check_card`)."""
    path = Path(folder) / CARD
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        card = ModelCard(**data)
    except FileNotFoundError:
        raise UserError(f"{folder} is not a checkpoint: it has no {CARD}.") from None
    except (ValueError, TypeError) as exc:
        raise UserError(f"The card {path} is malformed ({exc}).") from None
    problem = check_card(card, Path(folder))
    if problem:
        raise UserError(f"The card {path} is malformed ({problem}).")
    return card


def load_checkpoint(folder: Path, device: str = "cpu") -> LoadedModel:
    """Rebuild a model and its tokenizer from a checkpoint folder, in eval mode."""
    folder = Path(folder)
    card = read_card(folder)
    try:
        check_size(card, folder / WEIGHTS)  # before anything is allocated
        model = build_model(card.family, card.model)
        state = load_file(str(folder / WEIGHTS), device=device)
        model.load_state_dict(state, strict=True)
    except (FileNotFoundError, SafetensorError, RuntimeError, ValueError, TypeError) as exc:
        raise UserError(f"Checkpoint {folder.name} cannot be loaded ({str(exc).splitlines()[0]}).") from None
    model.to(device).eval()
    return LoadedModel(card, model, tokenizer_from_dict(card.tokenizer), folder)


def model_dirs() -> list[Path]:
    """Checkpoint folders the app offers: shipped ones first, then the user's."""
    found = []
    for root in (SHIPPED_MODELS, user_models_dir()):
        if root.is_dir():
            found += sorted(p for p in root.iterdir() if (p / CARD).is_file() and not p.name.startswith("."))
    return found


def list_models() -> list[ModelCard]:
    """Cards of every model the app offers (cards only; weights load lazily); bad cards are left out."""
    return scan_models()[0]


def scan_models() -> tuple[list[ModelCard], list[str]]:
    """(cards of the models the app offers, one sentence for each model left out because its card is bad)."""
    cards, problems = [], []
    for folder in model_dirs():
        try:
            cards.append(read_card(folder))
        except UserError as exc:
            problems.append(f"Model {folder.name} is hidden: {exc}")
    return cards, problems


def find_model(name: str) -> Path:
    """The checkpoint folder of a model by name; raises UserError naming the known ones."""
    folders = model_dirs()
    for folder in folders:
        if folder.name == name:
            return folder
    for folder in folders:
        try:
            if read_card(folder).name == name:
                return folder
        except UserError:
            continue
    path = Path(name)
    if (path / CARD).is_file():
        return path
    known = ", ".join(p.name for p in model_dirs()) or "none"
    raise UserError(f"Unknown model {name!r}; known models: {known}.")


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo where there is one)."""
    import platform

    with contextlib.suppress(OSError, StopIteration):
        return next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return platform.processor() or platform.machine()


def hardware() -> str:
    """A short description of the device training runs on (GPU name, or CPU model and threads)."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda}), torch {torch.__version__}"
    return f"{cpu_name()}, {torch.get_num_threads()} thread(s), torch {torch.__version__}"
