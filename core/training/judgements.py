"""Listeners' judgements as training data: a CSV of pairs or of single votes (or a survey's, see
:mod:`survey_db.judgements`), checked row by row before any training starts.

- ``chosen_abc,rejected_abc``: one pair a row, the preferred tune first (DPO; KTO reads each pair as one
  good and one other tune);
- ``abc,label``: one vote a row, label 1 when the tune was judged good (human-like, preferred), 0 when not
  (KTO).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import UserError

MAX_FILE_BYTES = 20_000_000
MAX_ROWS = 20_000
MAX_TUNE_CHARS = 6_000
PAIR_COLUMNS = ("chosen_abc", "rejected_abc")
VOTE_COLUMNS = ("abc", "label")


@dataclass
class Judgements:
    """What listeners said: pairs (preferred, other) for DPO, or (tune, 1 good / 0 not) for KTO."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    votes: list[tuple[str, int]] = field(default_factory=list)
    source: dict = field(default_factory=dict)  # {"csv": name, "sha256": ...} or {"survey": id}

    def for_method(self, method: str) -> Judgements:
        """The judgements a method trains on: KTO reads a pair as one good and one other tune."""
        if method == "dpo" and not self.pairs:
            raise UserError("DPO learns from pairs (chosen_abc, rejected_abc); these judgements are single "
                            "votes: train with --method kto.")
        if method == "kto" and not self.votes:
            votes = [(tune, label) for pair in self.pairs for tune, label in zip(pair, (1, 0), strict=True)]
            return Judgements(self.pairs, votes, self.source)
        return self

    @property
    def count(self) -> int:
        return len(self.pairs) or len(self.votes)


def read_judgements_csv(path: str | Path) -> Judgements:
    """A judgements CSV (its layout known by its columns); one sentence naming the row for any bad row."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise UserError(f"No judgements file at {path}.")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise UserError(f"{path.name} is {path.stat().st_size:,} bytes; at most {MAX_FILE_BYTES:,} are read.")
    data = path.read_bytes()
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, nrows=MAX_ROWS + 1)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise UserError(f"{path.name} is not a readable CSV ({str(exc).splitlines()[0]}).") from None
    if len(frame) > MAX_ROWS:
        raise UserError(f"{path.name} has more than {MAX_ROWS:,} rows; split it.")
    if frame.empty:
        raise UserError(f"{path.name} has no rows.")
    columns = set(frame.columns)
    source = {"csv": path.name, "sha256": hashlib.sha256(data).hexdigest()[:16]}
    if set(PAIR_COLUMNS) <= columns:
        pairs = [(_tune(r, row, "chosen_abc"), _tune(r, row, "rejected_abc"))
                 for r, row in enumerate(frame.to_dict("records"), start=2)]
        return Judgements(pairs=pairs, source=source)
    if set(VOTE_COLUMNS) <= columns:
        votes = [(_tune(r, row, "abc"), _label(r, row)) for r, row in enumerate(frame.to_dict("records"), start=2)]
        return Judgements(votes=votes, source=source)
    raise UserError(f"{path.name} needs the columns chosen_abc,rejected_abc (pairs) or abc,label (votes); "
                    f"it has {', '.join(frame.columns) or 'none'}.")


def _tune(r: int, row: dict, column: str) -> str:
    text = row[column].strip()
    if not text:
        raise UserError(f"Row {r}: {column} is empty.")
    if len(text) > MAX_TUNE_CHARS:
        raise UserError(f"Row {r}: {column} has {len(text):,} characters; at most {MAX_TUNE_CHARS:,}.")
    if "K:" not in text:
        raise UserError(f"Row {r}: {column} is not an ABC tune (no K: line).")
    return text


def _label(r: int, row: dict) -> int:
    label = row["label"].strip()
    if label not in ("0", "1"):
        raise UserError(f"Row {r}: label must be 1 (judged good) or 0 (not), not {label!r}.")
    return int(label)
