"""Screening: who failed which check, and the one exclusion the CLI and the Results page both apply.

Checks, per participant: a catch clip, catch pair or catch game (arena) answered wrongly; the headphone check
failed (Woods et al. 2017, in the ``headphone_passed`` column); a median listening time under a minimum; answers
given without pressing Play (``plays`` = 0); straight-lining (the same answer in every trial: "first" every time
in 2AFC or the arena, "a person" every time, or one rating throughout, over at least four answers); and, for the
single-clip design with both questions, a vote that contradicts the rating (a person, yet 4-5 "surely a
computer"; a computer, yet 1-2 "surely a person").
"""

from __future__ import annotations

import pandas as pd

from core.survey.stats.arena import failed_catch_arena, is_arena
from core.survey.stats.breakdown import failed_catch
from core.survey.stats.paired import failed_catch_pairs, is_paired
from core.survey.stats.schema import HUMAN, MACHINE, analysed

CHECK_COLUMNS = ("participant", "answers", "failed_catch", "failed_headphones", "median_listening_ms", "too_fast",
                 "not_played", "straight_lining", "contradictions", "excluded")
STRAIGHT_MIN = 4
"""Answers needed before one answer throughout counts as straight-lining (by chance: 2 x 0.5^4 = 12.5% at 4)."""


def straight_lining(answers: pd.DataFrame) -> bool:
    """Whether one participant's analysed answers (catch left out) are all the same, over STRAIGHT_MIN or more:
    the chosen position in 2AFC, the side (first or second clip) in the arena, else the vote, else the rating."""
    if is_arena(answers):
        return len(answers) >= STRAIGHT_MIN and (answers["winner"] == answers["source_a"]).nunique() == 1
    column = next((c for c in ("chosen_position", "vote", "rating") if c in answers and answers[c].notna().any()), None)
    if column is None:
        return False
    given = answers[column].dropna()
    return len(given) >= STRAIGHT_MIN and given.nunique() == 1


def contradictions(df: pd.DataFrame) -> pd.Series:
    """True on each single-design answer whose vote and rating disagree (catch clips included)."""
    if is_paired(df) or "vote" not in df.columns or "rating" not in df.columns:
        return pd.Series(False, index=df.index)
    rating = df["rating"].astype("Float64")
    human_but_sure_machine = (df["vote"] == HUMAN) & (rating >= 4)
    machine_but_sure_human = (df["vote"] == MACHINE) & (rating <= 2)
    return (human_but_sure_machine | machine_but_sure_human).fillna(False).astype(bool)


def _headphones(df: pd.DataFrame) -> dict[str, bool]:
    if "headphone_passed" not in df.columns:
        return {}
    known = df.dropna(subset=["headphone_passed"])
    return {str(p): not bool(g["headphone_passed"].astype(bool).all()) for p, g in known.groupby("participant")}


def check_table(
    df: pd.DataFrame, catch: bool = True, headphones: bool = True, min_listening_ms: float | None = None
) -> pd.DataFrame:
    """One row per participant: answers (catch left out), failed_catch and failed_headphones (None when the
    check was not given), median_listening_ms, too_fast (below ``min_listening_ms``), not_played (answers with
    plays = 0), contradictions (vote against rating), and excluded: whether the chosen checks (``catch``,
    ``headphones``, ``min_listening_ms``) leave the participant out. Contradictions, unplayed clips and
    straight-lining are shown, never used to exclude: a researcher decides what they mean.
    """
    caught = failed_catch_arena(df) if is_arena(df) else failed_catch_pairs(df) if is_paired(df) else failed_catch(df)
    phones = _headphones(df)
    flags = contradictions(df)
    rows = []
    for pid, d in df.groupby("participant", sort=False):
        pid = str(pid)
        timing = d["listening_ms"].dropna() if "listening_ms" in d else pd.Series(dtype=float)
        median = float(timing.median()) if len(timing) else None
        too_fast = min_listening_ms is not None and median is not None and median < min_listening_ms
        plays = d["plays"].dropna() if "plays" in d else pd.Series(dtype=float)
        row = {"participant": pid, "answers": len(analysed(d)), "failed_catch": caught.get(pid),
               "failed_headphones": phones.get(pid), "median_listening_ms": median, "too_fast": bool(too_fast),
               "not_played": int((plays == 0).sum()), "straight_lining": straight_lining(analysed(d)),
               "contradictions": int(flags[d.index].sum())}
        row["excluded"] = bool((catch and row["failed_catch"]) or (headphones and row["failed_headphones"])
                               or too_fast)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))


def _reasons(row: pd.Series, catch: bool, headphones: bool, min_listening_ms: float | None) -> str:
    out = []
    if catch and row["failed_catch"]:
        out.append("failed a catch clip")
    if headphones and row["failed_headphones"]:
        out.append("failed the headphone check")
    if row["too_fast"]:
        out.append(f"median listening time {row['median_listening_ms']:.0f} ms < {min_listening_ms:.0f} ms")
    return "; ".join(out)


def exclude_failed(
    df: pd.DataFrame, catch: bool = True, headphones: bool = True, min_listening_ms: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The responses without the participants :func:`check_table` marks excluded, and a table of participant
    and reason for each one left out. Either layout."""
    table = check_table(df, catch, headphones, min_listening_ms)
    out = table[table["excluded"]]
    excluded = pd.DataFrame({"participant": out["participant"],
                             "reason": [_reasons(r, catch, headphones, min_listening_ms) for _, r in out.iterrows()]},
                            columns=["participant", "reason"]).reset_index(drop=True)
    return df[~df["participant"].astype(str).isin(set(out["participant"]))], excluded
