"""Uploaded music files kept for import: MIDI, MusicXML, kern or zip files from the Train page.

(ABC uploads go through :func:`core.corpus.save_uploads`.) Nothing is opened here: the import
reads archives under its own caps (:mod:`core.data.midi_sources`).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

from core.data.midi_sources import ARCHIVE, IngestLimits, kind_of, mb
from core.data.upload_quota import make_room, uploads_dir
from core.errors import UserError


def check_upload_sizes(files: list[tuple[str, bytes]], limit: int | None = None) -> None:
    """Refuse (UserError, naming the file) an upload with a file over ``limit`` bytes (the import's cap)."""
    limit = limit or IngestLimits().max_file_bytes
    for name, data in files:
        if len(data) > limit:
            base = PurePosixPath(name.replace("\\", "/")).name
            raise UserError(f"{base} is larger than the limit of {mb(limit)} a file.")


def save_music_uploads(files: list[tuple[str, bytes]], limits: IngestLimits | None = None) -> Path:
    """Store uploaded MIDI, MusicXML, kern or zip files under ``data_dir()/uploads/midi-<hash>/`` for
    :func:`core.midi_corpus.import_corpus`; returns the folder.

    Names are reduced to safe basenames, other types are left out, and the upload is refused whole
    (UserError) when a file passes the import's size limit or no file is of a known type.
    Archives are not opened here: the import reads them under its caps.
    """
    limits = limits or IngestLimits()
    check_upload_sizes(files, limits.max_file_bytes)
    kept: dict[str, bytes] = {}
    for name, data in files:
        base = PurePosixPath(name.replace("\\", "/")).name
        suffix = PurePosixPath(base).suffix.lower()
        if suffix != ARCHIVE and kind_of(base) is None:
            continue
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", PurePosixPath(base).stem).lstrip(".")[:60] or "piece"
        safe, n = f"{stem}{suffix}", 1
        while safe in kept:
            n += 1
            safe = f"{stem}-{n}{suffix}"
        kept[safe] = data
    if not kept:
        raise UserError("Upload MIDI (.mid), MusicXML (.xml, .mxl), kern (.krn) files or a .zip of them.")
    digest = hashlib.sha256()
    for safe, data in sorted(kept.items()):
        digest.update(safe.encode() + b"\0" + hashlib.sha256(data).digest())
    folder = uploads_dir() / f"midi-{digest.hexdigest()[:16]}"
    make_room(sum(len(d) for d in kept.values()), keep=folder)
    folder.mkdir(parents=True, exist_ok=True)
    for safe, data in kept.items():
        (folder / safe).write_bytes(data)
    return folder

