"""The one training loop for every family: the CLI, the app, ``torchrun`` and the tests call ``train``.

How a family's batches are cut is in :mod:`core.training.batching` (stateful character streams for
the seed reports' RNNs, packed whole tunes for the Transformer, windows for the note models,
piano-roll chunks for the autoencoder). The loop adds what every run needs: validation each
epoch and the best-by-validation weights, early stopping, gradient clipping, a learning-rate
schedule, bf16 autocast on GPUs, ``torch.compile``, resume from a snapshot, and data-parallel
training under ``torchrun`` (:mod:`core.training.distributed`).
"""

from __future__ import annotations

import csv
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import save_file

from core.errors import UserError
from core.models import build_model, config_dict, count_parameters
from core.models.char_rnn import detach_state
from core.training.batching import Shard, TrainData, build_data
from core.training.checkpoint import ModelCard, hardware, save_checkpoint
from core.training.config import LN2, Callbacks, EpochStats, TrainConfig, TrainResult, check_name_free, output_folder
from core.training.distributed import Dist, all_sum, any_flag, barrier, cleanup, local_device
from core.training.distributed import setup as setup_dist
from core.training.presets import PRESETS
from core.training.run import Run, eval_shape, make_run, pick_device, resume, save_snapshot, set_seed
from core.training.scoring import bits_per_char, count_correct, evaluate_split, roll_metrics


def prepare_data(cfg: TrainConfig) -> TrainData:
    """The run's corpus, tokenized and batched the way its preset's family learns."""
    preset = PRESETS[cfg.preset]
    tokenizer = None
    if cfg.init_from:
        from core.training.fim import init_tokenizer

        tokenizer = init_tokenizer(cfg.init_from, bool(cfg.fim_rate))
    elif cfg.fim_rate:
        from core.tokenizers.fim import with_fim

        tokenizer = with_fim(build_data(preset.family, cfg.tokenizer_spec(), cfg.corpus).tokenizer)
    data = build_data(preset.family, cfg.tokenizer_spec(), cfg.corpus, seed=cfg.seed,
                      window=preset.model.get("window", 50), max_train_chars=cfg.max_train_chars, tokenizer=tokenizer)
    if cfg.fim_rate:
        from core.training.fim import make_fim_data

        data = make_fim_data(data, cfg.corpus, cfg.fim_rate, cfg.fim_order)
    if data.n_batches("train", cfg.batch_size, cfg.seq_len) < 1 or data.tokens["train"] < 2 * cfg.seq_len:
        raise UserError(f"Corpus {cfg.corpus} is too small to train on ({data.tokens['train']} training tokens).")
    for part, role in (("valid", "pick the best epoch"), ("test", "give its held-out figures")):
        if data.n_batches(part, 1, cfg.seq_len) < 1:  # nothing to score: the run would pick or report NaN
            raise UserError(f"Corpus {cfg.corpus} has no {part} split long enough to {role} (about one piece in "
                            "ten goes there); add more pieces.")
    return data


def train(config: TrainConfig, callbacks: Callbacks | None = None) -> TrainResult:
    """Train a model from a preset on a corpus; writes the best-by-validation checkpoint.

    Every epoch appends a row to ``log.csv`` and refreshes ``last.pt`` (the resume snapshot);
    every ``checkpoint_every`` epochs a weights snapshot is kept; all in the hidden
    ``.NAME-log`` folder beside the checkpoint. Under ``torchrun`` every process trains on
    its share of each batch and rank 0 writes.
    """
    cfg = config.resolved()
    check_name_free(cfg)
    folder = output_folder(cfg)
    device = pick_device(cfg.device)
    d = setup_dist(device)
    try:
        return _train(cfg, folder, local_device(device, d), d, callbacks or Callbacks())
    finally:
        cleanup(d)


