"""Survey builder (admin): human and machine clips through one fair path, the questions, then create."""

from dataclasses import asdict, replace

import streamlit as st

from core.audio.render import GM_INSTRUMENTS
from core.data.corpus import BUILTIN
from core.errors import UserError
from core.survey.build import BuildRequest, build_clips
from core.survey.clips import MAX_UPLOAD_BYTES, ClipPolicy
from core.survey.design import DEFAULT_ARENA_QUESTION, DEFAULT_INSTRUCTIONS, DESIGNS, MAX_QUESTION_CHARS, SCREEN_FAIL
from core.survey.headphones import TESTS
from core.survey.stats.equivalence import DEFAULT_ICC, DEFAULT_MARGIN, MAX_MARGIN, plan_participants
from pages.common import models_by_name
from pages.common.admin import ask_public_url, require_admin, survey_link
from survey_db import store

QUESTIONS = {"binary": "Human or machine? (a vote)", "rating": "1-5 rating (1 = surely human)", "both": "Both"}

require_admin()
st.title("Survey builder")
st.caption("Every clip, human or machine, is played by the same instrument and SoundFont at the same tempo "
           "policy and velocity, cut to the same length with a fade in and out, and set to the same loudness.")
models = list(models_by_name())  # best test bits per character first
history = st.session_state.get("history", [])
ask_public_url()

st.subheader("Design and plan")
c1, c2, c3, c4 = st.columns(4)
design = c1.radio("Design", list(DESIGNS), format_func=DESIGNS.get, key="b_design")
margin = c2.number_input("Equivalence margin", 0.01, MAX_MARGIN, DEFAULT_MARGIN, 0.01, key="b_margin",
                         help="Accuracy within 50% ± this margin counts as 'listeners could not tell them apart' "
                              "(TOST); fixed now, before the survey opens.")
per_participant = c3.number_input("Clips per participant, or pairs in 2AFC and the arena (0: all)", 0, 200, 0,
                                  key="b_per_participant")
icc = c4.number_input("Assumed clustering (ICC)", 0.0, 0.9, DEFAULT_ICC, 0.01, key="b_icc",
                      help="Correlation of one listener's answers; inflates the sample by 1 + (m - 1) ICC.")
n_human = st.session_state.get("b_n_human", 4)
n_machine = len(st.session_state.get("b_models", models[:1])) * st.session_state.get("b_per_model", 4)
answers = int(per_participant) or (n_human * n_machine if design == "2afc" else n_human + n_machine)
if design == "arena":
    st.info("**Arena**: listeners hear two pieces from two sources (each model, and the human tunes) and say which "
            "they prefer; Bradley-Terry strengths rank the sources. The equivalence margin and planner do not "
            "apply. With S sources there are S(S-1)/2 pairs; 0 pairs per participant deals each pair once.")
else:
    try:
        plan = plan_participants(float(margin), max(1, answers), float(icc))
        st.info(f"**Planner**: to show that listeners cannot tell them apart (accuracy within "
                f"{100 * (0.5 - margin):.0f}-{100 * (0.5 + margin):.0f}%) with 80% power when they truly guess, "
                f"recruit **{plan['participants']} participants** ({plan['votes']} answers, {answers} each). "
                f"Assumes independent answers would need {plan['votes_independent']} (exact TOST power), inflated by a "
                f"design effect of {plan['design_effect']:.2f} for an intra-class correlation of {icc:g} between one "
                f"listener's answers; excluded participants must be replaced.")
    except UserError as exc:
        st.warning(str(exc))

