"""Evaluate a model's samples: validity, novelty and Yang & Lerch's comparison with human tunes.

A model composes ``n`` tunes at its default settings with fixed seeds (``seed_start`` to
``seed_start + n - 1``). Each sample's ABC is checked (:mod:`core.evaluation.validity`), its melody is
looked up in the training split of the model's corpus (:mod:`core.evaluation.novelty`), and its metrics
(:mod:`core.evaluation.metrics`) are compared as a set with the held-out test split of that corpus
(:mod:`core.evaluation.setcompare`). The human reference row does the same for the test split itself:
its novelty against the training split, and its metrics compared with the validation split
(the overlap two sets of human tunes reach: a ceiling for a model).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import numpy as np
import pretty_midi

from core.data.corpus import Corpus, load_corpus
from core.data.notes import abc_book_to_midi
from core.errors import UserError
from core.evaluation.metrics import SCALAR_METRICS, VECTOR_METRICS, piece_metrics
from core.evaluation.novelty import (
    DEFAULT_THRESHOLD_BARS,
    MIN_COPY_NOTES,
    NoveltyIndex,
    NoveltyResult,
    check_novelty,
    check_threshold,
    load_index,
)
from core.evaluation.setcompare import compare_sets
from core.evaluation.validity import AbcValidity, abc_validity, validity_rates
from core.generation.compose import ComposeSettings, compose, load_model

MAX_SAMPLES = 1000
COPY_BARS = (1, 2, 4, 8)
"""Copy thresholds (bars) at which the copies rate is also reported, whatever the verdict's own."""
COMPARED_METRICS = SCALAR_METRICS + VECTOR_METRICS


@dataclass
class Sample:
    """One evaluated piece: a model's sample (with its seed) or a human tune."""

    label: str
    seed: int | None
    abc: str | None
    midi: pretty_midi.PrettyMIDI | None
    attempts: int | None = None
    error: str | None = None
    validity: AbcValidity | None = None
    novelty: NoveltyResult | None = None
    novelty_error: str | None = None
    metrics: dict | None = None
    seconds: float | None = None  # time to compose it, all attempts included


@dataclass
class Evaluation:
    """One row of the Evaluate page: a model's samples, or the human test split."""

    name: str
    corpus: str
    reference: str
    validity: dict
    novelty: dict
    comparison: dict
    histograms: dict
    samples: list[Sample] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    corpus_source: str = ""  # what load_corpus takes: a built-in name or a path

    def to_dict(self, samples: bool = True) -> dict:
        """A JSON-ready summary; infinite or undefined numbers become None."""
        out = {
            "name": self.name,
            "corpus": self.corpus,
            "settings": self.settings,
            "validity": self.validity,
            "novelty": self.novelty,
            "metrics": {"reference": self.reference, **self.comparison},
            "histograms": self.histograms,
        }
        if samples:
            out["samples"] = [_sample_row(s) for s in self.samples]
        return _finite(out)


def _sample_row(s: Sample) -> dict:
    row = {"label": s.label, "seed": s.seed, "attempts": s.attempts, "error": s.error}
    if s.validity is not None:
        row.update(parses=s.validity.parses, plays=s.validity.plays)
    if s.novelty is not None:
        n = s.novelty
        row.update(
            verdict=n.verdict,
            longest_shared_notes=n.longest_shared_notes,
            shared_bars=n.shared_bars,
            shared_ngram_fraction=n.shared_ngram_fraction,
            source_piece=n.source_piece,
        )
    elif s.novelty_error:
        row["novelty_error"] = s.novelty_error
    return row


def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def generate_samples(model: str, n: int, seed_start: int = 0, **settings) -> list[Sample]:
    """Compose ``n`` tunes with seeds ``seed_start``... at the default settings (or ``settings``).

    A seed for which no playable tune came out is kept, with its error, as a failed sample.
    """
    if not 1 <= n <= MAX_SAMPLES:
        raise UserError(f"The number of samples must be between 1 and {MAX_SAMPLES}, not {n}.")
    loaded = load_model(model)
    samples = []
    for seed in range(seed_start, seed_start + n):
        try:
            piece = compose(ComposeSettings(model=model, seed=seed, **settings), loaded)
        except UserError as exc:
            samples.append(Sample(f"seed {seed}", seed, None, None, error=str(exc)))
            continue
        samples.append(Sample(piece.title, seed, piece.abc, piece.midi, attempts=piece.meta["attempts"],
                              seconds=piece.meta.get("sample_seconds")))
    return samples


def human_samples(corpus: Corpus, split: str) -> list[Sample]:
    """The tunes of a corpus split as samples (converted with one abc2midi run)."""
    tunes = corpus.split(split)
    midis = abc_book_to_midi([t.to_abc() for t in tunes])
    return [Sample(t.title, None, t.to_abc(), m) for t, m in zip(tunes, midis, strict=True)]


