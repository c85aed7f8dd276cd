"""Compose as an instrument, timed: one tune (compose + render), 4 variations in one batch against one
tune, and the first Generate on a freshly started server for every shipped model.

Usage:

    .venv/bin/python benchmarks/instrument_speed.py [--runs 20] [--seconds 40] [--model M ...] [--skip-first]
        [--skip-variations]

Prints one JSON line per figure, then a summary line; the machine and its load are in every line, since
on a shared machine the figures say as much about the neighbours as about the code.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.audio.render import render, wav_bytes  # noqa: E402
from core.generation.compose import ComposeSettings, MidiComposeSettings, compose, load_model  # noqa: E402
from core.generation.variations import compose_variations  # noqa: E402
from core.training.checkpoint import cpu_name  # noqa: E402

SHIPPED = ["r1-lstm-oneills1850", "r1-gru-oneills1850", "gpt-folk", "note-gru-bach", "ae-composer-bach"]
FIRST_GENERATE = """
import json, sys, time
sys.path.insert(0, {root!r})
from core.generation.warm import warm_process
t = time.perf_counter(); warm_process(); warm_s = time.perf_counter() - t  # what a fresh server does first
from core.audio.notation import abc_to_svg, midi_to_svg
from core.audio.render import render, wav_bytes
from core.generation.compose import ComposeSettings, MidiComposeSettings, load_model
from core.generation.variations import compose_variations
name, n = {name!r}, {n}
t = time.perf_counter()
loaded = load_model(name)
s = MidiComposeSettings(name, seed=7) if loaded.card.is_midi else ComposeSettings(name, seed=7)
pieces = [p for p in compose_variations(s, n, loaded) if hasattr(p, "midi")]
for p in pieces:
    wav_bytes(render(p.midi)); abc_to_svg(p.abc) if p.abc else midi_to_svg(p.midi)
print(json.dumps({{"warm_s": round(warm_s, 2), "first_generate_s": round(time.perf_counter() - t, 3)}}))
"""


def machine() -> str:
    return (f"{cpu_name()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
            f"torch {torch.__version__}")


def settings(name: str, seed: int, seconds: float):
    if load_model(name).card.is_midi:
        return MidiComposeSettings(name, seed=seed, seconds=seconds)
    return ComposeSettings(name, seed=seed, seconds=seconds)


def one_tune(name: str, runs: int, seconds: float) -> dict:
    """Medians over seeds 0 .. runs - 1 of composing and rendering ``seconds`` of music, and what composing cost
    per character drawn (every attempt's, header and body) next to the model's raw step."""
    loaded = load_model(name)
    render(compose(settings(name, 10_000, seconds), loaded).midi)  # the process is warm, as the server's is
    composes, renders, tokens, passes = [], [], 0, 0
    for seed in range(runs):
        t = time.perf_counter()
        piece = compose(settings(name, seed, seconds), loaded)
        t1 = time.perf_counter()
        wav_bytes(render(piece.midi))
        composes.append(t1 - t)
        renders.append(time.perf_counter() - t1)
        tokens += piece.meta.get("tokens_sampled", 0)
        passes += piece.meta.get("model_passes", 0)
    totals = [c + r for c, r in zip(composes, renders, strict=True)]
    row = {"figure": "one tune, compose + render", "model": name, "runs": runs, "music_s": seconds,
           "median_s": round(statistics.median(totals), 3), "compose_median_s": round(statistics.median(composes), 3),
           "render_median_s": round(statistics.median(renders), 3),
           "compose_over_render": round(statistics.median(composes) / statistics.median(renders), 2)}
    if tokens:
        row.update(ms_per_sampled_char=round(1000 * sum(composes) / tokens, 3),
                   chars_per_pass=round(tokens / passes, 2),
                   raw_step_ms=step_cost(name)["lean_ms"])
        row["char_over_step"] = round(row["ms_per_sampled_char"] / row["raw_step_ms"], 2)
    return {**row, "machine": machine()}


def variations(name: str, runs: int, seconds: float, n: int = 4) -> dict:
    """Median seconds for N variations in one batch against one tune (compose only), same seeds."""
    loaded = load_model(name)
    one, batch = [], []
    for seed in range(runs):
        t = time.perf_counter()
        compose_variations(settings(name, 100 + seed, seconds), 1, loaded)
        one.append(time.perf_counter() - t)
        t = time.perf_counter()
        compose_variations(settings(name, 100 + seed, seconds), n, loaded)
        batch.append(time.perf_counter() - t)
    ratio = statistics.median(batch) / statistics.median(one)
    return {"figure": f"{n} variations in one batch vs one tune", "model": name, "runs": runs,
            "one_median_s": round(statistics.median(one), 3), "batch_median_s": round(statistics.median(batch), 3),
            "ratio": round(ratio, 2), "machine": machine()}


def step_cost(name: str, batch: int = 1, steps: int = 300) -> dict:
    """Milliseconds per sampling step, one intra-op thread: the generic module path (``forward`` for the
    RNNs, ``_append`` for the GPT) against the lean ``step`` this issue added."""
    from core.generation.settings import one_thread
    from core.models.char_rnn import CharRNN

    model = load_model(name).model.eval()

    def run(lean: bool) -> float:
        with torch.inference_mode(), one_thread():
            _, state = model.prefill(torch.zeros(batch, 20, dtype=torch.long), None)
            idx = torch.zeros(batch, dtype=torch.long)
            t = time.perf_counter()
            for _ in range(steps):
                if lean:
                    _, state = model.step(idx, state)
                elif isinstance(model, CharRNN):
                    _, _, state = model.forward(idx[:, None], None, state)
                else:
                    _, state = model._append(idx[:, None], state)
            return 1000 * (time.perf_counter() - t) / steps

    generic = statistics.median(run(False) for _ in range(3))
    lean = statistics.median(run(True) for _ in range(3))
    return {"figure": f"one sampling step, batch {batch}", "model": name, "generic_ms": round(generic, 3),
            "lean_ms": round(lean, 3), "machine": machine()}


def first_generate(name: str, n: int) -> dict:
    """A fresh process warms as a fresh server does, then times the first Generate (N variations, rendered
    and engraved) with ``name``."""
    proc = subprocess.run([sys.executable, "-c", FIRST_GENERATE.format(root=str(ROOT), name=name, n=n)],
                          capture_output=True, text=True, timeout=900, check=True)
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"figure": f"first Generate on a fresh server ({n} variation{'s' if n > 1 else ''})", "model": name,
            **row, "machine": machine()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="seeds per figure")
    parser.add_argument("--seconds", type=float, default=40.0, help="music per tune")
    parser.add_argument("--skip-first", action="store_true", help="skip the fresh-server figures")
    parser.add_argument("--skip-variations", action="store_true", help="skip the variations figures")
    parser.add_argument("--model", action="append", help="ABC model to time (repeatable; default: the shipped four)")
    args = parser.parse_args()
    abc_models = args.model or ("r1-lstm-oneills1850", "r1-gru-oneills1850", "gpt-folk", "gpt-folk-fim")
    for m in abc_models:
        print(json.dumps(one_tune(m, args.runs, args.seconds)), flush=True)
    rows = [] if args.skip_variations else [variations(m, max(args.runs // 4, 3), args.seconds, n)
                                            for m in abc_models for n in (4, 8)]
    if not args.skip_first:
        rows += [first_generate(m, n) for m in SHIPPED for n in (1, 4)]
    for row in rows:
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
