"""Binary votes: the per-clip table, error rates with Wilson intervals, the binomial test, signal detection,
and the share of each model's clips judged human.

Every function takes the responses layout of :mod:`core.survey.stats.schema` and leaves catch clips out.
"""

from __future__ import annotations

from itertools import combinations
from typing import Literal

import pandas as pd
from scipy.stats import binomtest, fisher_exact, norm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from core.survey.stats.schema import HUMAN, MACHINE, NATURAL_RATINGS, TRUTHS, analysed, number, share, votes

Correction = Literal["1/2N", "loglinear"]


def wilson_interval(count: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion count / n.

    With p = count / n and z the (1 + confidence) / 2 normal quantile::

        centre = (p + z²/2n) / (1 + z²/n)
        half   = z / (1 + z²/n) * sqrt(p(1 - p)/n + z²/4n²)

    Returns (lo, hi), or None when n is 0 (no votes: no interval).
    """
    if n <= 0:
        return None
    lo, hi = proportion_confint(count, n, alpha=1 - confidence, method="wilson")
    return float(lo), float(hi)


def binomial_p_value(count: int, n: int, p: float = 0.5) -> float | None:
    """Exact two-sided binomial test of count successes in n trials against probability p.

    The p-value sums the probabilities of every outcome no likelier than the one observed
    (scipy's ``binomtest``). None when n is 0.
    """
    if n <= 0:
        return None
    return float(binomtest(count, n, p, alternative="two-sided").pvalue)


def _correct(v: pd.DataFrame) -> pd.Series:
    return v["vote"] == v["truth"]


def clip_table(df: pd.DataFrame) -> pd.DataFrame:
    """The reports' per-clip table, one row per clip in survey order.

    Columns: clip, truth, group, n_votes, votes_human, votes_machine, correct, incorrect,
    error_rate (incorrect / n_votes; NaN without votes), n_ratings, rating_mean, rating_median,
    p_natural (share of ratings that are 1 or 2; NaN without ratings).
    """
    data = analysed(df)
    rows = []
    for clip, d in data.groupby("clip", sort=False):
        v = d[d["vote"].notna()] if "vote" in d else d.iloc[0:0]
        r = d["rating"].dropna().astype(float) if "rating" in d else pd.Series(dtype=float)
        group = d["group"].dropna() if "group" in d else pd.Series(dtype=object)
        n, correct = len(v), int(_correct(v).sum())
        rows.append(
            {
                "clip": clip,
                "truth": d["truth"].iloc[0],
                "group": group.iloc[0] if len(group) else None,
                "n_votes": n,
                "votes_human": int((v["vote"] == HUMAN).sum()) if n else 0,
                "votes_machine": int((v["vote"] == MACHINE).sum()) if n else 0,
                "correct": correct,
                "incorrect": n - correct,
                "error_rate": (n - correct) / n if n else float("nan"),
                "n_ratings": len(r),
                "rating_mean": r.mean() if len(r) else float("nan"),
                "rating_median": r.median() if len(r) else float("nan"),
                "p_natural": r.isin(NATURAL_RATINGS).mean() if len(r) else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def clip_totals(table: pd.DataFrame) -> dict:
    """The totals row of :func:`clip_table`: vote counts summed over clips and the pooled error rate."""
    n = int(table["n_votes"].sum()) if len(table) else 0
    incorrect = int(table["incorrect"].sum()) if len(table) else 0
    return {
        "n_votes": n,
        "votes_human": int(table["votes_human"].sum()) if len(table) else 0,
        "votes_machine": int(table["votes_machine"].sum()) if len(table) else 0,
        "correct": n - incorrect,
        "incorrect": incorrect,
        "error_rate": share(incorrect, n),
    }


def error_rates(df: pd.DataFrame) -> dict:
    """Error rates overall and per truth category, each over that category's own votes.

    ``overall``: n, correct, incorrect, accuracy = correct / n, error_rate = incorrect / n, ci95 (Wilson
    95% interval of the error rate), accuracy_ci95, p_value (exact two-sided binomial test of accuracy
    against 0.5). ``by_truth[t]``: n, correct, incorrect and error_rate over the votes on clips whose truth
    is t (for machine clips, the share of their votes that said human), with ci95. Rates, intervals and
    p-values are None when there are no votes to support them.
    """
    v = votes(df)
    n, correct = len(v), int(_correct(v).sum())
    ci = wilson_interval(n - correct, n)
    overall = {
        "n": n,
        "correct": correct,
        "incorrect": n - correct,
        "accuracy": share(correct, n),
        "error_rate": share(n - correct, n),
        "ci95": list(ci) if ci else None,
        "accuracy_ci95": list(wilson_interval(correct, n)) if n else None,
        "p_value": binomial_p_value(correct, n),
    }
    by_truth = {}
    for truth in TRUTHS:
        t = v[v["truth"] == truth]
        k, wrong = len(t), int((~_correct(t)).sum())
        ci = wilson_interval(wrong, k)
        by_truth[truth] = {
            "n": k,
            "correct": k - wrong,
            "incorrect": wrong,
            "error_rate": share(wrong, k),
            "ci95": list(ci) if ci else None,
        }
    return {"overall": overall, "by_truth": by_truth}


def _corrected(count: int, n: int, correction: Correction) -> float:
    if correction == "loglinear":
        return (count + 0.5) / (n + 1)
    rate = count / n
    return min(max(rate, 1 / (2 * n)), 1 - 1 / (2 * n))


def signal_detection(df: pd.DataFrame, correction: Correction = "1/2N") -> dict:
    """Signal detection with "machine" as the signal.

    hit_rate = machine clips voted machine / votes on machine clips; false_alarm_rate = human clips voted
    machine / votes on human clips (both as observed). Then, with z the standard normal quantile::

        d_prime   = z(H) - z(F)            0: the listeners cannot tell the two apart
        criterion = -(z(H) + z(F)) / 2     below 0: they lean towards answering "machine"

    where H and F are the rates after a correction that keeps z finite. ``"1/2N"`` (default, Macmillan &
    Kaplan 1985) replaces a rate of 0 by 1/(2N) and a rate of 1 by 1 - 1/(2N) and leaves other rates as they
    are; ``"loglinear"`` (Hautus 1995) uses (count + 0.5) / (N + 1) for both rates always. d_prime and
    criterion are None unless both machine and human clips have votes.
    """
    v = votes(df)
    sig, noise = v[v["truth"] == MACHINE], v[v["truth"] == HUMAN]
    hits, fas = int((sig["vote"] == MACHINE).sum()), int((noise["vote"] == MACHINE).sum())
    out = {
        "hit_rate": share(hits, len(sig)),
        "false_alarm_rate": share(fas, len(noise)),
        "d_prime": None,
        "criterion": None,
        "correction": correction,
        "n_signal": len(sig),
        "n_noise": len(noise),
    }
    if len(sig) and len(noise):
        zh = float(norm.ppf(_corrected(hits, len(sig), correction)))
        zf = float(norm.ppf(_corrected(fas, len(noise), correction)))
        out["d_prime"], out["criterion"] = zh - zf, -(zh + zf) / 2
    return out


def holm_adjust(p_values: list[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (statsmodels ``multipletests``), None where the raw p-value is None or NaN.

    Holm: sort the m p-values, multiply the i-th smallest (i from 0) by m - i, keep the running maximum, cap at 1.
    """
    known = [(i, float(p)) for i, p in enumerate(p_values) if p is not None and not pd.isna(p)]
    out: list[float | None] = [None] * len(p_values)
    if known:
        adjusted = multipletests([p for _, p in known], method="holm")[1]
        for (i, _), p in zip(known, adjusted, strict=True):
            out[i] = float(p)
    return out


def machine_groups(df: pd.DataFrame) -> pd.Series:
    """The source label of each row: its group for machine clips with one, else its truth label."""
    if "group" not in df.columns:
        return df["truth"].astype(object)
    return df["group"].where((df["truth"] == MACHINE) & df["group"].notna(), df["truth"]).astype(object)


def group_shares(df: pd.DataFrame) -> pd.DataFrame:
    """Per model (the group of machine clips): the share of its votes that said "human".

    Columns: group, n_votes, votes_human, share_human, ci95_lo, ci95_hi (Wilson), p_vs_half (exact binomial
    test of share_human against 0.5), p_vs_human (Fisher's exact test of the group's votes against the votes
    on human clips: are its clips judged human as often as real human music is?), and both p-values
    Holm-corrected over the groups (p_vs_half_holm, p_vs_human_holm). Machine clips without a group count as
    the group "machine". p_vs_human is None when no human clip has votes.
    """
    v = votes(df)
    src = machine_groups(v)
    ref = v[v["truth"] == HUMAN]
    ref_h, ref_m = int((ref["vote"] == HUMAN).sum()), int((ref["vote"] == MACHINE).sum())
    rows = []
    for name, g in v[v["truth"] == MACHINE].groupby(src[v["truth"] == MACHINE], sort=True):
        n, k = len(g), int((g["vote"] == HUMAN).sum())
        ci = wilson_interval(k, n)
        p_ref = float(fisher_exact([[k, n - k], [ref_h, ref_m]]).pvalue) if len(ref) else None
        rows.append(
            {
                "group": name,
                "n_votes": n,
                "votes_human": k,
                "share_human": k / n,
                "ci95_lo": ci[0],
                "ci95_hi": ci[1],
                "p_vs_half": binomial_p_value(k, n),
                "p_vs_human": p_ref,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=["group", "n_votes", "votes_human", "share_human", "ci95_lo", "ci95_hi", "p_vs_half", "p_vs_human"],
    )
    table["p_vs_half_holm"] = holm_adjust(list(table["p_vs_half"]))
    table["p_vs_human_holm"] = holm_adjust(list(table["p_vs_human"]))
    return table


def pairwise_groups(df: pd.DataFrame) -> pd.DataFrame:
    """Every pair of models compared on the share of their votes that said "human".

    Columns: group_a, group_b, share_a, share_b, difference (share_a - share_b), p_value (Fisher's exact test
    on the 2x2 table of human/machine votes) and p_holm (Holm-corrected over all pairs). Empty with fewer than
    two groups.
    """
    shares = group_shares(df).set_index("group")
    rows = []
    for a, b in combinations(shares.index, 2):
        ka, na = int(shares.at[a, "votes_human"]), int(shares.at[a, "n_votes"])
        kb, nb = int(shares.at[b, "votes_human"]), int(shares.at[b, "n_votes"])
        p = float(fisher_exact([[ka, na - ka], [kb, nb - kb]]).pvalue)
        rows.append(
            {
                "group_a": a,
                "group_b": b,
                "share_a": ka / na,
                "share_b": kb / nb,
                "difference": ka / na - kb / nb,
                "p_value": p,
            }
        )
    table = pd.DataFrame(rows, columns=["group_a", "group_b", "share_a", "share_b", "difference", "p_value"])
    table["p_holm"] = holm_adjust(list(table["p_value"]))
    return table


def clip_records(table: pd.DataFrame) -> list[dict]:
    """:func:`clip_table` as JSON-ready records (NaN becomes None)."""
    records = []
    for row in table.to_dict("records"):
        records.append({key: (number(val) if isinstance(val, float) else val) for key, val in row.items()})
    return records
