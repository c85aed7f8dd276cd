"""Training and sampling throughput of every model family, at each preset's own batch shape.

Training: tokens per second through forward, backward and an optimizer step (the
autoencoder: piano-roll cells per second, and rolls per second). Sampling: tokens per
second drawn one at a time through the Sampler (prefill/step, with the Transformer's key/value
cache). Random ids of a typical vocabulary are used, so the figures measure the machine and
the model, not a corpus. Usage:

    .venv/bin/python benchmarks/throughput.py [--presets r1-lstm gpt-folk ...] [--threads 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from core.generation.sampler import Sampler  # noqa: E402
from core.models import build_model, count_parameters  # noqa: E402
from core.training.checkpoint import hardware  # noqa: E402
from core.training.config import OPTIMIZERS, TRAIN_DEFAULTS  # noqa: E402
from core.training.presets import PRESETS  # noqa: E402

DEFAULT = ["r1-lstm", "r1-gru", "gpt-folk", "r2-lstm", "r2-gru", "note-gru", "gpt-events", "ae-composer"]
VOCAB = {"abc_chars": 96, "note_chord": 300, "midi_events": 228}


class _Ids:
    """The smallest tokenizer the Sampler needs."""

    def __init__(self, n: int):
        self.vocab_size = n


def _config(name: str) -> dict:
    preset = PRESETS[name]
    config = dict(preset.model)
    kind = preset.tokenizer.get("kind", "abc_chars")
    if kind == "pianoroll":
        config.update(measures=preset.tokenizer.get("measures", 16), steps=16, pitches=48)
    else:
        config["vocab_size"] = VOCAB[kind]
    return config


def _batch(name: str, config: dict, device) -> tuple[torch.Tensor, torch.Tensor, int]:
    preset = PRESETS[name]
    train = {**TRAIN_DEFAULTS, **preset.train}
    b, t = train["batch_size"], train["seq_len"]
    if preset.family == "autoencoder":
        shape = (b, config["measures"], config["steps"], config["pitches"])
        x = (torch.rand(shape, device=device) < 0.03).float()
        return x, x, x[0].numel() * b
    if preset.family == "note_rnn":
        w = config["window"]
        x = torch.randint(config["vocab_size"], (b, w), device=device)
        return x, torch.randint(config["vocab_size"], (b,), device=device), b  # one prediction per window
    x = torch.randint(config["vocab_size"], (b, t + 1), device=device)
    return x[:, :-1], x[:, 1:], b * t


def train_speed(name: str, device, seconds: float) -> tuple[float, int]:
    config = _config(name)
    model = build_model(PRESETS[name].family, config).to(device).train()
    optimizer = OPTIMIZERS[{**TRAIN_DEFAULTS, **PRESETS[name].train}["optimizer"]](model.parameters(), lr=1e-4)
    x, y, per_step = _batch(name, config, device)
    done, t0, state = 0, None, None
    while t0 is None or time.perf_counter() - t0 < seconds:
        _, loss, state = model(x, y, None)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if t0 is None:
            t0 = time.perf_counter()  # the first step warms up
        else:
            done += per_step
    return done / (time.perf_counter() - t0), count_parameters(model)


@torch.inference_mode()
def sample_speed(name: str, tokens: int) -> float | None:
    config = _config(name)
    model = build_model(PRESETS[name].family, config).eval()
    if not hasattr(model, "step"):
        generator = torch.Generator().manual_seed(0)
        model.fit_latent_space(torch.randn(64, config["latent"]))
        model.sample(1, generator)
        t0 = time.perf_counter()
        for _ in range(20):
            model.sample(1, generator)
        return 20 / (time.perf_counter() - t0)  # rolls per second
    sampler = Sampler(model, _Ids(config["vocab_size"]), torch.Generator().manual_seed(0))
    sampler.feed_ids([1] * 32)
    sampler.next_token()
    t0 = time.perf_counter()
    for _ in range(tokens):
        sampler.next_token()
    return tokens / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=DEFAULT, help="presets to measure")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed training seconds per preset")
    parser.add_argument("--tokens", type=int, default=300, help="tokens sampled per preset")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    device = torch.device(args.device)
    print(f"# {hardware()}, device {device}\n")
    print("| preset | family | parameters | training (tokens/s) | sampling (tokens/s, batch 1) |")
    print("|---|---|---:|---:|---:|")
    for name in args.presets:
        family = PRESETS[name].family
        train, params = train_speed(name, device, args.seconds)
        sample = sample_speed(name, args.tokens)
        unit = " cells" if family == "autoencoder" else ""
        sampled = f"{sample:,.1f} rolls/s" if family == "autoencoder" else f"{sample:,.0f}"
        print(f"| {name} | {family} | {params:,} | {train:,.0f}{unit} | {sampled} |", flush=True)


if __name__ == "__main__":
    main()
