"""Survey: the participant's page, reached by a link with the survey token (``?s=``); ``?p=`` resumes.

Nothing on it tells human clips from machine clips: every clip is shown the same way, by its audio alone,
and the page never holds a clip id, a source or a file name.
"""

import time

import streamlit as st

from core.errors import UserError
from core.survey.clips import policy_from_dict, tone_check_wav
from pages.common import recruit, survey_steps
from pages.common.player import listening_ms, player
from pages.common.survey_steps import run_step
from survey_db import participants as P

ANSWER = {"human": "A person", "machine": "A computer"}
RATING = {1: "1 · surely a person", 2: "2", 3: "3 · can't tell", 4: "4", 5: "5 · surely a computer"}
UNSAID = "(prefer not to say)"


def stop_with(message: str, kind=st.error) -> None:
    kind(message)
    st.stop()


survey_token, person = st.query_params.get("s", ""), st.query_params.get("p")
if not survey_token:
    st.title("Listening survey")
    stop_with("Open the survey link you were given: it ends with ?s= and a code.", st.info)
try:
    survey = P.public_survey(survey_token)
except UserError as exc:
    st.title("Listening survey")
    stop_with(str(exc))
st.title(survey.title)

if person is None:
    ids = recruit.link_ids()  # Prolific, MTurk or a generic pid from the link
    recruit.resume_by_id(survey_token, ids)  # a second visit with the same id resumes the first
    if survey.status != "open":
        stop_with(P.NOT_OPEN[survey.status], st.warning)
    st.write(survey.consent_text)
    if st.button("I agree: start", type="primary", key="consent"):
        try:
            # the link now resumes this participant
            st.query_params["p"] = P.join(survey_token, **recruit.join_options(survey_token, ids))
        except UserError as exc:
            stop_with(str(exc))
        st.rerun()
    st.stop()

try:
    state = P.state(survey_token, person)
except UserError as exc:
    stop_with(str(exc))
ENDED = ("done", "screened_out", "left", "timed_out")
if state.step not in ENDED and survey.status != "open":
    stop_with(P.NOT_OPEN[survey.status], st.warning)
if state.step not in ENDED:
    unit = "pairs" if survey.design in ("2afc", "arena") else "clips"
    st.progress(state.answered / max(state.total, 1), text=f"{state.answered} of {state.total} {unit} answered")


def choice(value: str) -> str | None:
    return None if value == UNSAID else value


if state.step == "demographics":
    st.subheader("About you (optional)")
    with st.form("demographics"):
        age = st.selectbox("Age", [UNSAID, *P.AGE_BANDS], key="age_band")
        training = st.selectbox("Musical training", [UNSAID, *P.MUSICAL_TRAINING], key="musical_training")
        habits = st.selectbox("How often do you listen to folk or traditional music?", [UNSAID, *P.LISTENING_HABITS],
                              key="listening_habits")
        if st.form_submit_button("Continue", type="primary"):
            run_step(lambda: P.save_demographics(survey_token, person, choice(age), choice(training), choice(habits)))

elif state.step == "headphones":
    st.subheader("Volume check")
    st.write("Play the sound below and set your volume so it is comfortable. How many tones do you hear?")
    st.audio(tone_check_wav(state.headphone_tones, policy_from_dict(survey.policy)), format="audio/wav")
    with st.form("headphones"):
        tones = st.radio("Tones", list(range(1, 8)), index=None, horizontal=True, key="tones")
        if st.form_submit_button("Continue", type="primary"):
            if tones is not None and P.check_headphones(survey_token, person, int(tones)):
                st.rerun()
            st.error("Not quite: check that your sound is on, play it again and count the tones.")

elif state.step == "clip":
    position = state.answered + 1
    shown = st.session_state.setdefault(f"shown_at_{person}_{position}", time.monotonic())
    st.subheader(f"Clip {position} of {state.total}")
    report = player(P.clip_audio(survey_token, person, state.clip), "piece", key=f"clip_{position}")
    if survey.require_full_play:
        st.caption("Play the piece to its end before answering.")
    with st.form(f"answer_{position}"):
        vote = rating = None
        if survey.question in ("binary", "both"):
            vote = st.radio("Who made this piece?", list(ANSWER), format_func=ANSWER.get, index=None, horizontal=True,
                            key=f"vote_{position}")
        if survey.question in ("rating", "both"):
            rating = st.radio("Person or computer?", list(RATING), format_func=RATING.get, index=None, horizontal=True,
                              key=f"rating_{position}")
        if st.form_submit_button("Next", type="primary"):
            ms = listening_ms([report], shown)
            run_step(lambda: P.record_vote(survey_token, person, state.clip, vote, rating, ms, plays=report["plays"],
                                           played_to_end=report["ended"]))

elif state.step in survey_steps.STEPS:
    survey_steps.show(state, survey_token, person)

elif state.step == "comment":
    st.subheader("Anything to add? (optional)")
    with st.form("comment"):
        # no max_chars: Streamlit would cut a longer text silently; finish() refuses it with a message instead
        text = st.text_area(f"Comment (up to {P.MAX_COMMENT_CHARS:,} characters)", key="comment")
        if st.form_submit_button("Finish", type="primary"):
            run_step(lambda: P.finish(survey_token, person, text))

else:
    st.success("Thank you! Your answers are saved.")
    if state.completion_code:
        st.write("Your completion code:")
        st.code(state.completion_code, language=None)
    recruit.completion_link(survey_token, person)
if state.step not in ENDED:
    survey_steps.leave_button(survey_token, person)
