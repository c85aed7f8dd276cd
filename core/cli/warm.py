"""``python -m core warm``: precompute what a first Generate would build (run by ``make setup``)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("warm", help="build the novelty indexes and primer caches of the models on offer")
    p.add_argument("--model", action="append", help="only this model (repeatable; default: every model)")
    p.set_defaults(func=_cmd_warm)


def _cmd_warm(args: argparse.Namespace) -> int:
    from core.generation.warm import warm_caches

    warm_caches(args.model)
    return 0
