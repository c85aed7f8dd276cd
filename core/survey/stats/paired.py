"""The paired design (two-alternative forced choice, 2AFC): each trial plays a human and a machine clip, one
first and one second, and asks which was made by a person.

Layout, one row per trial::

    participant      str    who answered
    pair             str    the trial's pairing (e.g. "h3|m7"); a participant answers each pair once
    human_position   int    1 or 2: where the human clip played
    chosen_position  int    1 or 2: the clip the participant named as the person's; correct when equal
    human_clip, machine_clip, model   str, optional (model: what made the machine clip)
    listening_ms, plays, is_catch, headphone_passed   optional, as in :mod:`core.survey.stats.schema`

2AFC has no response bias to separate from sensitivity: accuracy says it all, and d' = sqrt(2) z(accuracy)
(Macmillan and Creelman, Detection Theory), e.g. 76% correct is d' = 1.0.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

from core.survey.stats.binary import binomial_p_value, holm_adjust, wilson_interval
from core.survey.stats.breakdown import accuracy_distribution
from core.survey.stats.equivalence import DEFAULT_MARGIN, tost, verdict
from core.survey.stats.models import binomial_power, fit_fixed_effects
from core.survey.stats.schema import analysed, share
from core.survey.stats.summary import jsonable

PAIRED_REQUIRED = ("participant", "pair", "human_position", "chosen_position")
PAIRED_OPTIONAL = ("human_clip", "machine_clip", "model", "listening_ms", "plays", "is_catch", "headphone_passed",
                   "preregistered_margin")
PAIRED_COLUMNS = (*PAIRED_REQUIRED, *PAIRED_OPTIONAL)


def is_paired(df: pd.DataFrame) -> bool:
    """Whether a responses table has the 2AFC layout."""
    return "chosen_position" in df.columns and "human_position" in df.columns


def correct(df: pd.DataFrame) -> pd.Series:
    """True where the participant named the human clip."""
    return df["chosen_position"].astype(int) == df["human_position"].astype(int)


def d_prime_2afc(n_correct: int, n: int) -> float | None:
    """d' = sqrt(2) z(pc) for 2AFC; pc of 0 or 1 is moved to 1/(2n) or 1 - 1/(2n) first. None when n is 0."""
    if n <= 0:
        return None
    pc = min(max(n_correct / n, 1 / (2 * n)), 1 - 1 / (2 * n))
    return float(math.sqrt(2) * norm.ppf(pc))


def _counts(rows: pd.DataFrame) -> dict:
    n, k = len(rows), int(correct(rows).sum()) if len(rows) else 0
    ci = wilson_interval(k, n)
    return {"n": n, "correct": k, "accuracy": share(k, n), "ci95": list(ci) if ci else None,
            "p_value": binomial_p_value(k, n), "d_prime": d_prime_2afc(k, n)}


def overall(df: pd.DataFrame) -> dict:
    """n, correct, accuracy, ci95 (Wilson), p_value (exact two-sided binomial against 0.5), d_prime."""
    return _counts(analysed(df))


def _table(df: pd.DataFrame, by: str, keys: tuple[str, ...] = ()) -> list[dict]:
    data = analysed(df)
    if by not in data.columns or not data[by].notna().any():
        return []
    rows = []
    for name, g in data[data[by].notna()].groupby(by, sort=True):
        rec = {by: str(name), **{k: (g[k].dropna().iloc[0] if k in g and g[k].notna().any() else None) for k in keys}}
        rows.append({**rec, **_counts(g)})
    for rec, p in zip(rows, holm_adjust([r["p_value"] for r in rows]), strict=True):
        rec["p_holm"] = p
    return rows


def by_model(df: pd.DataFrame) -> list[dict]:
    """Per model (machine clips' maker): n, correct, accuracy, ci95, p_value, p_holm (Holm over models), d'."""
    return _table(df, "model")


def by_pair(df: pd.DataFrame) -> list[dict]:
    """Per pairing: its clips and model where known, n, correct, accuracy, ci95, p_value, p_holm, d'."""
    return _table(df, "pair", ("human_clip", "machine_clip", "model"))


def position_bias(df: pd.DataFrame) -> dict:
    """How often the first clip was chosen and the accuracy when the human clip came first or second: a check
    that the balanced order cancelled any lean towards one position."""
    data = analysed(df)
    first = data["chosen_position"].astype(int) == 1
    return {"chose_first": share(int(first.sum()), len(data)),
            "accuracy_human_first": _counts(data[data["human_position"].astype(int) == 1])["accuracy"],
            "accuracy_human_second": _counts(data[data["human_position"].astype(int) == 2])["accuracy"]}


def failed_catch_pairs(df: pd.DataFrame) -> dict[str, bool]:
    """Participant -> whether they chose wrongly on a catch trial (a known human tune against random notes)."""
    if "is_catch" not in df.columns:
        return {}
    catch = df[df["is_catch"].fillna(False).astype(bool)]
    return {str(pid): bool((~correct(d)).any()) for pid, d in catch.groupby("participant", sort=False)}


