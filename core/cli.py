"""``python -m core <command>``: corpus, train, models, generate, evaluate, survey-stats and more.

User mistakes exit with status 2 and one sentence on stderr; nothing is half-written.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from core.errors import UserError


def _cmd_corpus(args: argparse.Namespace) -> int:
    from core.corpus import corpus_stats, list_corpora, load_corpus

    if args.action == "import":
        return _cmd_corpus_import(args)
    if args.action == "list":
        for name, desc in list_corpora().items():
            print(f"{name:12s} {desc}")
        from core.midi_corpus import list_midi_corpora

        for name, desc in list_midi_corpora().items():
            print(f"{name:12s} {desc}")
        return 0
    if not args.name:
        raise UserError("Give a corpus name or path: python -m core corpus stats NAME.")
    from core.midi_corpus import is_midi_corpus, load_midi_corpus, midi_corpus_stats

    if is_midi_corpus(args.name):
        print(json.dumps(midi_corpus_stats(load_midi_corpus(args.name)), indent=2, ensure_ascii=False))
        return 0
    print(json.dumps(corpus_stats(load_corpus(args.name)), indent=2, ensure_ascii=False))
    return 0


def _cmd_corpus_import(args: argparse.Namespace) -> int:
    """Import MIDI/MusicXML/kern files as a named MIDI corpus; the JSON summary lists each file left out."""
    from tqdm import tqdm

    from core.midi_corpus import import_corpus
    from core.midi_sources import IngestLimits
    from core.midi_transform import IngestOptions

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


def _cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.training import Callbacks, TrainConfig, train

    if args.threads:
        import torch

        torch.set_num_threads(max(1, args.threads))
    cfg = TrainConfig(
        preset=args.preset, corpus=args.corpus, name=args.name, epochs=args.epochs, lr=args.lr,
        batch_size=args.batch_size, seq_len=args.seq_len, optimizer=args.optimizer, device=args.device,
        seed=args.seed, checkpoint_every=args.checkpoint_every, out_dir=args.out,
        max_train_chars=args.max_train_chars, patience=args.patience, schedule=args.schedule, warmup=args.warmup,
        weight_decay=args.weight_decay, grad_clip=args.grad_clip, precision=args.precision, compile=args.compile,
        resume=args.resume, min_count=args.min_count, command=_command_line(),
    )
    bar = None  # made at the first batch, so that a refused setting prints only its error

    def on_batch(batch: int, batches: int, loss: float) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=batches, unit="batch", disable=args.quiet, dynamic_ncols=True)
        if batch == 1:
            bar.reset(total=batches)  # one bar per epoch, with its own rate and time
        bar.n = batch
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        bar.refresh()

    def on_epoch(s) -> None:
        (bar.write if bar else print)(
            f"epoch {s.epoch}/{s.epochs}  train {s.train_loss:.4f} ({s.train_accuracy:.3f})  "
            f"valid {s.valid_loss:.4f} = {s.valid_bpc:.4f} {s.unit} ({s.valid_accuracy:.3f})  "
            f"{s.seconds:.0f}s{'  *best' if s.best else ''}"
        )

    if args.job_dir:
        return _run_job(cfg, args.job_dir)
    result = train(cfg, Callbacks(on_batch=on_batch, on_epoch=on_epoch))
    if bar is not None:
        bar.close()
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun only rank 0 reports
    print(json.dumps({"model": result.card.name, "folder": str(result.folder), **result.card.metrics}))
    return 0


def _command_line() -> str:
    """How this run was started, for the card: ``python -m core train ...`` or ``torchrun ... -m core train ...``."""
    command = "python -m core " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        nodes = int(os.environ.get("GROUP_WORLD_SIZE", "1"))
        per_node = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        command = f"torchrun --nnodes {nodes} --nproc-per-node {per_node} -m core " + command.split(" ", 3)[3]
    return command


def _run_job(cfg, job_dir: str) -> int:
    """Train as a background job of the Train page, reporting through the job's status file."""
    from core.jobs import CANCELLED, DONE, FAILED, Cancelled, JobReporter
    from core.training import train

    reporter = JobReporter(Path(job_dir))
    try:
        result = train(cfg, reporter.callbacks())
    except Cancelled:
        reporter.finish(CANCELLED)
        return 0
    except UserError as exc:
        reporter.finish(FAILED, str(exc))
        raise
    except Exception as exc:
        reporter.finish(FAILED, f"{type(exc).__name__}: {exc}")
        raise
    reporter.finish(DONE, model=result.card.name, metrics=result.card.metrics)
    print(json.dumps({"model": result.card.name, "folder": str(result.folder), **result.card.metrics}))
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from core.checkpoint import list_models

    cards = list_models()
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
    from core.checkpoint import find_model

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


