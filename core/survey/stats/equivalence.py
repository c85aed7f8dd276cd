"""Equivalence ("listeners could not tell them apart"), the planner, and the headline verdict.

A non-significant binomial test is not evidence of no difference. The claim "they could not tell" needs an
equivalence test with a margin fixed before the data: two one-sided exact binomial tests (TOST) that the
accuracy is above 0.5 - M and below 0.5 + M (statsmodels ``binom_tost``). TOST at level alpha passes exactly
when the (1 - 2 alpha) Clopper-Pearson interval (90% for alpha = 0.05) lies inside (0.5 - M, 0.5 + M).
"""

from __future__ import annotations

import math

from scipy.stats import norm
from statsmodels.stats.proportion import binom_tost, power_binom_tost, proportion_confint

from core.errors import UserError

DEFAULT_MARGIN = 0.1
"""Accuracy within 0.40-0.60 counts as "could not tell them apart" unless the researcher sets another margin."""
DEFAULT_ICC = 0.05
"""Planner's assumed intra-class correlation of one listener's answers (the clustering of votes)."""
MAX_PLAN_VOTES = 200_000
MAX_MARGIN = 0.25
"""The widest margin a survey may pre-register: accuracy within 25-75% counted as "could not tell"; a wider one
would call listeners who are right four times in five indistinguishable from guessing."""
MAX_EXPLORATORY_MARGIN = 0.3
"""The widest margin an analysis may try after the fact (``survey-stats --margin``), always labelled exploratory
beside the pre-registered one; wider ones (0.49 would call 1-99% accuracy "could not tell") are refused."""


def _margin(margin: float) -> float:
    """The margin as a float; UserError naming the value unless 0 < margin < 0.5 (what the arithmetic allows)."""
    try:
        m = float(margin)
    except (TypeError, ValueError):
        raise UserError(f"The equivalence margin must be a number up to {MAX_MARGIN}, not {margin!r}.") from None
    if not (math.isfinite(m) and 0 < m < 0.5):
        raise UserError(f"The equivalence margin must lie strictly between 0 and 0.5, not {margin!r}.")
    return m


def check_margin(margin: float, limit: float = MAX_MARGIN) -> float:
    """A margin a survey may fix (``limit`` 0.25) or an exploratory analysis may try (``MAX_EXPLORATORY_MARGIN``):
    UserError (one sentence) unless 0 < margin <= limit."""
    m = _margin(margin)
    if m > limit + 1e-12:
        raise UserError(f"An equivalence margin of {m:g} is refused: above {limit:g} it would count accuracy of "
                        f"{100 * (0.5 + m):.0f}% as 'could not tell them apart'.")
    return m


def tost(correct: int, n: int, margin: float = DEFAULT_MARGIN, alpha: float = 0.05) -> dict:
    """Exact TOST of accuracy = correct / n against the region (0.5 - margin, 0.5 + margin).

    p_value = max(P(X >= correct | p = 0.5 - M), P(X <= correct | p = 0.5 + M)) with X ~ Binomial(n, p);
    equivalent when p_value < alpha. ci90: the Clopper-Pearson (1 - 2 alpha) interval of the accuracy.
    With no answers: p_value and ci90 None, equivalent False.
    """
    m = _margin(margin)
    out = {"margin": m, "low": 0.5 - m, "high": 0.5 + m, "alpha": alpha, "n": int(n), "correct": int(correct),
           "p_value": None, "p_lower": None, "p_upper": None, "equivalent": False, "ci90": None}
    if n <= 0:
        return out
    p, p_low, p_upp = binom_tost(int(correct), int(n), 0.5 - m, 0.5 + m)
    lo, hi = proportion_confint(int(correct), int(n), alpha=2 * alpha, method="beta")
    out.update(p_value=float(p), p_lower=float(p_low), p_upper=float(p_upp), equivalent=bool(p < alpha),
               ci90=[float(lo), float(hi)])
    return out


