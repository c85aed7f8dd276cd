"""Model-based statistics: the mixed-effects logistic model of the votes, inter-rater agreement, and power."""

from __future__ import annotations

import math
import warnings

import krippendorff
import numpy as np
import pandas as pd
from scipy.stats import binom, norm
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
from statsmodels.stats.inter_rater import fleiss_kappa
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from core.survey.stats.binary import holm_adjust, machine_groups
from core.survey.stats.schema import HUMAN, MACHINE, TRUTHS, number, ratings, votes


def _design(v: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    source = machine_groups(v)
    names = sorted(s for s in source.unique() if s != HUMAN)
    exog = pd.DataFrame({"intercept": 1.0, **{n: (source == n).astype(float) for n in names}}, index=v.index)
    parts = pd.get_dummies(v["participant"], dtype=float)
    clips = pd.get_dummies(v["clip"], dtype=float)
    exog_vc = np.hstack([parts.to_numpy(), clips.to_numpy()])
    ident = np.array([0] * parts.shape[1] + [1] * clips.shape[1])
    return exog, exog_vc, ident, names


def mixed_model(df: pd.DataFrame, seed: int = 0) -> dict | None:
    """Mixed-effects logistic regression of the binary votes, fitted by statsmodels' BinomialBayesMixedGLM.

    logit P(vote = machine) = intercept + b_g [clip made by model g] + u_participant + v_clip, with
    u ~ N(0, s_p²) and v ~ N(0, s_c²); human clips are the reference. intercept is the listeners' lean on
    human clips (below 0: they call human music human); b_g > 0 means model g's clips are called machine more
    often than human clips even once listener and clip differences are allowed for, so a few sharp listeners or
    a few easy clips cannot pass for a general effect.

    Fitted by variational Bayes (``fit_vb``, statsmodels' default priors: N(0, 2²) on fixed effects, N(0, 1)
    on log standard deviations; seeded start). Each fixed term reports the posterior mean (``estimate``, log
    odds), posterior sd, ci95 = mean +- 1.96 sd, z = mean / sd and the normal p_value; p_holm corrects the model
    terms (not the intercept) over models. random_sd: exp of the posterior mean log sd per random effect;
    icc_participant = s_p² / (s_p² + s_c² + pi²/3). None unless both truths have votes, with at least two
    participants and two clips, and both answers occur.
    """
    v = votes(df)
    if (
        v["participant"].nunique() < 2
        or v["clip"].nunique() < 2
        or set(v["truth"]) != set(TRUTHS)
        or v["vote"].nunique() < 2
    ):
        return None
    exog, exog_vc, ident, names = _design(v)
    model = BinomialBayesMixedGLM(
        (v["vote"] == MACHINE).astype(float).to_numpy(),
        exog.to_numpy(),
        exog_vc,
        ident,
        fep_names=list(exog.columns),
        vcp_names=["participant", "clip"],
    )
    res, fixed = fit_fixed_effects(model, list(exog.columns), seed)
    for rec, p in zip(fixed[1:], holm_adjust([f["p_value"] for f in fixed[1:]]), strict=True):
        rec["p_holm"] = p
    fixed[0]["p_holm"] = None
    sd_p, sd_c = (float(math.exp(m)) for m in res.vcp_mean)
    return {
        "n": len(v),
        "participants": int(v["participant"].nunique()),
        "clips": int(v["clip"].nunique()),
        "groups": names,
        "fixed": fixed,
        "random_sd": {"participant": sd_p, "clip": sd_c},
        "icc_participant": sd_p**2 / (sd_p**2 + sd_c**2 + math.pi**2 / 3),
        "converged": bool(res.optim_retvals.success),
        "method": "BinomialBayesMixedGLM.fit_vb",
    }


def _matrix(rows: pd.DataFrame, column: str) -> np.ndarray:
    """Participants x clips matrix of the values in ``column`` (NaN where a participant skipped a clip)."""
    return rows.pivot(index="participant", columns="clip", values=column).to_numpy(dtype=float)


def _alpha(matrix: np.ndarray, level: str) -> float | None:
    pairable = (np.sum(~np.isnan(matrix), axis=0) >= 2).any()
    values = matrix[~np.isnan(matrix)]
    if not pairable or len(np.unique(values)) < 2:
        return None
    return number(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level))


