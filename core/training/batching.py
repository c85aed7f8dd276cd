"""Training data for every family: a corpus, tokenized, cut into the batches the family learns from.

One small class per way of batching, chosen by the family:

- ``CharStreams`` (char_rnn): the seed reports' stateful training; the text is cut into
  ``batch_size`` parallel streams read ``seq_len`` characters at a time, row i of a batch
  continuing row i of the previous one.
- ``PackedSequences`` (transformer): whole tunes or pieces packed into rows of ``seq_len`` + 1
  tokens (a piece longer than a row continues in the next row), padded with ignored targets.
- ``Windows`` (note_rnn): every window of ``window`` tokens and the token after it, as the
  reports' ``prepare_sequences``.
- ``Rolls`` (autoencoder): piano-roll chunks, each its own target.

Under data-parallel training every process gets its own share of rows of each batch, so
``batch_size`` is the global batch and the mean gradient equals a one-process run's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from core.errors import UserError

IGNORE = -100
SPLITS = ("train", "valid", "test")
Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class Shard:
    """Which share of each batch this process reads: rows ``rank::world``."""

    rank: int = 0
    world: int = 1

    def rows(self, batch_size: int) -> int:
        if batch_size % self.world:
            raise UserError(f"Batch size {batch_size} must be a multiple of the {self.world} training processes.")
        return batch_size // self.world


@dataclass
class TrainData:
    """A tokenized corpus and what the card says about it."""

    tokenizer: object
    corpus: dict  # name, source, fingerprint, items per split
    tokens: dict[str, int]  # tokens per split
    characters: dict[str, int] | None = None  # characters per split (ABC text), for bits per character
    stateful: bool = False
    extra: dict = field(default_factory=dict)

    def batches(self, part: str, batch_size: int, seq_len: int, epoch: int, shard: Shard) -> Iterator[Batch]:
        raise NotImplementedError

    def n_batches(self, part: str, batch_size: int, seq_len: int) -> int:
        raise NotImplementedError


def _order(n: int, epoch: int, seed: int) -> np.ndarray:
    """A shuffled order of n items, the same in every process for one epoch (epoch 0: unshuffled)."""
    if epoch == 0:
        return np.arange(n)
    return np.random.default_rng([seed, epoch]).permutation(n)


@dataclass
class CharStreams(TrainData):
    ids: dict[str, torch.Tensor] = field(default_factory=dict)
    stateful: bool = True

    def _streams(self, part: str, batch_size: int) -> Batch:
        ids = self.ids[part]
        batch_size = max(1, min(batch_size, (len(ids) - 1) // 2))
        n = (len(ids) - 1) // batch_size
        return ids[: n * batch_size].view(batch_size, n), ids[1 : n * batch_size + 1].view(batch_size, n)

    def n_batches(self, part: str, batch_size: int, seq_len: int) -> int:
        return math.ceil(self._streams(part, batch_size)[0].size(1) / seq_len)

    def batches(self, part, batch_size, seq_len, epoch, shard):
        x, y = self._streams(part, batch_size)
        if part == "train":
            rows = slice(shard.rank, None, shard.world)
            shard.rows(x.size(0))
            x, y = x[rows], y[rows]
        for k in range(0, x.size(1), seq_len):
            yield x[:, k : k + seq_len], y[:, k : k + seq_len]


@dataclass
class PackedSequences(TrainData):
    """Items (tunes, pieces) as id lists; rows of ``seq_len`` + 1 tokens packed greedily in corpus order."""

    items: dict[str, list[list[int]]] = field(default_factory=dict)
    seed: int = 0
    _rows: dict = field(default_factory=dict)

    def rows(self, part: str, seq_len: int) -> torch.Tensor:
        """(rows, seq_len + 1) ids, IGNORE where a row is padded."""
        key = (part, seq_len)
        if key not in self._rows:
            self._rows[key] = pack(self.items[part], seq_len + 1)
        return self._rows[key]

    def n_batches(self, part, batch_size, seq_len):
        return math.ceil(len(self.rows(part, seq_len)) / batch_size)

    def batches(self, part, batch_size, seq_len, epoch, shard):
        rows = self.rows(part, seq_len)
        for block in _blocks(len(rows), batch_size, part, epoch, self.seed, shard):
            row = rows[block]
            yield row[:, :-1].clamp(min=0), row[:, 1:]


def pack(items: list[list[int]], width: int) -> torch.Tensor:
    """Pack id lists into rows of ``width`` ids, each item starting where the previous one ended.

    An item that does not fit goes on in the next row, which repeats the row's last id as its
    first input so no transition goes unlearnt; the last row is padded with IGNORE.
    """
    rows: list[list[int]] = []
    row: list[int] = []
    for item in items:
        ids = list(item)
        while ids:
            room = width - len(row)
            row += ids[:room]
            ids = ids[room - 1 :] if len(ids) > room else []
            if len(row) == width:
                rows.append(row)
                row = []
    if len(row) > 1:
        rows.append(row + [IGNORE] * (width - len(row)))
    return torch.tensor(rows, dtype=torch.long).view(-1, width)


def _blocks(n: int, batch_size: int, part: str, epoch: int, seed: int, shard: Shard) -> Iterator[torch.Tensor]:
    """Index blocks of one epoch: the training split shuffled, full batches only (all of it when it
    is smaller than one batch), each process taking its rows; held-out splits in order, whole."""
    if part != "train":
        for k in range(0, n, batch_size):
            yield torch.arange(k, min(n, k + batch_size))
        return
    order = torch.from_numpy(_order(n, epoch, seed))
    size = min(batch_size, n - n % shard.world)
    shard.rows(batch_size)
    if size < shard.world:
        return
    local = size // shard.world
    for k in range(0, n - size + 1, size):
        yield order[k + shard.rank * local : k + (shard.rank + 1) * local]


@dataclass
class Windows(TrainData):
    """Every ``window`` consecutive tokens of a split (pieces concatenated, as the reports) and the next one."""

    ids: dict[str, torch.Tensor] = field(default_factory=dict)
    window: int = 50
    seed: int = 0

    def _count(self, part: str) -> int:
        return max(0, len(self.ids[part]) - self.window)

    def n_batches(self, part, batch_size, seq_len):
        return math.ceil(self._count(part) / batch_size)

    def batches(self, part, batch_size, seq_len, epoch, shard):
        ids, offsets = self.ids[part], torch.arange(self.window)
        for block in _blocks(self._count(part), batch_size, part, epoch, self.seed, shard):
            yield ids[block[:, None] + offsets], ids[block + self.window]


@dataclass
class Rolls(TrainData):
    """Piano-roll chunks (N, measures, steps, pitches) as float {0, 1}; each is its own target."""

    rolls: dict[str, torch.Tensor] = field(default_factory=dict)
    seed: int = 0

    def n_batches(self, part, batch_size, seq_len):
        return math.ceil(len(self.rolls[part]) / batch_size)

    def batches(self, part, batch_size, seq_len, epoch, shard):
        rolls = self.rolls[part]
        for block in _blocks(len(rolls), batch_size, part, epoch, self.seed, shard):
            yield rolls[block], rolls[block]


def check_pairing(family: str, tokenizer_kind: str, corpus: str) -> None:
    """Refuse, before any loading, a preset that cannot learn from this kind of corpus."""
    from core.data.midi_corpus import is_midi_corpus

    midi = is_midi_corpus(corpus)
    if not midi and tokenizer_kind != "abc_chars":
        raise UserError(f"{corpus} is an ABC corpus; this preset reads MIDI (pick bach or an imported MIDI corpus).")
    if midi and tokenizer_kind == "abc_chars":
        raise UserError(f"{corpus} is a MIDI corpus; this preset reads ABC text (pick a note, event or "
                        "piano-roll preset).")
    if (family == "autoencoder") != (tokenizer_kind == "pianoroll"):
        raise UserError("The autoencoder, and only it, learns from piano rolls.")


def build_data(family: str, tokenizer_spec: dict, corpus: str, *, seed: int = 0, window: int = 50,
               max_train_chars: int | None = None, tokenizer=None, parts: tuple[str, ...] = SPLITS) -> TrainData:
    """Load ``corpus`` (an ABC or MIDI corpus name or path), fit the tokenizer on it (or use the
    given one: a checkpoint's) and batch it the way ``family`` learns. Splits not in ``parts`` are
    left empty (scoring a checkpoint needs only its test split)."""
    from core.data.midi_corpus import is_midi_corpus

    if tokenizer is None and "train" not in parts:
        raise ValueError("Fitting a tokenizer needs the training split.")
    if is_midi_corpus(corpus):
        return _midi_data(family, tokenizer_spec, corpus, seed=seed, window=window, tokenizer=tokenizer, parts=parts)
    return _abc_data(family, tokenizer_spec, corpus, seed=seed, window=window, max_train_chars=max_train_chars,
                     tokenizer=tokenizer, parts=parts)


def _abc_data(family, tokenizer_spec, corpus_name, *, seed, window, max_train_chars, tokenizer, parts) -> TrainData:
    from core.data.corpus import load_corpus
    from core.tokenizers import CharTokenizer

    if tokenizer_spec.get("kind", "abc_chars") != "abc_chars":
        raise UserError(f"{corpus_name} is an ABC corpus; the {tokenizer_spec['kind']} tokenizer reads MIDI corpora.")
    if family == "autoencoder":
        raise UserError("The piano-roll autoencoder learns from MIDI corpora: pick bach or an imported MIDI corpus.")
    corpus = load_corpus(corpus_name)
    tunes = {part: [t.to_abc() + "\n" for t in corpus.split(part)] if part in parts else [] for part in SPLITS}
    texts = {part: corpus.text(part) if part in parts else "" for part in SPLITS}  # tunes joined by a blank line
    tokenizer = tokenizer or CharTokenizer.from_text("".join(texts.values()))
    unseen = tokenizer.unknown("".join(texts.values()))
    if unseen:
        shown = ", ".join(repr(c) for c in sorted(unseen)[:5])
        raise UserError(f"{corpus.name} holds characters this model never saw ({shown}), so it cannot be scored there.")
    if max_train_chars:
        texts["train"] = texts["train"][:max_train_chars]
        tunes["train"] = _first_chars(tunes["train"], max_train_chars)
    card = {
        "name": corpus.name,
        "source": corpus_name,
        "kind": "abc",
        "fingerprint": corpus.fingerprint(),
        "tunes": {p: len(corpus.split(p)) for p in SPLITS},
        "characters": {p: len(t) for p, t in texts.items()},
    }
    common = dict(tokenizer=tokenizer, corpus=card, tokens=dict(card["characters"]), characters=card["characters"])
    if family == "char_rnn":
        ids = {p: torch.tensor(tokenizer.encode(t), dtype=torch.long) for p, t in texts.items()}
        return CharStreams(**common, ids=ids)
    if family == "note_rnn":
        ids = {p: torch.tensor(tokenizer.encode(t), dtype=torch.long) for p, t in texts.items()}
        return Windows(**common, ids=ids, window=window, seed=seed)
    items = {p: [tokenizer.encode(t) for t in items] for p, items in tunes.items()}
    return PackedSequences(**common, items=items, seed=seed)


def _first_chars(items: list[str], limit: int) -> list[str]:
    out, total = [], 0
    for item in items:
        if total >= limit:
            break
        out.append(item[: limit - total])
        total += len(out[-1])
    return out


def _midi_data(family, tokenizer_spec, corpus_name, *, seed, window, tokenizer, parts) -> TrainData:
    from core.data.midi_corpus import load_midi_corpus
    from core.tokenizers import TOKENIZERS

    spec = dict(tokenizer_spec)
    kind = spec.pop("kind", None)
    if kind in (None, "abc_chars"):
        raise UserError(f"{corpus_name} is a MIDI corpus; choose a preset with a MIDI tokenizer (note/chord, events).")
    if family == "char_rnn":
        raise UserError("The character models read ABC text; for a MIDI corpus pick a note, transformer or "
                        "autoencoder preset.")
    if (family == "autoencoder") != (kind == "pianoroll"):
        raise UserError("The autoencoder and only it learns from piano rolls.")
    corpus = load_midi_corpus(corpus_name)
    pieces = {part: corpus.split(part) if part in parts else [] for part in SPLITS}
    if "train" in parts and not pieces["train"]:
        raise UserError(f"Corpus {corpus_name} has no training pieces.")
    tokenizer = tokenizer or TOKENIZERS[kind].fit(pieces["train"], **spec)
    card = {
        "name": corpus.name,
        "source": corpus_name,
        "kind": "midi",
        "fingerprint": corpus.fingerprint(),
        "pieces": {p: len(v) for p, v in pieces.items()},
        "options": corpus.options.to_dict(),
    }
    if family == "autoencoder":
        rolls = {}
        for part, items in pieces.items():
            arrays = [c for c in (tokenizer.encode_piece(p) for p in items) if len(c)]
            empty = torch.zeros(0, *tokenizer.shape)
            rolls[part] = torch.from_numpy(np.concatenate(arrays)).float() if arrays else empty
        card["chunks"] = {p: len(r) for p, r in rolls.items()}
        return Rolls(tokenizer=tokenizer, corpus=card, tokens={p: len(r) for p, r in rolls.items()},
                     rolls=rolls, seed=seed)
    encoded = {part: [_framed(tokenizer, p) for p in items] for part, items in pieces.items()}
    tokens = {p: sum(len(i) for i in items) for p, items in encoded.items()}
    card["tokens"] = tokens
    if family == "note_rnn":
        ids = {p: torch.tensor([t for i in items for t in i], dtype=torch.long) for p, items in encoded.items()}
        return Windows(tokenizer=tokenizer, corpus=card, tokens=tokens, ids=ids, window=window, seed=seed)
    return PackedSequences(tokenizer=tokenizer, corpus=card, tokens=tokens, items=encoded, seed=seed)


def _framed(tokenizer, piece) -> list[int]:
    """A piece's ids, between BOS and EOS where the tokenizer has them (so a model learns starts and ends)."""
    ids = tokenizer.encode_piece(piece)
    special = getattr(tokenizer, "special_ids", None)
    if special and ids and "BOS" in special and "EOS" in special:
        return [special["BOS"], *ids, special["EOS"]]
    return ids
