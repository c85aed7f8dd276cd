"""How much seeing the bars after a gap helps: held-out middles scored with both sides and left to right.

For every tune of a corpus's test split (O'Neill's by default), 1 to 4 whole bars are cut out as
the training examples are (core.training.fim.rearranged, seeded per tune). Each model scores the
middle's characters (bits per character) two ways:

- left to right: the tune's text up to the middle, then the middle (what any model sees);
- both sides (fill-in-the-middle models only): the prompt in the model's order (``PRE prefix SUF
  suffix MID`` or ``SUF suffix PRE prefix``), then the middle.

Usage:

    .venv/bin/python benchmarks/fim_middles.py --model gpt-folk-fim --model gpt-folk [--corpus oneills1850]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from core.data.corpus import load_corpus  # noqa: E402
from core.generation.settings import load_model  # noqa: E402
from core.tokenizers.fim import fim_ids, has_fim, order_of  # noqa: E402
from core.training.fim import FimTune  # noqa: E402


def middles(corpus: str, split: str, seed: int) -> list[tuple[str, str, str]]:
    """(prefix, middle, suffix) texts, one per tune with two bars or more, as FIM training cuts them."""
    from core.data.abc import analyse_body

    out = []
    for k, tune in enumerate(load_corpus(corpus).split(split)):
        body = tune.body.strip()
        bars = [(b.start, b.end) for b in analyse_body(body, tune.meter, tune.unit).bars]
        if len(bars) < 2:
            continue
        ft = FimTune(tune.header(), body, bars)
        rng = np.random.default_rng([seed, k])
        size = int(rng.integers(1, min(4, len(bars) - 1) + 1))
        first = int(rng.integers(0, len(bars) - size + 1))
        start, end = ft.bars[first][0], ft.bars[first + size - 1][1]
        out.append((ft.head + body[:start], body[start:end], body[end:] + "\n\n"))
    return out


@torch.inference_mode()
def middle_bits(model, context: list[int], middle: list[int], block: int) -> float | None:
    """Bits of the middle's ids after the context ids (None when they do not fit the context)."""
    ids = context + middle
    if len(ids) > block or not middle:
        return None
    x = torch.tensor([ids[:-1]])
    logits = model(x)[0][0]  # (T, V)
    targets = torch.tensor(ids[1:])
    nll = F.cross_entropy(logits, targets, reduction="none")[len(context) - 1 :]
    return float(nll.sum()) / math.log(2)


def score(name: str, cuts: list[tuple[str, str, str]]) -> dict:
    loaded = load_model(name)
    tok, block = loaded.tokenizer, int(loaded.card.model.get("block_size", 1024))
    both = has_fim(tok)
    totals = {"left_to_right": [0.0, 0], "both_sides": [0.0, 0]}
    for prefix, middle, suffix in cuts:
        mid = tok.encode(middle)
        l2r = middle_bits(loaded.model, tok.encode(prefix), mid, block)
        fim = None
        if both:
            context = fim_ids(tok, prefix, suffix, order=order_of(loaded.card.training))
            fim = middle_bits(loaded.model, context, mid, block)
        if l2r is None or (both and fim is None):
            continue  # too long for the context: left out of both columns
        totals["left_to_right"][0] += l2r
        totals["left_to_right"][1] += len(mid)
        if both:
            totals["both_sides"][0] += fim
            totals["both_sides"][1] += len(mid)
    return {k: (b / n if n else float("nan"), n) for k, (b, n) in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="an ABC Transformer")
    parser.add_argument("--corpus", default="oneills1850", help="corpus whose split gives the middles")
    parser.add_argument("--split", default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cuts = middles(args.corpus, args.split, args.seed)
    print(f"{len(cuts)} middles of 1-4 bars from the {args.corpus} {args.split} split "
          f"({sum(len(m) for _, m, _ in cuts):,} characters)\n")
    print("| model | middle characters scored | left to right, bits/char | both sides, bits/char | gain |")
    print("|---|---:|---:|---:|---:|")
    for name in args.model:
        t = time.perf_counter()
        result = score(name, cuts)
        (l2r, n), (fim, _) = result["left_to_right"], result["both_sides"]
        gain = f"{100 * (1 - fim / l2r):.1f}%" if fim == fim else "-"
        both = f"{fim:.3f}" if fim == fim else "- (not a FIM model)"
        print(f"| {name} | {n:,} | {l2r:.3f} | {both} | {gain} |  ({time.perf_counter() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
