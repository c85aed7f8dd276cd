"""Novelty: does a piece copy a run of notes from a corpus, and how much of it is borrowed?

A melody is read as a sequence of tokens, one per pair of consecutive notes: the pitch
interval from a note to the next (semitones) and the note's inter-onset interval (the time
to the next onset, in 1/48 quarter note). Intervals make the comparison
transposition-invariant and quarter notes make it tempo-invariant; titles, header fields and
key signatures play no part. Chords are read by their top note.

A corpus split is indexed once: a hash of every run of ``SEED_NOTES`` consecutive notes, sorted,
next to where it starts. Checking a piece looks its own runs up (``np.searchsorted``, no scan
of the corpus) and joins the hits that continue one another in the same corpus piece into the
longest shared passage. Indexes are cached on disk under :func:`core.paths.cache_dir`, keyed by
the corpus content hash, the split and this module's settings.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from core.data.corpus import SPLITS, Corpus, load_corpus
from core.data.notes import NoteTable, abc_book_to_midi, note_table
from core.errors import UserError
from core.paths import cache_dir

UNITS_PER_QUARTER = 48
"""Onsets are rounded to 1/48 of a quarter note: exact for sixteenths, triplets and 32nds."""
NGRAM_NOTES = 8
"""The n of ``shared_ngram_fraction``: runs of 8 notes (7 intervals)."""
SEED_NOTES = 6
"""The shortest run the index can find; shared runs shorter than this count as 0."""
DEFAULT_THRESHOLD_BARS = 2.0
MIN_COPY_NOTES = NGRAM_NOTES
"""A shared run shorter than this is never a copy, however many bars it spans: six-note figures
(a scale in half notes, a cadence) recur in unrelated songs of every collection."""
INDEX_VERSION = "novelty-1"
CORPUS_SPLITS = (*SPLITS, "all")
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_BASE = np.uint64(0x100000001B3)


def melody_tokens(table: NoteTable) -> tuple[np.ndarray, np.ndarray]:
    """Tokens and note onsets of a melody (the top note of each onset).

    Returns
    -------
    tokens : np.ndarray
        Shape (notes - 1,), int64: ``(interval + 128) << 20 | inter-onset interval``; the
        interval in semitones (clipped to +-127), the inter-onset interval in 1/48 quarter notes.
    onsets : np.ndarray
        Shape (notes,), int64: onset of each melody note in 1/48 quarter notes.
    """
    units = np.rint(table.onset * UNITS_PER_QUARTER).astype(np.int64)
    last = np.r_[units[1:] != units[:-1], True]  # sorted by (onset, pitch): the top note is last
    onsets, pitch = units[last], table.pitch[last]
    ioi = np.minimum(np.diff(onsets), (1 << 20) - 1)
    interval = np.clip(np.diff(pitch), -127, 127) + 128
    return (interval << 20) | ioi, onsets


def _hashes(tokens: np.ndarray, k: int) -> np.ndarray:
    """Rolling hash of every run of ``k`` tokens, shape (len - k + 1,), uint64."""
    z = tokens.astype(np.uint64) + _MIX[0]
    z = (z ^ (z >> np.uint64(30))) * _MIX[1]
    z = (z ^ (z >> np.uint64(27))) * _MIX[2]
    z = z ^ (z >> np.uint64(31))
    count = tokens.size - k + 1
    h = np.zeros(max(count, 0), dtype=np.uint64)
    for j in range(k):
        h = h * _BASE + z[j : j + count]
    return h


@dataclass(frozen=True)
class NoveltyIndex:
    """Hashed note runs of one corpus split.

    ``tokens``/``onsets`` hold every indexed piece end to end (``offsets[i]:offsets[i + 1]`` is
    piece i's tokens; ``onsets`` is aligned with ``tokens``: the onset of each token's first
    note, in 1/48 quarter notes). ``hashes`` is sorted; ``starts`` gives the token position
    where each hashed run begins.
    """

    corpus: str
    split: str
    content_hash: str
    hashes: np.ndarray
    starts: np.ndarray
    tokens: np.ndarray
    onsets: np.ndarray
    offsets: np.ndarray
    tune_ids: np.ndarray
    titles: tuple[str, ...]
    files: tuple[str, ...]
    bar_units: np.ndarray
    skipped: int

    @property
    def n_pieces(self) -> int:
        return len(self.titles)


def build_index(corpus: Corpus, split: str = "train") -> NoveltyIndex:
    """Index the melodies of one split (``"train"``, ``"valid"``, ``"test"`` or ``"all"``).

    Every tune goes through abc2midi (one run for the whole split), so corpus tunes are read
    exactly as generated tunes are, repeats expanded. Tunes abc2midi cannot play are counted
    in ``skipped``.
    """
    tunes = list(corpus.tunes) if split == "all" else corpus.split(_check_split(split))
    midis = abc_book_to_midi([t.to_abc() for t in tunes])
    toks, ons, offsets, ids, bars = [], [], [0], [], []
    for i, midi in enumerate(midis):
        if midi is None:
            continue
        table = note_table(midi)
        tokens, onsets = melody_tokens(table)
        if tokens.size < SEED_NOTES - 1:
            continue
        toks.append(tokens)
        ons.append(onsets[:-1])
        offsets.append(offsets[-1] + tokens.size)
        ids.append(i)
        bars.append(round(table.bar_quarters * UNITS_PER_QUARTER))
    k = SEED_NOTES - 1
    hashes, starts = [], []
    for start, tokens in zip(offsets, toks, strict=False):
        hashes.append(_hashes(tokens, k))
        starts.append(np.arange(start, start + tokens.size - k + 1, dtype=np.int64))
    all_hashes = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    all_starts = np.concatenate(starts) if starts else np.zeros(0, np.int64)
    order = np.argsort(all_hashes, kind="stable")
    return NoveltyIndex(
        corpus=corpus.name,
        split=split,
        content_hash=corpus.content_hash,
        hashes=all_hashes[order],
        starts=all_starts[order],
        tokens=np.concatenate(toks) if toks else np.zeros(0, np.int64),
        onsets=np.concatenate(ons) if ons else np.zeros(0, np.int64),
        offsets=np.array(offsets, dtype=np.int64),
        tune_ids=np.array(ids, dtype=np.int64),
        titles=tuple(tunes[i].title for i in ids),
        files=tuple(tunes[i].source for i in ids),
        bar_units=np.array(bars, dtype=np.int64),
        skipped=len(tunes) - len(ids),
    )


def _check_split(split: str) -> str:
    if split not in CORPUS_SPLITS:
        raise UserError(f"Unknown split {split!r}; choose one of {', '.join(CORPUS_SPLITS)}.")
    return split


def load_index(corpus: str | Corpus, split: str = "train") -> NoveltyIndex:
    """The index of a corpus split, built once and then read from the disk cache (milliseconds)."""
    _check_split(split)
    corpus = load_corpus(corpus) if isinstance(corpus, str) else corpus
    path = _index_path(corpus.content_hash, split)
    index = _read_index(path, corpus)
    if index is None:
        index = build_index(corpus, split)
        _write_index(path, index)
    return index


def _index_path(content_hash: str, split: str) -> Path:
    key = f"{INDEX_VERSION}|{content_hash}|{split}|{SEED_NOTES}|{UNITS_PER_QUARTER}"
    return cache_dir() / f"novelty-{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"


_ARRAYS = ("hashes", "starts", "tokens", "onsets", "offsets", "tune_ids", "bar_units")


def _write_index(path: Path, index: NoveltyIndex) -> None:
    meta = {k: getattr(index, k) for k in ("corpus", "split", "content_hash", "titles", "files", "skipped")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # two processes may build at once
        np.savez(tmp, meta=np.array(json.dumps(meta)), **{k: getattr(index, k) for k in _ARRAYS})
        tmp.replace(path)
    except OSError:
        pass  # a read-only data folder only costs the cache


def _read_index(path: Path, corpus: Corpus) -> NoveltyIndex | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in _ARRAYS}
    except (OSError, ValueError, KeyError):
        return None
    if meta["content_hash"] != corpus.content_hash:
        return None
    meta["titles"], meta["files"] = tuple(meta["titles"]), tuple(meta["files"])
    return NoveltyIndex(**meta, **arrays)


@dataclass(frozen=True)
class NoveltyResult:
    """What :func:`check_novelty` found; bars and notes are 1-based, counted from the first note."""

    verdict: str  # "copies" or "novel"
    longest_shared_notes: int  # notes in the longest shared run (0: none of SEED_NOTES or more)
    shared_bars: float  # that run's length in bars of the checked piece
    shared_ngram_fraction: float  # share of the piece's 8-note runs found in the corpus
    ngrams: int  # how many 8-note runs the piece has
    threshold_bars: float
    corpus: str
    split: str
    source_piece: str | None = None  # title of the corpus piece the run is shared with
    source_file: str | None = None
    source_tune: int | None = None  # its position in the corpus split
    piece_note: int | None = None  # where the run starts in the checked piece
    piece_bar: int | None = None
    source_note: int | None = None  # and in the corpus piece
    source_bar: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def check_threshold(threshold_bars: float) -> float:
    """The copy threshold must be a positive number of bars (at most 1000); raises UserError."""
    if not 0 < threshold_bars <= 1000:
        raise UserError(f"The copy threshold must be a positive number of bars, not {threshold_bars}.")
    return float(threshold_bars)


def check_novelty(
    midi: pretty_midi.PrettyMIDI, index: NoveltyIndex, threshold_bars: float = DEFAULT_THRESHOLD_BARS
) -> NoveltyResult:
    """Longest run of notes ``midi`` shares with one piece of ``index``, and the verdict.

    The run is the longest in bars among runs of at least ``MIN_COPY_NOTES`` notes (among all runs
    when there is none; ties: more notes); its length counts from the onset of its
    first note to the onset after its last, in the checked piece's bars. The verdict is
    ``"copies"`` when that length is at least ``threshold_bars`` and the run has at least
    ``MIN_COPY_NOTES`` notes.

    Raises
    ------
    UserError
        For a piece with no notes, only drums, or fewer than ``NGRAM_NOTES`` melody notes, and
        for a threshold that is not a positive number of bars.
    """
    check_threshold(threshold_bars)
    table = note_table(midi)
    tokens, onsets = melody_tokens(table)
    if onsets.size < NGRAM_NOTES:
        noun = "note" if onsets.size == 1 else "notes"
        raise UserError(
            f"The piece has {onsets.size} {noun}; the novelty check needs at least {NGRAM_NOTES} in its melody."
        )
    bar_units = max(1, round(table.bar_quarters * UNITS_PER_QUARTER))
    table_end = int(np.rint(table.end.max() * UNITS_PER_QUARTER))
    runs = _shared_runs(tokens, index)  # (query start, corpus start, tokens matched)
    n_grams = tokens.size - NGRAM_NOTES + 2
    base = dict(
        shared_ngram_fraction=_ngram_fraction(runs, n_grams),
        ngrams=int(n_grams),
        threshold_bars=float(threshold_bars),
        corpus=index.corpus,
        split=index.split,
    )
    if runs.size == 0:
        return NoveltyResult("novel", 0, 0.0, **base)
    next_onset = np.r_[onsets, max(table_end, int(onsets[-1]))]  # the piece's end follows its last note
    span_end = next_onset[runs[:, 0] + runs[:, 2] + 1]  # the onset after the run's last note
    bars = (span_end - onsets[runs[:, 0]]) / bar_units
    eligible = runs[:, 2] + 1 >= MIN_COPY_NOTES
    best = int(np.lexsort((-runs[:, 2], -bars, ~eligible))[0])
    q, g, m = (int(v) for v in runs[best])
    piece = int(np.searchsorted(index.offsets, g, side="right") - 1)
    local = g - int(index.offsets[piece])
    corpus_onset = int(index.onsets[g] - index.onsets[index.offsets[piece]])
    return NoveltyResult(
        verdict="copies" if bars[best] >= threshold_bars - 1e-9 and m + 1 >= MIN_COPY_NOTES else "novel",
        longest_shared_notes=m + 1,
        shared_bars=round(float(bars[best]), 3),
        source_piece=index.titles[piece],
        source_file=index.files[piece] or None,
        source_tune=int(index.tune_ids[piece]),
        piece_note=q + 1,
        piece_bar=int((onsets[q] - onsets[0]) // bar_units) + 1,
        source_note=local + 1,
        source_bar=int(corpus_onset // int(index.bar_units[piece])) + 1,
        **base,
    )


def _ngram_fraction(runs: np.ndarray, n_grams: int) -> float:
    """Share of the query's ``NGRAM_NOTES``-note runs that lie inside some shared run."""
    ngram_tokens = NGRAM_NOTES - 1
    covered = np.zeros(n_grams + 1, dtype=np.int64)
    long_runs = runs[runs[:, 2] >= ngram_tokens]
    np.add.at(covered, long_runs[:, 0], 1)  # +1 where a run's first n-gram starts, -1 after its last
    np.add.at(covered, long_runs[:, 0] + long_runs[:, 2] - ngram_tokens + 1, -1)
    return float(np.count_nonzero(np.cumsum(covered)[:n_grams]) / n_grams)


