"""``python -m core <command>``: corpus, train, models, generate, evaluate, survey-stats and more.

One module per command group; each registers its commands' options. User mistakes exit with
status 2 and one sentence on stderr; nothing is half-written.
"""

from __future__ import annotations

import argparse
import sys

from core.cli import corpus, evaluate, generate, infill, models, survey, train, warm
from core.errors import UserError

REGISTRATIONS = (
    corpus.register, train.register, models.register, generate.register, survey.register,
    evaluate.register_novelty, evaluate.register, evaluate.register_samples, survey.register_admin, warm.register,
    infill.register,
)
"""In the order ``--help`` lists the commands."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="TuneLab: neural folk-tune composer.")
    sub = parser.add_subparsers(dest="command", required=True)
    for register in REGISTRATIONS:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
