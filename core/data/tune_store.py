"""Tunes that last: every tune made on Compose is kept on disk with where it came from, under a link.

A tune is a folder ``data_dir()/tunes/<id>/``: ``tune.json`` (title, ABC, settings, seed, model, the tune it
came from, who made it), the MIDI and WAV the page played, and the pictures it showed. A tune never changes
once saved (an edit is a new tune whose ``parent`` is the old one); only its star (a file ``starred``) does.

Who made a tune is a random owner token the browser keeps (a cookie); only its SHA-256 is written, so reading
the folder does not let anyone act as the owner. The link ``?tune=ID`` opens the tune for anyone, read-only;
only its owner may star or delete it. The disk is bounded: past ``TUNELAB_TUNE_QUOTA_MB`` (default 500 MB)
the oldest unstarred tunes go first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError
from core.paths import data_dir

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{12}$")
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
KINDS = ("generated", "edited", "continued", "rewritten", "transposed", "retimed")
DEFAULT_QUOTA_MB = 500.0
FILES = {"midi": "tune.mid", "wav": "tune.wav", "roll": "roll.png"}


@dataclass(frozen=True)
class TuneInfo:
    """What the "My tunes" list shows of a saved tune (``created``: Unix seconds)."""

    id: str
    title: str
    kind: str
    model: str | None
    seed: int | None
    parent: str | None
    created: float
    starred: bool
    owner: str


def tunes_dir() -> Path:
    """Where saved tunes live, one folder per tune."""
    return data_dir() / "tunes"


def new_owner_token() -> str:
    """A fresh random owner token (the browser keeps it; the server keeps only its hash)."""
    return secrets.token_urlsafe(24)


def valid_token(token: str | None) -> bool:
    """Whether ``token`` looks like an owner token (a cookie can hold anything)."""
    return bool(token) and bool(TOKEN_PATTERN.match(token))


def owner_key(token: str) -> str:
    """The hash of an owner token, as written in ``tune.json``."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def quota_bytes() -> int:
    """``TUNELAB_TUNE_QUOTA_MB`` in bytes; UserError names a bad value."""
    raw = os.environ.get("TUNELAB_TUNE_QUOTA_MB", "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_QUOTA_MB
    except ValueError:
        raise UserError(f"TUNELAB_TUNE_QUOTA_MB must be a number, not {raw!r}.") from None
    if not mb > 0:
        raise UserError(f"TUNELAB_TUNE_QUOTA_MB must be a positive number, not {raw!r}.")
    return int(mb * 2**20)


def _folder(tune_id: str) -> Path:
    """The folder of ``tune_id``; UserError for anything that is not an ID (no path tricks)."""
    if not isinstance(tune_id, str) or not ID_PATTERN.match(tune_id):
        raise UserError(f"{tune_id!r} is not a tune link; a tune ID is 12 letters, digits, - or _.")
    return tunes_dir() / tune_id


def save(fields: dict, files: dict[str, bytes | None], owner: str, kind: str, parent: str | None = None,
         svgs: list[str] | None = None) -> str:
    """Keep a tune: JSON-able ``fields`` (title, abc, seed, meta, ...), its ``files`` (midi, wav, roll) and
    notation ``svgs``; returns its new ID. Makes room first (oldest unstarred tunes go past the quota)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if not valid_token(owner):
        raise UserError("This browser has no owner token yet; reload the page and try again.")
    tune_id = secrets.token_urlsafe(9)
    folder = tunes_dir() / tune_id
    folder.mkdir(parents=True)
    record = {**fields, "id": tune_id, "kind": kind, "parent": parent, "created": time.time(),
              "owner": owner_key(owner)}
    (folder / "tune.json").write_text(json.dumps(record, default=str), encoding="utf-8")
    for name, data in files.items():
        if data is not None and name in FILES:
            (folder / FILES[name]).write_bytes(data)
    for i, svg in enumerate(svgs or []):
        (folder / f"score-{i}.svg").write_text(svg, encoding="utf-8")
    make_room(keep=tune_id)
    return tune_id


def load(tune_id: str) -> dict:
    """The saved tune ``tune_id``: its fields plus ``midi``, ``wav``, ``roll`` (bytes or None), ``svgs`` and
    ``starred``; UserError when there is no such tune (never made, or deleted)."""
    folder = _folder(tune_id)
    try:
        record = json.loads((folder / "tune.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"There is no tune {tune_id} on this server (it was deleted, or the link is "
                        "mistyped).") from None
    for name, file in FILES.items():
        path = folder / file
        record[name] = path.read_bytes() if path.is_file() else None
    record["svgs"] = [p.read_text(encoding="utf-8") for p in sorted(folder.glob("score-*.svg"),
                                                                     key=lambda p: int(p.stem.split("-")[1]))]
    record["starred"] = (folder / "starred").exists()
    return record


def _info(folder: Path) -> TuneInfo | None:
    try:
        r = json.loads((folder / "tune.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return TuneInfo(id=folder.name, title=str(r.get("title") or "Untitled"), kind=str(r.get("kind")),
                    model=r.get("model"), seed=r.get("seed"), parent=r.get("parent"),
                    created=float(r.get("created", 0.0)), starred=(folder / "starred").exists(),
                    owner=str(r.get("owner", "")))


def all_tunes() -> list[TuneInfo]:
    """Every saved tune, newest first."""
    root = tunes_dir()
    infos = [_info(p) for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
    return sorted((i for i in infos if i is not None), key=lambda i: i.created, reverse=True)


def owned_by(owner: str | None, limit: int | None = None) -> list[TuneInfo]:
    """The tunes made with owner token ``owner``, newest first (at most ``limit``)."""
    if not valid_token(owner):
        return []
    key = owner_key(owner)
    mine = [i for i in all_tunes() if i.owner == key]
    return mine[:limit] if limit is not None else mine


def is_owner(tune_id: str, owner: str | None) -> bool:
    """Whether ``owner`` made ``tune_id`` (and may star or delete it)."""
    info = _info(_folder(tune_id))
    return info is not None and valid_token(owner) and info.owner == owner_key(owner)


def _check_owner(tune_id: str, owner: str | None) -> Path:
    folder = _folder(tune_id)
    if not folder.is_dir():
        raise UserError(f"There is no tune {tune_id} on this server (it was deleted already).")
    if not is_owner(tune_id, owner):
        raise UserError("Only the person who made this tune can change or delete it.")
    return folder


def set_star(tune_id: str, owner: str | None, starred: bool) -> None:
    """Star (kept past the quota) or unstar the owner's tune."""
    marker = _check_owner(tune_id, owner) / "starred"
    if starred:
        marker.touch()
    else:
        marker.unlink(missing_ok=True)


def delete(tune_id: str, owner: str | None) -> None:
    """Delete the owner's tune (its link stops working; tunes made from it keep their own)."""
    shutil.rmtree(_check_owner(tune_id, owner))


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def make_room(keep: str | None = None, quota: int | None = None) -> list[str]:
    """Delete the oldest unstarred tunes (never ``keep``) until all tunes fit in ``quota`` bytes
    (``TUNELAB_TUNE_QUOTA_MB`` by default); returns the deleted IDs."""
    quota = quota_bytes() if quota is None else quota
    infos = all_tunes()
    sizes = {i.id: _size(tunes_dir() / i.id) for i in infos}
    total, removed = sum(sizes.values()), []
    for info in reversed(infos):  # oldest first
        if total <= quota:
            break
        if info.starred or info.id == keep:
            continue
        shutil.rmtree(tunes_dir() / info.id, ignore_errors=True)
        total -= sizes[info.id]
        removed.append(info.id)
    return removed
