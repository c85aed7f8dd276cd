"""Rewrite bars of a tune from the command line (``python -m core infill``)."""

from __future__ import annotations

import argparse
import json
import os
import secrets
from pathlib import Path

from core.errors import UserError

MAX_FILE_BYTES = 1_000_000


def register(sub) -> None:
    """The ``infill`` command's options."""
    p = sub.add_parser("infill", help="rewrite bars I-J of an ABC tune; every other character stays as it was")
    p.add_argument("--model", required=True, help="an ABC model (a fill-in-the-middle one sees both sides)")
    p.add_argument("--abc", required=True, help="an ABC file holding one tune")
    p.add_argument("--bars", required=True, help="the bars to rewrite, 1-based and inclusive, e.g. 5-6")
    p.add_argument("--seed", type=int, help="random seed (default: a random one, printed in the summary)")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature, in (0, 3]")
    p.add_argument("--top-k", type=int, default=0, help="sample only from the k likeliest characters (0: all)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling share, in (0, 1] (1: off)")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=_cmd_infill)


def read_abc_file(path: str) -> str:
    """The text of a user's ABC file, size-checked; UserError when missing, too big or not text."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"No ABC file at {path}.")
    if file.stat().st_size > MAX_FILE_BYTES:
        raise UserError(f"{path} is larger than {MAX_FILE_BYTES // 1000} kB; give one tune.")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text.") from None


def _cmd_infill(args: argparse.Namespace) -> int:
    from core.generation.infill import infill
    from core.generation.settings import load_model

    abc = read_abc_file(args.abc)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    result = infill(abc, args.bars, load_model(args.model), seed=seed, temperature=args.temperature,
                    top_k=args.top_k, top_p=args.top_p)
    first, last = result.bars
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{Path(args.abc).stem}-bars-{first}-{last}.abc"
    tmp = target.with_suffix(".abc.tmp")
    tmp.write_text(result.abc, encoding="utf-8")
    os.replace(tmp, target)
    print(json.dumps({"model": args.model, "seed": seed, "bars": [first, last], "mode": result.mode,
                      "files": [str(target)], "seconds": result.seconds}))
    return 0
