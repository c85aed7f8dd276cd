"""End-to-end speed: compose ~40 s of music with a shipped model and render it to WAV.

Prints per-run figures and the median, next to the seed report R1's "about 10 seconds to
generate a new music file of 40 seconds". Usage:

    .venv/bin/python benchmarks/generate_speed.py [--model NAME] [--runs 20] [--seconds 40]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from core.audio.render import render, wav_bytes  # noqa: E402
from core.generation.compose import ComposeSettings, compose, load_model  # noqa: E402
from core.training.checkpoint import cpu_name  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="r1-lstm-oneills1850", help="model name")
    parser.add_argument("--runs", type=int, default=20, help="timed runs (seeds 0..runs-1)")
    parser.add_argument("--seconds", type=float, default=40.0, help="target music length per run")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature")
    parser.add_argument("--allow-copies", action="store_true", help="skip the check against the training tunes")
    args = parser.parse_args()

    t = time.perf_counter()
    loaded = load_model(args.model)
    load_s = time.perf_counter() - t
    warm = compose(ComposeSettings(args.model, seed=10_000, seconds=args.seconds), loaded)
    render(warm.midi)  # loads the SoundFont once, as the app does

    rows = []
    for seed in range(args.runs):
        settings = ComposeSettings(args.model, seed=seed, temperature=args.temperature, seconds=args.seconds,
                                   max_copy_bars=None if args.allow_copies else 2.0)
        t0 = time.perf_counter()
        piece = compose(settings, loaded)
        t1 = time.perf_counter()
        wav = wav_bytes(render(piece.midi))
        t2 = time.perf_counter()
        chars = len(piece.abc)
        rows.append(
            {
                "seed": seed,
                "music_s": piece.duration,
                "chars": chars,
                "attempts": piece.meta["attempts"],
                "compose_s": t1 - t0,
                "render_s": t2 - t1,
                "total_s": t2 - t0,
                "wav_bytes": len(wav),
            }
        )
        print(
            f"seed {seed:2d}: {piece.duration:5.1f} s of music, {chars:4d} chars, "
            f"{piece.meta['attempts']} attempt(s), compose {t1 - t0:.3f} s + render {t2 - t1:.3f} s"
        )

    med = statistics.median(r["total_s"] for r in rows)
    music = statistics.median(r["music_s"] for r in rows)
    summary = {
        "model": args.model,
        "runs": args.runs,
        "model_load_s": round(load_s, 3),
        "median_total_s": round(med, 3),
        "p90_total_s": round(sorted(r["total_s"] for r in rows)[int(0.9 * (len(rows) - 1))], 3),
        "median_compose_s": round(statistics.median(r["compose_s"] for r in rows), 3),
        "median_render_s": round(statistics.median(r["render_s"] for r in rows), 3),
        "median_music_s": round(music, 1),
        "mean_attempts": round(statistics.mean(r["attempts"] for r in rows), 2),
        "ms_per_char": round(1000 * sum(r["compose_s"] for r in rows) / sum(r["chars"] for r in rows), 3),
        "speedup_vs_report": round(10.0 / med, 1),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
