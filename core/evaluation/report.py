"""Evaluation results in the words and pictures the pages show: one-sentence novelty verdicts,
table rows per model, and a copied passage cut from both pieces for a side-by-side look.

Pure functions of :mod:`core.evaluation.samples` and :mod:`core.evaluation.novelty` results (the copy example
reads the source tune back from its corpus).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pretty_midi

from core.data.corpus import load_corpus
from core.data.notes import note_table
from core.data.piece import Piece
from core.evaluation.metrics import NOTE_LENGTH_NAMES, PITCH_CLASS_NAMES
from core.evaluation.novelty import NGRAM_NOTES, UNITS_PER_QUARTER, NoveltyResult
from core.evaluation.samples import Evaluation, Sample

CONTEXT_S = 0.0
"""Seconds of music kept on each side of a shared passage in the excerpts (none: the two pictures
then show the same notes, so the eye finds the copy at once)."""


def describe(result: NoveltyResult) -> str:
    """One sentence: the verdict, the longest shared run and where it comes from."""
    share = f"{result.shared_ngram_fraction:.0%} of its {NGRAM_NOTES}-note runs occur in the {result.split} tunes"
    if result.source_piece is None:
        return f"Novel: it shares no run of notes with the {result.split} tunes of {result.corpus}; {share}."
    run = f"{result.longest_shared_notes} notes ({result.shared_bars:g} bars)"
    where = f"“{result.source_piece}” (its bar {result.source_bar}; bar {result.piece_bar} here)"
    if result.verdict == "copies":
        return f"Copies {run} of {where}, at least {result.threshold_bars:g} bars; {share}."
    return f"Novel: its longest run shared with a {result.split} tune is {run}, in {where}; {share}."


def _rate(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(value, 4)


def summary_row(ev: Evaluation) -> dict:
    """The Evaluate page's table row: validity, novelty and metric overlap of one set (shares in [0, 1])."""
    v, n, c = ev.validity, ev.novelty, ev.comparison
    bars = n.get("threshold_bars", float("nan"))
    return {
        "set": ev.name,
        "pieces": v.get("tunes"),
        "parse & play": _rate(v.get("play_rate")),
        "bars fit meter": _rate(v.get("bar_fit_rate")),
        "ends on bar line": _rate(v.get("ends_on_bar_line_rate")),
        "repeats balanced": _rate(v.get("repeats_balanced_rate")),
        f"copies ≥ {bars:g} bars": _rate(n.get("copies_rate")),
        "longest shared run (median notes)": n.get("longest_shared_notes_median"),
        "shared 8-note runs": _rate(n.get("shared_ngram_fraction_mean")),
        "metric overlap": _rate(c.get("overlap")),
        "compared with": ev.reference,
    }


def metric_overlaps(evaluations: list[Evaluation]) -> dict[str, dict[str, float | None]]:
    """Per metric, each set's overlap (mean of its two overlap areas): ``{metric: {set: overlap}}``."""
    names = sorted({m for ev in evaluations for m in ev.comparison.get("metrics", {})})
    return {
        m: {ev.name: _rate(ev.comparison.get("metrics", {}).get(m, {}).get("overlap")) for ev in evaluations}
        for m in names
    }


def histograms(evaluations: list[Evaluation], name: str) -> dict[str, dict[str, float]]:
    """A mean histogram per set, keyed by its class names: ``{set: {"C": share, ...}}``.

    ``name`` is ``"pitch_class_histogram"`` or ``"note_length_histogram"``.
    """
    labels = PITCH_CLASS_NAMES if name == "pitch_class_histogram" else NOTE_LENGTH_NAMES
    return {ev.name: dict(zip(labels, ev.histograms[name], strict=True)) for ev in evaluations}


@dataclass(frozen=True)
class CopyExample:
    """A sample that copies, the passage cut from it and from the corpus tune it copies."""

    sample: Sample
    result: NoveltyResult
    sample_excerpt: pretty_midi.PrettyMIDI
    source_excerpt: pretty_midi.PrettyMIDI


def copy_example(ev: Evaluation) -> CopyExample | None:
    """The sample of ``ev`` that copies the most bars, with both passages; None when none copies."""
    copies = [s for s in ev.samples if s.novelty is not None and s.novelty.verdict == "copies" and s.midi]
    if not copies:
        return None
    sample = max(copies, key=lambda s: (s.novelty.shared_bars, s.novelty.longest_shared_notes))
    result = sample.novelty
    corpus = load_corpus(ev.corpus_source or ev.corpus)
    tunes = list(corpus.tunes) if result.split == "all" else corpus.split(result.split)
    source = Piece.from_abc(tunes[result.source_tune].to_abc()).midi
    n = result.longest_shared_notes
    return CopyExample(
        sample=sample,
        result=result,
        sample_excerpt=excerpt(sample.midi, *passage_seconds(sample.midi, result.piece_note, n)),
        source_excerpt=excerpt(source, *passage_seconds(source, result.source_note, n)),
    )


def passage_seconds(midi: pretty_midi.PrettyMIDI, first_note: int, notes: int) -> tuple[float, float]:
    """Start and end in seconds of ``notes`` melody notes from ``first_note`` (1-based, as in NoveltyResult)."""
    table = note_table(midi)
    units = np.rint(table.onset * UNITS_PER_QUARTER)
    top = np.r_[units[1:] != units[:-1], True]  # the top note of each onset, as the index reads it
    starts, ends = table.onset_s[top], table.end_s[top]
    last = min(first_note - 1 + notes, starts.size) - 1
    return float(starts[first_note - 1]), float(ends[last])


def excerpt(
    midi: pretty_midi.PrettyMIDI, start: float, end: float, context: float = CONTEXT_S
) -> pretty_midi.PrettyMIDI:
    """The notes of ``midi`` sounding between ``start - context`` and ``end + context`` seconds,
    moved to start at 0 (tempo 120, so that 1 s is 2 beats)."""
    lo, hi = max(0.0, start - context), end + context
    out = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    for inst in midi.instruments:
        if inst.is_drum:
            continue
        part = pretty_midi.Instrument(inst.program)
        part.notes = [
            pretty_midi.Note(n.velocity, n.pitch, max(n.start, lo) - lo, min(n.end, hi) - lo)
            for n in inst.notes
            if n.end > lo and n.start < hi
        ]
        out.instruments.append(part)
    return out
