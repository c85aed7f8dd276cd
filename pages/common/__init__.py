"""Helpers the pages share (Streamlit-side only; the work is in core).

The model helpers live in :mod:`pages.common.models` and are loaded on first use (PEP 562), so that a
participant-only server, whose pages import ``pages.common.recruit`` and friends, never imports torch.
"""

from __future__ import annotations

_MODELS = ("warm_server", "cached_model", "held_out_figure", "model_label", "models_by_name")


def __getattr__(name: str):
    if name in _MODELS:
        from pages.common import models

        return getattr(models, name)
    raise AttributeError(f"module 'pages.common' has no attribute {name!r}")
