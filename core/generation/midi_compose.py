"""Compose with the MIDI families: note/chord and event models, and the piano-roll autoencoder.

The MIDI counterpart of :mod:`core.generation.abc_compose`. A token model continues a primer (the opening
of a held-out piece of its corpus, as the seed reports started from a window of their data,
or nothing) for a length in seconds; the autoencoder decodes a random point of its latent
space (fixed length, as the report's). Both give a :class:`core.piece.Piece` with MIDI and
no ABC, so rendering, the piano roll, the novelty check and surveys work unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache

import pretty_midi
import torch

from core.data.piece import Piece, set_program
from core.errors import UserError
from core.generation.sampler import Sampler
from core.generation.settings import check_common
from core.training.checkpoint import LoadedModel

MAX_TOKENS = 4096
"""Hard cap on sampled tokens per piece, whatever the length asked for."""


@dataclass
class MidiComposeSettings:
    """What a user sets for a MIDI model on the Compose page or ``generate``."""

    model: str
    seed: int = 0
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seconds: float = 30.0
    primer: str | None = None  # title of a held-out (test) piece of the model's corpus; None: no primer
    primer_tokens: int = 32  # how much of the primer piece's opening the model is given
    primer_midi: bytes | None = None  # an uploaded MIDI file as the primer (instead of a held-out piece)
    play_primer: bool = False  # the piece opens with the primer's notes (what the model was given), the join marked
    tempo: float | None = None  # quarter notes per minute; None: the primer's, else 100
    program: int = 0
    threshold: float = 0.5  # autoencoder: note-on probability that becomes a note (the report used 0.5)
    spread: float = 1.0  # autoencoder: how far from the training latents' mean to sample, in standard deviations

    def validate(self) -> None:
        check_common(self)
        if not 0 < self.threshold < 1:
            raise UserError(f"The note threshold must be between 0 and 1, not {self.threshold}.")
        if not 0 < self.spread <= 5:
            raise UserError(f"The latent spread must be above 0 and at most 5, not {self.spread}.")
        if self.primer_tokens < 1:
            raise UserError(f"The primer must give at least one token, not {self.primer_tokens}.")


def is_midi_model(loaded: LoadedModel) -> bool:
    return loaded.card.is_midi


def primer_titles(loaded: LoadedModel) -> list[str]:
    """Titles of the held-out (test) pieces of the model's corpus, offered as primers."""
    return [p.title for p in _test_pieces(loaded.card.corpus["source"])]


@lru_cache(maxsize=4)
def _test_pieces(source: str):
    """The held-out pieces of a MIDI corpus, read once per process (reading even the cache takes seconds)."""
    from core.data.midi_corpus import load_midi_corpus

    return load_midi_corpus(source).split("test")


def compose_midi(settings: MidiComposeSettings, loaded: LoadedModel,
                 make_sampler: Callable[..., Sampler] = Sampler) -> Piece:
    """Sample a piece; the same model, seed and settings give the same piece.

    ``make_sampler`` makes the token models' sampler (a batch row's, for variations).
    """
    settings.validate()
    generator = torch.Generator().manual_seed(settings.seed)
    t0 = time.perf_counter()
    if loaded.card.family == "autoencoder":
        midi, info = _from_latent(loaded, settings, generator)
    else:
        midi, info = _from_tokens(loaded, settings, generator, make_sampler)
    set_program(midi, settings.program)
    title = f"{loaded.card.name} #{settings.seed}"
    meta = {
        "model": loaded.card.name,
        "family": loaded.card.family,
        "settings": {k: v for k, v in asdict(settings).items() if k != "primer_midi"},
        "sample_seconds": round(time.perf_counter() - t0, 4),
        **info,
    }
    return Piece(midi, None, title, meta)


def _from_latent(loaded: LoadedModel, s: MidiComposeSettings, generator) -> tuple[pretty_midi.PrettyMIDI, dict]:
    with torch.inference_mode():
        probs = loaded.model.sample(1, generator, threshold=s.threshold, spread=s.spread)[0]
    qpm = s.tempo or 100.0
    midi = loaded.tokenizer.decode_midi(probs.numpy(), qpm=qpm, program=s.program, threshold=s.threshold)
    return midi, {"tempo": qpm, "notes_on": int((probs >= s.threshold).sum())}


