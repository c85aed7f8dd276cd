"""Survey admin's preview and edit (issue 15): listen to every clip with its truth, source and settings; while a
survey is a draft, remove, replace or add clips and change its settings. The work is in survey_db.drafts."""

from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.survey.build import model_clips
from core.survey.clips import MAX_UPLOAD_BYTES, policy_from_dict, upload_clip
from core.survey.design import DESIGNS, MAX_QUESTION_CHARS, SCREEN_FAIL
from pages.common import models_by_name
from survey_db import drafts, store


def _do(action, done: str) -> None:
    try:
        action()
    except UserError as exc:
        st.error(str(exc))
    else:
        st.session_state["a_notice"] = done
        st.rerun()


def preview(survey_id: int, status: str) -> None:
    """The clip table, a player for any clip, and (drafts) remove / replace / add."""
    table = drafts.preview(survey_id)
    st.dataframe(table, hide_index=True, width="stretch")
    if table.empty:
        return
    labels = {r.clip: f"{i + 1} · {r.truth} · {r.group} · {r.source}" for i, r in enumerate(table.itertuples())}
    clip = st.selectbox("Listen to a clip", list(labels), format_func=labels.get, key=f"a_listen_{survey_id}")
    st.audio(drafts.clip_wav(survey_id, clip), format="audio/wav")
    if status != "draft":
        st.caption("Clips and settings can be changed only while the survey is a draft.")
        return
    policy = policy_from_dict(drafts.settings(survey_id).policy)
    c1, c2 = st.columns(2)
    if c1.button("Remove this clip", key=f"a_remove_{survey_id}"):
        _do(lambda: drafts.remove_clip(survey_id, clip), "Clip removed.")
    upload = c2.file_uploader(f"Replace it with, or add, a human MIDI/ABC file (at most {MAX_UPLOAD_BYTES // 2**20} "
                              "MiB)", type=["mid", "midi", "abc"], key=f"a_upload_{survey_id}")
    if upload is not None:
        c3, c4 = st.columns(2)
        if c3.button("Replace the clip with this file", key=f"a_replace_{survey_id}"):
            _do(lambda: drafts.replace_clip(survey_id, clip, upload_clip(upload.name, upload.getvalue(), policy)),
                "Clip replaced.")
        if c4.button("Add this file as a clip", key=f"a_add_{survey_id}"):
            _do(lambda: store.add_clips(survey_id, [upload_clip(upload.name, upload.getvalue(), policy)]),
                "Clip added.")
    with st.form(f"a_add_model_{survey_id}"):
        c1, c2, c3 = st.columns(3)
        model = c1.selectbox("Add machine tunes from", list(models_by_name()), key=f"a_model_{survey_id}")
        count = c2.number_input("How many", 1, 50, 1, key=f"a_count_{survey_id}")
        seed = c3.number_input("First seed", 0, 2**31 - 1, 1000, key=f"a_seed_{survey_id}")
        if st.form_submit_button("Add machine tunes"):
            with st.spinner("Composing…"):
                _do(lambda: store.add_clips(survey_id, model_clips(model, int(count), 0.8, int(seed), policy)[0]),
                    "Machine tunes added.")


def settings_form(survey_id: int) -> None:
    """Change a draft's settings (the clip policy stays: its clips were made under it)."""
    spec = drafts.settings(survey_id)
    with st.form(f"a_settings_{survey_id}"):
        title = st.text_input("Title", spec.title, max_chars=200)
        c1, c2, c3 = st.columns(3)
        design = c1.radio("Design", list(DESIGNS), index=list(DESIGNS).index(spec.design), format_func=DESIGNS.get)
        margin = c2.number_input("Equivalence margin", 0.01, 0.25, min(float(spec.margin), 0.25), 0.01)
        per = c3.number_input("Clips (or pairs) per participant (0: all)", 0, 200, spec.clips_per_participant)
        c1, c2, c3, c4 = st.columns(4)
        screen = c1.checkbox("Headphone check", spec.headphone_screen)
        fail = c2.radio("On a failed check", list(SCREEN_FAIL), index=list(SCREEN_FAIL).index(spec.screen_fail),
                        format_func=SCREEN_FAIL.get)
        full = c3.checkbox("Play to the end", spec.require_full_play)
        practice = c4.checkbox("Practice trial", spec.practice)
        min_listen = st.number_input("Minimum listening from Play (s)", 0.0, 120.0, float(spec.min_listen_seconds))
        instructions = st.text_area("Instructions", spec.instructions, max_chars=5000)
        arena_question = st.text_input("The arena's question (arena design only)", spec.arena_question,
                                       max_chars=MAX_QUESTION_CHARS)
        if st.form_submit_button("Save settings"):
            new = store.SurveySpec(**{**spec.__dict__, "title": title, "design": design, "margin": float(margin),
                                      "clips_per_participant": int(per), "headphone_screen": screen,
                                      "screen_fail": fail, "require_full_play": full, "practice": practice,
                                      "min_listen_seconds": float(min_listen), "instructions": instructions,
                                      "arena_question": arena_question})
            _do(lambda: drafts.update_settings(survey_id, new), "Settings saved.")