def _train(cfg: TrainConfig, folder: Path, device: torch.device, d: Dist, callbacks: Callbacks) -> TrainResult:
    set_seed(cfg.seed)
    # Denormal floats in RNN gradients slow CPU arithmetic; flushing them costs no accuracy that matters.
    torch.set_flush_denormal(True)
    data = prepare_data(cfg)
    preset = PRESETS[cfg.preset]
    model = build_model(preset.family, model_config(preset, data.tokenizer)).to(device)
    if cfg.init_from:
        from core.training.fim import load_initial_weights

        load_initial_weights(model, cfg.init_from, preset.family)
    run = make_run(cfg, model, data, device, d, callbacks if d.main else Callbacks(should_stop=callbacks.should_stop))
    log_dir = folder.parent / f".{folder.name}-log"
    if cfg.resume:
        resume(run, cfg.resume, preset.family)
    elif d.main:
        shutil.rmtree(log_dir, ignore_errors=True)
    if d.main:
        log_dir.mkdir(parents=True, exist_ok=True)
    try:
        _run_epochs(run, log_dir)
    except BaseException:
        if d.main and not cfg.resume and not (log_dir / "last.pt").exists():
            shutil.rmtree(log_dir, ignore_errors=True)  # a run stopped before its first epoch leaves nothing
        raise
    _fit_latents(model, data)
    test_loss, test_acc = evaluate_split(model, data, "test", *eval_shape(run))
    card = _card(run, preset, test_loss, test_acc)
    card.metrics.update(roll_metrics(model, data))
    if d.main:
        model.cpu()
        save_checkpoint(folder, model, card, {"log.csv": log_dir / "log.csv"})
    barrier(d)
    return TrainResult(folder, card, run.history)


@torch.no_grad()
def _fit_latents(model: torch.nn.Module, data: TrainData) -> None:
    """The autoencoder samples around its training songs' latents: fit their mean and principal axes."""
    rolls = getattr(data, "rolls", {}).get("train")
    if not hasattr(model, "fit_latent_space") or rolls is None or len(rolls) < 2:
        return
    model.eval()
    device = next(model.parameters()).device
    z = torch.cat([model.encode(rolls[k : k + 256].to(device)) for k in range(0, len(rolls), 256)])
    model.fit_latent_space(z)


def model_config(preset, tokenizer) -> dict:
    """The preset's model config completed by what the tokenizer decides (vocabulary, roll shape)."""
    config = dict(preset.model)
    if getattr(tokenizer, "kind", "") == "pianoroll":
        config["measures"], config["steps"], config["pitches"] = tokenizer.shape
    else:
        config["vocab_size"] = tokenizer.vocab_size
    return config


def _train_epoch(run: Run, epoch: int) -> tuple[float, float, bool]:
    """One pass over this process's share of the training split: (mean loss, accuracy, stopped)."""
    cfg, model, data = run.cfg, run.wrapped, run.data
    model.train()
    state, total, correct, count, stopped = None, 0.0, 0, 0, False
    batches = data.n_batches("train", cfg.batch_size, cfg.seq_len)
    for b, (xb, yb) in enumerate(data.batches("train", cfg.batch_size, cfg.seq_len, epoch, Shard(run.dist.rank,
                                                                                                run.dist.world))):
        xb, yb = xb.to(run.device), yb.to(run.device)
        with run.autocast():
            logits, loss, state = model(xb, yb, state if data.stateful else None)
        if data.stateful:
            state = detach_state(state)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
        run.optimizer.step()
        run.scheduler.step()
        c, n = count_correct(run.model, logits.detach().float(), yb)
        value = loss.item()  # one device sync per step
        total += value * n
        correct += c
        count += n
        if run.callbacks.on_batch:
            run.callbacks.on_batch(b + 1, batches, value)
        if run.callbacks.should_stop and any_flag(run.callbacks.should_stop(), run.dist):
            stopped = True
            break
    total, correct, count = all_sum([total, correct, count], run.dist)
    return total / max(count, 1), correct / max(count, 1), stopped


