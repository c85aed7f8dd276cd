"""Fill-in-the-middle training: rearranged tunes mixed into the GPT's packed rows, and warm starts.

Each epoch, a share ``fim_rate`` of the training tunes is rewritten as
``PRE header+prefix SUF suffix MID middle END`` (or, in the ``spm`` order,
``SUF suffix PRE header+prefix middle END``) where the middle is 1 to 4 whole bars of the
body (the bar contents with the bar lines between them; the bar line that closes the last of
them stays in the suffix), drawn afresh every epoch from ``(seed, epoch)``. The other tunes, and
the validation and test splits, stay left to right, so a FIM model's validation loss (which picks
its best epoch) and test bits per character are the same left-to-right figures as any model's.

``init_from`` starts a run from a finished checkpoint's weights: every tensor of the same shape
is copied, and the token embedding (tied to the output head) keeps its rows for the characters
the checkpoint knew, the FIM tokens' new rows starting at the mean embedding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from core.errors import UserError
from core.training.batching import PackedSequences, _blocks, pack

MAX_MIDDLE_BARS = 4


@dataclass
class FimTune:
    """One training tune as text, with the body's bar offsets (content start, content end)."""

    head: str  # header lines
    body: str
    bars: list[tuple[int, int]]


@dataclass
class FimPackedSequences(PackedSequences):
    """Packed whole tunes whose training split is partly rearranged for fill-in-the-middle."""

    fim_tunes: list[FimTune] = field(default_factory=list)
    fim_rate: float = 0.5
    fim_order: str = "psm"

    def batches(self, part, batch_size, seq_len, epoch, shard):
        if part != "train":
            yield from super().batches(part, batch_size, seq_len, epoch, shard)
            return
        rows = pack(self.epoch_items(epoch), seq_len + 1)
        for block in _blocks(len(rows), batch_size, part, epoch, self.seed, shard):
            row = rows[block]
            yield row[:, :-1].clamp(min=0), row[:, 1:]

    def epoch_items(self, epoch: int) -> list[list[int]]:
        """The training tunes' ids for one epoch, a share of them rearranged (the same in every process)."""
        rng = np.random.default_rng([self.seed, epoch, 0xF1])
        out = []
        for ids, tune in zip(self.items["train"], self.fim_tunes, strict=True):
            if len(tune.bars) >= 2 and rng.random() < self.fim_rate:
                out.append(rearranged(self.tokenizer, tune, rng, self.fim_order))
            else:
                out.append(ids)
        return out


def rearranged(tokenizer, tune: FimTune, rng: np.random.Generator, order: str = "psm") -> list[int]:
    """The tune's ids rearranged in ``order`` (see core.tokenizers.fim), the middle 1-4 whole bars."""
    from core.tokenizers.fim import fim_ids

    n = len(tune.bars)
    size = int(rng.integers(1, min(MAX_MIDDLE_BARS, n - 1) + 1))
    first = int(rng.integers(0, n - size + 1))
    start, end = tune.bars[first][0], tune.bars[first + size - 1][1]
    prefix = tune.head + tune.body[:start]
    return fim_ids(tokenizer, prefix, tune.body[end:] + "\n\n", tune.body[start:end], order)


def fim_tunes(corpus_name: str) -> list[FimTune]:
    """The corpus's training tunes as the packed rows hold them (``Tune.to_abc()`` plus a blank line)."""
    from core.data.abc import analyse_body
    from core.data.corpus import load_corpus

    out = []
    for tune in load_corpus(corpus_name).split("train"):
        body = tune.body.strip()
        try:
            bars = [(b.start, b.end) for b in analyse_body(body, tune.meter, tune.unit).bars]
        except UserError:
            bars = []
        out.append(FimTune(tune.header(), body, bars))
    return out


def make_fim_data(data: PackedSequences, corpus_name: str, fim_rate: float,
                  fim_order: str = "psm") -> FimPackedSequences:
    """``data`` (already tokenized with the FIM tokens) with its training split rearranged each epoch."""
    tunes = fim_tunes(corpus_name)[: len(data.items["train"])]  # fewer under --max-train-chars
    for tune, ids in zip(tunes, data.items["train"], strict=True):
        if len(ids) != len(tune.head) + len(tune.body) + 2:  # cut short by --max-train-chars: kept as it is
            tune.bars = []
    fields = {k: getattr(data, k) for k in ("tokenizer", "corpus", "tokens", "characters", "extra", "items", "seed")}
    return FimPackedSequences(**fields, fim_tunes=tunes, fim_rate=fim_rate, fim_order=fim_order)


def init_tokenizer(init_from: str, fim: bool):
    """The tokenizer of the checkpoint a run starts from, with the FIM tokens when the run adds them."""
    from core.tokenizers import CharTokenizer, tokenizer_from_dict
    from core.tokenizers.fim import with_fim
    from core.training.checkpoint import find_model, read_card

    card = read_card(find_model(init_from))
    tokenizer = tokenizer_from_dict(card.tokenizer)
    if fim:
        if not isinstance(tokenizer, CharTokenizer):
            raise UserError(f"{init_from} reads {card.tokenizer.get('kind')} tokens; fill-in-the-middle "
                            "training is for the ABC character models.")
        tokenizer = with_fim(tokenizer)
    return tokenizer


@torch.no_grad()
def load_initial_weights(model: torch.nn.Module, init_from: str, family: str) -> None:
    """Copy a checkpoint's weights into ``model`` (same family and shape, the vocabulary possibly grown)."""
    from safetensors.torch import load_file

    from core.models import config_dict
    from core.training.checkpoint import find_model, read_card

    folder = find_model(init_from)
    card = read_card(folder)
    mine = config_dict(model)
    theirs = dict(card.model)
    if card.family != family or {**theirs, "vocab_size": 0} != {**mine, "vocab_size": 0}:
        raise UserError(f"Cannot start from {init_from}: it is a {card.family} model of another shape "
                        "than this preset's.")
    state = load_file(str(folder / "model.safetensors"))
    own = model.state_dict()
    for key, value in state.items():
        target = own.get(key)
        if target is None:
            raise UserError(f"Cannot start from {init_from}: its weight {key} has no place in this model.")
        if target.shape == value.shape:
            target.copy_(value)
        elif target.dim() == value.dim() and target.shape[1:] == value.shape[1:] and value.shape[0] < target.shape[0]:
            target[: value.shape[0]] = value  # vocabulary rows; new tokens start at the mean row
            target[value.shape[0]:] = value.mean(dim=0)
        else:
            raise UserError(f"Cannot start from {init_from}: its weight {key} has another shape.")