def _shared_runs(tokens: np.ndarray, index: NoveltyIndex) -> np.ndarray:
    """Maximal shared runs, shape (runs, 3): query token start, corpus token start, tokens.

    Each seed hit (a query run of ``SEED_NOTES`` notes found at a corpus position) lies on a
    diagonal ``corpus - query``; consecutive hits on one diagonal are one longer shared run.
    """
    k = SEED_NOTES - 1
    if tokens.size < k or index.hashes.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    h = _hashes(tokens, k)
    lo = np.searchsorted(index.hashes, h, side="left")
    hi = np.searchsorted(index.hashes, h, side="right")
    counts = hi - lo
    total = int(counts.sum())
    if total == 0:
        return np.zeros((0, 3), dtype=np.int64)
    q = np.repeat(np.arange(h.size, dtype=np.int64), counts)
    first = np.repeat(lo - np.cumsum(counts) + counts, counts)
    g = index.starts[first + np.arange(total)]
    diag = g - q
    order = np.lexsort((q, diag))
    q, diag = q[order], diag[order]
    new_run = np.r_[True, (diag[1:] != diag[:-1]) | (q[1:] != q[:-1] + 1)]
    run_id = np.cumsum(new_run) - 1
    starts = np.flatnonzero(new_run)
    lengths = np.bincount(run_id) + k - 1
    return np.stack([q[starts], q[starts] + diag[starts], lengths], axis=1)
