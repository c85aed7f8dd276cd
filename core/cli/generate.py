"""Compose a piece from the command line and write its files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub) -> None:
    """The ``generate`` command's options."""
    p = sub.add_parser("generate", help="compose a piece and write ABC (ABC models), MIDI, WAV (and a piano roll)")
    p.add_argument("--model", required=True, help="model name (see `python -m core models`)")
    p.add_argument("--seed", type=int,
                   help="random seed: the same seed gives the same tune (default: a fresh one, reported as \"seed\")")
    p.add_argument("--variations", type=int, default=0,
                   help="sample N tunes (1-8) of these settings in one batch, seeds SEED .. SEED+N-1; "
                        "prints a JSON list of N summaries")
    p.add_argument("--temperature", type=float,
                   help="sampling temperature, in (0, 3] (default: 0.8 for ABC models, 1.0 for MIDI ones)")
    p.add_argument("--top-k", type=int, default=0, help="sample only from the k likeliest characters (0: all)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling share, in (0, 1] (1: off)")
    p.add_argument("--primer", help="ABC primer: header fields (T, M, L, R, K lines) and/or opening bars")
    p.add_argument("--primer-piece", help="MIDI models: start from the opening of this held-out piece (title)")
    p.add_argument("--primer-tokens", type=int, default=32, help="MIDI models: tokens of the primer piece given")
    p.add_argument("--threshold", type=float, default=0.5, help="autoencoder: note-on probability that sounds")
    p.add_argument("--spread", type=float, default=1.0, help="autoencoder: latent spread in standard deviations")
    p.add_argument("--title", help="tune title (default: sampled)")
    p.add_argument("--meter", help="meter, e.g. 6/8 (default: sampled)")
    p.add_argument("--unit", help="unit note length, e.g. 1/8 (default: sampled)")
    p.add_argument("--key", help="key, e.g. D or Ador (default: sampled)")
    p.add_argument("--rhythm", help="tune type, e.g. jig, reel, hornpipe")
    p.add_argument("--seconds", type=float, default=40.0,
                   help="target length in seconds, repeats included (ABC models: only with --form free)")
    p.add_argument("--form", default="AABB", choices=["AABB", "AB", "AABBCC", "free"],
                   help="ABC models: the tune's form; it sets the length (free: sample to --seconds)")
    p.add_argument("--bars-per-part", type=int, default=8, help="ABC models: bars in each part, 4-16")
    p.add_argument("--no-tonic-ending", action="store_true",
                   help="ABC models: do not force each part's last note onto the key's tonic")
    p.add_argument("--tempo", type=float, help="quarter notes per minute (default: by meter)")
    p.add_argument("--program", type=int, default=0, help="General MIDI program 0-127 (0 = piano)")
    p.add_argument("--soundfont", help="a .sf2 SoundFont (default: the one in pretty_midi)")
    p.add_argument("--max-copy-bars", type=float, default=2.0,
                   help="sample again when the tune shares this many bars with a training tune (default 2)")
    p.add_argument("--allow-copies", action="store_true", help="do not check the tune against the training tunes")
    p.add_argument("--stem", default="tune", help="file name stem for the outputs")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=_cmd_generate)


def _cmd_generate(args: argparse.Namespace) -> int:
    from core.generation.abc_compose import split_primer
    from core.generation.compose import ComposeSettings, load_model
    from core.generation.midi_compose import MidiComposeSettings, is_midi_model
    from core.generation.settings import check_seed, draw_seed

    if args.seed is None:
        args.seed = draw_seed()
    check_seed(args.seed)

    temperature = {} if args.temperature is None else {"temperature": args.temperature}  # else the kind's default
    if is_midi_model(load_model(args.model)):
        settings = MidiComposeSettings(
            model=args.model, seed=args.seed, **temperature, top_k=args.top_k, top_p=args.top_p,
            seconds=args.seconds, primer=args.primer_piece, primer_tokens=args.primer_tokens, tempo=args.tempo,
            program=args.program, threshold=args.threshold, spread=args.spread,
        )
        return _write(settings, args)
    fields, opening = split_primer(args.primer or "")
    given = {"title": args.title, "meter": args.meter, "unit": args.unit, "key": args.key, "rhythm": args.rhythm}
    settings = ComposeSettings(
        model=args.model, seed=args.seed, **temperature, top_k=args.top_k, top_p=args.top_p,
        opening=opening, seconds=args.seconds, tempo=args.tempo, program=args.program,
        max_copy_bars=None if args.allow_copies else args.max_copy_bars,
        form=args.form, bars_per_part=args.bars_per_part, tonic_ending=not args.no_tonic_ending,
        **{name: value if value is not None else fields.get(name) for name, value in given.items()},
    )
    return _write(settings, args)


def _write(settings, args: argparse.Namespace) -> int:
    from core.generation.compose import compose_to_files, variations_to_files

    if args.variations:
        print(json.dumps(variations_to_files(settings, args.variations, Path(args.out), args.soundfont, args.stem)))
    else:
        print(json.dumps(compose_to_files(settings, Path(args.out), soundfont=args.soundfont, stem=args.stem)))
    return 0
