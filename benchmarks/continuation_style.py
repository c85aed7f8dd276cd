"""Continuations in the tune's style, measured (issue #21): held-out O'Neill tunes cut after their A part and
continued by each ABC model, against the tune's own B part.

For every tune with a second part, the A part (header and body up to its first ``:|``, ``||`` or ``|]``)
is the prompt. The overlap (histogram intersection, 0-1) of the note-length histogram and of the
pitch-class histogram of the continuation with the prompt's, through the Evaluate page's metrics
(core.evaluation.metrics), is set beside the same overlaps of the tune's own B part with its A part.
Also counted: continuations that contain chords when the prompt has none. Usage:

    .venv/bin/python benchmarks/continuation_style.py [--n 50] [--model NAME ...] [--seconds 20] [--steer 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from core.data.corpus import load_corpus  # noqa: E402
from core.data.piece import Piece, UnplayableABC  # noqa: E402
from core.evaluation.metrics import piece_metrics  # noqa: E402
from core.generation.continuation import STEER_STRENGTH, ContinueSettings, continue_tune  # noqa: E402
from core.generation.rescue import NoPlayableTune  # noqa: E402
from core.generation.settings import load_model  # noqa: E402
from core.training.checkpoint import cpu_name  # noqa: E402

PART_END = re.compile(r":\||\|\||\|\]")
CHORD = re.compile(r"\[[_=^]*[A-Ga-g]")


def cut(tune) -> tuple[str, str] | None:
    """(the tune up to the end of its A part, its B part's body), or None for a tune of one part."""
    body = tune.body.strip()
    first = PART_END.search(body)
    if first is None:
        return None
    rest = body[first.end():]
    second = PART_END.search(rest)
    b_part = rest[: second.end()] if second else rest
    if not re.search(r"[A-Ga-g]", b_part):
        return None
    return tune.header() + body[: first.end()] + "\n", b_part.strip()


def histograms(abc: str) -> tuple[np.ndarray, np.ndarray]:
    metrics = piece_metrics(Piece.from_abc(abc).midi)
    return metrics["note_length_histogram"], metrics["pitch_class_histogram"]


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.minimum(a, b).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="held-out tunes (O'Neill's test split, in order)")
    parser.add_argument("--model", action="append", help="ABC model (repeatable; default: the four shipped)")
    parser.add_argument("--seconds", type=float, default=20.0, help="music each continuation adds")
    parser.add_argument("--steer", type=float, default=STEER_STRENGTH,
                        help="pull toward the tune's shares of letters, lengths and broken rhythm (0: off)")
    args = parser.parse_args()
    cases = []
    for tune in load_corpus("oneills1850").split("test"):
        pair = cut(tune)
        if pair:
            try:
                cases.append((pair[0], histograms(pair[0]), histograms(pair[0].split("K:", 1)[0] + "K:" + tune.key
                                                                       + "\n" + pair[1] + "\n")))
            except UnplayableABC:
                continue
        if len(cases) == args.n:
            break
    rows = [{"set": "the tune's own B part", "tunes": len(cases),
             "note_length_overlap": round(statistics.median(overlap(a[0], b[0]) for _, a, b in cases), 3),
             "pitch_class_overlap": round(statistics.median(overlap(a[1], b[1]) for _, a, b in cases), 3)}]
    for name in args.model or ["r1-lstm-oneills1850", "r1-gru-oneills1850", "gpt-folk", "gpt-folk-fim"]:
        loaded, t, lengths, pitches, chords, failed = load_model(name), time.perf_counter(), [], [], 0, 0
        for seed, (prompt, a, _) in enumerate(cases):
            try:
                settings = ContinueSettings(name, prompt, seed=seed, seconds=args.seconds, steer=args.steer)
                piece = continue_tune(settings, loaded)
            except NoPlayableTune:
                failed += 1
                continue
            added = piece.abc[len(prompt):]
            header = prompt[: prompt.index("\n", prompt.index("K:")) + 1]
            c = histograms(header + added)
            lengths.append(overlap(a[0], c[0]))
            pitches.append(overlap(a[1], c[1]))
            chords += bool(CHORD.search(added)) and not CHORD.search(prompt.split("K:", 1)[1])
        rows.append({"set": name, "steer": args.steer, "tunes": len(lengths), "failed": failed,
                     "note_length_overlap": round(statistics.median(lengths), 3),
                     "pitch_class_overlap": round(statistics.median(pitches), 3),
                     "chords_where_the_prompt_has_none": chords, "seconds": round(time.perf_counter() - t, 1)})
    machine = f"{cpu_name()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    for row in rows:
        print(json.dumps({**row, "machine": machine}), flush=True)


if __name__ == "__main__":
    main()
