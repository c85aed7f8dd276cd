"""Cell parsers shared by the responses layouts: true/false flags, counts, milliseconds, and the screening
columns either layout may carry (plays: how often the clip was played; headphone_passed: the headphone check).

Row numbers in messages count the header as row 1, as a spreadsheet shows them.
"""

from __future__ import annotations

import pandas as pd

from core.errors import UserError

_TRUE, _FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n"}
MAX_PLAYS = 1000


def row_of(mask: pd.Series) -> int:
    """The spreadsheet row of the first True in ``mask``."""
    return int(mask.idxmax()) + 2


def parse_flags(col: pd.Series, name: str, column: str) -> pd.Series:
    """true/false cells (also 1/0, yes/no) as a nullable boolean; empty cells missing."""
    low = col.str.lower()
    bad = low.ne("") & ~low.isin(_TRUE | _FALSE)
    if bad.any():
        raise UserError(f"{name}: {column} {col[bad.idxmax()]!r} in row {row_of(bad)} is not true or false.")
    return low.map(lambda v: True if v in _TRUE else (False if v in _FALSE else pd.NA)).astype("boolean")


def parse_counts(col: pd.Series, name: str, column: str = "plays") -> pd.Series:
    """Whole numbers 0-1000 (how often a clip was played); empty cells missing."""
    values = pd.to_numeric(col.replace("", None), errors="coerce")
    bad = col.ne("") & (values.isna() | (values < 0) | (values > MAX_PLAYS) | (values % 1 != 0))
    if bad.any():
        raise UserError(f"{name}: {column} {col[bad.idxmax()]!r} in row {row_of(bad)} is not a whole number "
                        f"from 0 to {MAX_PLAYS}.")
    return values.astype("Int64")


def parse_ms(col: pd.Series, name: str) -> pd.Series:
    """Milliseconds (0 or more); empty cells missing."""
    ms = pd.to_numeric(col.replace("", None), errors="coerce")
    bad = (col.ne("") & ms.isna()) | (ms < 0)
    if bad.any():
        raise UserError(f"{name}: listening_ms {col[bad.idxmax()]!r} in row {row_of(bad)} is not a number of "
                        "milliseconds.")
    return ms.astype(float)


def screening_columns(df: pd.DataFrame, out: pd.DataFrame, name: str) -> None:
    """Parse the optional plays and headphone_passed columns of ``df`` into ``out`` (either layout)."""
    if "plays" in df:
        out["plays"] = parse_counts(df["plays"], name)
    if "headphone_passed" in df:
        out["headphone_passed"] = parse_flags(df["headphone_passed"], name, "headphone_passed")
    if "preregistered_margin" in df:
        out["preregistered_margin"] = parse_margin(df["preregistered_margin"], name)


def parse_margin(col: pd.Series, name: str) -> pd.Series:
    """The survey's pre-registered equivalence margin, one number in every row (blank: none)."""
    values = pd.to_numeric(col.replace("", None), errors="coerce")
    bad = values.isna() & col.ne("") | ~values.isna() & ~values.between(0, 0.5, inclusive="neither")
    if bad.any():
        raise UserError(f"{name}: preregistered_margin {col[bad.idxmax()]!r} in row {row_of(bad)} is not a margin "
                        "between 0 and 0.5.")
    if values.dropna().nunique() > 1:
        raise UserError(f"{name}: preregistered_margin differs between rows; a survey has one margin.")
    return values.astype(float)
