"""Cached resources and small helpers the pages share (Streamlit-side only; the work is in core)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

import streamlit as st

from core.checkpoint import LoadedModel, ModelCard, list_models
from core.compose import load_model
from core.errors import UserError
from core.midi_sources import ARCHIVE, IngestLimits, kind_of, mb
from core.paths import data_dir


@st.cache_resource(show_spinner="Loading the model…")
def cached_model(name: str) -> LoadedModel:
    """Each model loads once per server process."""
    return load_model(name)


def is_midi_card(card: ModelCard) -> bool:
    """True for the MIDI families' models (the card-only twin of core.midi_compose.is_midi_model)."""
    return card.tokenizer.get("kind", "abc_chars") != "abc_chars"


def held_out_figure(metrics: dict, family: str) -> str:
    """The held-out figure that fits the model: bits/char for ABC, loss and accuracy per token for MIDI."""
    bpc, loss, acc = metrics.get("test_bpc"), metrics.get("test_loss"), metrics.get("test_accuracy")
    if bpc is not None:
        return f"{bpc:.3f} bits/char on test"
    if loss is None:
        return ""
    acc_text = f", {acc:.1%} accuracy" if acc is not None else ""
    if family == "autoencoder":  # binary cross-entropy per piano-roll cell; cell accuracy flatters sparse rolls
        f1 = metrics.get("test_note_f1")
        return f"test loss {loss:.4f} per cell" + (f", note F1 {f1:.2f}" if f1 is not None else acc_text)
    return f"test loss {loss:.3f} nats/token{acc_text}"


def model_label(card: ModelCard) -> str:
    """``name · family · corpus · held-out figure`` for the model pickers."""
    figure = held_out_figure(card.metrics, card.family)
    return f"{card.name} · {card.family} · {card.corpus.get('name')}" + (f" · {figure}" if figure else "")


def _order(card: ModelCard) -> tuple:
    """ABC models first, best test bits per character first; then MIDI models by corpus, family and
    test loss (losses compare only within one family and corpus); models without figures last."""
    bpc, loss = card.metrics.get("test_bpc"), card.metrics.get("test_loss")
    if bpc is not None:
        return (0, "", "", float(bpc), card.name)
    if is_midi_card(card) and loss is not None:
        return (1, str(card.corpus.get("name")), card.family, float(loss), card.name)
    return (2, "", "", 0.0, card.name)


def models_by_name() -> dict[str, ModelCard]:
    """The models on offer in the pickers' order (the first is the default)."""
    return {card.name: card for card in sorted(list_models(), key=_order)}


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

    A stand-in until core offers it (``core.corpus.save_uploads`` takes ABC only): names are
    reduced to safe basenames, other types are left out, and the upload is refused whole
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
    folder = data_dir() / "uploads" / f"midi-{digest.hexdigest()[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    for safe, data in kept.items():
        (folder / safe).write_bytes(data)
    return folder
