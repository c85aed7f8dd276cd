"""Learn from a survey's votes: a finished ABC model fine-tuned on listeners' judgements, saved as a new
checkpoint whose card says how (the method, its settings, the judgements' source and count) and what it
cost (held-out bits per character before and after, on the model's own test split and O'Neill's).

The losses are in :mod:`core.training.preferences`; the judgements come from
:mod:`core.training.judgements` (a CSV) or a survey (``survey_db.judgements``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import UserError
from core.training.judgements import Judgements


@dataclass
class PreferenceConfig:
    """A preference run's settings (``train --init-from M --preferences SOURCE --method dpo|kto``)."""

    init_from: str
    method: str = "dpo"
    beta: float = 0.1
    chosen_weight: float = 10.0  # DPO-Positive's lambda: keeps the preferred tune's likelihood from falling
    epochs: int = 2
    lr: float = 1e-5
    batch_size: int = 8
    seed: int = 1234
    name: str | None = None
    out_dir: str | None = None
    eval_corpus: str = "oneills1850"  # whose test split gives the before/after bits per character
    threads: int | None = None
    command: str = ""


@dataclass
class PreferenceResult:
    folder: Path
    before: dict
    after: dict
    steps: int
    final: dict
    count: int  # judgements learnt from


def learn_from_votes(cfg: PreferenceConfig, judgements: Judgements, on_step=None) -> PreferenceResult:
    """Fine-tune ``cfg.init_from`` on ``judgements`` and save it; nothing is written if any check fails."""
    import torch

    from core.paths import SHIPPED_MODELS, user_models_dir
    from core.training.checkpoint import find_model, hardware, load_checkpoint, save_checkpoint
    from core.training.preferences import PreferenceRun, optimise

    loaded = load_checkpoint(find_model(cfg.init_from))
    name = cfg.name or (Path(cfg.out_dir).name if cfg.out_dir else f"{loaded.card.name}-{cfg.method}")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise UserError(f"Model name {name!r} may only use letters, digits, '.', '_' and '-'.")
    if not cfg.out_dir and (SHIPPED_MODELS / name).exists():
        raise UserError(f"{name} is a shipped model's name; pick another name.")
    folder = Path(cfg.out_dir) if cfg.out_dir else user_models_dir() / name
    torch.manual_seed(cfg.seed)
    run = PreferenceRun.start(loaded, judgements, cfg.method, cfg.beta, cfg.chosen_weight)
    before = held_out(loaded, cfg.eval_corpus)
    t0 = time.perf_counter()
    history = optimise(run, cfg.epochs, cfg.lr, cfg.batch_size, cfg.seed, on_step)
    seconds = time.perf_counter() - t0
    after = held_out(loaded, cfg.eval_corpus)  # the same model object, now trained
    card = loaded.card
    last = history[-max(1, len(history) // 10):]
    training = {
        "init_from": cfg.init_from, "init_card": card.name, "method": cfg.method, "beta": cfg.beta,
        "chosen_weight": cfg.chosen_weight if cfg.method == "dpo" else None, "epochs": cfg.epochs, "lr": cfg.lr,
        "batch_size": cfg.batch_size, "seed": cfg.seed, "judgements": {**judgements.source,
                                                                       "count": judgements.count},
        "steps": len(history), "wall_time_s": round(seconds, 1), "hardware": hardware(), "command": cfg.command,
        "epochs_run": cfg.epochs, "base_training": card.training,
    }
    final = {"loss": _mean(s.loss for s in last), "accuracy": _mean(s.accuracy for s in last),
             "margin": _mean(s.margin for s in last)}
    new = replace(card, name=name, training=training,
                  metrics={"test_loss": after["own"]["loss"], "test_accuracy": after["own"]["accuracy"],
                           "test_bpc": after["own"]["bits_per_char"]},
                  description=f"{card.description}; then {cfg.method.upper()} on {judgements.count} judgements",
                  extra={"preferences": {"before": before, "after": after, "final_steps": final}})
    save_checkpoint(folder, run.policy, new)
    return PreferenceResult(folder, before, after, len(history), final, judgements.count)


def held_out(loaded, eval_corpus: str) -> dict:
    """Test-split loss, accuracy and bits per character on the model's own corpus and on ``eval_corpus``."""
    from core.evaluation.compare import score

    out = {}
    for key, corpus in (("own", None), (eval_corpus, eval_corpus)):
        if key == eval_corpus and loaded.card.corpus.get("source") == eval_corpus and "own" in out:
            out[key] = out["own"]  # the same test split: scored once
            continue
        try:
            row = score(loaded, 0, corpus)
        except UserError:
            continue  # e.g. the corpus holds characters this model never saw
        out[key] = {"corpus": row.corpus, "loss": row.test_loss, "accuracy": row.accuracy,
                    "bits_per_char": row.bits_per_char}
    return out


def _mean(values) -> float:
    values = list(values)
    return round(sum(values) / len(values), 5) if values else float("nan")
