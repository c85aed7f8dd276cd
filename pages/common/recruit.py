"""The participant page's recruitment steps: platform ids from the link, resuming by id, the completion link."""

from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.server import client_address, server_settings
from survey_db import recruit


def link_ids() -> recruit.LinkIds | None:
    """The platform ids in this page's link; a malformed one stops the page with one sentence."""
    try:
        return recruit.link_ids({k: st.query_params.get(k) for k in st.query_params})
    except UserError as exc:
        st.error(str(exc))
        st.stop()


def resume_by_id(survey_token: str, ids: recruit.LinkIds | None) -> None:
    """A platform id that joined before: put its participation in the link and show it (a second visit resumes)."""
    if ids is None:
        return
    earlier = recruit.find_participation(survey_token, ids)
    if earlier is not None:
        st.query_params["p"] = earlier
        st.rerun()
    if ids.preview:
        st.info("This is a preview: accept the HIT to take the survey.")
        st.stop()


def join_options(survey_token: str, ids: recruit.LinkIds | None) -> dict:
    """The keyword arguments of ``participants.join`` for this visitor: their ids and their client key."""
    settings = server_settings()
    address = client_address(st.context.ip_address, dict(st.context.headers or {}), settings)
    return {"ids": ids, "client": recruit.client_key(survey_token, address),
            "joins_per_minute": settings.joins_per_minute}


def completion_link(survey_token: str, person: str) -> None:
    """The survey's completion link (e.g. back to Prolific with its code) for a participant who has finished."""
    url = recruit.completion_url(survey_token, person)
    if url:
        st.link_button("Finish and return to the study site", url, type="primary")
