"""Room for uploads on the server's disk: a quota, and old uploads removed first.

Every upload (ABC for training, MIDI/score files for import) is a folder under ``data_dir()/uploads``;
:func:`make_room` runs before one is written.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from core.errors import UserError
from core.paths import data_dir
from core.server import server_settings


def uploads_dir() -> Path:
    """Where uploads are kept, one folder per upload named by its content hash."""
    return data_dir() / "uploads"


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _in_use() -> set[Path]:
    """Upload folders a model card or a training job names as its corpus: never removed."""
    used = set()
    for path in [*data_dir().glob("models/*/card.json"), *data_dir().glob("jobs/*/status.json")]:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        source = (data.get("corpus") or {}).get("source") if "corpus" in data else None
        source = source if isinstance(source, str) else (data.get("config") or {}).get("corpus")
        if isinstance(source, str):
            used.add(Path(source).resolve())
    return used


def make_room(new_bytes: int, keep: Path | None = None, now: float | None = None) -> list[Path]:
    """Before an upload of ``new_bytes`` is written: remove uploads older than ``TUNELAB_UPLOAD_MAX_DAYS``, then
    the oldest others until the new one fits in ``TUNELAB_UPLOAD_QUOTA_MB``; returns the removed folders.

    Folders a model or a training run uses, and ``keep``, stay. UserError (nothing removed past what the age
    rule removes) when the upload cannot fit even so.
    """
    settings = server_settings()
    quota, max_age = settings.upload_quota_mb * 2**20, settings.upload_max_days * 86_400
    now = time.time() if now is None else now
    root = uploads_dir()
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime) \
        if root.is_dir() else []
    protected = _in_use() | ({keep.resolve()} if keep else set())
    removable = [p for p in folders if p.resolve() not in protected]
    expired = [p for p in removable if now - p.stat().st_mtime > max_age]
    for folder in expired:
        shutil.rmtree(folder, ignore_errors=True)
    left = [p for p in folders if p not in expired]
    sizes = {p: _size(p) for p in left}
    total, victims = sum(sizes.values()), []
    for folder in (p for p in removable if p not in expired):  # oldest first
        if total + new_bytes <= quota:
            break
        victims.append(folder)
        total -= sizes[folder]
    if total + new_bytes > quota:
        raise UserError(f"The server's space for uploads ({settings.upload_quota_mb:g} MB) is full; "
                        "try again later or ask the admin to raise TUNELAB_UPLOAD_QUOTA_MB.")
    for folder in victims:
        shutil.rmtree(folder, ignore_errors=True)
    return expired + victims
