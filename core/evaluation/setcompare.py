"""Yang & Lerch's comparison of two sets of pieces, metric by metric.

For one metric, every piece is a point (a number, or a vector such as a histogram). The
intra-set distances of a set are the Euclidean distances between all pairs of its pieces;
the inter-set distances are those between each piece of one set and each of the other. Each
group of distances is smoothed into a density (a Gaussian kernel density estimate) and the
densities are compared:

- overlap area, ``OA = integral of min(p, q)``: 1 when two distributions coincide, 0 when disjoint;
- Kullback-Leibler divergence, ``KL(p || q) = integral of p log(p / q)`` (nats): 0 when they
  coincide, infinite when ``q`` vanishes where ``p`` does not.

A generated set that is as varied as the human set and as close to it as human pieces are to
one another has inter-set distances distributed like each intra-set's: overlaps near 1 and
divergences near 0. Pure functions; inputs are lists of ``core.metrics.piece_metrics`` dicts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.spatial.distance import cdist, pdist

from core.errors import UserError

GRID_POINTS = 1000
MIN_BANDWIDTH = 1e-3
"""A set whose distances are all equal gets this bandwidth (as a share of the distances' span)."""


@dataclass(frozen=True)
class MetricComparison:
    """One metric's distances and how the generated set's relate to the reference's."""

    metric: str
    pieces: tuple[int, int]  # pieces of each set with a defined value
    intra_generated: tuple[float, float]  # mean and standard deviation of the distances
    intra_reference: tuple[float, float]
    inter: tuple[float, float]
    overlap_generated: float  # OA(intra-generated, inter)
    overlap_reference: float  # OA(intra-reference, inter)
    kl_generated: float  # KL(intra-generated || inter); inf when the supports do not meet
    kl_reference: float

    @property
    def overlap(self) -> float:
        """Mean of the two overlap areas: this metric's share of the summary."""
        return (self.overlap_generated + self.overlap_reference) / 2

    def to_dict(self) -> dict:
        return {**asdict(self), "overlap": self.overlap}


def feature_matrix(features: list[dict], metric: str) -> np.ndarray:
    """One metric of every piece as rows, shape (pieces, dims); pieces where it is NaN are dropped."""
    rows = np.array([np.ravel(np.asarray(f[metric], dtype=float)) for f in features], dtype=float)
    return rows[~np.isnan(rows).any(axis=1)] if rows.size else rows.reshape(0, 1)


def intra_distances(points: np.ndarray) -> np.ndarray:
    """Euclidean distances between all pairs of rows, shape (n (n - 1) / 2,)."""
    return pdist(points) if len(points) > 1 else np.zeros(0)


def inter_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between every row of ``a`` and every row of ``b``, shape (len(a) len(b),)."""
    return cdist(a, b).ravel()


def _bandwidth(sample: np.ndarray, span: float) -> float:
    """Scott's rule for one dimension, floored at ``MIN_BANDWIDTH`` of the span."""
    std = float(np.std(sample, ddof=1)) if sample.size > 1 else 0.0
    return max(std * sample.size ** (-1 / 5), MIN_BANDWIDTH * span)


def _densities(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Kernel densities of ``a`` and ``b`` on a shared grid; None when both are one point mass."""
    lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
    span = hi - lo
    if span == 0:
        return None
    ha, hb = _bandwidth(a, span), _bandwidth(b, span)
    pad = 4 * max(ha, hb)
    grid = np.linspace(lo - pad, hi + pad, GRID_POINTS)
    return grid, _kde(a, ha, grid), _kde(b, hb, grid)


def _kde(sample: np.ndarray, h: float, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of ``sample`` with bandwidth ``h`` on an even ``grid``.

    Samples are spread linearly onto the two nearest grid points and the counts convolved with
    the kernel (exact up to the grid spacing, and linear in the sample size); the kernel is
    normalised so that the density integrates to 1 on the grid.
    """
    n, dx = grid.size, grid[1] - grid[0]
    t = (sample - grid[0]) / dx
    i = np.clip(np.floor(t).astype(np.int64), 0, n - 2)
    w = t - i
    counts = np.bincount(i, weights=1 - w, minlength=n) + np.bincount(i + 1, weights=w, minlength=n)
    offsets = np.arange(-n, n + 1) * dx
    kernel = np.exp(-0.5 * (offsets / h) ** 2)
    kernel /= kernel.sum() * dx
    return np.convolve(counts, kernel)[n : 2 * n] / sample.size


def overlap_area(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap area of the kernel densities of two samples of distances, in [0, 1].

    Raises UserError when a sample is empty. Two samples that are the same single value
    overlap completely (1.0).
    """
    a, b = _check(a), _check(b)
    dens = _densities(a, b)
    if dens is None:
        return 1.0
    grid, p, q = dens
    return float(min(1.0, np.trapezoid(np.minimum(p, q), grid)))


def kl_divergence(a: np.ndarray, b: np.ndarray) -> float:
    """KL divergence of the density of ``a`` from that of ``b``, in nats (>= 0, may be inf).

    Both densities are normalised on the grid first. Two samples that are the same single
    value give 0.0. Raises UserError when a sample is empty.
    """
    a, b = _check(a), _check(b)
    dens = _densities(a, b)
    if dens is None:
        return 0.0
    _, p, q = dens
    p, q = p / p.sum(), q / q.sum()
    support = p > 0
    if np.any(q[support] == 0):
        return math.inf
    return float(max(0.0, np.sum(p[support] * np.log(p[support] / q[support]))))


def _check(sample: np.ndarray) -> np.ndarray:
    sample = np.asarray(sample, dtype=float).ravel()
    if sample.size == 0:
        raise UserError("A distance distribution needs at least one distance: give each set two or more pieces.")
    return sample


def compare_metric(generated: list[dict], reference: list[dict], metric: str) -> MetricComparison:
    """Intra- and inter-set distance distributions of one metric, and their overlaps and divergences.

    Raises
    ------
    UserError
        When either set has fewer than two pieces where the metric is defined.
    """
    g, r = feature_matrix(generated, metric), feature_matrix(reference, metric)
    if len(g) < 2 or len(r) < 2:
        raise UserError(
            f"Comparing {metric.replace('_', ' ')} needs two or more pieces in each set where it is defined "
            f"(there are {len(g)} generated and {len(r)} reference)."
        )
    intra_g, intra_r, inter = intra_distances(g), intra_distances(r), inter_distances(g, r)
    return MetricComparison(
        metric=metric,
        pieces=(len(g), len(r)),
        intra_generated=_mean_std(intra_g),
        intra_reference=_mean_std(intra_r),
        inter=_mean_std(inter),
        overlap_generated=overlap_area(intra_g, inter),
        overlap_reference=overlap_area(intra_r, inter),
        kl_generated=kl_divergence(intra_g, inter),
        kl_reference=kl_divergence(intra_r, inter),
    )


def _mean_std(d: np.ndarray) -> tuple[float, float]:
    return float(np.mean(d)), float(np.std(d))


def compare_sets(generated: list[dict], reference: list[dict], metrics: tuple[str, ...]) -> dict:
    """Every metric's comparison, and one summary: the mean overlap over metrics (0 to 1, higher closer).

    A metric defined on fewer than two pieces of a set is listed under ``skipped`` with the reason.
    Returns ``{"metrics": {name: MetricComparison.to_dict()}, "skipped": {name: reason},
    "overlap": float, "pieces": [generated, reference]}``.

    Raises
    ------
    UserError
        When no metric can be compared (for instance a set of fewer than two pieces).
    """
    rows, skipped = {}, {}
    for m in metrics:
        try:
            rows[m] = compare_metric(generated, reference, m)
        except UserError as exc:
            skipped[m] = str(exc)
    if not rows:
        raise UserError(next(iter(skipped.values()), "No metric was asked for."))
    return {
        "metrics": {m: c.to_dict() for m, c in rows.items()},
        "skipped": skipped,
        "overlap": float(np.mean([c.overlap for c in rows.values()])),
        "pieces": [len(generated), len(reference)],
    }