def agreement(df: pd.DataFrame) -> dict:
    """Inter-rater agreement, participants as raters and clips as units.

    votes: Krippendorff's alpha (nominal) = 1 - D_o / D_e, observed over expected disagreement of votes on the
    same clip; 1 is perfect agreement, 0 what chance gives. fleiss_kappa = (P - P_e) / (1 - P_e) (statsmodels),
    only when every clip has the same number (at least 2) of votes. ratings: Krippendorff's alpha (ordinal).
    Each is None when the data cannot support it (no clip answered twice, or a single value throughout).
    """
    v = votes(df).assign(code=lambda d: (d["vote"] == MACHINE).astype(float))
    r = ratings(df).assign(code=lambda d: d["rating"].astype(float))
    out = {
        "votes": {"krippendorff_alpha": None, "fleiss_kappa": None, "level": "nominal"},
        "ratings": {"krippendorff_alpha": None, "level": "ordinal"},
    }
    if len(v):
        out["votes"]["krippendorff_alpha"] = _alpha(_matrix(v, "code"), "nominal")
        counts = pd.crosstab(v["clip"], v["vote"]).reindex(columns=list(TRUTHS), fill_value=0)
        per_clip = counts.sum(axis=1)
        if per_clip.nunique() == 1 and per_clip.iloc[0] >= 2 and v["vote"].nunique() == 2:
            out["votes"]["fleiss_kappa"] = number(fleiss_kappa(counts.to_numpy(), method="fleiss"))
    if len(r):
        out["ratings"]["krippendorff_alpha"] = _alpha(_matrix(r, "code"), "ordinal")
    return out


def votes_needed(accuracy: float = 0.6, power: float = 0.8, alpha: float = 0.05) -> int:
    """Independent votes needed to detect ``accuracy`` against chance (0.5) with a two-sided test.

    Normal approximation on the arcsine scale (statsmodels ``NormalIndPower`` with ratio=0, one sample):
    n = ((z(1 - alpha/2) + z(power)) / h)² with Cohen's h = 2 asin(sqrt(accuracy)) - 2 asin(sqrt(0.5)),
    rounded up. 0.6 at power 0.8 and alpha 0.05 needs 194 votes.
    """
    if not 0 < accuracy < 1 or accuracy == 0.5:
        raise ValueError(f"accuracy must be in (0, 1) and not 0.5, got {accuracy}")
    h = proportion_effectsize(accuracy, 0.5)
    n = NormalIndPower().solve_power(effect_size=abs(h), alpha=alpha, power=power, ratio=0, alternative="two-sided")
    return math.ceil(n - 1e-9)


def binomial_power(n_votes: int, accuracy: float, alpha: float = 0.05) -> float:
    """Exact power of the two-sided binomial test against 0.5 with n_votes independent votes.

    Sum of Binomial(n_votes, accuracy) probabilities over the counts k whose test p-value is at most alpha; under
    the symmetric null that p-value is min(1, 2 min(P(X <= k), P(X >= k))), as scipy's ``binomtest`` computes.
    """
    k = np.arange(n_votes + 1)
    p_values = np.minimum(1.0, 2 * np.minimum(binom.cdf(k, n_votes, 0.5), binom.sf(k - 1, n_votes, 0.5)))
    return float(binom.pmf(k[p_values <= alpha], n_votes, accuracy).sum())


def power_plan(
    accuracy: float = 0.6, power: float = 0.8, alpha: float = 0.05, clips_per_participant: int = 10, icc: float = 0.0
) -> dict:
    """How many participants, each judging ``clips_per_participant`` clips, to detect ``accuracy``.

    Votes from one listener are correlated (intra-class correlation ``icc``, e.g. the mixed model's
    icc_participant), which inflates the votes needed by the design effect 1 + (m - 1) icc with m clips per
    participant. Returns votes_independent (:func:`votes_needed`), design_effect, votes, participants and
    exact_power (:func:`binomial_power` at the planned votes, icc ignored).
    """
    if clips_per_participant < 1 or not 0 <= icc < 1:
        raise ValueError("clips_per_participant must be >= 1 and icc in [0, 1)")
    base = votes_needed(accuracy, power, alpha)
    deff = 1 + (clips_per_participant - 1) * icc
    participants = math.ceil(base * deff / clips_per_participant - 1e-9)
    n_votes = participants * clips_per_participant
    return {
        "accuracy": accuracy,
        "power": power,
        "alpha": alpha,
        "clips_per_participant": clips_per_participant,
        "icc": icc,
        "votes_independent": base,
        "design_effect": deff,
        "votes": n_votes,
        "participants": participants,
        "exact_power": binomial_power(n_votes, accuracy, alpha),
    }


def fit_fixed_effects(model, columns: list[str], seed: int) -> tuple:
    """Fit a BinomialBayesMixedGLM by variational Bayes from a seeded start; the fit and, per fixed term, its
    posterior mean (``estimate``, log odds), ``sd``, 95% interval, ``z`` and two-sided normal ``p_value``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit_vb(rng=np.random.default_rng(seed))
    fixed = []
    for term, mean, sd in zip(columns, res.fe_mean, res.fe_sd, strict=True):
        z = mean / sd
        fixed.append({"term": term, "estimate": float(mean), "sd": float(sd),
                      "ci95": [float(mean - 1.959964 * sd), float(mean + 1.959964 * sd)],
                      "z": float(z), "p_value": float(2 * norm.sf(abs(z)))})
    return res, fixed
