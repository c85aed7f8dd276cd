"""The README's evaluation table: validity, novelty and metric overlap of each model's samples,
with the human test split of its corpus as a reference row.

Each model composes ``--n`` tunes at its default settings (seeds 0..n-1), exactly as
``python -m core evaluate-samples --model NAME --n N`` does. Usage:

    .venv/bin/python benchmarks/evaluate_models.py [--n 100] [--model NAME ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.evaluation.samples import Evaluation, evaluate_human, evaluate_model  # noqa: E402
from core.training.checkpoint import list_models  # noqa: E402


def pct(value: float | None) -> str:
    return "-" if value is None or value != value else f"{100 * value:.1f}%"


def row(ev: Evaluation, seconds: float) -> str:
    v, n = ev.validity, ev.novelty
    first = f" ({pct(v['first_attempt_rate'])} at the first attempt)" if "first_attempt_rate" in v else ""
    by_bars = n["copies_rate_by_bars"]
    return (
        f"| {ev.name} | {v['tunes']} | {pct(v['play_rate'])}{first} | {pct(v['bar_fit_rate'])} "
        f"| {pct(v['repeats_balanced_rate'])} | {pct(by_bars['2'])} | {pct(by_bars['4'])} "
        f"| {n['longest_shared_notes_median']:g} ({n['longest_shared_notes_max']}) "
        f"| {pct(n['shared_ngram_fraction_mean'])} | {ev.comparison['overlap']:.3f} | {seconds:.0f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="samples per model (seeds 0..n-1)")
    parser.add_argument("--model", action="append", help="model name (default: every model on offer)")
    args = parser.parse_args()

    names = args.model or [card.name for card in list_models()]
    print(
        "| set | pieces | parse & play | bars fit the meter | repeats balanced | copies >= 2 bars | >= 4 bars "
        "| longest shared run, notes: median (max) | 8-note runs found in training tunes | metric overlap | time |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    corpora = []
    for name in names:
        t = time.perf_counter()
        ev = evaluate_model(name, args.n)
        print(row(ev, time.perf_counter() - t), flush=True)
        corpora.append(ev.corpus_source)
    for source in dict.fromkeys(corpora):
        t = time.perf_counter()
        print(row(evaluate_human(source), time.perf_counter() - t))
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.machine(),
        )
        if Path("/proc/cpuinfo").is_file()
        else platform.machine()
    )
    print(f"\n{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