def _cmd_generate(args: argparse.Namespace) -> int:
    from core.compose import ComposeSettings, compose_to_files, load_model, split_primer
    from core.midi_compose import MidiComposeSettings, is_midi_model

    temperature = {} if args.temperature is None else {"temperature": args.temperature}  # else the kind's default
    if is_midi_model(load_model(args.model)):
        settings = MidiComposeSettings(
            model=args.model, seed=args.seed, **temperature, top_k=args.top_k, top_p=args.top_p,
            seconds=args.seconds, primer=args.primer_piece, primer_tokens=args.primer_tokens, tempo=args.tempo,
            program=args.program, threshold=args.threshold, spread=args.spread,
        )
        print(json.dumps(compose_to_files(settings, Path(args.out), soundfont=args.soundfont, stem=args.stem)))
        return 0
    fields, opening = split_primer(args.primer or "")
    given = {"title": args.title, "meter": args.meter, "unit": args.unit, "key": args.key, "rhythm": args.rhythm}
    settings = ComposeSettings(
        model=args.model, seed=args.seed, **temperature, top_k=args.top_k, top_p=args.top_p,
        opening=opening, seconds=args.seconds, tempo=args.tempo, program=args.program,
        max_copy_bars=None if args.allow_copies else args.max_copy_bars,
        **{name: value if value is not None else fields.get(name) for name, value in given.items()},
    )
    summary = compose_to_files(settings, Path(args.out), soundfont=args.soundfont, stem=args.stem)
    print(json.dumps(summary))
    return 0


def _cmd_survey_stats(args: argparse.Namespace) -> int:
    from core.stats import exclusions, report_text, summary
    from core.survey_io import read_survey_file

    if args.survey is not None:
        if args.file:
            raise UserError("Give either a responses CSV or --survey ID, not both.")
        from core.survey_io import database_responses
        from survey_db.store import responses_frame

        df = database_responses(responses_frame(args.survey))
    elif not args.file:
        raise UserError("Give a responses CSV or --survey ID: python -m core survey-stats FILE.csv --json.")
    else:
        df = read_survey_file(args.file, args.key)
    df, excluded = exclusions(df, args.exclude_failed_catch, args.min_listening_ms)
    if df.empty:
        raise UserError("Every participant was excluded: nothing is left to analyse.")
    result = {**summary(df, full=args.full), "excluded": excluded.to_dict("records")}
    print(json.dumps(result, indent=2, allow_nan=False) if args.json else report_text(result))
    return 0


def _cmd_admin_password(args: argparse.Namespace) -> int:
    from core.admin import config_path, ensure_password

    if args.reset:
        config_path().unlink(missing_ok=True)
    password = ensure_password()
    if password is None:
        print(f"The survey admin password is set (its hash is in {config_path()}); --reset makes a new one.")
    else:
        print(f"Survey admin password (shown once, only its hash is stored in {config_path()}): {password}")
    return 0


