"""The 2AFC responses layout (:mod:`core.survey.stats.paired`) in and out of CSV, and reading either layout.

Row numbers in messages count the header as row 1, as a spreadsheet shows them.
"""

from __future__ import annotations

import io

import pandas as pd

from core.errors import UserError
from core.survey.columns import parse_flags, parse_ms, row_of, screening_columns
from core.survey.responses import Source, _name, _read_bytes, neutralise, read_survey_file, read_table, restore
from core.survey.stats.paired import PAIRED_COLUMNS, PAIRED_REQUIRED


def _positions(col: pd.Series, name: str, column: str) -> pd.Series:
    bad = ~col.isin(["1", "2", "1.0", "2.0"])
    if bad.any():
        value = col[bad.idxmax()]
        raise UserError(f"{name}: {column} {value!r} in row {row_of(bad)} is not 1 or 2 (the first or second clip).")
    return col.astype(float).astype(int)


def validate_pairs(df: pd.DataFrame, name: str = "the responses") -> pd.DataFrame:
    """Check and normalise a 2AFC table of strings (as ``core.survey.responses.read_table`` gives it).

    UserError naming the row for: a missing column, no rows, a blank participant or pair, a position other than
    1 or 2, a pair answered twice by one participant, a pair with two different human or machine clips or models,
    and bad listening_ms, plays, is_catch or headphone_passed cells.
    """
    missing = [c for c in PAIRED_REQUIRED if c not in df.columns]
    if missing:
        raise UserError(f"{name} is missing the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                        f"(a 2AFC file needs {', '.join(PAIRED_REQUIRED)}).")
    if df.empty:
        raise UserError(f"{name} has no responses: only a header.")
    df = df.reset_index(drop=True)
    for column in ("participant", "pair"):
        blank = df[column].eq("")
        if blank.any():
            raise UserError(f"{name}: {column} is empty in row {row_of(blank)}.")
    out = pd.DataFrame({"participant": df["participant"].map(restore), "pair": df["pair"].map(restore)})
    out["human_position"] = _positions(df["human_position"], name, "human_position")
    out["chosen_position"] = _positions(df["chosen_position"], name, "chosen_position")
    for column in ("human_clip", "machine_clip", "model"):
        if column in df:
            out[column] = df[column].map(restore).replace("", None)
    if "listening_ms" in df:
        out["listening_ms"] = parse_ms(df["listening_ms"], name)
    if "is_catch" in df:
        out["is_catch"] = parse_flags(df["is_catch"], name, "is_catch").fillna(False).astype(bool)
    screening_columns(df, out, name)
    twice = out.duplicated(["participant", "pair"], keep="first")
    if twice.any():
        first = out[twice].iloc[0]
        raise UserError(f"{name}: participant {first['participant']!r} answered pair {first['pair']!r} twice "
                        f"(row {row_of(twice)}).")
    for column in ("human_clip", "machine_clip", "model"):
        if column in out:
            per_pair = out.dropna(subset=[column]).groupby("pair")[column].nunique()
            if (per_pair > 1).any():
                pair = per_pair[per_pair > 1].index[0]
                row = row_of(out["pair"].eq(pair))
                raise UserError(f"{name}: pair {pair!r} has more than one {column} (row {row}).")
    return out[[c for c in PAIRED_COLUMNS if c in out.columns]]


def pairs_to_csv(df: pd.DataFrame) -> str:
    """The 2AFC layout as CSV text; :func:`validate_pairs` of it reads back equal."""
    out = df[[c for c in PAIRED_COLUMNS if c in df.columns]].copy()
    for column in ("participant", "pair", "human_clip", "machine_clip", "model"):
        if column in out:
            out[column] = out[column].map(lambda x: neutralise(str(x)) if pd.notna(x) else x)
    for column in ("is_catch", "headphone_passed"):
        if column in out:
            out[column] = out[column].map(lambda v: "" if pd.isna(v) else ("true" if v else "false"))
    return out.to_csv(index=False, lineterminator="\n")


def read_any(source: Source, key: Source | None = None) -> pd.DataFrame:
    """A responses CSV in whichever layout it has: arena when it has source_a, source_b or winner columns, 2AFC
    when it has human_position or chosen_position, else the long layout (or the wide one with an answer ``key``)."""
    buffer = io.BytesIO(_read_bytes(source))
    buffer.name = _name(source)
    if key is None:
        table = read_table(buffer)
        if {"source_a", "source_b", "winner"} & set(table.columns):
            from core.survey.arena_io import validate_arena

            return validate_arena(table, buffer.name)
        if "chosen_position" in table.columns or "human_position" in table.columns:
            return validate_pairs(table, buffer.name)
        buffer.seek(0)
    return read_survey_file(buffer, key)
