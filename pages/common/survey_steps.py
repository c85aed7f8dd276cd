"""The participant page's added steps (issue 15): the headphone check, the end after a failed check, the
instructions with an optional practice trial, the paired (2AFC) trial, and the arena's game (issue 19). Thin: the
work is in core and survey_db; nothing shown tells which clip is the person's or which tone is quiet."""

from __future__ import annotations

import time

import streamlit as st

from core.errors import UserError
from core.survey import headphones
from core.survey.clips import policy_from_dict, practice_clips
from pages.common.player import listening_ms, player
from survey_db import participants as P
from survey_db import places, recruit, screening

STEPS = ("screen", "screened_out", "left", "timed_out", "instructions", "pair", "game")
SCREEN_QUESTION = {"woods": ("Each sound below has three tones: which tone is the quietest?",
                             "the quietest tone was"),
                   "huggins": ("Each sound below has three bursts of noise; one of them hides a faint tone. "
                               "Which one?", "the faint tone was in noise")}
POSITIONS = {1: "The first", 2: "The second"}


def run_step(action) -> None:
    """Store an answer, then show the next step; a refused answer is explained and nothing is stored."""
    try:
        action()
    except UserError as exc:
        st.error(str(exc))
    else:
        st.rerun()


def show(state: P.ParticipantState, survey_token: str, person: str) -> None:
    """Render the step ``state.step`` (one of :data:`STEPS`)."""
    {"screen": _screen, "screened_out": _screened_out, "left": _gone, "timed_out": _gone,
     "instructions": _instructions, "pair": _pair, "game": _game}[state.step](state, survey_token, person)


def _screen(state, survey_token: str, person: str) -> None:
    question, label = SCREEN_QUESTION[state.survey.screen_test]
    st.subheader("Headphone check")
    st.write(f"Put on your headphones. {question} Play each sound once, at a comfortable volume.")
    with st.form("screen"):
        answers = []
        for i in range(headphones.TRIALS):
            st.audio(screening.screen_trial_wav(survey_token, person, i), format="audio/wav")
            answers.append(st.radio(f"Sound {i + 1}: {label}", [1, 2, 3], index=None, horizontal=True,
                                    format_func=lambda n: ("first", "second", "third")[n - 1], key=f"screen_{i}"))
        if st.form_submit_button("Continue", type="primary"):
            run_step(lambda: screening.submit_screen(survey_token, person, answers))


def _screened_out(state, survey_token: str, person: str) -> None:
    st.info("Thank you for your time. This study needs headphones, and the check suggests that the sound is "
            "reaching you through loudspeakers, so we will not ask you to go on.")
    out = recruit.screenout_for(survey_token, person)
    if out is not None and out.code:
        st.write("Your screen-out code:")
        st.code(out.code, language=None)
    if out is not None and out.url:
        st.link_button("Return to the study site", out.url, type="primary")
    elif out is None or not out.code:
        st.write("Nothing else is needed from you: you may close this page.")


def _gone(state, survey_token: str, person: str) -> None:
    st.info(places.LEFT if state.step == "left" else places.TIMED_OUT)


def leave_button(survey_token: str, person: str) -> None:
    """A quiet way out: the participant stops, and their place in the quota goes to someone else at once."""
    with st.expander("Stop taking part"):
        st.caption("Your answers so far are kept; your place goes to someone else.")
        if st.button("Leave the study", key="leave"):
            run_step(lambda: screening.leave(survey_token, person))


@st.cache_data(max_entries=8, show_spinner=False)
def _practice_clips(policy: dict) -> tuple[bytes, bytes]:
    human, machine = practice_clips(policy_from_dict(policy))
    return human.wav, machine.wav


def _instructions(state, survey_token: str, person: str) -> None:
    survey = state.survey
    st.subheader("Before you start")
    st.write(survey.instructions or "Listen to each piece, then answer.")
    if survey.practice:
        st.markdown("**Practice** (not counted): a well-known tune made by a person, and random notes made by a "
                    "computer.")
        human, machine = _practice_clips(survey.policy)
        st.audio(human, format="audio/wav")
        st.audio(machine, format="audio/wav")
        guess = st.radio("Which was made by a person?", list(POSITIONS), format_func=POSITIONS.get, index=None,
                         horizontal=True, key="practice_guess")
        if guess is not None:
            (st.success if guess == 1 else st.warning)(
                "The first was made by a person: it is 'Frère Jacques'. The second is random notes.")
    if st.button("Start", type="primary", key="instructions_done"):
        run_step(lambda: screening.finish_instructions(survey_token, person))


def _pair(state, survey_token: str, person: str) -> None:
    trial = state.trial
    survey = state.survey
    shown = st.session_state.setdefault(f"shown_pair_{person}_{trial.position}", time.monotonic())
    st.subheader(f"Pair {state.answered + 1} of {state.total}")
    st.write("One of these two pieces was made by a person, the other by a computer.")
    reports = []
    for slot, public_id in ((1, trial.first), (2, trial.second)):
        st.markdown(f"**{POSITIONS[slot]} piece**")
        reports.append(player(P.clip_audio(survey_token, person, public_id), f"piece {slot}",
                              key=f"pair_{trial.position}_{slot}"))
    if survey.require_full_play:
        st.caption("Play both pieces to their end before answering.")
    with st.form(f"pair_{trial.position}"):
        chosen = st.radio("Which was made by a person?", list(POSITIONS), format_func=lambda p: f"{POSITIONS[p]} piece",
                          index=None, horizontal=True, key=f"chosen_{trial.position}")
        if st.form_submit_button("Next", type="primary"):
            if chosen is None:
                st.error("Please choose the first or the second piece.")
                return
            ms = listening_ms(reports, shown)
            plays = sum(r["plays"] for r in reports)
            ended = all(r["ended"] for r in reports)
            run_step(lambda: screening.record_choice(survey_token, person, trial.position, int(chosen), ms, plays,
                                                   ended))


SIDES = {1: "Left", 2: "Right"}


def _game(state, survey_token: str, person: str) -> None:
    """An arena game: two pieces side by side, and the survey's question (which does the listener prefer?)."""
    game, survey = state.trial, state.survey
    shown = st.session_state.setdefault(f"shown_game_{person}_{game.position}", time.monotonic())
    st.subheader(f"Pair {state.answered + 1} of {state.total}")
    reports = []
    for column, (slot, public_id) in zip(st.columns(2), ((1, game.first), (2, game.second)), strict=True):
        with column:
            st.markdown(f"**{SIDES[slot]} piece**")
            reports.append(player(P.clip_audio(survey_token, person, public_id), f"{SIDES[slot].lower()} piece",
                                  key=f"game_{game.position}_{slot}"))
    if survey.require_full_play:
        st.caption("Play both pieces to their end before answering.")
    with st.form(f"game_{game.position}"):
        chosen = st.radio(survey.arena_question, list(SIDES), format_func=lambda p: f"{SIDES[p]} piece", index=None,
                          horizontal=True, key=f"preferred_{game.position}")
        if st.form_submit_button("Next", type="primary"):
            if chosen is None:
                st.error("Please choose the left or the right piece.")
                return
            ms = listening_ms(reports, shown)
            run_step(lambda: screening.record_preference(survey_token, person, game.position, int(chosen), ms,
                                                       sum(r["plays"] for r in reports),
                                                       all(r["ended"] for r in reports)))
