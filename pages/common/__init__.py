"""Cached resources the pages share (Streamlit-side only; the work is in core)."""

from __future__ import annotations

import streamlit as st

from core.checkpoint import LoadedModel, ModelCard, list_models
from core.compose import load_model


@st.cache_resource(show_spinner="Loading the model…")
def cached_model(name: str) -> LoadedModel:
    """Each model loads once per server process."""
    return load_model(name)


def model_label(card: ModelCard) -> str:
    bpc = card.metrics.get("test_bpc")
    bpc_text = f" · {bpc:.3f} bits/char on test" if bpc is not None else ""
    return f"{card.name} · {card.family} · {card.corpus.get('name')}{bpc_text}"


def models_by_name() -> dict[str, ModelCard]:
    """The models on offer, best test bits per character first (the picker's default)."""
    cards = sorted(list_models(), key=lambda c: (c.metrics.get("test_bpc") is None, c.metrics.get("test_bpc") or 0))
    return {card.name: card for card in cards}

