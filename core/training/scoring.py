"""Held-out scoring: mean loss (nats per token), accuracy and bits per character, for every family."""

from __future__ import annotations

import torch

from core.training.batching import IGNORE, CharStreams, Shard, TrainData
from core.training.config import LN2

EVAL_BATCH, EVAL_SEQ = 16, 256  # character streams are scored 16 x 256 at a time, state carried


@torch.no_grad()
def evaluate(model: torch.nn.Module, ids: torch.Tensor, batch_size: int = EVAL_BATCH,
             seq_len: int = EVAL_SEQ) -> tuple[float, float]:
    """Mean cross-entropy (nats per token) and accuracy of a stateful model over one id stream."""
    data = CharStreams(tokenizer=None, corpus={}, tokens={}, ids={"test": ids})
    return evaluate_split(model, data, "test", batch_size, seq_len)


@torch.no_grad()
def evaluate_split(model: torch.nn.Module, data: TrainData, part: str, batch_size: int,
                   seq_len: int) -> tuple[float, float]:
    """Mean loss per predicted token (nats) and accuracy over a held-out split, dropout off."""
    if data.n_batches(part, batch_size, seq_len) == 0:
        return float("nan"), float("nan")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, correct, count, state = 0.0, 0, 0, None
    for xb, yb in data.batches(part, batch_size, seq_len, 0, Shard()):
        xb, yb = xb.to(device), yb.to(device)
        logits, loss, state = model(xb, yb, state if data.stateful else None)
        c, n = count_correct(model, logits, yb)
        total += loss.item() * n
        correct += c
        count += n
    model.train(was_training)
    return (total / count, correct / count) if count else (float("nan"), float("nan"))


def count_correct(model: torch.nn.Module, logits: torch.Tensor, targets: torch.Tensor) -> tuple[int, int]:
    """(correct, scored) predictions: the family's own rule, else argmax over non-ignored targets."""
    if hasattr(model, "counts"):
        return model.counts(logits, targets)
    keep = targets != IGNORE
    return int((logits.argmax(-1) == targets)[keep].sum()), int(keep.sum())


def bits_per_char(loss: float, data: TrainData, part: str) -> float:
    """Bits per character of ABC text (tokens may span several characters); per token for MIDI."""
    if data.characters and data.tokens.get(part):
        return loss / LN2 * data.tokens[part] / data.characters[part]
    return loss / LN2


@torch.no_grad()
def roll_metrics(model: torch.nn.Module, data: TrainData) -> dict:
    """For piano rolls, cell accuracy says little (2-3% of cells sound): the note F1 on the test rolls at
    the report's 0.5 threshold and at 0.3, and the accuracy of predicting silence everywhere."""
    rolls = getattr(data, "rolls", {}).get("test")
    if rolls is None or not len(rolls):
        return {}
    from core.models.autoencoder import note_f1

    model.eval()
    device = next(model.parameters()).device
    logits = torch.cat([model(rolls[k : k + 256].to(device))[0].cpu() for k in range(0, len(rolls), 256)])
    return {
        "test_note_f1": round(note_f1(logits, rolls, 0.5), 5),
        "test_note_f1_at_0.3": round(note_f1(logits, rolls, 0.3), 5),
        "test_silent_accuracy": round(1 - float(rolls.mean()), 5),
    }
