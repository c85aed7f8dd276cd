"""Where the project keeps things. Every path is relative to the project or set by the user."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODELS = PROJECT_ROOT / "assets" / "models"


def data_dir() -> Path:
    """Writable folder for caches, user corpora and user-trained models.

    ``TUNELAB_DATA_DIR`` overrides the default ``<project>/data``.
    """
    return Path(os.environ.get("TUNELAB_DATA_DIR", PROJECT_ROOT / "data"))


def cache_dir() -> Path:
    """Content-keyed caches (parsed corpora)."""
    return data_dir() / "cache"


def user_models_dir() -> Path:
    """Checkpoints trained by the user (the shipped ones live in ``assets/models``)."""
    return data_dir() / "models"
