"""What a note model's held-out figures mean: the baselines a next-token model must beat.

For each named token model (note/chord or event tokens), on the test windows of its own corpus
with its own vocabulary: the accuracy of always guessing the commonest training token, the cross
entropy of the training split's token frequencies (add-one smoothed), both in nats per token, and
the model's card figures beside them. Usage:

    .venv/bin/python benchmarks/midi_baselines.py [--model note-gru-bach ...]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.training.batching import build_data  # noqa: E402
from core.training.checkpoint import find_model, load_checkpoint  # noqa: E402


def baselines(name: str) -> dict:
    loaded = load_checkpoint(find_model(name))
    card = loaded.card
    window = card.model.get("window", 0)
    data = build_data(card.family, card.tokenizer, card.corpus["source"], window=window or 50,
                      tokenizer=loaded.tokenizer)
    if not hasattr(data, "ids"):
        raise SystemExit(f"{name} is not a next-token model over a token stream.")
    train, test = data.ids["train"].tolist(), data.ids["test"][window:].tolist()  # the predicted tokens
    counts, vocab = Counter(train), loaded.tokenizer.vocab_size
    commonest = counts.most_common(1)[0][0]
    unigram = -sum(math.log((counts[t] + 1) / (len(train) + vocab)) for t in test) / len(test)
    return {
        "model": name, "vocabulary": vocab, "test_predictions": len(test),
        "commonest_token_accuracy": sum(t == commonest for t in test) / len(test),
        "unigram_nats": unigram,
        "model_test_accuracy": card.metrics["test_accuracy"], "model_test_nats": card.metrics["test_loss"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=["note-gru-bach"], help="token models to measure")
    args = parser.parse_args()
    print("| model | vocabulary | test predictions | commonest token | unigram (nats) | model accuracy "
          "| model (nats) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.model:
        r = baselines(name)
        print(f"| {r['model']} | {r['vocabulary']} | {r['test_predictions']:,} | {r['commonest_token_accuracy']:.1%} "
              f"| {r['unigram_nats']:.2f} | {r['model_test_accuracy']:.1%} | {r['model_test_nats']:.2f} |")


if __name__ == "__main__":
    main()
