"""The arena design (issue 19): each trial plays two clips from two different sources (models, or a human corpus)
and the listener names the one they prefer; Bradley-Terry strengths rank the sources.

Layout, one row per game::

    participant      str    who answered
    source_a         str    the source of the first (left) clip
    source_b         str    the source of the second (right) clip; never source_a
    winner           str    source_a or source_b: the clip the listener preferred
    clip_a, clip_b   str    optional: which clips played
    expected_winner  str    optional, on catch rows: the source an attentive listener prefers (a known human
                            tune against random notes); choosing the other fails the catch trial
    listening_ms, plays, is_catch, headphone_passed   optional, as in :mod:`core.survey.stats.schema`

Bradley-Terry (Bradley and Terry 1952): P(i beats j) = 1 / (1 + exp(-(s_i - s_j))), s the log-strengths. It is a
logistic regression without intercept on a design matrix with +1 in source_a's column and -1 in source_b's,
fitted here by statsmodels' ``Logit`` (maximum likelihood; standard errors from the inverse Hessian). Strengths
are only defined up to a constant: the lowest-rated source is fixed at 0, and each interval is the 95% Wald
interval of the difference to that source, its variance var(s_i) + var(s_low) - 2 cov(s_i, s_low).

The maximum-likelihood strengths are finite only when every split of the sources into two groups has wins both
ways (Zermelo 1929; Ford 1957). When a source never wins, never loses, or a group never loses to the rest,
the fit is refused with a sentence naming them: no penalty or pseudo-game is added, since any would set the
reported strength of such a source by itself.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import norm
from statsmodels.discrete.discrete_model import Logit

from core.errors import UserError
from core.survey.stats.schema import analysed, share
from core.survey.stats.summary import jsonable

ARENA_REQUIRED = ("participant", "source_a", "source_b", "winner")
ARENA_OPTIONAL = ("clip_a", "clip_b", "expected_winner", "listening_ms", "plays", "is_catch", "headphone_passed")
ARENA_COLUMNS = (*ARENA_REQUIRED, *ARENA_OPTIONAL)
METHOD = "Bradley-Terry maximum likelihood (statsmodels Logit), lowest source fixed at 0, 95% Wald intervals"


def is_arena(df: pd.DataFrame) -> bool:
    """Whether a responses table has the arena layout."""
    return {"source_a", "source_b", "winner"} <= set(df.columns)


def sources_of(games: pd.DataFrame) -> list[str]:
    """Every source that played a game, sorted by name."""
    return sorted(set(games["source_a"]) | set(games["source_b"]))


def win_matrix(games: pd.DataFrame, sources: list[str]) -> np.ndarray:
    """wins[i, j]: how many games source i won against source j; shape (n_sources, n_sources)."""
    index = {s: i for i, s in enumerate(sources)}
    wins = np.zeros((len(sources), len(sources)), dtype=int)
    loser = np.where(games["winner"] == games["source_a"], games["source_b"], games["source_a"])
    for w, lo in zip(games["winner"], loser, strict=True):
        wins[index[w], index[lo]] += 1
    return wins


def _names(group: list[str]) -> str:
    return ", ".join(repr(s) for s in group)


def check_estimable(sources: list[str], wins: np.ndarray) -> None:
    """UserError (one sentence) unless the Bradley-Terry strengths have a finite maximum-likelihood estimate:
    at least two sources, every source linked to every other by games, and every group of sources winning at
    least one game against the rest and losing at least one (the win graph strongly connected)."""
    if len(sources) < 2:
        only = f" (only {sources[0]!r})" if sources else ""
        raise UserError(f"Bradley-Terry ratings need games between at least two sources{only}.")
    graph = csr_matrix(wins)
    n_weak, weak = connected_components(graph, directed=True, connection="weak")
    if n_weak > 1:
        apart = [s for s, c in zip(sources, weak, strict=True) if c != weak[0]]
        raise UserError(f"The sources {_names(apart)} never played the others, so their strengths cannot be put "
                        "on one scale: deal games that link every source.")
    n_strong, strong = connected_components(graph, directed=True, connection="strong")
    if n_strong == 1:
        return
    for c in sorted(range(n_strong), key=lambda k: (int((strong == k).sum()), k)):  # single sources first
        inside = strong == c
        group = [s for s, k in zip(sources, inside, strict=True) if k]
        never_won = not wins[inside][:, ~inside].any()
        never_lost = not wins[~inside][:, inside].any()
        if not (never_won or never_lost):
            continue
        what = "won" if never_won else "lost"
        who = (f"the source {group[0]!r} never {what} a game" if len(group) == 1 else
               f"the sources {_names(group)} never {what} a game against the others")
        raise UserError(f"Bradley-Terry strengths have no finite estimate because {who}: collect more games "
                        "(or leave that source out) before ranking.")


def _fit(games: pd.DataFrame, sources: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Log-strengths with sources[0] fixed at 0, and their covariance; shapes (n,) and (n, n)."""
    index = {s: i for i, s in enumerate(sources)}
    a = games["source_a"].map(index).to_numpy()
    b = games["source_b"].map(index).to_numpy()
    design = np.zeros((len(games), len(sources)))
    design[np.arange(len(games)), a] = 1.0
    design[np.arange(len(games)), b] = -1.0
    y = (games["winner"] == games["source_a"]).astype(float).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is checked below, in one sentence
        res = Logit(y, design[:, 1:]).fit(method="newton", maxiter=100, disp=0)
    if not res.mle_retvals.get("converged", False):
        raise UserError("The Bradley-Terry fit did not converge: the games are too few or too lopsided to rank.")
    theta = np.concatenate([[0.0], np.asarray(res.params)])
    cov = np.zeros((len(sources), len(sources)))
    cov[1:, 1:] = np.asarray(res.cov_params())
    return theta, cov