def _from_tokens(loaded: LoadedModel, s: MidiComposeSettings, generator,
                 make_sampler: Callable[..., Sampler] = Sampler) -> tuple[pretty_midi.PrettyMIDI, dict]:
    tokenizer = loaded.tokenizer
    primer_ids, qpm = _primer(loaded, s, generator)
    sampler = make_sampler(loaded.model, tokenizer, generator, s.temperature, s.top_k, s.top_p)
    sampler.feed_ids(primer_ids)
    special = getattr(tokenizer, "special_ids", None) or {}
    eos = special.get("EOS")
    never = [i for name, i in special.items() if name != "EOS"]  # PAD, BOS: never inside a piece
    not_yet = never + ([eos] if eos is not None else [])  # and no end before half the length asked for
    ids: list[int] = []
    long_enough = False
    while len(ids) < MAX_TOKENS:
        token = sampler.next_token((never if long_enough else not_yet) or None)
        if token == eos:
            break
        ids.append(token)
        if len(ids) % 16 == 0:
            seconds = _seconds(tokenizer, ids, qpm)
            if seconds >= s.seconds:
                break
            long_enough = seconds >= 0.5 * s.seconds
    join = None
    if s.play_primer and (s.primer or s.primer_midi):
        opening = [i for i in primer_ids if i not in special.values()]
        midi, join = _joined(tokenizer, opening, ids, qpm, s.program)
    else:
        midi = tokenizer.decode_midi(ids, qpm=qpm, program=s.program)
    _trim(midi, (join or 0.0) + s.seconds)
    return midi, {"tempo": qpm, "tokens": len(ids), "primer_tokens": len(primer_ids),
                  "primer": s.primer, "tokens_text": " ".join(tokenizer.names(ids[:200])),
                  **({"join_seconds": round(join, 3)} if join is not None else {})}


def _joined(tokenizer, opening: list[int], ids: list[int], qpm: float,
            program: int) -> tuple[pretty_midi.PrettyMIDI, float]:
    """The primer's tokens and the continuation's as one piece, a text event marking where the model's notes
    begin; and that time in seconds (the first note after the primer's)."""
    midi = tokenizer.decode_midi(opening + ids, qpm=qpm, program=program)
    given = sum(len(inst.notes) for inst in tokenizer.decode_midi(opening, qpm=qpm, program=program).instruments)
    starts = sorted(n.start for inst in midi.instruments for n in inst.notes)
    join = starts[given] if given < len(starts) else (starts[-1] if starts else 0.0)
    midi.text_events.append(pretty_midi.Text("continuation starts", join))
    return midi, float(join)


def _primer(loaded: LoadedModel, s: MidiComposeSettings, generator) -> tuple[list[int], float]:
    tokenizer = loaded.tokenizer
    special = getattr(tokenizer, "special_ids", None) or {}
    if s.primer_midi:
        from core.generation.continuation import midi_primer

        piece = midi_primer(s.primer_midi)
        ids = tokenizer.encode_piece(piece)[-s.primer_tokens:]  # the end of the user's piece, continued
        if not ids:
            raise UserError("The uploaded MIDI file gives no tokens this model knows.")
        return ([special["BOS"]] if "BOS" in special and len(ids) < s.primer_tokens else []) + ids, \
            float(s.tempo or piece.tempo)
    if s.primer:
        piece = next((p for p in _test_pieces(loaded.card.corpus["source"]) if p.title == s.primer), None)
        if piece is None:
            raise UserError(f"No held-out piece titled {s.primer!r} in {loaded.card.corpus['name']}.")
        ids = tokenizer.encode_piece(piece)[: s.primer_tokens]
        if not ids:
            raise UserError(f"The piece {s.primer!r} gives no tokens this model knows.")
        bos = [special["BOS"]] if "BOS" in special else []  # pieces were learnt from their start token on
        return bos + ids, float(s.tempo or piece.tempo)
    if "BOS" in special:
        return [special["BOS"]], float(s.tempo or 100.0)
    # No start token (the reports' note/chord tokens): one token of the vocabulary, drawn by the seed.
    return [int(torch.randint(tokenizer.vocab_size, (1,), generator=generator))], float(s.tempo or 100.0)


def _seconds(tokenizer, ids: list[int], qpm: float) -> float:
    return tokenizer.decode_midi(ids, qpm=qpm).get_end_time()


def _trim(midi: pretty_midi.PrettyMIDI, seconds: float) -> None:
    """Cut notes that start after ``seconds``; a note held there rings on for at most 2 s."""
    for inst in midi.instruments:
        inst.notes = [n for n in inst.notes if n.start < seconds]
        for n in inst.notes:
            n.end = min(n.end, seconds + 2.0)
