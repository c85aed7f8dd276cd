"""1-5 ratings (1 = surely human, 5 = surely machine): the ratings report's table, done per clip, truth and
group, and the rank tests it left out (Mann-Whitney U against the human clips, Kruskal-Wallis across groups).
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from scipy.stats import kruskal, mannwhitneyu

from core.survey.stats.binary import holm_adjust, machine_groups
from core.survey.stats.schema import HUMAN, NATURAL_RATINGS, analysed, has_groups, number, ratings


def rating_summary(values: pd.Series) -> dict:
    """n, mean, median, sd (sample, ddof=1) and p_natural = share of ratings that are 1 or 2.

    The R5 report's "probability to be perceived as natural" is p_natural (1 of 29 ratings at 1-2 is 3.45%).
    Everything but n is None without ratings; sd is None with fewer than two.
    """
    r = pd.Series(values).dropna().astype(float)
    n = len(r)
    return {
        "n": n,
        "mean": number(r.mean()) if n else None,
        "median": number(r.median()) if n else None,
        "sd": number(r.std(ddof=1)) if n > 1 else None,
        "p_natural": number(r.isin(NATURAL_RATINGS).mean()) if n else None,
    }


def ratings_by(df: pd.DataFrame, by: Literal["clip", "truth", "group"]) -> dict[str, dict] | None:
    """:func:`rating_summary` per clip, per truth label or per group (rows without a group are left out).

    Every name in the data is a key, with n = 0 and None figures where nobody rated it. None when
    ``by="group"`` and no row has a group.
    """
    if by == "group" and not has_groups(df):
        return None
    data = analysed(df)
    data = data[data[by].notna()]
    empty = pd.Series(dtype=float)
    return {str(name): rating_summary(g.get("rating", empty)) for name, g in data.groupby(by, sort=by != "clip")}


def _mann_whitney(x: pd.Series, y: pd.Series) -> dict:
    """Two-sided Mann-Whitney U of x against y with the common-language and rank-biserial effect sizes."""
    res = mannwhitneyu(x, y, alternative="two-sided")
    cl = float(res.statistic) / (len(x) * len(y))
    return {
        "u": float(res.statistic),
        "p_value": number(res.pvalue),
        "common_language": cl,
        "rank_biserial": 2 * cl - 1,
    }


def rating_tests(df: pd.DataFrame) -> dict:
    """Rank tests of the ratings by source: each model (group of machine clips) against the human clips.

    ``mann_whitney``: one record per model with n, n_human, u (the model's U statistic), p_value (two-sided,
    scipy's exact method for small samples without ties, else the normal approximation with tie and continuity
    corrections), p_holm (Holm over the models), common_language = U / (n * n_human) (the chance that a
    rating of the model's clips exceeds one of the human clips, ties counted half) and rank_biserial =
    2 * common_language - 1 (from -1 to 1; above 0: the model's clips sound more machine-like than human ones).

    ``kruskal_wallis`` across the human clips and every model: h, p_value, k (sources), n, and
    epsilon_squared = H / (n - 1). None with fewer than two sources; h and p_value are None when every rating
    is the same. Machine clips without a group form the source "machine".
    """
    r = ratings(df)
    src = machine_groups(r)
    samples = {str(name): g["rating"].astype(float) for name, g in r.groupby(src, sort=True)}
    human = samples.pop(HUMAN, pd.Series(dtype=float))
    tests = []
    for name, x in samples.items():
        rec = {
            "group": name,
            "n": len(x),
            "n_human": len(human),
            "u": None,
            "p_value": None,
            "common_language": None,
            "rank_biserial": None,
        }
        if len(human):
            rec.update(_mann_whitney(x, human))
        tests.append(rec)
    for rec, p in zip(tests, holm_adjust([t["p_value"] for t in tests]), strict=True):
        rec["p_holm"] = p
    groups = ([human] if len(human) else []) + list(samples.values())
    kw = None
    if len(groups) >= 2:
        n = sum(len(g) for g in groups)
        kw = {"k": len(groups), "n": n, "h": None, "p_value": None, "epsilon_squared": None}
        if pd.concat(groups).nunique() > 1:
            res = kruskal(*groups)
            kw.update(
                h=float(res.statistic), p_value=number(res.pvalue), epsilon_squared=float(res.statistic) / (n - 1)
            )
    return {"reference": HUMAN, "mann_whitney": tests, "kruskal_wallis": kw}
