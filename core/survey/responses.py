"""Survey responses in and out of CSV: the long layout, the wide office-forms layout with an answer key, checks
that name the bad row or column, and exports that spreadsheets cannot execute.

Long layout: one row per response with the columns of :mod:`core.survey.stats.schema` (participant, clip, truth, vote
and/or rating, optional group, listening_ms, is_catch, age_band, musical_training, listening_habits, comment).

Wide layout (an office-forms export): one row per respondent and one column per clip, each cell a vote
("human" / "machine") or a rating (1-5); an optional participant column (else "id", else the row number), the
optional columns above by name, and anything else ignored. The answer key (clip, truth[, group]) says which
columns are clips and who made each.

Row numbers in messages count the header as row 1, as a spreadsheet shows them.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import IO

import pandas as pd

from core.errors import UserError
from core.survey.columns import screening_columns
from core.survey.stats.schema import ANSWERS, COLUMNS, DEMOGRAPHICS, PLATFORM_IDS, REQUIRED, TRUTHS

Source = str | Path | bytes | IO
TEXT_COLUMNS = ("participant", "clip", "group", *DEMOGRAPHICS, "comment", *PLATFORM_IDS)
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")
_BINARY_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\x1f\x8b", b"SQLite format")
_TRUE, _FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n", ""}


def neutralise(text: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR,
    after any quotes), so ``=HYPERLINK(...)`` in a comment stays text. :func:`restore` undoes it exactly."""
    return "'" + text if _FORMULA.match(text) else text


def restore(text: str) -> str:
    """Inverse of :func:`neutralise`: drop the one ``'`` it added."""
    return text[1:] if _ESCAPED.match(text) else text


def _name(source: Source) -> str:
    return Path(source).name if isinstance(source, str | Path) else getattr(source, "name", None) or "the file"