with st.form("builder"):
    title = st.text_input("Title (participants see it)", "Human or machine?", max_chars=200, key="b_title")
    question = st.radio("Question", list(QUESTIONS), format_func=QUESTIONS.get, horizontal=True, key="b_question")
    arena_question = st.text_input("The arena's question (arena design only)", DEFAULT_ARENA_QUESTION,
                                   max_chars=MAX_QUESTION_CHARS, key="b_arena_question")
    consent = st.text_area("Consent text", store.DEFAULT_CONSENT, max_chars=store.MAX_CONSENT_CHARS, key="b_consent")
    c1, c2, c3, c4 = st.columns(4)
    demographics = c1.checkbox("Ask age, training, habits", key="b_demographics")
    comment = c2.checkbox("Ask for a comment", key="b_comment")
    headphones = c3.checkbox("Volume check first", key="b_headphones")
    catch = c4.checkbox("Catch clips", key="b_catch", help="A known human tune and random notes: attention checks")
    c1, c2 = st.columns(2)
    min_listen = c1.number_input("Minimum listening before a vote, from Play (s)", 0.0, 120.0, 5.0, key="b_min_listen")
    code = c2.text_input("Completion code (optional)", max_chars=64, key="b_code")
    st.markdown("**Screening and instructions**")
    c1, c2, c3, c4 = st.columns(4)
    screen = c1.checkbox("Headphone check", key="b_screen", help="6 trials, pass with 5; who fails does not count "
                                                                 "towards the quota")
    screen_test = c1.radio("Which check", list(TESTS), format_func=TESTS.get, key="b_screen_test",
                           help="Huggins pitch cannot be passed by comparing the levels in the sound file")
    screen_fail = c2.radio("On a failed check", list(SCREEN_FAIL), format_func=SCREEN_FAIL.get, key="b_screen_fail")
    full_play = c3.checkbox("Play to the end", key="b_full_play", help="Each clip played to its end before an answer")
    practice = c4.checkbox("Practice trial", key="b_practice", help="A known tune against random notes, not counted")
    instructions = st.text_area("Instructions (shown before the first clip; empty: no instructions page)",
                                DEFAULT_INSTRUCTIONS, max_chars=5000, key="b_instructions")

    st.subheader("Clips")
    c1, c2, c3, c4 = st.columns(4)
    excerpt = c1.number_input("Excerpt length (s)", 3.0, 120.0, 20.0, key="b_excerpt")
    instrument = c2.selectbox("Instrument", list(GM_INSTRUMENTS), index=4, key="b_instrument")
    tempo = c3.number_input("Tempo, quarter notes a minute (0: usual for the meter)", 0, 400, 0, key="b_tempo")
    loudness = c4.number_input("Loudness (LUFS)", -40.0, -10.0, -20.0, key="b_lufs")

    st.markdown("**Human pieces** (a corpus's test split: a model may have memorised its training tunes)")
    c1, c2, c3 = st.columns(3)
    corpus = c1.selectbox("Corpus", list(BUILTIN), key="b_corpus")
    n_human = c2.number_input("Tunes from its test split", 0, 100, 4, key="b_n_human")
    human_seed = c3.number_input("Draw (seed)", 0, 2**31 - 1, 0, key="b_human_seed")
    uploads = st.file_uploader(f"…or upload MIDI/ABC files (at most {MAX_UPLOAD_BYTES // 2**20} MiB each)",
                               type=["mid", "midi", "abc"], accept_multiple_files=True, key="b_uploads")

    st.markdown("**Machine pieces** (sampled now), and tunes from this visit's Compose page")
    chosen = st.multiselect("Models", models, default=models[:1], key="b_models")
    c1, c2, c3 = st.columns(3)
    per_model = c1.number_input("Tunes per model", 0, 100, 4, key="b_per_model")
    temperature = c2.slider("Temperature", 0.1, 2.0, 0.8, 0.05, key="b_temperature")
    first_seed = c3.number_input("First seed", 0, 2**31 - 1, 0, key="b_first_seed")
    picked = [i for i, tune in enumerate(history) if st.checkbox(tune["label"], key=f"b_history_{i}")]
    submitted = st.form_submit_button("Create survey", type="primary")

if submitted:
    spec = store.SurveySpec(
        title=title, question=question, consent_text=consent, ask_demographics=demographics, ask_comment=comment,
        headphone_check=headphones, clips_per_participant=int(per_participant), min_listen_seconds=float(min_listen),
        completion_code=code.strip() or None, design=design, margin=float(margin), require_full_play=full_play,
        headphone_screen=screen, screen_fail=screen_fail, instructions=instructions, practice=practice,
        screen_test=screen_test, arena_question=arena_question,
    )
    policy = ClipPolicy(excerpt_seconds=float(excerpt), program=GM_INSTRUMENTS[instrument],
                        tempo_qpm=float(tempo) or None, target_lufs=float(loudness))
    request = BuildRequest(
        corpus=corpus, n_human=int(n_human), human_seed=int(human_seed),
        uploads=[(f.name, f.getvalue()) for f in uploads or []], models=chosen, per_model=int(per_model),
        temperature=float(temperature), first_seed=int(first_seed),
        history=[(history[i]["abc"], history[i].get("meta", {}), history[i].get("midi")) for i in picked],
        catch=catch, arena=design == "arena",
    )
    try:
        spec.validate()
        with st.status("Preparing clips…") as status:
            clips, notes = build_clips(request, policy, progress=lambda msg: status.update(label=msg))
            status.update(label=f"{len(clips)} clips ready", state="complete")
        survey_id = store.create_survey(replace(spec, policy=asdict(policy)), clips)
    except UserError as exc:
        st.error(str(exc))
    else:
        token = next(s.token for s in store.list_surveys() if s.id == survey_id)
        st.success(f"Survey {survey_id} created as a draft with {len(clips)} clips. Open it on Survey admin; "
                   "participants then use this link:")
        st.code(survey_link(token), language=None)
        for note in notes:
            st.caption(note)
