"""The README's evaluation table: validity, form, novelty and metric overlap of each model's samples,
with the human test split of its corpus as a reference row.

Each model composes ``--n`` tunes at its default settings (seeds 0..n-1: form AABB, 8 bars a part,
ending on the tonic), exactly as ``python -m core evaluate-samples --model NAME --n N`` does. "In
the asked form" counts tunes whose parts are exactly the asked ones (two repeated parts
of 8 full bars); for the human test tunes it is the share written in that form. "At the first
attempt" is the share that needed no second sample (a tune is sampled again when it copies 2
bars of a training tune, or does not play); ``--allow-copies`` switches the copy check off.
Time per tune is the mean time to compose one, every attempt included.
Usage:

    .venv/bin/python benchmarks/evaluate_models.py [--n 100] [--model NAME ...] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.abc import split_tunes  # noqa: E402
from core.evaluation.samples import Evaluation, evaluate_human, evaluate_model  # noqa: E402
from core.generation.form import FormSpec, in_form  # noqa: E402
from core.training.checkpoint import list_models  # noqa: E402


def pct(value: float | None) -> str:
    return "-" if value is None or value != value else f"{100 * value:.1f}%"


ASKED = FormSpec()  # the default: AABB, 8 bars a part


def in_asked_form(abc: str | None) -> bool:
    """Whether one tune's parts are exactly the asked form's (bars per part, repeats)."""
    tunes = split_tunes(abc or "")
    return bool(tunes) and in_form(tunes[0].body, tunes[0].meter, tunes[0].unit, ASKED)


def form_rate(ev: Evaluation) -> float:
    """Share of the requested tunes in the asked form (human tunes: written in that form)."""
    ok = [in_asked_form(s.abc) for s in ev.samples]
    return sum(ok) / len(ok) if ok else float("nan")


def row(ev: Evaluation, seconds: float) -> str:
    v, n = ev.validity, ev.novelty
    first = f" ({pct(v['first_attempt_rate'])} at the first attempt)" if "first_attempt_rate" in v else ""
    by_bars = n["copies_rate_by_bars"]
    times = [s.seconds for s in ev.samples if s.seconds is not None]
    per_tune = f"{sum(times) / len(times):.2f} s" if times else "-"
    return (
        f"| {ev.name} | {v['tunes']} | {pct(v['play_rate'])}{first} | {pct(form_rate(ev))} | {pct(v['bar_fit_rate'])} "
        f"| {pct(v['repeats_balanced_rate'])} | {pct(by_bars['2'])} | {pct(by_bars['4'])} "
        f"| {n['longest_shared_notes_median']:g} ({n['longest_shared_notes_max']}) "
        f"| {pct(n['shared_ngram_fraction_mean'])} | {ev.comparison['overlap']:.3f} | {per_tune} | {seconds:.0f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="samples per model (seeds 0..n-1)")
    parser.add_argument("--model", action="append", help="model name (default: every model on offer)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (one tune at a time)")
    parser.add_argument("--allow-copies", action="store_true", help="do not sample again tunes that copy 2 bars")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(max(1, args.threads))

    names = args.model or [card.name for card in list_models()]
    print(
        "| set | pieces | parse & play | in the asked form (AABB, 8 bars) | bars fit the meter "
        "| repeats balanced | copies >= 2 bars | >= 4 bars | longest shared run, notes: median (max) "
        "| 8-note runs found in training tunes | metric overlap | time per tune | time |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    corpora = []
    label = " (copies allowed)" if args.allow_copies else ""
    for name in names:
        t = time.perf_counter()
        ev = evaluate_model(name, args.n, **({"max_copy_bars": None} if args.allow_copies else {}))
        print(row(ev, time.perf_counter() - t).replace(f"| {name} |", f"| {name}{label} |"), flush=True)
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
