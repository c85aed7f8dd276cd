"""Evaluation: the held-out comparison table, sample quality, and the copy check."""

from __future__ import annotations

import argparse
import json
import sys

from core.errors import UserError


def register_novelty(sub) -> None:
    """The ``novelty`` command's options."""
    p = sub.add_parser("novelty", help="does a tune copy a corpus? its longest shared run of notes and a verdict")
    p.add_argument("file", help="an .abc file (every tune in it is checked) or a .mid file")
    p.add_argument("--corpus", help="built-in corpus name, or an ABC file or folder, to compare with")
    p.add_argument("--model", help="compare with the training tunes of this model instead")
    p.add_argument("--split", default="train", help="corpus split: train, valid, test or all (default: train)")
    p.add_argument("--threshold-bars", type=float, default=2.0, help="verdict 'copies' from this many bars")
    p.add_argument("--json", action="store_true", help="print one JSON object per tune")
    p.set_defaults(func=_cmd_novelty)


def register(sub) -> None:
    """The ``evaluate`` command's options."""
    p = sub.add_parser("evaluate", help="one table of every model's held-out figures, size and speed")
    p.add_argument("--all", action="store_true", help="every model the app offers (shipped and yours)")
    p.add_argument("--model", action="append", help="a model by name (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON rows instead of the Markdown table")
    p.add_argument("--sample-tokens", type=int, default=256,
                   help="tokens sampled to time each model (default 256; 0: no timing)")
    p.add_argument("--corpus", help="score every ABC model on this corpus's test split (default: each its own)")
    p.set_defaults(func=_cmd_evaluate)


def register_samples(sub) -> None:
    """The ``evaluate-samples`` command's options."""
    p = sub.add_parser("evaluate-samples", help="validity, novelty and metrics of a model's samples")
    p.add_argument("--model", required=True, help="model name (see `python -m core models`)")
    p.add_argument("--n", type=int, default=100, help="number of samples, seeds SEED_START.. (default 100)")
    p.add_argument("--seed-start", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--threshold-bars", type=float, default=2.0, help="a sample copies from this many bars")
    p.add_argument("--samples", action="store_true", help="list every sample in the JSON")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(func=_cmd_evaluate_samples)


def _cmd_novelty(args: argparse.Namespace) -> int:
    from core.data.notes import read_music_file
    from core.evaluation.novelty import check_novelty, load_index
    from core.generation.compose import load_model

    if bool(args.corpus) == bool(args.model):
        raise UserError("Give the corpus to compare with: --corpus NAME, or --model NAME for its training tunes.")
    corpus = args.corpus or load_model(args.model).card.corpus["source"]
    pieces = read_music_file(args.file)
    index = load_index(corpus, args.split)
    for title, midi in pieces:
        result = check_novelty(midi, index, args.threshold_bars)
        if args.json:
            print(json.dumps({"file": str(args.file), "title": title, **result.to_dict()}, ensure_ascii=False))
            continue
        where = f" of {result.source_piece!r} (its bar {result.source_bar})" if result.source_piece else ""
        print(
            f"{title}: {result.verdict} - longest shared run {result.longest_shared_notes} notes "
            f"({result.shared_bars:g} bars){where}; {result.shared_ngram_fraction:.1%} of its "
            f"{result.ngrams} 8-note runs occur in {index.corpus} ({index.split})"
        )
    return 0


def _cmd_evaluate_samples(args: argparse.Namespace) -> int:
    from core.evaluation.samples import evaluate_model

    evaluation = evaluate_model(args.model, args.n, args.seed_start, args.threshold_bars)
    out = evaluation.to_dict(samples=args.samples)
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False, allow_nan=False))
        return 0
    v, nv, m = out["validity"], out["novelty"], out["metrics"]
    print(f"{out['name']}: {args.n} samples, seeds {args.seed_start}-{args.seed_start + args.n - 1}")
    print(f"  parse and play {v['play_rate']:.1%}, bars fit the meter {v['bar_fit_rate']:.1%}, "
          f"repeats balanced {v['repeats_balanced_rate']:.1%}, first attempt {v.get('first_attempt_rate', 0):.1%}")
    print(f"  copies >= {nv['threshold_bars']:g} bars: {nv['copies']}/{nv['checked']} ({nv['copies_rate']:.1%}); "
          f"median longest shared run {nv['longest_shared_notes_median']:g} notes")
    print(f"  metric overlap with {m['reference']}: {m['overlap']:.3f}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    """One table: every model's test loss, bits per character, accuracy, size, training time and speed."""
    from core.evaluation.compare import compare, markdown

    if not args.all and not args.model:
        raise UserError("Say which models: --all, or --model NAME (repeatable).")
    result = compare(None if args.all else args.model, sample_tokens=args.sample_tokens, abc_corpus=args.corpus)
    for name, why in result.skipped.items():
        print(f"{name} was not scored: {why}", file=sys.stderr)
    if not result.rows:
        raise UserError("No model could be scored.")
    if args.json:
        print(json.dumps([r.to_dict() for r in result.rows], indent=2, ensure_ascii=False))
    else:
        print(markdown(result.rows))
    return 0
