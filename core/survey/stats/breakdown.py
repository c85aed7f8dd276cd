"""Per participant and per demographic answer: accuracy distributions, exclusions, breakdowns."""

from __future__ import annotations

import pandas as pd
from scipy.stats import kruskal, ttest_1samp

from core.errors import UserError
from core.survey.stats.binary import Correction, signal_detection, wilson_interval
from core.survey.stats.schema import DEMOGRAPHICS, HUMAN, MACHINE, number, ratings, votes


def participant_table(df: pd.DataFrame, correction: Correction = "1/2N") -> pd.DataFrame:
    """One row per participant: n_votes, correct, accuracy, hit_rate, false_alarm_rate, d_prime, criterion
    (as :func:`core.survey.stats.binary.signal_detection` on their own votes), n_ratings, rating_mean,
    failed_catch (see :func:`failed_catch`; False without catch clips), median_listening_ms (NaN without
    timings) and their demographic answers where the data has them. Catch clips count only in failed_catch.
    """
    failed = failed_catch(df)
    rows = []
    for pid, d in df.groupby("participant", sort=False):
        v = votes(d)
        sdt = signal_detection(d, correction)
        rated = ratings(d)["rating"] if "rating" in d else pd.Series(dtype=float)
        row = {"participant": pid, "n_votes": len(v), "correct": int((v["vote"] == v["truth"]).sum()) if len(v) else 0}
        row["accuracy"] = row["correct"] / len(v) if len(v) else float("nan")
        for key in ("hit_rate", "false_alarm_rate", "d_prime", "criterion"):
            row[key] = sdt[key] if sdt[key] is not None else float("nan")
        row.update(
            n_ratings=len(rated),
            rating_mean=float(rated.astype(float).mean()) if len(rated) else float("nan"),
            failed_catch=bool(failed.get(pid, False)),
        )
        timing = d["listening_ms"].dropna() if "listening_ms" in d else pd.Series(dtype=float)
        row["median_listening_ms"] = float(timing.median()) if len(timing) else float("nan")
        for col in DEMOGRAPHICS:
            if col in d:
                answers = d[col].dropna()
                row[col] = answers.iloc[0] if len(answers) else None
        rows.append(row)
    return pd.DataFrame(rows)


def failed_catch(df: pd.DataFrame) -> dict[str, bool]:
    """Participant -> whether they failed an attention-check clip (``is_catch``).

    A catch response fails when its vote is wrong, or, without a vote, when its rating sits on the wrong side
    (4-5 for a human clip, 1-2 for a machine clip). Participants who answered no catch clip are absent.
    """
    if "is_catch" not in df.columns:
        return {}
    catch = df[df["is_catch"].fillna(False).astype(bool)]
    out: dict[str, bool] = {}
    for pid, d in catch.groupby("participant", sort=False):
        vote = d["vote"] if "vote" in d else pd.Series(pd.NA, index=d.index)
        rating = d["rating"] if "rating" in d else pd.Series(pd.NA, index=d.index)
        wrong_vote = vote.notna() & (vote != d["truth"])
        no_vote = vote.isna() & rating.notna()
        wrong_rating = no_vote & (
            ((d["truth"] == HUMAN) & (rating.fillna(3) >= 4)) | ((d["truth"] == MACHINE) & (rating.fillna(3) <= 2))
        )
        out[pid] = bool((wrong_vote | wrong_rating).any())
    return out


def check_min_listening(ms: float | None) -> None:
    """A minimum listening time is None (off) or 0 to one hour in milliseconds; UserError otherwise (NaN too)."""
    if ms is not None and not 0 <= ms <= 3_600_000:
        raise UserError(f"The minimum listening time must be 0 to 3,600,000 ms, not {ms}.")


