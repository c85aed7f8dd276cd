"""The summary object the CLI prints and the dashboard shows (the issue's JSON contract), and plain sentences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.survey.stats.binary import (
    binomial_p_value,
    clip_records,
    clip_table,
    clip_totals,
    error_rates,
    group_shares,
    pairwise_groups,
    signal_detection,
)
from core.survey.stats.breakdown import accuracy_by, accuracy_by_test, accuracy_distribution, participant_table
from core.survey.stats.equivalence import tost, verdict
from core.survey.stats.models import agreement, binomial_power, mixed_model
from core.survey.stats.ratings import rating_summary, rating_tests, ratings_by
from core.survey.stats.schema import DEMOGRAPHICS, HUMAN, MACHINE, TRUTHS, analysed, number, ratings, votes

CLIP_KEYS = (
    "clip",
    "truth",
    "group",
    "n_votes",
    "votes_human",
    "votes_machine",
    "correct",
    "incorrect",
    "error_rate",
    "n_ratings",
    "rating_mean",
    "rating_median",
    "p_natural",
)


def jsonable(obj):
    """Plain JSON types: numpy scalars to Python, NaN / infinity / pandas NA to None, DataFrames to records."""
    if isinstance(obj, pd.DataFrame):
        return [jsonable(r) for r in obj.to_dict("records")]
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return number(obj)
    if obj is None or obj is pd.NA or (isinstance(obj, float) and math.isnan(obj)):
        return None
    return obj


def equivalence_basis(df: pd.DataFrame) -> tuple[int, int, str]:
    """(correct, n, basis) for the equivalence test of a single-clip survey: the votes when there are any;
    else the ratings, a rating of 1-2 on a human clip or 4-5 on a machine clip counting as correct and 3 (no
    lean) left out."""
    v = votes(df)
    if len(v):
        return int((v["vote"] == v["truth"]).sum()), len(v), "votes"
    r = ratings(df)
    lean = r[r["rating"].astype(float) != 3]
    right = ((lean["truth"] == HUMAN) & (lean["rating"].astype(float) <= 2)) | (
        (lean["truth"] == MACHINE) & (lean["rating"].astype(float) >= 4))
    return int(right.sum()), len(lean), "ratings (3 left out)"


def with_equivalence(s: dict, df: pd.DataFrame, margin: float) -> dict:
    """``s`` (a :func:`summary`) plus "equivalence" (TOST of the accuracy against 0.5 +/- margin) and
    "headline" (the verdict sentence)."""
    correct, n, basis = equivalence_basis(df)
    eq = {**tost(correct, n, margin), "basis": basis}
    p_value = binomial_p_value(correct, n)
    return jsonable({**s, "equivalence": eq, "headline": verdict(p_value, correct / n if n else None, eq)})


def summary(df: pd.DataFrame, full: bool = False, margin: float | None = None) -> dict:
    """Everything the CLI prints: the issue's contract plus totals, groups, rating tests, agreement and the
    per-participant accuracy distribution; ``full`` adds the mixed model, demographic breakdowns and pairwise
    comparisons (slower). Catch clips are left out of every figure (``n_catch`` counts them). ``power``: the
    chance that this many independent votes had of detecting a true accuracy of 60% (exact binomial test, 5%).

    Contract keys: n_responses; votes {human, machine}; overall {correct, incorrect, accuracy, error_rate,
    ci95 (of the error rate), p_value}; by_truth {human, machine} each {n, correct, error_rate, ci95}; sdt
    {hit_rate, false_alarm_rate, d_prime, criterion}; clips [...]; ratings {by_truth, by_group}, each name ->
    {n, mean, p_natural}. None wherever the data cannot support a figure. With ``margin``: also
    "equivalence" and "headline" (:func:`with_equivalence`).
    """
    data = analysed(df)
    v, r = votes(df), ratings(df)
    table = clip_table(df)
    out = {
        "n_responses": len(data),
        "n_participants": int(data["participant"].nunique()),
        "n_clips": int(data["clip"].nunique()),
        "n_catch": len(df) - len(data),
        "votes": {HUMAN: int((v["vote"] == HUMAN).sum()), MACHINE: int((v["vote"] == MACHINE).sum())},
        **error_rates(df),
        "sdt": signal_detection(df),
        "clips": [{k: rec[k] for k in CLIP_KEYS} for rec in clip_records(table)] if len(table) else [],
        "totals": clip_totals(table),
        "ratings": {
            "by_truth": {t: rating_summary(r.loc[r["truth"] == t, "rating"]) for t in TRUTHS},
            "by_group": ratings_by(df, "group"),
            "all": rating_summary(r["rating"]) if len(r) else None,
        },
        "groups": group_shares(df) if len(v) else [],
        "rating_tests": rating_tests(df) if len(r) else None,
        "agreement": agreement(df),
        "participants": accuracy_distribution(participant_table(df)),
        "power": {"accuracy": 0.6, "alpha": 0.05, "n": len(v), "exact_power": binomial_power(len(v), 0.6)}
        if len(v)
        else None,
    }
    if full:
        out["mixed_model"] = mixed_model(df)
        out["pairwise_groups"] = pairwise_groups(df) if len(v) else []
        out["by_demographic"] = {
            c: {"table": accuracy_by(df, c), "test": accuracy_by_test(df, c)}
            for c in DEMOGRAPHICS
            if c in df.columns and df[c].notna().any()
        }
    return with_equivalence(jsonable(out), df, margin) if margin is not None else jsonable(out)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def explain(s: dict) -> dict[str, str]:
    """One plain sentence per headline number of a :func:`summary`, for the dashboard and the text output."""
    o, sdt = s["overall"], s["sdt"]
    lines = {
        "responses": f"{s['n_responses']} answers from {s['n_participants']} participants on {s['n_clips']} clips."
    }
    if o["accuracy"] is not None:
        lo, hi = o["accuracy_ci95"]
        lines["accuracy"] = (
            f"{_pct(o['accuracy'])} of {o['n']} votes named the clip's true source; "
            f"the true rate plausibly lies between {_pct(lo)} and {_pct(hi)} (95% Wilson interval)."
        )
        lines["p_value"] = (
            f"p = {o['p_value']:.3g}: the chance of an accuracy at least this far from 50% if "
            "everyone were guessing (exact binomial test); it treats every vote as independent."
        )
    if sdt["d_prime"] is not None:
        d, c = sdt["d_prime"] + 0.0, sdt["criterion"] + 0.0  # + 0.0: never print "-0.00"
        if d < 0:
            ability = "they mistake one for the other more often than not"
        else:
            ability = next(
                t
                for lim, t in ((0.2, "hardly at all"), (1, "a little"), (2, "fairly well"), (math.inf, "well"))
                if d < lim
            )
            ability = f"these listeners separate them {ability}"
        lean = "'machine'" if c < -0.1 else ("'human'" if c > 0.1 else "neither answer")
        lines["d_prime"] = (
            f"d' = {d:.2f}: how well listeners separate machine from human clips (0: not at all); "
            f"{ability} (2 would be good, as for 84% hits with 16% false alarms)."
        )
        lines["criterion"] = (
            f"c = {c:.2f}: the listeners' lean (below 0: towards 'machine', above 0: towards "
            f"'human'); these listeners lean towards {lean}."
        )
    return lines


def report_text(s: dict) -> str:
    """A plain-text report of a :func:`summary`: the headline sentences and the per-clip table with totals."""
    lines = list(explain(s).values())
    for truth, t in s["by_truth"].items():
        if t["error_rate"] is not None:
            lo, hi = t["ci95"]
            lines.append(
                f"Error rate on {truth} clips: {_pct(t['error_rate'])} of {t['n']} votes "
                f"(95% CI {_pct(lo)} to {_pct(hi)})."
            )
    header = f"{'clip':20s} {'truth':8s} {'human':>6s} {'machine':>8s} {'correct':>8s} {'error':>7s} {'rating':>7s}"
    lines += ["", header]
    for c in s["clips"]:
        rating = "-" if c["rating_mean"] is None else f"{c['rating_mean']:.2f}"
        lines.append(
            f"{c['clip'][:20]:20s} {c['truth']:8s} {c['votes_human']:6d} {c['votes_machine']:8d} "
            f"{c['correct']:8d} {_pct(c['error_rate']):>7s} {rating:>7s}"
        )
    t = s["totals"]
    lines.append(
        f"{'total':20s} {'':8s} {t['votes_human']:6d} {t['votes_machine']:8d} {t['correct']:8d} "
        f"{_pct(t['error_rate']):>7s}"
    )
    return "\n".join(lines)
