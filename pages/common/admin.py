"""The admin gate of the survey pages, and the participant link of a survey."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import streamlit as st

from core.admin import THROTTLE, ensure_password
from core.server import beyond_loopback

SURVEY_PATH = "survey"
"""url_path of the participant page (app.py)."""


def require_admin() -> None:
    """Show the login form and stop the page unless this session has logged in as admin."""
    if st.session_state.get("admin"):
        if st.sidebar.button("Log out of admin", key="admin_logout"):
            st.session_state.admin = False
            st.rerun()
        return
    generated = ensure_password()
    if generated is not None:
        print(f"\nTuneLab survey admin password (shown once; only its hash is stored): {generated}\n", flush=True)
        st.info("No admin password was set up, so one was made now and printed in the terminal running the app.")
    st.title("Admin login")
    with st.form("admin_login"):
        password = st.text_input("Admin password", type="password", key="admin_password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        if THROTTLE.check(password):
            st.session_state.admin = True
            st.rerun()
        st.error("Wrong password.")
    st.caption("The password was printed in the terminal on the first `make run`; "
               "`python -m core admin-password --reset` makes a new one.")
    st.stop()


def require_admin_beyond_loopback() -> None:
    """The admin login, but only on a server other machines can reach (``server.address`` not loopback):
    pages that spend CPU (Compose, Evaluate) stay open to the person at the machine running the app."""
    if beyond_loopback(st.get_option("server.address")):
        require_admin()


def survey_link(token: str) -> str:
    """The participant link: ``TUNELAB_PUBLIC_URL`` (or the address this admin uses) + ``/survey?s=TOKEN``."""
    base = os.environ.get("TUNELAB_PUBLIC_URL") or st.context.url or "http://localhost:8501"
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    if not os.environ.get("TUNELAB_PUBLIC_URL"):
        path = path.rsplit("/", 1)[0] if "/" in path else ""  # drop this page's own path
    return f"{parts.scheme}://{parts.netloc}{path}/{SURVEY_PATH}?s={token}"
