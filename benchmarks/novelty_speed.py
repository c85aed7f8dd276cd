"""Novelty check speed: index O'Neill's whole collection, then check generated tunes against it.

Prints the index build time (abc2midi and hashing, no cache), the time to read it back from the
disk cache, and the median and 99th percentile of one check: of a generated tune already in
MIDI (as on the Compose page) and of its ABC text (abc2midi included). Target: under 50 ms a
check. Usage:

    .venv/bin/python benchmarks/novelty_speed.py [--model NAME] [--tunes 20] [--repeats 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from core.data.corpus import load_corpus  # noqa: E402
from core.data.piece import abc_to_midi  # noqa: E402
from core.evaluation.novelty import build_index, check_novelty, load_index  # noqa: E402
from core.generation.compose import ComposeSettings, compose, load_model  # noqa: E402
from core.training.checkpoint import cpu_name  # noqa: E402


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="r1-lstm-oneills1850", help="model that composes the checked tunes")
    parser.add_argument("--corpus", default="oneills1850", help="corpus to index (all of it)")
    parser.add_argument("--tunes", type=int, default=20, help="generated tunes to check (seeds 0..tunes-1)")
    parser.add_argument("--repeats", type=int, default=50, help="timed checks per tune")
    args = parser.parse_args()

    corpus = load_corpus(args.corpus)
    t = time.perf_counter()
    index = build_index(corpus, "all")
    build_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TUNELAB_DATA_DIR"] = tmp  # a cold cache: build once, then time the read-back
        load_index(corpus, "all")
        load_s = min(timed(lambda: load_index(corpus, "all"), 5))

    loaded = load_model(args.model)
    pieces = [compose(ComposeSettings(args.model, seed=s), loaded) for s in range(args.tunes)]
    midi_times, abc_times, copies = [], [], 0
    for piece in pieces:
        copies += check_novelty(piece.midi, index).verdict == "copies"
        midi_times += timed(lambda p=piece: check_novelty(p.midi, index), args.repeats)
        abc_times += timed(lambda p=piece: check_novelty(abc_to_midi(p.abc), index), max(1, args.repeats // 5))
    ms = lambda xs, q: round(1000 * float(np.percentile(xs, q)), 3)  # noqa: E731
    print(
        json.dumps(
            {
                "corpus": f"{args.corpus} (all {len(corpus.tunes)} tunes)",
                "indexed_pieces": index.n_pieces,
                "skipped_tunes": index.skipped,
                "indexed_runs": int(index.hashes.size),
                "index_build_s": round(build_s, 3),
                "index_load_from_cache_s": round(load_s, 4),
                "checked_tunes": len(pieces),
                "generated_notes_median": statistics.median(p.n_notes for p in pieces),
                "check_from_midi_ms": {"median": ms(midi_times, 50), "p99": ms(midi_times, 99)},
                "check_from_abc_ms": {"median": ms(abc_times, 50), "p99": ms(abc_times, 99)},
                "copies_2_bars": copies,
                "machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
