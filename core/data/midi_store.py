"""Imported MIDI corpora on disk: one ``.npz`` of note arrays plus JSON metadata, no pickle.

Processed corpora are cached under ``cache_dir()`` keyed by the content hash of their sources
and options; a corpus imported with a name is also kept under ``data_dir()/midi_corpora``
(its ``.npz`` and a JSON summary), so that it outlives the cache and its source files.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import numpy as np

from core.data.midi_parse import NOTE_DTYPE, Track
from core.data.midi_piece import MidiPiece
from core.errors import UserError
from core.paths import cache_dir, data_dir

FORMAT = 1
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def cache_path(content_hash: str) -> Path:
    return cache_dir() / f"midi-corpus-{content_hash[:24]}.npz"


def named_dir() -> Path:
    """Where corpora imported with a name are kept."""
    return data_dir() / "midi_corpora"


def check_name(name: str) -> str:
    """A corpus name: letters, digits, ``_.-``, at most 64 characters, not starting with punctuation."""
    if not NAME_RE.match(name or ""):
        raise UserError(f"Corpus name {name!r}: use letters, digits, '_', '.' or '-' (at most 64, no path).")
    return name


def save(path: Path, pieces: list[MidiPiece], meta: dict) -> None:
    """Write pieces and a JSON-able ``meta`` dict as one compressed ``.npz`` (notes, tempos, JSON header)."""
    rows, notes, tempos = [], [], []
    n_notes = n_tempos = 0
    for p in pieces:
        tracks = []
        for t in p.tracks:
            tracks.append({"name": t.name, "program": t.program, "is_drum": t.is_drum,
                           "rows": [n_notes, n_notes + int(t.notes.size)]})
            notes.append(t.notes)
            n_notes += int(t.notes.size)
        rows.append({"title": p.title, "source": p.source, "artist": p.artist, "digest": p.digest,
                     "tempo": p.tempo, "time_signature": list(p.time_signature), "key": p.key,
                     "transposed": p.transposed, "tempos": [n_tempos, n_tempos + len(p.tempos)], "tracks": tracks})
        tempos.append(p.tempos)
        n_tempos += len(p.tempos)
    header = json.dumps({"format": FORMAT, **meta, "pieces": rows}, ensure_ascii=False)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        notes=np.concatenate(notes) if notes else np.empty(0, NOTE_DTYPE),
        tempos=np.concatenate(tempos) if tempos else np.empty((0, 2)),
        meta=np.array(header),
    )
    atomic_write(path, buf.getvalue())


def load(path: Path) -> tuple[list[MidiPiece], dict] | None:
    """Pieces and metadata saved by :func:`save`; None when the file is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            notes, tempos = npz["notes"], npz["tempos"]
    except (OSError, ValueError, KeyError, EOFError):
        return None
    if meta.get("format") != FORMAT or notes.dtype != NOTE_DTYPE:
        return None
    pieces = []
    for r in meta.pop("pieces"):
        tracks = tuple(Track(t["name"], t["program"], t["is_drum"], notes[slice(*t["rows"])]) for t in r["tracks"])
        pieces.append(MidiPiece(r["title"], r["source"], r["artist"], r["digest"], tempos[slice(*r["tempos"])],
                                r["tempo"], tuple(r["time_signature"]), r["key"], r["transposed"], tracks))
    return pieces, meta


def save_named(name: str, pieces: list[MidiPiece], meta: dict, summary: dict, replace: bool) -> Path:
    """Keep an imported corpus under its name; refuses to overwrite one unless ``replace``."""
    folder = named_dir()
    target = folder / f"{check_name(name)}.npz"
    if target.exists() and not replace:
        raise UserError(f"A MIDI corpus named {name!r} exists already: choose another name or pass --replace.")
    save(target, pieces, meta)
    atomic_write(folder / f"{name}.json", json.dumps(summary, indent=2, ensure_ascii=False).encode())
    return target


def named_corpora() -> dict[str, dict]:
    """Summaries of the corpora imported with a name, by name."""
    out = {}
    for path in sorted(named_dir().glob("*.json")):
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (path.with_suffix(".npz")).is_file():
            out[path.stem] = summary
    return out