def _run_epochs(run: Run, log_dir: Path) -> None:
    """Train epoch by epoch; leaves the best-by-validation weights in ``run.model``."""
    cfg, d = run.cfg, run.dist
    columns = ["epoch", "train_loss", "train_accuracy", "valid_loss", "valid_bpc", "valid_accuracy", "seconds", "lr"]
    log = log_dir / "log.csv"
    if d.main and not (run.start_epoch > 1 and log.exists()):
        log.write_text(",".join(columns) + "\n")
    waited = 0
    for epoch in range(run.start_epoch, cfg.epochs + 1):
        t0 = time.perf_counter()
        train_loss, train_acc, stopped = _train_epoch(run, epoch)
        valid_loss, valid_acc = evaluate_split(run.model, run.data, "valid", *eval_shape(run))
        stats = EpochStats(epoch, cfg.epochs, train_loss, train_acc, valid_loss, valid_acc, time.perf_counter() - t0)
        stats.valid_bpc = bits_per_char(valid_loss, run.data, "valid")
        stats.unit = "bits/char" if run.data.characters else "bits/token"
        if valid_loss < run.best_loss or run.best_state is None:
            run.best_loss, run.best_epoch, stats.best = valid_loss, epoch, True
            run.best_state = {k: v.detach().clone() for k, v in run.model.state_dict().items()}
            waited = 0
        else:
            waited += 1
        run.history.append(stats)
        if d.main:
            lr = run.optimizer.param_groups[0]["lr"]
            with log.open("a", newline="") as fh:
                csv.writer(fh).writerow([epoch, f"{train_loss:.5f}", f"{train_acc:.5f}", f"{valid_loss:.5f}",
                                         f"{stats.valid_bpc:.5f}", f"{valid_acc:.5f}", f"{stats.seconds:.2f}",
                                         f"{lr:.3g}"])
            save_snapshot(run, epoch, log_dir / "last.pt")
            if cfg.checkpoint_every and epoch % cfg.checkpoint_every == 0:
                weights = {k: v.detach().cpu().contiguous() for k, v in run.model.state_dict().items()}
                save_file(weights, str(log_dir / f"epoch-{epoch:03d}.safetensors"))
        if run.callbacks.on_epoch:
            run.callbacks.on_epoch(stats)
        if stopped or (cfg.patience and waited >= cfg.patience):
            break
    run.model.load_state_dict(run.best_state)


def _card(run: Run, preset, test_loss: float, test_acc: float) -> ModelCard:
    cfg, data = run.cfg, run.data
    best = next(h for h in run.history if h.epoch == run.best_epoch)
    training = {k: v for k, v in asdict(cfg).items() if k not in ("command", "out_dir", "resume")}
    training.update({
        "epochs_run": run.history[-1].epoch if run.history else 0,
        "best_epoch": run.best_epoch,
        "wall_time_s": round(sum(h.seconds for h in run.history), 1),  # resumed runs count every epoch
        "hardware": hardware() + (f", {run.dist.world} processes" if run.dist.active else ""),
        "device": str(run.device),
        "processes": run.dist.world,
        "resumed_from": cfg.resume,
        "command": cfg.command,
    })
    return ModelCard(
        name=cfg.name,
        family=preset.family,
        preset=cfg.preset,
        model=config_dict(run.model),
        tokenizer=data.tokenizer.to_dict(),
        corpus=data.corpus,
        training=training,
        metrics=_metrics(best, test_loss, test_acc, data),
        parameters=count_parameters(run.model),
        description=preset.description,
    )


def _metrics(best: EpochStats, test_loss: float, test_acc: float, data: TrainData) -> dict:
    r = lambda v: round(v, 5)  # noqa: E731
    out = {
        "train_loss": r(best.train_loss),
        "train_accuracy": r(best.train_accuracy),
        "valid_loss": r(best.valid_loss),
        "valid_accuracy": r(best.valid_accuracy),
        "test_loss": r(test_loss),
        "test_accuracy": r(test_acc),
    }
    if data.characters:
        out["valid_bpc"] = r(bits_per_char(best.valid_loss, data, "valid"))
        out["test_bpc"] = r(bits_per_char(test_loss, data, "test"))
    else:
        out["test_bits_per_token"] = r(test_loss / LN2)
    return out
