"""The models the app offers, as a table, JSON or the README's Markdown."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    """The ``models`` command's options."""
    p = sub.add_parser("models", help="list the models the app offers")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--markdown", action="store_true", help="print the README's Markdown table")
    p.set_defaults(func=_cmd_models)


def _cmd_models(args: argparse.Namespace) -> int:
    import sys

    from core.training.checkpoint import scan_models

    cards, problems = scan_models()
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    rows = [c.summary() for c in cards]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if args.markdown:
        print(_models_markdown(cards))
        return 0
    print(f"{'name':28s} {'family':11s} {'corpus':12s} {'params':>9s} {'test bpc':>8s} {'test loss':>9s}")
    for r, card in zip(rows, cards, strict=True):
        bpc = f"{r['test_bpc']:.3f}" if r["test_bpc"] is not None else "-"
        loss = card.metrics.get("test_loss")
        loss_text = f"{loss:.3f}" if loss is not None else "-"
        print(f"{r['name']:28s} {r['family']:11s} {str(r['corpus']):12s} {r['parameters']:>9,d} {bpc:>8s} "
              f"{loss_text:>9s}")
    return 0


def _models_markdown(cards) -> str:
    """The README's model table: held-out figures, size and how each model was made."""
    from core.training.checkpoint import find_model

    def num(value, fmt=".3f"):
        return "" if value is None else format(value, fmt)

    lines = [
        "| model | family | corpus | parameters | size | epochs (best) | valid loss | test loss | test bits/char "
        "| test accuracy | training time | hardware |",
        "|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for card in cards:
        size = (find_model(card.name) / "model.safetensors").stat().st_size / 2**20
        m, t = card.metrics, card.training
        lines.append(
            f"| `{card.name}` | {card.family} | {card.corpus.get('name')} | {card.parameters:,} | {size:.1f} MB "
            f"| {t.get('epochs_run')} ({t.get('best_epoch')}) | {num(m.get('valid_loss'))} | {num(m.get('test_loss'))} "
            f"| {num(m.get('test_bpc'))} | {num(m.get('test_accuracy'))} "
            f"| {t.get('wall_time_s', 0) / 60:.0f} min | {t.get('hardware')} |"
        )
    return "\n".join(lines)