def bradley_terry(games: pd.DataFrame) -> dict:
    """Bradley-Terry strengths of every source in ``games`` (analysed rows: catch trials already left out).

    Returns {"ratings": [{"source", "strength", "se", "ci95": [lo, hi], "wins", "games", "win_rate"}, ...]
    strongest first (strength: log-strength minus the lowest source's, so the lowest is 0 with ci95 [0, 0]),
    "reference": the lowest source, "win_matrix": {"sources", "wins"} (wins[i][j]: games sources[i] won against
    sources[j], in the ratings' order), "n_games", "method"}. UserError from :func:`check_estimable`.
    """
    sources = sources_of(games)
    wins = win_matrix(games, sources)
    check_estimable(sources, wins)
    theta, cov = _fit(games, sources)
    low = int(np.argmin(theta))
    z = norm.ppf(0.975)
    order = sorted(range(len(sources)), key=lambda i: (-theta[i], sources[i]))
    ratings = []
    for i in order:
        var = cov[i, i] + cov[low, low] - 2 * cov[i, low]
        se = math.sqrt(max(var, 0.0)) if i != low else 0.0
        strength = float(theta[i] - theta[low])
        n = int(wins[i].sum() + wins[:, i].sum())
        ratings.append({"source": sources[i], "strength": strength, "se": se,
                        "ci95": [strength - z * se, strength + z * se], "wins": int(wins[i].sum()), "games": n,
                        "win_rate": share(int(wins[i].sum()), n)})
    ordered = [sources[i] for i in order]
    return {"ratings": ratings, "reference": sources[low],
            "win_matrix": {"sources": ordered, "wins": wins[np.ix_(order, order)].tolist()},
            "n_games": len(games), "method": METHOD}


def failed_catch_arena(df: pd.DataFrame) -> dict[str, bool]:
    """Participant -> whether they chose against ``expected_winner`` on a catch trial that names one."""
    if "is_catch" not in df.columns or "expected_winner" not in df.columns:
        return {}
    catch = df[df["is_catch"].fillna(False).astype(bool) & df["expected_winner"].notna()]
    return {str(pid): bool((d["winner"] != d["expected_winner"]).any()) for pid, d in catch.groupby("participant")}


def arena_summary(df: pd.DataFrame) -> dict:
    """Everything the CLI prints for an arena survey: design "arena", n_responses, n_participants, n_catch, and
    "arena": {ratings, reference, win_matrix, n_games, n_participants, method, position} (position: the share
    of games the first (left) clip won, a check that the balanced order cancelled a lean to one side)."""
    data = analysed(df)
    bt = bradley_terry(data)
    first = int((data["winner"] == data["source_a"]).sum())
    n_people = int(data["participant"].nunique())
    return jsonable({"design": "arena", "n_responses": len(data), "n_participants": n_people,
                     "n_catch": len(df) - len(data),
                     "arena": {**bt, "n_participants": n_people,
                               "position": {"first_won": first, "games": len(data),
                                            "first_won_share": share(first, len(data))}}})