def score_samples(samples: list[Sample], index: NoveltyIndex, threshold_bars: float) -> list[Sample]:
    """Fill in each sample's validity, novelty and metrics (in place; returns the list)."""
    for s in samples:
        if s.abc is not None:
            s.validity = abc_validity(s.abc, s.midi)
        if s.midi is None:
            continue
        try:
            s.novelty = check_novelty(s.midi, index, threshold_bars)
        except UserError as exc:
            s.novelty_error = str(exc)
        try:
            s.metrics = piece_metrics(s.midi)
        except UserError as exc:
            s.error = s.error or str(exc)
    return samples


def novelty_stats(samples: list[Sample]) -> dict:
    """Copies rate and shared-run statistics of the samples whose novelty could be checked."""
    results = [s.novelty for s in samples if s.novelty is not None]
    if not results:
        return {"checked": 0, "copies_rate": math.nan}
    notes = [r.longest_shared_notes for r in results]
    return {
        "checked": len(results),
        "threshold_bars": results[0].threshold_bars,
        "copies": sum(r.verdict == "copies" for r in results),
        "copies_rate": sum(r.verdict == "copies" for r in results) / len(results),
        "longest_shared_notes_median": float(statistics.median(notes)),
        "longest_shared_notes_max": max(notes),
        "shared_bars_max": max(r.shared_bars for r in results),
        "shared_ngram_fraction_mean": float(np.mean([r.shared_ngram_fraction for r in results])),
        "copies_rate_by_bars": {
            f"{bars:g}": sum(r.shared_bars >= bars and r.longest_shared_notes >= MIN_COPY_NOTES for r in results)
            / len(results)
            for bars in COPY_BARS
        },
    }


def sample_validity(samples: list[Sample]) -> dict:
    """Validity rates over every requested sample (a failed seed counts as neither parsing nor playing)."""
    checks = [s.validity or AbcValidity(False, False, math.nan, False, False) for s in samples]
    rates = validity_rates(checks)
    attempts = [s.attempts for s in samples if s.attempts is not None]
    if attempts:
        rates["first_attempt_rate"] = sum(a == 1 for a in attempts) / len(samples)
        rates["attempts_mean"] = float(np.mean(attempts))
    return rates


def mean_histograms(samples: list[Sample]) -> dict[str, list[float]]:
    """Mean pitch-class and note-length histograms over the samples with metrics."""
    rows = [s.metrics for s in samples if s.metrics is not None]
    return {
        name: np.mean([r[name] for r in rows], axis=0).tolist() if rows else [math.nan] * 12
        for name in ("pitch_class_histogram", "note_length_histogram")
    }


def _features(samples: list[Sample]) -> list[dict]:
    return [s.metrics for s in samples if s.metrics is not None]


def evaluate_model(
    model: str,
    n: int,
    seed_start: int = 0,
    threshold_bars: float = DEFAULT_THRESHOLD_BARS,
    reference: list[Sample] | None = None,
    **settings,
) -> Evaluation:
    """Compose ``n`` samples and evaluate them against the model's corpus (train and test splits).

    ``reference``: the scored test-split samples, when the caller already has them.
    """
    if n < 2:
        raise UserError(f"Evaluate at least 2 samples (the metric comparison needs two), not {n}.")
    check_threshold(threshold_bars)
    source = load_model(model).card.corpus["source"]
    corpus = load_corpus(source)
    index = load_index(corpus, "train")
    samples = score_samples(generate_samples(model, n, seed_start, **settings), index, threshold_bars)
    reference = (
        reference if reference is not None else score_samples(human_samples(corpus, "test"), index, threshold_bars)
    )
    base = ComposeSettings(model=model, **settings)
    return Evaluation(
        name=model,
        corpus=corpus.name,
        reference=f"{corpus.name} test split ({len(_features(reference))} tunes)",
        validity=sample_validity(samples),
        novelty=novelty_stats(samples),
        comparison=compare_sets(_features(samples), _features(reference), COMPARED_METRICS),
        histograms=mean_histograms(samples),
        samples=samples,
        corpus_source=source,
        settings={
            "seeds": [seed_start, seed_start + n - 1],
            "temperature": base.temperature,
            "seconds": base.seconds,
            "top_k": base.top_k,
        },
    )


def evaluate_human(corpus: str | Corpus, threshold_bars: float = DEFAULT_THRESHOLD_BARS) -> Evaluation:
    """The reference row: the test split's validity, its novelty against the training split, and
    its metrics compared with the validation split's (two human sets: a ceiling for a model)."""
    check_threshold(threshold_bars)
    source = corpus if isinstance(corpus, str) else corpus.name
    corpus = load_corpus(corpus) if isinstance(corpus, str) else corpus
    index = load_index(corpus, "train")
    test = score_samples(human_samples(corpus, "test"), index, threshold_bars)
    valid = score_samples(human_samples(corpus, "valid"), index, threshold_bars)
    return Evaluation(
        name=f"human ({corpus.name} test split)",
        corpus=corpus.name,
        reference=f"{corpus.name} validation split ({len(_features(valid))} tunes)",
        validity=validity_rates([s.validity for s in test if s.validity is not None]),
        novelty=novelty_stats(test),
        comparison=compare_sets(_features(test), _features(valid), COMPARED_METRICS),
        histograms=mean_histograms(test),
        samples=test,
        corpus_source=source,
    )
