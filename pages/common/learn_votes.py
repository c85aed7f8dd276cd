"""Train page: "Learn from a survey's votes": a finished ABC model fine-tuned on a survey's answers (DPO on
choices and arena games, KTO on human-or-machine votes), started as a background run."""

from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.training import jobs
from core.training.checkpoint import list_models
from core.training.from_votes import PreferenceConfig


def learn_from_votes_form() -> None:
    """The form; on Start, the survey's judgements are read and counted here (one sentence if there are none)
    before the background run starts."""
    from survey_db.judgements import survey_judgements
    from survey_db.store import list_surveys

    with st.expander("Learn from a survey's votes: tune an ABC model toward what listeners preferred"):
        surveys = [s for s in list_surveys() if s.participants]
        models = [c.name for c in list_models() if not c.is_midi]
        if not surveys or not models:
            st.info("No survey has answers yet." if not surveys else "No ABC model to start from.")
            return
        st.caption("Arena games and two-alternative choices give pairs (the preferred tune, the other): DPO. "
                   "Human-or-machine votes give single judgements: KTO (a tune voted human counts as liked). "
                   "Catch clips and participants who failed a check are left out. The new model's card records "
                   "the survey, the method and held-out bits per character before and after.")
        with st.form("learn_votes"):
            c1, c2 = st.columns(2)
            survey = c1.selectbox("Survey", surveys, key="votes_survey",
                                  format_func=lambda s: f"#{s.id} {s.title} ({s.participants} participants)")
            model = c2.selectbox("Start from", models, key="votes_model")
            c1, c2, c3, c4 = st.columns(4)
            method = c1.selectbox("Method", ["dpo", "kto"], key="votes_method",
                                  help="dpo needs pairs (arena, 2AFC); kto takes single votes or pairs")
            beta = c2.number_input("Beta", 0.01, 10.0, 0.1, 0.05, key="votes_beta",
                                   help="How far the votes may pull the model from where it starts")
            epochs = c3.number_input("Epochs", 1, 50, 3, key="votes_epochs")
            lr = c4.number_input("Learning rate", 1e-6, 0.1, 1e-4, format="%.6f", key="votes_lr")
            name = st.text_input("New model's name", key="votes_name", max_chars=64,
                                 placeholder=f"e.g. {model}-{method}-survey{survey.id}")
            pressed = st.form_submit_button("Start learning from the votes")
        if not pressed:
            return
        try:
            judgements = survey_judgements(survey.id)
            cfg = PreferenceConfig(init_from=model, method=method, beta=float(beta), epochs=int(epochs),
                                   lr=float(lr), name=name.strip() or f"{model}-{method}-survey{survey.id}")
            if method == "dpo" and not judgements.pairs:
                raise UserError("This survey's answers are single votes; choose kto to learn from them.")
            job = jobs.start_preferences(cfg, str(survey.id))
            st.success(f"Learning {job.name} from {judgements.count} judgements of survey #{survey.id} started.")
        except UserError as exc:
            st.error(str(exc))