def leaderboard_text(s: dict) -> str:
    """The arena summary as a plain-text leaderboard for the CLI."""
    a = s["arena"]
    lines = [f"Arena: {a['n_games']} games by {a['n_participants']} participants, {len(a['ratings'])} sources.",
             f"Strength: Bradley-Terry log-strength, {a['reference']!r} (the lowest) at 0; 95% intervals.", "",
             f"{'rank':>4s}  {'source':24s} {'strength':>8s} {'95% interval':>17s} {'wins':>5s} {'games':>6s}"]
    for k, r in enumerate(a["ratings"], 1):
        lo, hi = r["ci95"]
        lines.append(f"{k:4d}  {r['source'][:24]:24s} {r['strength']:8.2f} {f'{lo:.2f} to {hi:.2f}':>17s} "
                     f"{r['wins']:5d} {r['games']:6d}")
    p = a["position"]
    if p["games"]:
        lines += ["", f"The first (left) clip won {p['first_won']} of {p['games']} games "
                      f"({100 * p['first_won_share']:.1f}%)."]
    return "\n".join(lines)


def leaderboard_chart(s: dict, fmt: str = "png") -> bytes:
    """The leaderboard as a chart, PNG or SVG bytes: each source's strength (points, strongest at the top) with
    its 95% interval (bars); the dashed line is the lowest source, at 0."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt is png or svg, not {fmt!r}")
    rows = s["arena"]["ratings"][::-1]  # matplotlib draws from the bottom
    fig = Figure(figsize=(6.0, 0.45 * len(rows) + 1.4), dpi=150)
    ax = fig.subplots()
    ax.axvline(0, color="0.4", ls="--", lw=1)
    for i, r in enumerate(rows):
        lo, hi = r["ci95"]
        ax.errorbar(r["strength"], i, xerr=[[r["strength"] - lo], [hi - r["strength"]]], fmt="o", color="C0",
                    capsize=3)
    ax.set_yticks(range(len(rows)), [f"{r['source'][:28]} ({r['wins']}/{r['games']})" for r in rows], fontsize=7)
    ax.set_xlabel(f"Bradley-Terry strength (log odds against {s['arena']['reference'][:28]})")
    ax.set_title("Arena leaderboard, 95% intervals")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Software": None} if fmt == "png" else {"Date": None})
    return buffer.getvalue()


def arena_paragraph(s: dict, excluded: list[dict], question: str, setup: dict | None = None) -> str:
    """A "methods and results" paragraph of an arena survey, from the figures; ``excluded``: the exclusion
    table's records, ``setup``: the survey's settings (its number of sources and pairings, its screening)."""
    from core.survey.stats.report import screening_sentence

    setup = setup or {}
    a = s["arena"]
    top, low = a["ratings"][0], a["ratings"][-1]
    design = (f"In an arena design, each trial played two excerpts from two different sources, one on the left and "
              f"one on the right, and participants answered \"{question}\" ({len(a['ratings'])} sources; games were "
              "dealt so that each pair of sources and each side collected about the same number).")
    n = s["n_participants"]
    exclusion = (f"{len(excluded)} participant{'s were' if len(excluded) != 1 else ' was'} excluded before analysis "
                 f"({'; '.join(sorted({r['reason'] for r in excluded}))}), leaving {n}." if excluded else
                 f"No participant was excluded; {n} took part.")
    lo, hi = top["ci95"]
    result = (f"Bradley-Terry strengths were fitted by maximum likelihood to {a['n_games']} games (logistic "
              f"regression, lowest source fixed at 0, 95% Wald intervals). {top['source']} ranked first "
              f"({top['wins']} wins in {top['games']} games; strength {top['strength']:.2f}, 95% interval "
              f"{lo:.2f} to {hi:.2f}, above {low['source']}).")
    return " ".join(p for p in (design, screening_sentence(setup), exclusion, result) if p)
