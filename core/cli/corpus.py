"""Corpora: list the built-in ones, show a corpus's statistics, import MIDI/score files."""

from __future__ import annotations

import argparse
import json

from core.errors import UserError


def register(sub) -> None:
    """The ``corpus`` command's options."""
    p = sub.add_parser("corpus", help="list built-in corpora or show a corpus's statistics")
    p.add_argument("action", choices=["list", "stats", "import"],
                   help="list the corpora, stats of one, or import MIDI/MusicXML/kern files as a MIDI corpus")
    p.add_argument("name", nargs="?", help="built-in corpus name, or an ABC file or folder; for import: "
                   "a MIDI/MusicXML/kern file, a folder (a subfolder per artist) or a .zip, or bach")
    p.add_argument("--name", dest="import_name", help="import: the name to keep the imported MIDI corpus under")
    p.add_argument("--piano-only", action="store_true", help="import: keep only piano tracks (programs 0-7)")
    p.add_argument("--track", help="import: keep only this track, by index (0 is the first) or part of its name")
    p.add_argument("--keep-drums", action="store_true", help="import: keep drum tracks (dropped by default)")
    p.add_argument("--transpose", action="store_true", help="import: transpose every piece to C major / A minor")
    p.add_argument("--tempo-min", type=float, help="import: keep pieces at least this fast (quarter notes/minute)")
    p.add_argument("--tempo-max", type=float, help="import: keep pieces at most this fast (quarter notes/minute)")
    p.add_argument("--max-file-mb", type=float, default=50.0, help="import: largest file or zip read, MB (default 50)")
    p.add_argument("--replace", action="store_true", help="import: replace an imported corpus of the same name")
    p.set_defaults(func=_cmd_corpus)


def _cmd_corpus(args: argparse.Namespace) -> int:
    from core.data.corpus import corpus_stats, list_corpora, load_corpus

    if args.action == "import":
        return _cmd_corpus_import(args)
    if args.action == "list":
        for name, desc in list_corpora().items():
            print(f"{name:12s} {desc}")
        from core.data.midi_corpus import list_midi_corpora

        for name, desc in list_midi_corpora().items():
            print(f"{name:12s} {desc}")
        return 0
    if not args.name:
        raise UserError("Give a corpus name or path: python -m core corpus stats NAME.")
    from core.data.midi_corpus import is_midi_corpus, load_midi_corpus, midi_corpus_stats

    if is_midi_corpus(args.name):
        print(json.dumps(midi_corpus_stats(load_midi_corpus(args.name)), indent=2, ensure_ascii=False))
        return 0
    print(json.dumps(corpus_stats(load_corpus(args.name)), indent=2, ensure_ascii=False))
    return 0


def _cmd_corpus_import(args: argparse.Namespace) -> int:
    """Import MIDI/MusicXML/kern files as a named MIDI corpus; the JSON summary lists each file left out."""
    from tqdm import tqdm

    from core.data.midi_corpus import import_corpus
    from core.data.midi_sources import IngestLimits
    from core.data.midi_transform import IngestOptions

    if not args.name or not args.import_name:
        raise UserError("Give a source and a name: python -m core corpus import PATH --name NAME.")
    if not args.max_file_mb > 0:
        raise UserError(f"--max-file-mb must be a positive number of megabytes, not {args.max_file_mb}.")
    options = IngestOptions(
        piano_only=args.piano_only, track=args.track, keep_drums=args.keep_drums, transpose=args.transpose,
        tempo_min=args.tempo_min, tempo_max=args.tempo_max,
    )
    limits = IngestLimits(max_file_bytes=int(args.max_file_mb * 2**20))
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="file", disable=None, dynamic_ncols=True)
        bar.update(done - bar.n)

    corpus = import_corpus(args.name, args.import_name, options, limits, args.replace, progress)
    if bar is not None:
        bar.close()
    summary = corpus.summary()
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if not corpus.pieces:
        left = len(summary["failed"]) + len(summary["filtered"])
        raise UserError(f"No piece could be imported from {args.name} ({left} files left out: see their reasons).")
    return 0
