"""Results: a survey's statistics at a glance, refreshed while it runs, with CSV and JSON exports."""

import json

import pandas as pd
import streamlit as st

from core.errors import UserError
from core.survey import stats
from core.survey.responses import database_responses, responses_to_csv
from pages.common.admin import require_admin
from survey_db import store

require_admin()
st.title("Results")
surveys = [s for s in store.list_surveys() if s.responses]
if not surveys:
    st.info("No survey has answers yet.")
    st.stop()
by_id = {s.id: s for s in surveys}
chosen = by_id[st.selectbox("Survey", list(by_id), key="r_survey",
                            format_func=lambda i: f"{i} · {by_id[i].title} · {by_id[i].status} · "
                                                  f"{by_id[i].responses} answers")]
full = st.checkbox("Also fit the mixed-effects model and the breakdowns (slower)", key="r_full")


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


@st.fragment(run_every=10 if chosen.status == "open" else None)
def dashboard() -> None:
    raw = store.responses_frame(chosen.id)
    try:
        df = database_responses(raw)
    except UserError as exc:
        st.error(str(exc))
        return
    s = stats.summary(df, full=full)
    sentences = stats.explain(s)
    o, sdt = s["overall"], s["sdt"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Answers", s["n_responses"], help=sentences["responses"])
    c2.metric("Accuracy", _pct(o["accuracy"]), help=sentences.get("accuracy"))
    for column, label, key in ((c3, "d'", "d_prime"), (c4, "c", "criterion")):
        value = "n/a" if sdt[key] is None else f"{sdt[key] + 0.0:.2f}"  # + 0.0: never "-0.00"
        column.metric(label, value, help=sentences.get(key))
    for sentence in sentences.values():
        st.markdown(f"- {sentence}")
    if chosen.status == "open":
        st.caption("The survey is open: these figures refresh every 10 seconds.")

    st.subheader("Clips")
    clips = pd.DataFrame(s["clips"])
    st.dataframe(clips, hide_index=True, width="stretch")
    if len(clips) and clips[["votes_human", "votes_machine"]].notna().any().any():
        st.bar_chart(clips.set_index("clip")[["votes_human", "votes_machine"]], x_label="clip", y_label="votes")

    st.subheader("Error rates")
    rows = [{"set": f"{truth} clips", "votes": t["n"], "error rate": t["error_rate"],
             "95% low": (t["ci95"] or [None, None])[0], "95% high": (t["ci95"] or [None, None])[1]}
            for truth, t in s["by_truth"].items()]
    rows += [{"set": f"model {g['group']}", "votes": g["n_votes"], "judged human": g["share_human"],
              "95% low": g["ci95_lo"], "95% high": g["ci95_hi"], "p vs 50%": g["p_vs_half"],
              "p vs human clips": g["p_vs_human"]} for g in s["groups"]]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption("Error rate per category: the share of that category's own votes that named the wrong source. "
               "For each model: the share of its clips' votes that said human, with its 95% Wilson interval.")

    ratings = df.dropna(subset=["rating"]) if "rating" in df.columns else df.iloc[0:0]
    if len(ratings):
        st.subheader("Ratings (1 surely human ... 5 surely machine)")
        counts = ratings.groupby(["group", "rating"]).size().unstack("group", fill_value=0)
        st.bar_chart(counts, x_label="rating", y_label="answers")
        st.dataframe(pd.DataFrame(s["ratings"]["by_group"]).T, width="stretch")

    if full and s.get("by_demographic"):
        st.subheader("By listener")
        for column, result in s["by_demographic"].items():
            st.markdown(f"**{column}**")
            st.dataframe(pd.DataFrame(result["table"]), hide_index=True, width="stretch")

    st.subheader("Export")
    c1, c2 = st.columns(2)
    c1.download_button("Responses (CSV)", responses_to_csv(raw), f"survey-{chosen.id}-responses.csv", "text/csv",
                       key="r_csv")
    c2.download_button("Summary (JSON)", json.dumps(s, indent=2), f"survey-{chosen.id}-summary.json",
                       "application/json", key="r_json")


dashboard()
