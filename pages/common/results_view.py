"""The Results dashboard's parts for either design (Streamlit only; every figure comes from core.survey.stats)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.survey import stats
from core.survey.stats.report import clip_chart, methods_paragraph
from core.survey.stats.schema import ratings


def pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _interval(ci) -> str:
    return "n/a" if not ci else f"{pct(ci[0])} to {pct(ci[1])}"


def _p(value) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def headline(s: dict) -> None:
    """The verdict and the equivalence test."""
    kind = {"could_not_tell": st.success, "could_tell": st.warning}.get(s["headline"]["verdict"], st.info)
    kind(s["headline"]["sentence"])
    eq = s["equivalence"]
    st.caption(f"Equivalence (two one-sided exact binomial tests, margin ±{eq['margin']:g} around 50%, fixed before "
               f"the survey opened): p = {_p(eq['p_value'])}, 90% interval of the accuracy {_interval(eq['ci90'])}. "
               "'Could not tell them apart' is said only when this test passes; a non-significant binomial test "
               "alone is not evidence of no difference.")


def plan(s: dict) -> None:
    """How many more participants 80% power to show equivalence needs."""
    p = s.get("plan")
    if not p:
        return
    if p["more"]:
        st.info(f"**{p['more']} more participants for 80% power** to show equivalence if listeners truly guess: the "
                f"planner wants {p['needed']} with {p['answers_per_participant']} answers each (intra-class "
                f"correlation 0.05); {s['n_participants']} are analysed. Replace anyone excluded.")
    else:
        st.caption(f"{s['n_participants']} participants analysed: at least the {p['needed']} that 80% power needs.")


def single(s: dict, df: pd.DataFrame) -> None:
    """The single-clip design: metrics and their sentences, clips, error rates, ratings (catch clips left out)."""
    sentences = stats.explain(s)
    o, sdt = s["overall"], s["sdt"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Answers", s["n_responses"], help=sentences["responses"])
    c2.metric("Accuracy", pct(o["accuracy"]), help=sentences.get("accuracy"))
    for column, label, key in ((c3, "d'", "d_prime"), (c4, "c", "criterion")):
        value = "n/a" if sdt[key] is None else f"{sdt[key] + 0.0:.2f}"  # + 0.0: never "-0.00"
        column.metric(label, value, help=sentences.get(key))
    for sentence in sentences.values():
        st.markdown(f"- {sentence}")
    st.subheader("Clips")
    clips = pd.DataFrame(s["clips"])
    st.dataframe(clips.fillna(""), hide_index=True, width="stretch")
    st.subheader("Error rates")
    st.dataframe(pd.DataFrame([{"clips": f"{truth} clips", "votes": t["n"], "error rate": pct(t["error_rate"]),
                                "95% interval": _interval(t["ci95"])} for truth, t in s["by_truth"].items()]),
                 hide_index=True, width="stretch")
    if s["groups"]:
        st.dataframe(pd.DataFrame([{"model": g["group"], "votes": g["n_votes"], "judged human": pct(g["share_human"]),
                                    "95% interval": _interval([g["ci95_lo"], g["ci95_hi"]]),
                                    "p vs 50%": _p(g["p_vs_half"]), "p vs human clips": _p(g["p_vs_human"])}
                                   for g in s["groups"]]), hide_index=True, width="stretch")
    st.caption("Error rate: the share of that category's own votes that named the wrong source. For each model: "
               "the share of its clips' votes that said human, with its 95% Wilson interval.")
    rated = ratings(df)
    if len(rated):
        st.subheader("Ratings (1 surely human ... 5 surely machine)")
        counts = rated.groupby(["group", "rating"]).size().unstack("group", fill_value=0)
        st.bar_chart(counts, x_label="rating", y_label="answers")


def paired(s: dict) -> None:
    """The 2AFC design: accuracy, d', per model and per pair, the position check."""
    o = s["overall"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Trials", o["n"], help=f"{s['n_participants']} participants, {s['n_pairs']} pairings")
    c2.metric("Accuracy", pct(o["accuracy"]), help=f"95% Wilson interval {_interval(o['ci95'])}")
    c3.metric("d'", "n/a" if s["sdt"]["d_prime"] is None else f"{s['sdt']['d_prime'] + 0.0:.2f}",
              help="2AFC: d' = sqrt(2) z(accuracy); 0 = chance, 1 = 76% correct")
    c4.metric("Binomial p", _p(o["p_value"]), help="Exact two-sided binomial test of the accuracy against 50%")
    for title, rows, key in (("By model", s["models"], "model"), ("By pair", s["pairs"], "pair")):
        if rows:
            st.subheader(title)
            st.dataframe(pd.DataFrame([{key: r[key], "trials": r["n"], "correct": r["correct"],
                                        "accuracy": pct(r["accuracy"]), "95% interval": _interval(r["ci95"]),
                                        "p (Holm)": _p(r["p_holm"])} for r in rows]), hide_index=True, width="stretch")
    if s["position"]:
        pos = s["position"]
        st.caption(f"Order check: the first piece was chosen in {pct(pos['chose_first'])} of trials; accuracy "
                   f"{pct(pos['accuracy_human_first'])} with the person's piece first, "
                   f"{pct(pos['accuracy_human_second'])} with it second.")


def checks(table: pd.DataFrame) -> None:
    """Who failed which check."""
    st.subheader("Screening")
    if table.empty:
        return
    shown = table.assign(
        failed_catch=table["failed_catch"].map({True: "failed", False: "passed", None: "not asked"}),
        failed_headphones=table["failed_headphones"].map({True: "failed", False: "passed", None: "not asked"}),
        median_listening_ms=table["median_listening_ms"].map(lambda v: "" if v is None or pd.isna(v) else f"{v:.0f}"),
    ).rename(columns={"failed_catch": "catch", "failed_headphones": "headphone check", "too_fast": "too fast",
                      "not_played": "answers without Play", "contradictions": "vote against rating",
                      "straight_lining": "same answer every time",
                      "median_listening_ms": "median listening (ms)"})
    st.dataframe(shown, hide_index=True, width="stretch")


def report(s: dict, excluded: pd.DataFrame, question: str, per_participant: int, name: str,
           setup: dict | None = None) -> None:
    """The methods-and-results paragraph (``setup``: the survey's settings and clip counts), the per-clip chart
    and the downloads."""
    st.subheader("For a report")
    st.caption("Methods and results, generated from these figures (copy it with the button at its corner):")
    st.code(methods_paragraph(s, excluded.to_dict("records"), question, per_participant, setup), language=None,
            wrap_lines=True)
    png = clip_chart(s, "png")
    st.image(png, caption="Accuracy per pair" if s["design"] == "2afc" else "Accuracy per clip")
    c1, c2, c3 = st.columns(3)
    c1.download_button("Chart (PNG)", png, f"{name}-chart.png", "image/png", key="r_png")
    c2.download_button("Chart (SVG)", clip_chart(s, "svg"), f"{name}-chart.svg", "image/svg+xml", key="r_svg")
    c3.download_button("Summary (JSON)", json.dumps(s, indent=2), f"{name}-summary.json", "application/json",
                       key="r_json")


def arena(s: dict) -> None:
    """The arena design: the leaderboard (strengths with 95% intervals, as ``survey-stats`` gives them), its chart,
    the win matrix and the side check."""
    from core.survey.stats.arena import leaderboard_chart

    a = s["arena"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Games", a["n_games"], help=f"{s['n_catch']} catch games left out")
    c2.metric("Participants", a["n_participants"])
    c3.metric("Sources", len(a["ratings"]))
    c4.metric("Left piece preferred", pct(a["position"]["first_won_share"]),
              help="Near 50% when the balanced sides cancelled any lean towards one side")
    st.subheader("Leaderboard")
    st.dataframe(pd.DataFrame([{"rank": k, "source": r["source"], "strength": round(r["strength"], 2),
                                "95% interval": f"{r['ci95'][0]:.2f} to {r['ci95'][1]:.2f}", "wins": r["wins"],
                                "games": r["games"], "win rate": pct(r["win_rate"])}
                               for k, r in enumerate(a["ratings"], 1)]), hide_index=True, width="stretch")
    st.caption(f"Strength: Bradley-Terry log-strength, {a['reference']} (the lowest) at 0; a source stronger by 1 "
               "is preferred in 73% of their games. Each interval is that of the difference to the lowest source.")
    st.image(leaderboard_chart(s, "png"), caption="Strengths with 95% intervals")
    st.markdown("**Wins** (row source preferred over column source)")
    m = a["win_matrix"]
    st.dataframe(pd.DataFrame(m["wins"], index=m["sources"], columns=m["sources"]), width="stretch")


def arena_report(s: dict, excluded: pd.DataFrame, question: str, name: str, setup: dict | None = None) -> None:
    """The arena's methods-and-results paragraph and the downloads (chart, summary)."""
    from core.survey.stats.arena import arena_paragraph, leaderboard_chart

    st.subheader("For a report")
    st.code(arena_paragraph(s, excluded.to_dict("records"), question, setup), language=None, wrap_lines=True)
    c1, c2, c3 = st.columns(3)
    c1.download_button("Chart (PNG)", leaderboard_chart(s, "png"), f"{name}-leaderboard.png", "image/png",
                       key="r_png")
    c2.download_button("Chart (SVG)", leaderboard_chart(s, "svg"), f"{name}-leaderboard.svg", "image/svg+xml",
                       key="r_svg")
    c3.download_button("Summary (JSON)", json.dumps(s, indent=2), f"{name}-summary.json", "application/json",
                       key="r_json")
