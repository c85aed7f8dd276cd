"""The admin gate of the survey pages, and the participant link of a survey."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import streamlit as st

from core.admin import THROTTLE, ensure_password
from core.errors import UserError
from core.server import beyond_loopback
from core.survey.links import check_public_url, participant_links


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


def public_base() -> str:
    """Where participants reach this server: ``TUNELAB_PUBLIC_URL``, else the address the admin typed on the
    builder this visit, else the address this admin uses (without this page's own path)."""
    base = os.environ.get("TUNELAB_PUBLIC_URL") or st.session_state.get("public_url")
    if base:
        return base.rstrip("/")
    parts = urlsplit(st.context.url or "http://localhost:8501")
    path = parts.path.rstrip("/")
    path = path.rsplit("/", 1)[0] if "/" in path else ""  # drop this page's own path
    return f"{parts.scheme}://{parts.netloc}{path}"


def ask_public_url() -> None:
    """When ``TUNELAB_PUBLIC_URL`` is unset: ask for the address participants will use (kept for this visit)."""
    if os.environ.get("TUNELAB_PUBLIC_URL"):
        return
    typed = st.text_input("Public address of the participant server (TUNELAB_PUBLIC_URL is not set, so links "
                          "would otherwise use the address you are on)", st.session_state.get("public_url", ""),
                          placeholder="https://survey.example.org", key="b_public_url")
    if typed.strip():
        try:
            st.session_state.public_url = check_public_url(typed)
        except UserError as exc:
            st.error(str(exc))
    else:
        st.session_state.pop("public_url", None)
        st.caption(f"Links will start with {public_base()}: set TUNELAB_PUBLIC_URL on the server, or type the "
                   "address above, if participants reach it elsewhere.")


def survey_link(token: str) -> str:
    """The participant link: :func:`public_base` + ``/survey?s=TOKEN``."""
    return participant_links(public_base(), token)["plain"]


def platform_links(token: str) -> None:
    """The participant link in each platform's form, each ready to copy."""
    links = participant_links(public_base(), token)
    st.markdown("**Participant link** (a survey takes answers only while open):")
    st.code(links["plain"], language=None)
    st.markdown("**Prolific** study URL (Prolific fills in the ids):")
    st.code(links["prolific"], language=None, wrap_lines=True)
    st.markdown("**MTurk** external question URL (MTurk adds workerId, assignmentId and hitId):")
    st.code(links["mturk"], language=None)
