"""Checks on a model card before anything trusts it: field types, where its corpus points, and its size.

A card is a JSON file anyone can edit or drop into the models folder. A wrong type must hide that one
model (not crash every model picker), a corpus path must not lead the app anywhere on disk, and a huge
config must be refused before memory is allocated for it.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from core.errors import UserError
from core.paths import data_dir

MAX_PARAMETERS = 400_000_000
"""The largest model the app loads (1.6 GB of float32 weights)."""
MAX_CONFIG_INT = 100_000
"""No number in a model config (layers, width, vocabulary, context) may exceed this."""
_STR_FIELDS = ("name", "family", "preset", "description")
_DICT_FIELDS = ("model", "tokenizer", "corpus", "training", "metrics", "extra")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_card(card, folder: Path) -> str | None:
    """What is wrong with a card read from ``folder`` (a short phrase), or None when it can be trusted.

    Checked: text fields are strings, the sections are objects, ``parameters`` is a whole number, every
    metric is a number or null, and ``corpus.source`` is a corpus name or a path inside the model's folder
    or the app's data folder (where uploaded corpora live).
    """
    for name in _STR_FIELDS:
        if not isinstance(getattr(card, name), str):
            return f"{name} must be text"
    for name in _DICT_FIELDS:
        if not isinstance(getattr(card, name), dict):
            return f"{name} must be an object"
    if isinstance(card.parameters, bool) or not isinstance(card.parameters, int) or card.parameters < 0:
        return "parameters must be a whole number"
    for key, value in card.metrics.items():
        if value is not None and not _is_number(value):
            return f"metric {key} must be a number, not {value!r}"
    for key in ("name", "source"):
        value = card.corpus.get(key)
        if value is not None and not isinstance(value, str):
            return f"corpus {key} must be text"
    source = card.corpus.get("source")
    if source and not _source_allowed(source, Path(folder)):
        return f"its corpus source {source!r} lies outside the model's folder"
    return None


def _source_allowed(source: str, folder: Path) -> bool:
    if "/" not in source and "\\" not in source and not source.startswith((".", "~")):
        return True  # a corpus name (built-in or imported), not a path
    given = Path(source).expanduser()  # as core.data.corpus.source_files reads it
    path = given if given.is_absolute() else folder / given
    resolved = path.resolve()
    return any(resolved.is_relative_to(root.resolve()) for root in (folder, data_dir()))


def _config_numbers(value) -> list:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _config_numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _config_numbers(v)]
    return [value] if _is_number(value) else []


def check_size(card, weights: Path) -> None:
    """Refuse (UserError) a model that is too big or whose config does not match its weights file.

    Nothing real is allocated: the config's numbers are bounded, the model is built on PyTorch's ``meta``
    device (shapes only), and its parameter shapes are compared with the safetensors header of ``weights``.
    """
    from core.models import build_model

    big = [n for n in _config_numbers(card.model) if not math.isfinite(n) or abs(n) > MAX_CONFIG_INT]
    if big:
        raise UserError(f"Model {card.name} has a config number out of range ({big[0]}); it is not loaded.")
    try:
        with safe_open(str(weights), framework="pt") as f:
            stored = {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}  # noqa: SIM118
    except (FileNotFoundError, SafetensorError, OSError) as exc:
        raise UserError(f"Checkpoint {card.name} cannot be loaded ({str(exc).splitlines()[0]}).") from None
    total = sum(math.prod(shape) for shape in stored.values())
    if total > MAX_PARAMETERS:
        raise UserError(f"Model {card.name} has {total:,} weights, more than the {MAX_PARAMETERS:,} this app loads.")
    try:
        with torch.device("meta"):
            shapes = {k: tuple(v.shape) for k, v in build_model(card.family, card.model).state_dict().items()}
    except (ValueError, TypeError, RuntimeError) as exc:
        raise UserError(f"Checkpoint {card.name} cannot be loaded ({str(exc).splitlines()[0]}).") from None
    if shapes != stored:
        raise UserError(f"Checkpoint {card.name} cannot be loaded: its card does not match its weights.")
