"""Training from the command line, and as the Train page's background job."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from core.errors import UserError


def register(sub) -> None:
    """The ``train`` command's options."""
    p = sub.add_parser("train", help="train a model from a preset on a corpus")
    from core.training.presets import PRESETS

    p.add_argument("--preset", default="r1-lstm", help=f"model preset: {', '.join(PRESETS)}")
    p.add_argument("--corpus", default="oneills1850",
                   help="built-in corpus (ABC: oneills1850, ryans, airds, essen; MIDI: bach), an imported MIDI "
                        "corpus, or an ABC file or folder")
    p.add_argument("--name", help="model name (default: PRESET-CORPUS)")
    p.add_argument("--epochs", type=int, help="passes over the training split (default 20; 2 with --preferences)")
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
    p.add_argument("--init-from", help="start from a finished checkpoint's weights (name or folder); its "
                   "vocabulary grows by the fill-in-the-middle tokens when --fim-rate is set")
    p.add_argument("--fim-rate", type=float, default=0.0,
                   help="share of training tunes rearranged as prefix, suffix, middle (ABC Transformer; 0: off)")
    p.add_argument("--fim-order", choices=["psm", "spm"], default="psm",
                   help="psm: prefix, suffix, middle; spm: suffix, prefix, middle (the middle goes on from the prefix)")
    p.add_argument("--preferences", metavar="SOURCE",
                   help="learn from listeners' judgements (with --init-from): a survey id, or a CSV of pairs "
                        "(chosen_abc,rejected_abc) or votes (abc,label)")
    p.add_argument("--method", choices=["dpo", "kto"], default="dpo",
                   help="with --preferences: dpo (pairs) or kto (single votes, or each pair as two)")
    p.add_argument("--beta", type=float, default=0.1, help="with --preferences: how far from the start model "
                   "the judgements may pull it (default 0.1)")
    p.add_argument("--chosen-weight", type=float, default=10.0,
                   help="with --preferences --method dpo: weight of the term that keeps the preferred tune's own "
                        "likelihood from falling (DPO-Positive; 0: plain DPO)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--job-dir", help=argparse.SUPPRESS)  # set by the Train page's background jobs
    p.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.training.config import Callbacks, TrainConfig
    from core.training.loop import train

    if args.threads:
        import torch

        torch.set_num_threads(max(1, args.threads))
    if args.preferences:
        return _cmd_preferences(args)
    cfg = TrainConfig(
        preset=args.preset, corpus=args.corpus, name=args.name, epochs=args.epochs or 20, lr=args.lr,
        batch_size=args.batch_size, seq_len=args.seq_len, optimizer=args.optimizer, device=args.device,
        seed=args.seed, checkpoint_every=args.checkpoint_every, out_dir=args.out,
        max_train_chars=args.max_train_chars, patience=args.patience, schedule=args.schedule, warmup=args.warmup,
        weight_decay=args.weight_decay, grad_clip=args.grad_clip, precision=args.precision, compile=args.compile,
        resume=args.resume, min_count=args.min_count, init_from=args.init_from, fim_rate=args.fim_rate,
        fim_order=args.fim_order,
        command=_command_line(),
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
    from core.training.jobs import CANCELLED, DONE, FAILED, Cancelled, JobReporter
    from core.training.loop import train

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


def _cmd_preferences(args: argparse.Namespace) -> int:
    """``train --init-from M --preferences SOURCE``: fine-tune on listeners' judgements (DPO or KTO)."""
    from tqdm import tqdm

    from core.training.from_votes import PreferenceConfig, learn_from_votes

    if not args.init_from:
        raise UserError("Learning from judgements starts from a model: give --init-from MODEL.")
    cfg = PreferenceConfig(init_from=args.init_from, method=args.method, beta=args.beta,
                           chosen_weight=args.chosen_weight, epochs=args.epochs or 2, lr=args.lr or 1e-5,
                           batch_size=args.batch_size or 8, seed=args.seed, name=args.name, out_dir=args.out,
                           command=_command_line())
    reporter = None
    if args.job_dir:
        from core.training.jobs import JobReporter

        reporter = JobReporter(Path(args.job_dir))
    bar = tqdm(unit="step", disable=args.quiet, dynamic_ncols=True)

    def on_step(step: int, steps: int, stats) -> None:
        bar.total = steps
        bar.n = step
        bar.set_postfix(loss=f"{stats.loss:.3f}", right=f"{stats.accuracy:.2f}", refresh=False)
        bar.refresh()
        if reporter is not None:
            reporter.on_batch(step, steps, stats.loss)
            reporter.should_stop()  # raises Cancelled when the page asked

    try:
        result = learn_from_votes(cfg, read_source(args.preferences), on_step)
    except Exception as exc:
        if reporter is not None:
            from core.training.jobs import CANCELLED, FAILED, Cancelled

            cancelled = isinstance(exc, Cancelled)
            why = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            reporter.finish(CANCELLED if cancelled else FAILED, "" if cancelled else why)
            if cancelled:
                return 0
        raise
    bar.close()
    if reporter is not None:
        from core.training.checkpoint import read_card
        from core.training.jobs import DONE

        reporter.finish(DONE, model=result.folder.name, metrics=read_card(result.folder).metrics)
    print(json.dumps({"model": result.folder.name, "folder": str(result.folder), "method": cfg.method,
                      "judgements": result.count, "steps": result.steps, "final": result.final,
                      "before": result.before, "after": result.after}))
    return 0


def read_source(source: str):
    """Judgements from a survey (its id) or a CSV file."""
    from core.training.judgements import read_judgements_csv

    if source.isdigit():
        from survey_db.judgements import survey_judgements

        return survey_judgements(int(source))
    return read_judgements_csv(source)
