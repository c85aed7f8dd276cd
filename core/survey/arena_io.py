"""The arena responses layout (:mod:`core.survey.stats.arena`) in and out of CSV.

Row numbers in messages count the header as row 1, as a spreadsheet shows them.
"""

from __future__ import annotations

import pandas as pd

from core.errors import UserError
from core.survey.columns import parse_flags, parse_ms, row_of, screening_columns
from core.survey.responses import neutralise, restore
from core.survey.stats.arena import ARENA_COLUMNS, ARENA_REQUIRED

TEXT = ("participant", "source_a", "source_b", "winner", "clip_a", "clip_b", "expected_winner")


def validate_arena(df: pd.DataFrame, name: str = "the responses") -> pd.DataFrame:
    """Check and normalise an arena table of strings (as ``core.survey.responses.read_table`` gives it).

    UserError naming the row for: a missing column, no rows, an empty participant, source or winner, a game of
    a source against itself, a winner that is neither of the two sources, an expected_winner (catch trials)
    that is neither, and bad listening_ms, plays, is_catch or headphone_passed cells.
    """
    missing = [c for c in ARENA_REQUIRED if c not in df.columns]
    if missing:
        raise UserError(f"{name} is missing the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                        f"(an arena file needs {', '.join(ARENA_REQUIRED)}).")
    if df.empty:
        raise UserError(f"{name} has no responses: only a header.")
    df = df.reset_index(drop=True)
    for column in ARENA_REQUIRED:
        blank = df[column].eq("") | df[column].str.lower().isin(["nan", "na", "null", "none"])
        if blank.any():
            raise UserError(f"{name}: {column} is empty in row {row_of(blank)}.")
    out = pd.DataFrame({c: df[c].map(restore).replace("", None) for c in TEXT if c in df.columns})
    same = out["source_a"].eq(out["source_b"])
    if same.any():
        raise UserError(f"{name}: row {row_of(same)} pits source {out['source_a'][same.idxmax()]!r} against itself.")
    for column in ("winner", "expected_winner"):
        if column not in out:
            continue
        bad = out[column].notna() & ~out[column].eq(out["source_a"]) & ~out[column].eq(out["source_b"])
        if bad.any():
            i = bad.idxmax()
            raise UserError(f"{name}: {column} {out[column][i]!r} in row {row_of(bad)} is neither of the row's "
                            f"sources, {out['source_a'][i]!r} and {out['source_b'][i]!r}.")
    if "listening_ms" in df:
        out["listening_ms"] = parse_ms(df["listening_ms"], name)
    if "is_catch" in df:
        out["is_catch"] = parse_flags(df["is_catch"], name, "is_catch").fillna(False).astype(bool)
    screening_columns(df, out, name)
    return out[[c for c in ARENA_COLUMNS if c in out.columns]]


def arena_to_csv(df: pd.DataFrame) -> str:
    """The arena layout as CSV text, text cells neutralised; :func:`validate_arena` of it reads back equal."""
    out = df[[c for c in ARENA_COLUMNS if c in df.columns]].copy()
    for column in TEXT:
        if column in out:
            out[column] = out[column].map(lambda x: neutralise(str(x)) if pd.notna(x) else x)
    for column in ("is_catch", "headphone_passed"):
        if column in out:
            out[column] = out[column].map(lambda v: "" if pd.isna(v) else ("true" if v else "false"))
    return out.to_csv(index=False, lineterminator="\n")
