"""What every server runs (`streamlit run serve.py`): the app of app.py, with Streamlit's private endpoints
(``/_stcore/metrics``) answering 404 (core.server.HidePrivatePaths). Streamlit finds ``app`` here and serves it
with the usual command-line options (--server.port, --server.address, ...)."""

import logging
import threading

import streamlit as st
from starlette.middleware import Middleware

from core.server import HidePrivatePaths, server_settings, startup_warnings


def warm_first_session(timeout: float = 120) -> threading.Thread:
    """In the background, once this server answers its health check, open one session on the survey page (a
    fresh Streamlit process shows its first session "Page not found" for a non-default page; Streamlit 1.67).
    Reads the port, address and base path from Streamlit's config; failures only cost that first visit."""

    def run() -> None:
        from streamlit import config

        host = (config.get_option("server.address") or "").strip()
        host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        base = (config.get_option("server.baseUrlPath") or "").strip("/")
        url = f"http://{host}:{config.get_option('server.port')}" + (f"/{base}" if base else "")
        try:
            from scripts.replicas import wait_healthy

            wait_healthy(url, timeout=timeout)
        except Exception:  # noqa: BLE001 - a courtesy: without it only the first visitor sees the dialog
            logging.getLogger("tunelab").warning("TuneLab: the warm-up session did not run.")

    thread = threading.Thread(target=run, name="tunelab-warm-session", daemon=True)
    thread.start()
    return thread


startup_warnings(server_settings())  # in the server's log as it starts (TUNELAB_BEHIND_PROXY unset, ...)
warm_first_session()  # so that no participant's first visit sees Streamlit's "Page not found"
app = st.App("app.py", middleware=[Middleware(HidePrivatePaths)])
