"""Evaluate: does a model copy its training tunes, keep the form, and sound like the human tunes?"""

import pandas as pd
import streamlit as st

from core.audio.notation import piano_roll_png
from core.data.corpus import list_corpora
from core.errors import UserError
from core.evaluation.compare import compare
from core.evaluation.report import copy_example, describe, histograms, metric_overlaps, summary_row
from core.evaluation.samples import Evaluation, evaluate_human, evaluate_model
from pages.common import model_label, models_by_name
from pages.common.admin import require_admin_beyond_loopback

require_admin_beyond_loopback()  # composing spends CPU: only the admin, on a public server
st.title("Evaluate")
st.caption(
    "Each model composes tunes with fixed seeds at its default settings. Validity: do they parse, play, "
    "keep the meter, balance their repeats? Novelty: the longest run of notes (intervals and rhythm, in any "
    "key) each shares with a training tune. Metrics: Yang & Lerch's comparison with the held-out test "
    "tunes, where an overlap of 1 means as close to them as they are to one another."
)

cards = models_by_name()
if not cards:
    st.info("No trained models yet. Train one with `python -m core train --preset r1-lstm`.")
    st.stop()

st.subheader("Every model on its held-out test split")
st.caption("Test loss and accuracy recomputed from the weights (not read from the cards), batched as each family "
           "trained; bits per character for ABC models, comparable across families; sampling speed on this "
           "machine. ABC models can all be scored on one corpus's test split, e.g. O'Neill's.")
with st.form("compare"):
    picked = st.multiselect("Models", list(cards), default=list(cards), format_func=lambda n: model_label(cards[n]),
                            key="compare_models")
    abc_corpus = st.selectbox("Score ABC models on", ["(each its own corpus)", *list_corpora()], key="compare_corpus")
    compare_now = st.form_submit_button("Score")
if compare_now and not picked:
    st.error("Pick at least one model to score.")
elif compare_now:
    try:
        with st.spinner("Scoring each model on its test split…"):
            corpus = None if abc_corpus.startswith("(") else abc_corpus
            result = compare(picked, sample_tokens=128, abc_corpus=corpus)
            st.session_state["comparison"] = [r.to_dict() for r in result.rows]
            st.session_state["comparison_skipped"] = result.skipped
    except UserError as exc:
        st.error(str(exc))
if st.session_state.get("comparison"):
    st.dataframe(pd.DataFrame(st.session_state["comparison"]), hide_index=True, width="stretch")
for name, why in st.session_state.get("comparison_skipped", {}).items():
    st.warning(f"{name} was not scored: {why}")

st.subheader("Samples: validity, novelty, metrics (ABC models)")
abc_cards = {name: card for name, card in cards.items() if not card.is_midi}
with st.form("evaluate"):
    models = st.multiselect(
        "Models", list(abc_cards), default=list(abc_cards)[:1], format_func=lambda n: model_label(cards[n]),
        key="eval_models",
    )
    c1, c2, c3 = st.columns(3)
    n = c1.number_input("Samples per model (seeds 0, 1, …)", min_value=2, max_value=200, value=10, key="eval_n")
    bars = c2.number_input("A copy shares at least (bars)", 0.5, 16.0, 2.0, 0.5, key="eval_bars")
    human = c3.checkbox("Add the human test split as a reference row", value=True, key="eval_human")
    submitted = st.form_submit_button("Evaluate", type="primary")


@st.cache_data(show_spinner=False, max_entries=32)
def _evaluate_model(model: str, n: int, bars: float) -> Evaluation:
    return evaluate_model(model, n, threshold_bars=bars)


@st.cache_data(show_spinner=False, max_entries=8)
def _evaluate_human(corpus: str, bars: float) -> Evaluation:
    return evaluate_human(corpus, bars)


if submitted:
    if not models:
        st.warning("Pick at least one model.")
        st.stop()
    results = []
    try:
        for model in models:
            with st.spinner(f"Composing {n} tunes with {model} and measuring them…"):
                results.append(_evaluate_model(model, int(n), float(bars)))
        if human:
            for source in dict.fromkeys(cards[m].corpus.get("source") or cards[m].corpus.get("name") for m in models):
                with st.spinner(f"Measuring the human tunes of {source}…"):
                    results.append(_evaluate_human(source, float(bars)))
    except UserError as exc:
        st.error(str(exc))
        st.stop()
    st.session_state["evaluations"] = results

results = st.session_state.get("evaluations")
if not results:
    st.stop()

st.subheader("Validity, novelty and closeness to the human tunes")
table = pd.DataFrame([summary_row(ev) for ev in results])
shares = [c for c in table.columns if c not in ("set", "pieces", "longest shared run (median notes)", "compared with")]
percent = {c: st.column_config.NumberColumn(format="percent") for c in shares if c != "metric overlap"}
st.dataframe(table, hide_index=True, width="stretch", column_config=percent)
with st.expander("Overlap per metric (1: distributed like the human tunes)"):
    st.dataframe(pd.DataFrame(metric_overlaps(results)).T, width="stretch")

charts = (("Pitch classes", "pitch_class_histogram", "pitch class"),
          ("Note lengths", "note_length_histogram", "note length (t: triplet, .: dotted)"))
for column, (title, metric, x_label) in zip(st.columns(2), charts, strict=True):
    column.markdown(f"**{title}**")
    column.bar_chart(pd.DataFrame(histograms(results, metric)), stack=False, sort=False, x_label=x_label,
                     y_label="share of notes")

st.subheader("Copied passages")
for ev in results:
    example = copy_example(ev)
    if example is None:
        st.success(f"{ev.name}: no piece copies {ev.novelty.get('threshold_bars', 2):g} bars or more.")
        continue
    who = f"seed {example.sample.seed}" if example.sample.seed is not None else example.sample.label
    st.markdown(f"**{ev.name}**, {who}: {describe(example.result)}")
    left, right = st.columns(2)
    left.image(piano_roll_png(example.sample_excerpt, title=f"{ev.name}, {who}"), caption="the passage in the sample")
    right.image(
        piano_roll_png(example.source_excerpt, title=example.result.source_piece or ""),
        caption=f"the same passage in the {example.result.split} tune",
    )
