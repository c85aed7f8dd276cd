"""The responses layout every statistic reads, and small helpers shared by the statistics modules.

One row per response::

    participant  str     who answered
    clip         str     which clip
    truth        str     "human" | "machine": who really made the clip
    vote         str     "human" | "machine", or missing when only a rating was asked
    rating       Int64   1-5 (1 = surely human, 5 = surely machine), or missing
    group        str     optional: the model that made a machine clip, the corpus of a human clip
    listening_ms float   optional: how long the participant listened before answering (milliseconds)
    is_catch     bool    optional: an attention-check clip, left out of every statistic
    plays        Int64   optional: how often the participant pressed Play on the clip
    headphone_passed  boolean  optional: whether the participant passed the headphone check (Woods et al. 2017)
    age_band, musical_training, listening_habits   optional demographic answers (str)
    comment      str     optional free text

``core.survey_io.validate_responses`` turns user files into this layout; the statistics assume it.
"""

from __future__ import annotations

import math

import pandas as pd

HUMAN = "human"
MACHINE = "machine"
TRUTHS = (HUMAN, MACHINE)
REQUIRED = ("participant", "clip", "truth")
ANSWERS = ("vote", "rating")
DEMOGRAPHICS = ("age_band", "musical_training", "listening_habits")
PLATFORM_IDS = ("platform", "platform_id", "study_id", "session_id")
"""Recruitment platform ids (Prolific, MTurk or a generic pid) of each participant, kept with the responses."""
OPTIONAL = ("group", "listening_ms", "is_catch", "plays", "headphone_passed", *DEMOGRAPHICS, "comment", *PLATFORM_IDS,
            "preregistered_margin")
COLUMNS = (*REQUIRED, *ANSWERS, *OPTIONAL)
NATURAL_RATINGS = (1, 2)  # "perceived as natural": the R5 report's share of ratings 1 or 2


def votes(df: pd.DataFrame) -> pd.DataFrame:
    """The rows that carry a binary vote (catch clips left out)."""
    if "vote" not in df.columns:
        return df.iloc[0:0]
    return analysed(df)[lambda d: d["vote"].notna()]


def ratings(df: pd.DataFrame) -> pd.DataFrame:
    """The rows that carry a 1-5 rating (catch clips left out)."""
    if "rating" not in df.columns:
        return df.iloc[0:0]
    return analysed(df)[lambda d: d["rating"].notna()]


def analysed(df: pd.DataFrame) -> pd.DataFrame:
    """All rows except attention-check (catch) clips, which no statistic counts."""
    if "is_catch" in df.columns:
        return df[~df["is_catch"].fillna(False).astype(bool)]
    return df


def has_groups(df: pd.DataFrame) -> bool:
    return "group" in df.columns and bool(df["group"].notna().any())


def number(value: float | int | None) -> float | None:
    """A float for JSON: None for missing, NaN or infinite values (never a made-up number)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def share(count: int, n: int) -> float | None:
    """count / n, or None when n is 0."""
    return count / n if n else None
