"""Warming the server in the background, kept light: importing this module imports no model code, so the
entry script (app.py) draws the navigation and the first page at once on a fresh server."""

from __future__ import annotations

import threading

import streamlit as st


@st.cache_resource(show_spinner=False)
def warm_server() -> threading.Thread:
    """Once per server process: warm the default model (and load the others) in the background."""

    def warm() -> None:
        try:
            from core.generation.warm import warm_process

            warm_process()
        except Exception:  # noqa: BLE001 - a courtesy in the background: a failure only costs the first Generate time
            return

    thread = threading.Thread(target=warm, name="tunelab-warm", daemon=True)
    thread.start()
    return thread