def exclusions(
    df: pd.DataFrame, drop_failed_catch: bool = True, min_listening_ms: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave out participants who failed a catch clip and/or answered too fast.

    Too fast: the median of their listening_ms is below ``min_listening_ms`` (ignored when the data has no
    timings). Returns (the remaining responses, a table of participant and reason for each one left out).
    """
    check_min_listening(min_listening_ms)
    reasons: dict[str, list[str]] = {}
    if drop_failed_catch:
        for pid, failed in failed_catch(df).items():
            if failed:
                reasons.setdefault(pid, []).append("failed a catch clip")
    if min_listening_ms is not None and "listening_ms" in df.columns:
        medians = df.groupby("participant")["listening_ms"].median()
        for pid, ms in medians.items():
            if pd.notna(ms) and ms < min_listening_ms:
                reasons.setdefault(pid, []).append(f"median listening time {ms:.0f} ms < {min_listening_ms:.0f} ms")
    excluded = pd.DataFrame(
        [{"participant": p, "reason": "; ".join(r)} for p, r in reasons.items()], columns=["participant", "reason"]
    )
    return df[~df["participant"].isin(reasons)], excluded


def accuracy_distribution(table: pd.DataFrame) -> dict:
    """Summary of per-participant accuracy (from :func:`participant_table`), participants as the units.

    n (participants with votes), mean, sd (ddof=1), median, min, max, and a one-sample t-test of the
    accuracies against 0.5 (t, p_value, two-sided): unlike the pooled binomial test, it does not treat ten
    votes by one listener as ten independent listeners. Statistics that need more participants are None.
    """
    acc = table["accuracy"].dropna().astype(float) if len(table) else pd.Series(dtype=float)
    n = len(acc)
    out = {
        "n": n,
        "mean": number(acc.mean()) if n else None,
        "sd": number(acc.std(ddof=1)) if n > 1 else None,
        "median": number(acc.median()) if n else None,
        "min": number(acc.min()) if n else None,
        "max": number(acc.max()) if n else None,
        "t": None,
        "p_value": None,
    }
    if n > 1 and acc.nunique() > 1:
        res = ttest_1samp(acc, 0.5)
        out.update(t=float(res.statistic), p_value=float(res.pvalue))
    return out


def accuracy_by(df: pd.DataFrame, column: str) -> pd.DataFrame | None:
    """Accuracy per answer to a demographic question (e.g. ``musical_training``), pooled over votes.

    Columns: level, participants, n_votes, correct, accuracy, ci95_lo, ci95_hi (Wilson), d_prime, criterion.
    Rows without an answer are left out. None when the data has no such column or no answer in it.
    """
    if column not in df.columns or not df[column].notna().any():
        return None
    rows = []
    for level, d in df[df[column].notna()].groupby(column, sort=True):
        v = votes(d)
        k = int((v["vote"] == v["truth"]).sum())
        ci = wilson_interval(k, len(v)) or (float("nan"), float("nan"))
        sdt = signal_detection(d)
        rows.append(
            {
                "level": level,
                "participants": d["participant"].nunique(),
                "n_votes": len(v),
                "correct": k,
                "accuracy": k / len(v) if len(v) else float("nan"),
                "ci95_lo": ci[0],
                "ci95_hi": ci[1],
                "d_prime": number(sdt["d_prime"]),
                "criterion": number(sdt["criterion"]),
            }
        )
    return pd.DataFrame(rows)


def accuracy_by_test(df: pd.DataFrame, column: str) -> dict | None:
    """Kruskal-Wallis test of per-participant accuracy across the answers to ``column``.

    Participants are the units (their votes are not independent of one another). Returns k (levels with
    voting participants), n (participants), h, p_value, or None with fewer than two levels; h and p_value are
    None when every accuracy is the same.
    """
    if column not in df.columns:
        return None
    table = participant_table(df).dropna(subset=["accuracy"])
    table = table[table[column].notna()]
    groups = [g["accuracy"].astype(float) for _, g in table.groupby(column, sort=True)]
    if len(groups) < 2:
        return None
    out = {"k": len(groups), "n": len(table), "h": None, "p_value": None}
    if table["accuracy"].nunique() > 1:
        res = kruskal(*groups)
        out.update(h=float(res.statistic), p_value=float(res.pvalue))
    return out
