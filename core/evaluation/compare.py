"""One comparison table: every model scored again on the test split of its own corpus.

Nothing is read from the cards' metrics: the test loss and accuracy are recomputed from the
weights, batched as the family trained (so a character LSTM carries its state, a
Transformer reads whole tunes), and sampling speed is timed on this machine. The card
supplies only what cannot be re-measured: parameters, training time and hardware.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

from core.errors import UserError
from core.training.batching import build_data
from core.training.checkpoint import LoadedModel, find_model, list_models, load_checkpoint
from core.training.config import LN2
from core.training.scoring import EVAL_BATCH, EVAL_SEQ, bits_per_char, evaluate_split


@dataclass
class ComparisonRow:
    name: str
    family: str
    corpus: str
    tokenizer: str
    parameters: int
    test_tokens: int
    test_loss: float  # nats per predicted token (binary cross-entropy per cell for the autoencoder)
    bits_per_token: float
    bits_per_char: float | None  # ABC models only: comparable across tokenizers
    accuracy: float
    training_time_s: float | None
    hardware: str
    sample_tokens_per_s: float | None  # autoregressive families, batch 1, this machine
    samples_per_s: float  # whole samples (a 30-second piece or an autoencoder roll) per second

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Comparison:
    rows: list[ComparisonRow]
    skipped: dict[str, str]  # model name -> the one sentence that says why it could not be scored


def compare(names: list[str] | None = None, sample_tokens: int = 256, abc_corpus: str | None = None,
            ) -> Comparison:
    """Rows for the named models (every model the app offers when None). ``abc_corpus`` scores every
    ABC model on that corpus's test split instead of its own (e.g. O'Neill's, for models trained on more);
    a model that cannot be scored (its corpus is gone, or holds characters it never saw) is skipped, with why."""
    if names is None:
        names = [card.name for card in list_models()]
    rows, skipped = [], {}
    for name in names:
        try:  # read afresh, not from a cache: the user may have retrained a model of this name
            rows.append(score(load_checkpoint(find_model(name)), sample_tokens, abc_corpus))
        except UserError as exc:
            skipped[name] = str(exc)
    return Comparison(rows, skipped)


def score(loaded: LoadedModel, sample_tokens: int = 256, abc_corpus: str | None = None) -> ComparisonRow:
    """Recompute one model's held-out figures and time its sampling."""
    card, model = loaded.card, loaded.model
    corpus = card.corpus["source"]
    if abc_corpus and card.tokenizer.get("kind") == "abc_chars":
        corpus = abc_corpus
    data = build_data(card.family, card.tokenizer, corpus, window=card.model.get("window", 50),
                      tokenizer=loaded.tokenizer, parts=("test",))
    if data.stateful:
        batch, seq = EVAL_BATCH, EVAL_SEQ
    else:
        batch, seq = int(card.training.get("batch_size", 16)), int(card.training.get("seq_len", 64))
    with torch.inference_mode():
        loss, accuracy = evaluate_split(model, data, "test", batch, seq)
    tokens = data.tokens["test"]
    bpc = bits_per_char(loss, data, "test") if data.characters else None
    per_token, per_sample = _sampling_speed(loaded, sample_tokens)
    return ComparisonRow(
        name=card.name,
        family=card.family,
        corpus=data.corpus.get("name", ""),
        tokenizer=card.tokenizer.get("kind", ""),
        parameters=card.parameters,
        test_tokens=tokens,
        test_loss=round(loss, 5),
        bits_per_token=round(loss / LN2, 5),
        bits_per_char=None if bpc is None else round(bpc, 5),
        accuracy=round(accuracy, 5),
        training_time_s=card.training.get("wall_time_s"),
        hardware=card.training.get("hardware", ""),
        sample_tokens_per_s=per_token,
        samples_per_s=per_sample,
    )


def _sampling_speed(loaded: LoadedModel, n: int) -> tuple[float | None, float]:
    """(tokens per second when sampling one at a time, 30-second pieces per second made end to end)."""
    model = loaded.model
    per_token = None
    if hasattr(model, "step") and n > 0:
        from core.generation.sampler import Sampler

        sampler = Sampler(model, loaded.tokenizer, torch.Generator().manual_seed(0))
        sampler.feed_ids([0])
        sampler.next_token()  # warm-up
        t0 = time.perf_counter()
        for _ in range(n):
            sampler.next_token()
        per_token = round(n / (time.perf_counter() - t0), 1)
    if n <= 0:
        return per_token, 0.0
    make_piece(loaded, 0)  # warm-up (first-use caches)
    t0 = time.perf_counter()
    for seed in range(1, 4):
        make_piece(loaded, seed)
    return per_token, round(3 / (time.perf_counter() - t0), 2)


def make_piece(loaded: LoadedModel, seed: int, seconds: float = 30.0):
    """One piece as the Compose page makes it (without the copy check, which is not the model's cost)."""
    if loaded.card.tokenizer.get("kind") == "abc_chars":
        from core.generation.compose import ComposeSettings, compose

        return compose(ComposeSettings(model=loaded.card.name, seed=seed, seconds=seconds, max_copy_bars=None),
                       loaded)
    from core.generation.midi_compose import MidiComposeSettings, compose_midi

    return compose_midi(MidiComposeSettings(model=loaded.card.name, seed=seed, seconds=seconds), loaded)


def markdown(rows: list[ComparisonRow]) -> str:
    """The README's comparison table."""
    out = [
        "| model | family | corpus | tokenizer | parameters | test loss (nats/token) | bits/char | accuracy "
        "| training time | hardware | sampling tokens/s | samples/s |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        hours = "" if r.training_time_s is None else f"{r.training_time_s / 60:.0f} min"
        out.append(
            f"| {r.name} | {r.family} | {r.corpus} | {r.tokenizer} | {r.parameters:,} | {r.test_loss:.3f} "
            f"| {'' if r.bits_per_char is None else f'{r.bits_per_char:.3f}'} | {r.accuracy:.3f} | {hours} "
            f"| {r.hardware} | {'' if r.sample_tokens_per_s is None else f'{r.sample_tokens_per_s:,.0f}'} "
            f"| {r.samples_per_s:g} |"
        )
    return "\n".join(out)