def participants(df: pd.DataFrame) -> pd.DataFrame:
    """One row per participant: n, correct, accuracy (catch trials left out), failed_catch, median_listening_ms."""
    failed = failed_catch_pairs(df)
    rows = []
    for pid, d in df.groupby("participant", sort=False):
        c = _counts(analysed(d))
        timing = d["listening_ms"].dropna() if "listening_ms" in d else pd.Series(dtype=float)
        rows.append({"participant": pid, "n": c["n"], "correct": c["correct"],
                     "accuracy": c["accuracy"] if c["accuracy"] is not None else float("nan"),
                     "failed_catch": failed.get(str(pid), False),
                     "median_listening_ms": float(timing.median()) if len(timing) else float("nan")})
    return pd.DataFrame(rows, columns=["participant", "n", "correct", "accuracy", "failed_catch",
                                       "median_listening_ms"])


def _effects(data: pd.DataFrame) -> list[str]:
    clips = [c for c in ("human_clip", "machine_clip") if c in data.columns and data[c].notna().all()]
    return ["participant", *(clips or ["pair"])]


def mixed_model(df: pd.DataFrame, seed: int = 0) -> dict | None:
    """Mixed-effects logistic model of correctness, fitted by statsmodels' BinomialBayesMixedGLM (variational
    Bayes, as :func:`core.survey.stats.models.mixed_model`).

    logit P(correct) = intercept + b_g [model g] + u_participant + v_human_clip + w_machine_clip (the pair
    instead of the two clips when they are not known), each random effect normal with its own variance. The
    first model (alphabetically) is the reference. The intercept's inverse logit is the accuracy of a typical
    listener on a typical pair of the reference model: a few sharp listeners or a few easy clips cannot pass for
    a general effect. None with fewer than two participants or when every answer is right (or every one wrong).
    """
    data = analysed(df)
    if data["participant"].nunique() < 2 or correct(data).nunique() < 2:
        return None
    models = sorted(data["model"].dropna().unique()) if "model" in data and data["model"].notna().all() else []
    exog = pd.DataFrame({"intercept": 1.0, **{m: (data["model"] == m).astype(float) for m in models[1:]}},
                        index=data.index)
    effects = _effects(data)
    dummies = [pd.get_dummies(data[e], dtype=float) for e in effects]
    ident = np.concatenate([[i] * d.shape[1] for i, d in enumerate(dummies)])
    model = BinomialBayesMixedGLM(correct(data).astype(float).to_numpy(), exog.to_numpy(),
                                  np.hstack([d.to_numpy() for d in dummies]), ident,
                                  fep_names=list(exog.columns), vcp_names=effects)
    res, fixed = fit_fixed_effects(model, list(exog.columns), seed)
    intercept = fixed[0]["estimate"]
    return {"n": len(data), "participants": int(data["participant"].nunique()), "reference": models[0] if models
            else None, "fixed": fixed, "typical_accuracy": float(1 / (1 + math.exp(-intercept))),
            "random_sd": {e: float(math.exp(v)) for e, v in zip(effects, res.vcp_mean, strict=True)},
            "converged": bool(res.optim_retvals.success), "method": "BinomialBayesMixedGLM.fit_vb"}


def paired_summary(df: pd.DataFrame, margin: float = DEFAULT_MARGIN, full: bool = False) -> dict:
    """Everything the CLI prints for a 2AFC survey: design "2afc", overall {n, correct, accuracy, ci95,
    p_value}, sdt {d_prime}, equivalence (TOST), headline, models, pairs, position, participants (the
    per-participant accuracy distribution), power (binomial test against a true 60%); ``full`` adds the
    mixed model. Catch trials count only in n_catch and the catch check.
    """
    data = analysed(df)
    o = overall(df)
    eq = tost(o["correct"], o["n"], margin)
    out = {
        "design": "2afc",
        "n_responses": len(data),
        "n_participants": int(data["participant"].nunique()),
        "n_pairs": int(data["pair"].nunique()),
        "n_catch": len(df) - len(data),
        "overall": {k: o[k] for k in ("n", "correct", "accuracy", "ci95", "p_value")},
        "sdt": {"d_prime": o["d_prime"], "accuracy": o["accuracy"]},
        "equivalence": eq,
        "headline": verdict(o["p_value"], o["accuracy"], eq),
        "models": by_model(df),
        "pairs": by_pair(df),
        "position": position_bias(df) if len(data) else None,
        "participants": accuracy_distribution(participants(df)),
        "power": {"accuracy": 0.6, "alpha": 0.05, "n": o["n"], "exact_power": binomial_power(o["n"], 0.6)}
        if o["n"] else None,
    }
    if full:
        out["mixed_model"] = mixed_model(df)
    return jsonable(out)