def tost_power(n_votes: int, margin: float = DEFAULT_MARGIN, accuracy: float = 0.5, alpha: float = 0.05) -> float:
    """Exact power of :func:`tost` with n_votes independent answers when the true accuracy is ``accuracy``
    (statsmodels ``power_binom_tost``: the binomial probability of the counts the test declares equivalent)."""
    m = _margin(margin)
    if n_votes <= 0:
        return 0.0
    return float(power_binom_tost(0.5 - m, 0.5 + m, int(n_votes), p_alt=accuracy, alpha=alpha))


def votes_for_equivalence(
    margin: float = DEFAULT_MARGIN, power: float = 0.8, accuracy: float = 0.5, alpha: float = 0.05
) -> int:
    """The fewest independent answers whose TOST power reaches ``power``, and stays there for the next 20 counts
    (exact binomial power saws up and down with n). UserError when it would take more than 200,000."""
    m = check_margin(margin)
    if not abs(accuracy - 0.5) < m:
        raise UserError(f"A true accuracy of {accuracy} lies outside the margin: equivalence cannot be shown.")
    # the normal approximation, halved, as a safe start; then an exact search upwards
    z = float(norm.ppf(1 - alpha) + norm.ppf(1 - (1 - power) / 2))
    start = max(1, int(0.5 * accuracy * (1 - accuracy) * z**2 / (m - abs(accuracy - 0.5)) ** 2))
    powers: dict[int, float] = {}

    def at(k: int) -> float:
        if k not in powers:
            powers[k] = tost_power(k, m, accuracy, alpha)
        return powers[k]

    n = start
    while n <= MAX_PLAN_VOTES:
        bad = next((k for k in range(n, n + 21) if at(k) < power), None)
        if bad is None:
            return n
        n = bad + 1
    raise UserError(f"A margin of {m} needs more than {MAX_PLAN_VOTES:,} answers: choose a wider margin.")


def plan_participants(
    margin: float = DEFAULT_MARGIN, answers_per_participant: int = 10, icc: float = DEFAULT_ICC,
    power: float = 0.8, accuracy: float = 0.5, alpha: float = 0.05,
) -> dict:
    """Participants needed for ``power`` to show equivalence when listeners truly guess (accuracy 0.5).

    Answers from one listener are correlated; the plan assumes an intra-class correlation ``icc`` and inflates
    the independent answers by the design effect 1 + (m - 1) icc, m the answers per participant (Kish).
    Returns votes_independent, design_effect, votes, participants and exact_power (at the planned answers,
    clustering ignored).
    """
    if not 1 <= answers_per_participant <= 1000:
        raise UserError(f"Answers per participant must be between 1 and 1000, not {answers_per_participant}.")
    if not 0 <= icc < 1:
        raise UserError(f"The intra-class correlation must be in [0, 1), not {icc}.")
    base = votes_for_equivalence(margin, power, accuracy, alpha)
    deff = 1 + (answers_per_participant - 1) * icc
    participants = math.ceil(base * deff / answers_per_participant - 1e-9)
    votes = participants * answers_per_participant
    return {"margin": check_margin(margin), "power": power, "accuracy": accuracy, "alpha": alpha,
            "answers_per_participant": answers_per_participant, "icc": icc, "votes_independent": base,
            "design_effect": deff, "votes": votes, "participants": participants,
            "exact_power": tost_power(votes, margin, accuracy, alpha)}