def _read_bytes(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise UserError(f"No such file: {path}.")
        return path.read_bytes()
    data = source.read()
    return data.encode() if isinstance(data, str) else data


def _decode(raw: bytes, name: str) -> str:
    """CSV bytes as text: UTF-16 with its byte-order mark, UTF-8 (with or without one), else Windows-1252."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if raw.startswith(_BINARY_MAGIC) or b"\x00" in raw[:4096]:
        raise UserError(f"{name} is not a CSV file (it looks like a binary file, e.g. a spreadsheet: save it as CSV).")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UserError(f"{name} is not a CSV text file (it is neither UTF-8 nor Windows-1252 text).")


def read_table(source: Source) -> pd.DataFrame:
    """Any CSV as strings (empty cells as ""), headers stripped and lower-cased; UserError if it is not CSV."""
    name, raw = _name(source), _read_bytes(source)
    text = _decode(raw, name)
    if not text.strip():
        raise UserError(f"{name} is empty: it has no header and no responses.")
    first_line = text.lstrip().splitlines()[0]
    delimiter = next((d for d in ",;\t" if d in first_line), ",")
    try:
        df = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, csv.Error) as exc:
        raise UserError(f"{name} is not a valid CSV file: {str(exc).strip().splitlines()[-1]}") from exc
    header = [c.strip().lower() for c in next(csv.reader(io.StringIO(text.lstrip()), delimiter=delimiter))]
    dupes = [c for i, c in enumerate(header) if c in header[:i]]
    if dupes:
        raise UserError(f"{name} has the column {dupes[0]!r} twice.")
    df.columns = [str(c).strip().lower() for c in df.columns]
    return df.apply(lambda col: col.str.strip())


def _rows(mask: pd.Series, limit: int = 3) -> str:
    rows = [str(i + 2) for i in mask[mask].index[:limit]]
    more = int(mask.sum()) - len(rows)
    return ", ".join(rows) + (f" and {more} more" if more > 0 else "")


def _parse_rating(col: pd.Series, name: str, column: str = "rating") -> pd.Series:
    numbers = pd.to_numeric(col.replace("", None), errors="coerce")
    bad_text = col.ne("") & numbers.isna()
    bad_range = numbers.notna() & ~numbers.isin([1, 2, 3, 4, 5])
    for mask in (bad_text, bad_range):
        if mask.any():
            first = mask.idxmax()
            raise UserError(
                f"{name}: rating {col[first]!r} in row {first + 2} (column {column!r}) is not a whole "
                f"number from 1 to 5 (rows {_rows(mask)})."
            )
    return numbers.astype("Int64")


def _parse_labels(col: pd.Series, name: str, column: str, allow_empty: bool) -> pd.Series:
    labels = col.str.lower()
    bad = ~labels.isin(TRUTHS) & ~(labels.eq("") & allow_empty)
    if bad.any():
        first = bad.idxmax()
        what = "empty" if col[first] == "" else f"{col[first]!r}"
        raise UserError(f"{name}: {column} {what} in row {first + 2} is not 'human' or 'machine' (rows {_rows(bad)}).")
    return labels.replace("", None)


def _check_columns(df: pd.DataFrame, name: str) -> None:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise UserError(
            f"{name} is missing the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(it needs participant, clip, truth and a vote and/or rating column; it has "
            f"{', '.join(df.columns) or 'none'})."
        )
    if not any(c in df.columns for c in ANSWERS):
        raise UserError(f"{name} has neither a vote nor a rating column.")
    if df.empty:
        raise UserError(f"{name} has no responses: only a header.")


def _check_consistent(df: pd.DataFrame, name: str) -> None:
    dup = df.duplicated(["participant", "clip"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise UserError(
            f"{name}: participant {first['participant']!r} answered clip {first['clip']!r} more than "
            f"once (rows {_rows(dup)})."
        )
    for column in ("truth", "group"):
        if column in df.columns:
            per_clip = df.dropna(subset=[column]).groupby("clip")[column].nunique()
            if (per_clip > 1).any():
                clip = per_clip[per_clip > 1].index[0]
                raise UserError(
                    f"{name}: clip {clip!r} has more than one {column} (rows {_rows(df['clip'].eq(clip))})."
                )


def validate_responses(df: pd.DataFrame, name: str = "the responses") -> pd.DataFrame:
    """Check and normalise a long-layout table of strings into the layout of :mod:`core.survey.stats.schema`.

    Raises UserError naming the row or column for: no rows, missing columns, a blank participant or clip,
    unknown truth or vote labels, ratings that are not whole numbers 1-5, a participant answering a clip twice,
    a clip with two truths or groups, bad is_catch or listening_ms values, and no answer at all. Rows with
    neither a vote nor a rating are not responses and are dropped. Text cells are :func:`restore`-d.
    """
    df = df.copy()
    _check_columns(df, name)
    df = df.reset_index(drop=True)
    for column in ("participant", "clip"):
        blank = df[column].eq("")
        if blank.any():
            raise UserError(f"{name}: {column} is empty in row {blank.idxmax() + 2} (rows {_rows(blank)}).")
    out = pd.DataFrame(index=df.index)
    out["truth"] = _parse_labels(df["truth"], name, "truth", allow_empty=False)
    out["vote"] = _parse_labels(df["vote"], name, "vote", allow_empty=True) if "vote" in df else None
    out["rating"] = _parse_rating(df["rating"], name) if "rating" in df else pd.array([pd.NA] * len(df), "Int64")
    for column in TEXT_COLUMNS:
        if column in df:
            out[column] = df[column].map(restore).replace("", None)
    if "listening_ms" in df:
        ms = pd.to_numeric(df["listening_ms"].replace("", None), errors="coerce")
        bad = (df["listening_ms"].ne("") & ms.isna()) | (ms < 0)
        if bad.any():
            raise UserError(
                f"{name}: listening_ms {df['listening_ms'][bad.idxmax()]!r} in row {bad.idxmax() + 2} "
                "is not a number of milliseconds."
            )
        out["listening_ms"] = ms.astype(float)
    if "is_catch" in df:
        flags = df["is_catch"].str.lower()
        bad = ~flags.isin(_TRUE | _FALSE)
        if bad.any():
            raise UserError(
                f"{name}: is_catch {df['is_catch'][bad.idxmax()]!r} in row {bad.idxmax() + 2} is not true or false."
            )
        out["is_catch"] = flags.isin(_TRUE)
    screening_columns(df, out, name)
    _check_consistent(out, name)
    answered = out["vote"].notna() | out["rating"].notna()
    if not answered.any():
        raise UserError(f"{name} has no votes and no ratings: every answer cell is empty.")
    out = out[answered].reset_index(drop=True)
    return out[[c for c in COLUMNS if c in out.columns]]


def read_responses(source: Source) -> pd.DataFrame:
    """Read and validate a long-layout CSV (path, bytes or file object)."""
    return validate_responses(read_table(source), _name(source))


def read_key(source: Source) -> pd.DataFrame:
    """Read an answer key: columns clip, truth and optionally group; one row per clip."""
    name, key = _name(source), read_table(source)
    missing = [c for c in ("clip", "truth") if c not in key.columns]
    if missing:
        raise UserError(f"The answer key {name} is missing the column {missing[0]} (it needs clip, truth[, group]).")
    if key.empty:
        raise UserError(f"The answer key {name} lists no clips.")
    key["truth"] = _parse_labels(key["truth"], f"the answer key {name}", "truth", allow_empty=False)
    dup = key["clip"].str.lower().duplicated(keep=False) | key["clip"].eq("")
    if dup.any():
        raise UserError(f"The answer key {name} has an empty or repeated clip in rows {_rows(dup)}.")
    return key[[c for c in ("clip", "truth", "group") if c in key.columns]]


def _wide_cell(value: str, name: str, row: int, column: str) -> tuple[str | None, int | None]:
    """A wide-layout cell as (vote, rating)."""
    low = value.lower()
    if low in TRUTHS:
        return low, None
    if low == "":
        return None, None
    if low in {"1", "2", "3", "4", "5", "1.0", "2.0", "3.0", "4.0", "5.0"}:
        return None, int(float(low))
    raise UserError(
        f"{name}: {value!r} in row {row + 2}, column {column!r} is neither a vote (human or machine) "
        "nor a rating from 1 to 5."
    )


def read_wide(source: Source, key_source: Source) -> pd.DataFrame:
    """Read an office-forms export (one row per respondent, one column per clip) with its answer key, and
    return the validated long layout. Clip columns match the key's clip names ignoring case and spaces at the
    ends; a key clip with no column is an error; empty cells are unanswered clips.
    """
    name, wide, key = _name(source), read_table(source), read_key(key_source)
    if wide.empty:
        raise UserError(f"{name} has no responses: only a header.")
    columns = {c.lower(): c for c in wide.columns}
    absent = [c for c in key["clip"] if c.lower() not in columns]
    if absent:
        raise UserError(
            f"{name} has no column for clip {absent[0]!r} of the answer key (its columns: {', '.join(wide.columns)})."
        )
    pid_col = next((c for c in ("participant", "id", "respondent") if c in wide.columns), None)
    pids = wide[pid_col] if pid_col else pd.Series([f"row {i + 2}" for i in wide.index], index=wide.index)
    dup = pids.duplicated(keep=False) | pids.eq("")
    if dup.any():
        raise UserError(f"{name}: the {pid_col} column is empty or repeated in rows {_rows(dup)}.")
    extra = [c for c in ("listening_ms", "is_catch", *DEMOGRAPHICS, "comment") if c in wide.columns]
    records = []
    for i, row in wide.iterrows():
        for _, k in key.iterrows():
            column = columns[k["clip"].lower()]
            vote, rating = _wide_cell(row[column], name, i, column)
            if vote is None and rating is None:
                continue
            records.append(
                {
                    "participant": pids[i],
                    "clip": k["clip"],
                    "truth": k["truth"],
                    "vote": vote or "",
                    "rating": "" if rating is None else str(rating),
                    "group": k.get("group", ""),
                    **{c: row[c] for c in extra},
                }
            )
    if not records:
        raise UserError(f"{name} has no votes and no ratings: every clip cell is empty.")
    long = pd.DataFrame(records).fillna("")
    return validate_responses(long, name)


def read_survey_file(source: Source, key: Source | None = None) -> pd.DataFrame:
    """The long layout from a long CSV, or from a wide CSV when an answer key is given."""
    return read_wide(source, key) if key is not None else read_responses(source)


def responses_to_csv(df: pd.DataFrame) -> str:
    """The long layout as CSV text, text cells :func:`neutralise`-d; :func:`read_responses` reads it back equal."""
    out = df[[c for c in COLUMNS if c in df.columns]].copy()
    for column in TEXT_COLUMNS:
        if column in out:
            out[column] = out[column].map(lambda x: neutralise(str(x)) if pd.notna(x) else x)
    if "is_catch" in out:
        out["is_catch"] = out["is_catch"].map({True: "true", False: "false"})
    if "headphone_passed" in out:
        out["headphone_passed"] = out["headphone_passed"].map(lambda v: "" if pd.isna(v) else str(bool(v)).lower())
    return out.to_csv(index=False, lineterminator="\n")


def database_responses(frame: pd.DataFrame) -> pd.DataFrame:
    """The survey database's responses in the analysed layout, through the CSV export and import.

    Going through :func:`responses_to_csv` and :func:`read_responses` means the dashboard, the CLI's
    ``--survey`` and a downloaded CSV always give the same figures.
    """
    return read_responses(responses_to_csv(frame).encode())

