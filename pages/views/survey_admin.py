"""Survey admin: each survey's link, open / pause / close, its clips to preview and (while a draft) edit, how
evenly its clips were dealt, the votes as CSV."""

import pandas as pd
import streamlit as st

from core.errors import UserError
from pages.common import draft_editor
from pages.common.admin import ask_public_url, platform_links, require_admin
from survey_db import recruit, screening, store

ACTIONS = {"open": "Open", "paused": "Pause", "closed": "Close"}
ALLOWED = {"draft": ("open", "closed"), "open": ("paused", "closed"), "paused": ("open", "closed"), "closed": ()}

require_admin()
st.title("Survey admin")
surveys = store.list_surveys()
if not surveys:
    st.info("No surveys yet: build one on the Survey builder page.")
    st.stop()

st.dataframe(pd.DataFrame([{
    "id": s.id, "title": s.title, "status": s.status, "question": s.question, "human clips": s.clips["human"],
    "machine clips": s.clips["machine"], "catch clips": s.clips["catch"], "participants": s.participants,
    "finished": s.finished, "answers": s.responses, "created (UTC)": s.created_at.strftime("%Y-%m-%d %H:%M"),
} for s in surveys]), hide_index=True, width="stretch")

by_id = {s.id: s for s in surveys}
# the label leaves the status out, so that opening a survey keeps it chosen; the status is shown beside it
chosen = by_id[st.selectbox("Survey", list(by_id), format_func=lambda i: f"{i} · {by_id[i].title}", key="a_survey")]
if notice := st.session_state.pop("a_notice", None):
    st.success(notice)
extra = screening.survey_settings(chosen.id)
if extra["design"] == "arena":
    st.markdown(f"**Status: {chosen.status}** · arena of {extra['sources']} sources · asks "
                f"\"{extra['arena_question']}\"")
else:
    st.markdown(f"**Status: {chosen.status}** · design {extra['design']} · equivalence margin ±{extra['margin']:g}")
ask_public_url()
platform_links(chosen.token)
columns = st.columns(3)
for column, status in zip(columns, ALLOWED[chosen.status], strict=False):
    if column.button(ACTIONS[status], key=f"a_{status}", type="primary" if status == "open" else "secondary"):
        try:
            store.set_status(chosen.id, status)
        except UserError as exc:
            st.error(str(exc))
        else:
            st.rerun()

with st.expander("Recruitment: completion and screen-out links, participant quota"):
    done_url, quota = recruit.recruitment(chosen.id)
    out = recruit.screenout(chosen.id)
    with st.form(f"a_recruit_{chosen.id}"):
        new_url = st.text_input("Completion link shown when a participant finishes (e.g. Prolific's, with its code)",
                                value=done_url or "", key="a_completion_url", max_chars=500)
        c1, c2 = st.columns(2)
        out_url = c1.text_input("Screen-out link for who fails the headphone check (Prolific's 'screened out' "
                                "link)", value=out.url or "", key="a_screenout_url", max_chars=500)
        out_code = c2.text_input("Screen-out code", value=out.code or "", key="a_screenout_code", max_chars=64)
        c1, c2 = st.columns(2)
        new_quota = c1.number_input("Participant quota (0: none): counts finishers who passed the screening; the "
                                    "survey closes itself when it is reached", 0, 1_000_000, quota, key="a_quota")
        minutes = c2.number_input("Minutes without an answer before a visit is abandoned and its place freed",
                                  1.0, 10_080.0, float(out.abandon_minutes), key="a_abandon")
        if st.form_submit_button("Save"):
            try:
                recruit.set_recruitment(chosen.id, new_url, int(new_quota))
                recruit.set_screenout(chosen.id, recruit.ScreenOut(out_url, out_code, float(minutes)))
            except UserError as exc:
                st.error(str(exc))
            else:
                st.success("Saved.")
    places = recruit.place_counts(chosen.id)
    st.caption(f"Places: {places['counted']} counted finishers, {places['active']} taking part now, "
               f"{places['freed']} freed (left, timed out or failed the check).")
    st.caption("Links from Prolific (PROLIFIC_PID, STUDY_ID, SESSION_ID), MTurk (workerId, assignmentId, hitId) or "
               "with a pid parameter keep those ids with the responses; one participation per id.")

st.subheader("Clips")
draft_editor.preview(chosen.id, chosen.status)
with st.expander("Dealing: how often each clip was dealt and answered"):
    st.caption("Dealt: participants given the clip (dealt evenly); answers: votes stored.")
    st.dataframe(store.clip_table(chosen.id), hide_index=True, width="stretch")
if chosen.status == "draft":
    with st.expander("Settings (while a draft)"):
        draft_editor.settings_form(chosen.id)

st.subheader("Responses")
responses, design = screening.raw_responses(chosen.id)
if responses.empty:
    st.info("No answers yet.")
else:
    st.dataframe(responses, hide_index=True, width="stretch")
    st.download_button("Download responses (CSV)", screening.export_csv(responses, design),
                       f"survey-{chosen.id}-responses.csv", "text/csv", key="a_download")
    st.caption("Analyse it with `python -m core survey-stats FILE.csv`.")