def _cmd_novelty(args: argparse.Namespace) -> int:
    from core.compose import load_model
    from core.notes import read_music_file
    from core.novelty import check_novelty, load_index

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
    from core.evaluation import evaluate_model

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
    from core.compare import compare, markdown

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="TuneLab: neural folk-tune composer.")
    sub = parser.add_subparsers(dest="command", required=True)

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

    p = sub.add_parser("train", help="train a model from a preset on a corpus")
    from core.presets import PRESETS

    p.add_argument("--preset", default="r1-lstm", help=f"model preset: {', '.join(PRESETS)}")
    p.add_argument("--corpus", default="oneills1850",
                   help="built-in corpus (ABC: oneills1850, ryans, airds, essen; MIDI: bach), an imported MIDI "
                        "corpus, or an ABC file or folder")
    p.add_argument("--name", help="model name (default: PRESET-CORPUS)")
    p.add_argument("--epochs", type=int, default=20, help="passes over the training split")
    p.add_argument("--lr", type=float, help="learning rate (default: the preset's)")
    p.add_argument("--batch-size", type=int, help="parallel streams (default: the preset's, 16)")
    p.add_argument("--seq-len", type=int, help="characters per step of back-propagation (default 64)")
    p.add_argument("--optimizer", choices=["adam", "adamw", "adamax", "rmsprop", "sgd"], help="default: the preset's")
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu or cuda")
    p.add_argument("--seed", type=int, default=1234, help="random seed for weights and batches")
    p.add_argument("--checkpoint-every", type=int, default=10, help="snapshot every N epochs (0: never)")
    p.add_argument("--out", help="checkpoint folder (default: data/models/NAME)")
    p.add_argument("--max-train-chars", type=int, help="use only the first N training characters")
    p.add_argument("--min-count", type=int,
                   help="note/chord presets: drop tokens seen fewer than N times in the training split, as R2's "
                        "frequency threshold (default: the preset's, 3)")
    p.add_argument("--patience", type=int, default=0,
                   help="stop after N epochs without a better validation loss (default 0: never)")
    p.add_argument("--schedule", choices=["constant", "cosine"], help="learning-rate schedule (default: the preset's)")
    p.add_argument("--warmup", type=int, default=0, help="optimizer steps of linear learning-rate warm-up")
    p.add_argument("--weight-decay", type=float, help="decoupled from biases and norms (default: the preset's)")
    p.add_argument("--grad-clip", type=float, default=5.0, help="clip the gradient norm to this (0: off)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="auto: bf16 autocast on GPUs that have it, fp32 on CPU")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (GPU runs)")
    p.add_argument("--resume", help="go on from a snapshot (.pt) or a checkpoint's name or folder")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--job-dir", help=argparse.SUPPRESS)  # set by the Train page's background jobs
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("models", help="list the models the app offers")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--markdown", action="store_true", help="print the README's Markdown table")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("generate", help="compose a piece and write ABC (ABC models), MIDI, WAV (and a piano roll)")
    p.add_argument("--model", required=True, help="model name (see `python -m core models`)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same tune")
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
    p.add_argument("--seconds", type=float, default=40.0, help="target length in seconds, repeats included")
    p.add_argument("--tempo", type=float, help="quarter notes per minute (default: by meter)")
    p.add_argument("--program", type=int, default=0, help="General MIDI program 0-127 (0 = piano)")
    p.add_argument("--soundfont", help="a .sf2 SoundFont (default: the one in pretty_midi)")
    p.add_argument("--max-copy-bars", type=float, default=2.0,
                   help="sample again when the tune shares this many bars with a training tune (default 2)")
    p.add_argument("--allow-copies", action="store_true", help="do not check the tune against the training tunes")
    p.add_argument("--stem", default="tune", help="file name stem for the outputs")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("survey-stats", help="statistics of a listening survey's responses (CSV)")
    p.add_argument("file", nargs="?", help="responses CSV: long layout, or wide layout with --key")
    p.add_argument("--key", help="answer key CSV (clip, truth[, group]) for a wide, one-row-per-respondent file")
    p.add_argument("--survey", type=int, help="read the responses of this survey from the survey database")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--full", action="store_true", help="add the mixed model, demographics and pairwise tests")
    p.add_argument("--exclude-failed-catch", action="store_true", help="leave out participants who failed a catch clip")
    p.add_argument("--min-listening-ms", type=float, help="leave out participants whose median listening is shorter")
    p.set_defaults(func=_cmd_survey_stats)

    p = sub.add_parser("novelty", help="does a tune copy a corpus? its longest shared run of notes and a verdict")
    p.add_argument("file", help="an .abc file (every tune in it is checked) or a .mid file")
    p.add_argument("--corpus", help="built-in corpus name, or an ABC file or folder, to compare with")
    p.add_argument("--model", help="compare with the training tunes of this model instead")
    p.add_argument("--split", default="train", help="corpus split: train, valid, test or all (default: train)")
    p.add_argument("--threshold-bars", type=float, default=2.0, help="verdict 'copies' from this many bars")
    p.add_argument("--json", action="store_true", help="print one JSON object per tune")
    p.set_defaults(func=_cmd_novelty)

    p = sub.add_parser("evaluate", help="one table of every model's held-out figures, size and speed")
    p.add_argument("--all", action="store_true", help="every model the app offers (shipped and yours)")
    p.add_argument("--model", action="append", help="a model by name (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON rows instead of the Markdown table")
    p.add_argument("--sample-tokens", type=int, default=256,
                   help="tokens sampled to time each model (default 256; 0: no timing)")
    p.add_argument("--corpus", help="score every ABC model on this corpus's test split (default: each its own)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("evaluate-samples", help="validity, novelty and metrics of a model's samples")
    p.add_argument("--model", required=True, help="model name (see `python -m core models`)")
    p.add_argument("--n", type=int, default=100, help="number of samples, seeds SEED_START.. (default 100)")
    p.add_argument("--seed-start", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--threshold-bars", type=float, default=2.0, help="a sample copies from this many bars")
    p.add_argument("--samples", action="store_true", help="list every sample in the JSON")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(func=_cmd_evaluate_samples)

    p = sub.add_parser("admin-password", help="make the survey admin password if none is set, and print it once")
    p.add_argument("--reset", action="store_true", help="replace the current password with a new one")
    p.set_defaults(func=_cmd_admin_password)
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
