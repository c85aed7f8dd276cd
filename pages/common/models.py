"""Cached models and the model pickers the workspace pages share (Streamlit-side only; the work is in core)."""

from __future__ import annotations

import threading

import streamlit as st

from core.generation.compose import load_model
from core.training.checkpoint import LoadedModel, ModelCard, scan_models


@st.cache_resource(show_spinner=False)
def warm_server() -> threading.Thread:
    """Once per server process: warm the default model (and load the others) in the background."""
    from core.generation.warm import warm_process

    def warm() -> None:
        try:
            warm_process()
        except Exception:  # noqa: BLE001 - a courtesy in the background: a failure only costs the first Generate time
            return

    thread = threading.Thread(target=warm, name="tunelab-warm", daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner="Loading the model…")
def cached_model(name: str) -> LoadedModel:
    """Each model loads once per server process."""
    return load_model(name)


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
    if card.is_midi and loss is not None:
        return (1, str(card.corpus.get("name")), card.family, float(loss), card.name)
    return (2, "", "", 0.0, card.name)


def models_by_name() -> dict[str, ModelCard]:
    """The models on offer in the pickers' order (the first is the default); a bad card's model is left out
    with a warning on the page."""
    cards, problems = scan_models()
    for problem in problems:
        st.warning(problem)
    return {card.name: card for card in sorted(cards, key=_order)}