def verdict(p_value: float | None, accuracy: float | None, equivalence: dict, alpha: float = 0.05) -> dict:
    """The headline: "could_not_tell" only when TOST passes, "could_tell" when the binomial test is significant,
    else "inconclusive". When both hold (a large sample), the listeners could tell, by less than the margin.

    Returns {"verdict", "sentence"}.
    """
    m = equivalence["margin"]
    region = f"{100 * (0.5 - m):.0f}-{100 * (0.5 + m):.0f}%"
    if accuracy is None or p_value is None:
        return {"verdict": "inconclusive", "sentence": "No answers yet: nothing can be said."}
    acc = f"{100 * accuracy:.1f}%"
    significant = p_value < alpha
    if significant and equivalence["equivalent"]:
        return {"verdict": "could_tell", "sentence": (
            f"Listeners could tell them apart, though only slightly: accuracy {acc} differs from 50% "
            f"(binomial p = {p_value:.3g}) but lies within the equivalence region {region}.")}
    if equivalence["equivalent"]:
        lo, hi = equivalence["ci90"]
        return {"verdict": "could_not_tell", "sentence": (
            f"Listeners could not tell them apart: accuracy {acc}, 90% interval {100 * lo:.1f}-{100 * hi:.1f}% "
            f"inside the equivalence region {region} (TOST p = {equivalence['p_value']:.3g}).")}
    if significant:
        side = "better" if accuracy > 0.5 else "worse"
        return {"verdict": "could_tell", "sentence": (
            f"Listeners could tell them apart: accuracy {acc}, {side} than chance (binomial p = {p_value:.3g}).")}
    tp = "n/a" if equivalence["p_value"] is None else f"{equivalence['p_value']:.3g}"
    return {"verdict": "inconclusive", "sentence": (
        f"Inconclusive: accuracy {acc} is neither shown to differ from 50% (binomial p = {p_value:.3g}) nor "
        f"shown to lie within {region} (TOST p = {tp}); more participants are needed to say either.")}


def preregistered(df) -> float | None:
    """The margin fixed before the survey opened, from a responses table's ``preregistered_margin`` column."""
    if "preregistered_margin" not in df.columns:
        return None
    values = df["preregistered_margin"].dropna()
    return float(values.iloc[0]) if len(values) else None


def margin_choice(given: float | None, fixed: float | None) -> dict:
    """Which margin the analysis uses: the pre-registered one unless another is ``given`` (then "exploratory").

    Returns {"margin", "preregistered", "exploratory", "label"}; UserError for a given margin above 0.3.
    """
    if given is not None:
        m = check_margin(given, MAX_EXPLORATORY_MARGIN)
    else:
        m = fixed if fixed is not None else DEFAULT_MARGIN
    exploratory = given is not None and (fixed is None or abs(m - fixed) > 1e-12)
    if not exploratory:
        label = "pre-registered" if fixed is not None else f"default {DEFAULT_MARGIN:g} (none pre-registered)"
    elif fixed is None:
        label = "exploratory (no pre-registered margin)"
    else:
        label = f"exploratory (pre-registered M0 = {fixed:g})"
    return {"margin": m, "preregistered": fixed, "exploratory": exploratory, "label": label}


def label_headline(s: dict, choice: dict) -> dict:
    """``s`` with its margin choice recorded, and an exploratory verdict said to be one in its own sentence."""
    out = {**s, "margin_choice": choice}
    if choice["exploratory"]:
        sentence = f"Exploratory margin {choice['margin']:g}, not the pre-registered one: {s['headline']['sentence']}"
        out["headline"] = {**s["headline"], "sentence": sentence, "exploratory": True}
    return out


def more_participants(n_participants: int, answers: int, margin: float, icc: float = DEFAULT_ICC) -> dict | None:
    """How many participants the planner wants for 80% power to show equivalence, with this survey's answers per
    participant (``answers`` / ``n_participants``), and how many more that is: {"needed", "more",
    "answers_per_participant"}; None with no answers or a margin the planner refuses."""
    if n_participants <= 0 or answers <= 0 or not 0 < margin <= MAX_MARGIN:
        return None
    per = max(1, min(1000, round(answers / n_participants)))
    needed = plan_participants(margin, per, icc)["participants"]
    return {"needed": needed, "more": max(0, needed - n_participants), "answers_per_participant": per}
