"""Variations: N pieces of the same settings, seeds ``seed .. seed + N - 1``.

Recurrent families run through :func:`core.generation.batch.run_lockstep` (one forward pass per step for
all N). A model that samples speculatively (the GPT: core.generation.speculative) composes each seed as a
single tune, one after another: rows of a lockstep batch cannot speculate, and this keeps every variation
the tune its seed gives alone (measured: N speculative tunes cost about what the old lockstep batch did;
two threads gained nothing, the per-token Python holding the GIL).
The piano-roll autoencoder is not autoregressive and decodes each seed on its own
(one pass each). Variation i is the piece a single compose with seed ``seed + i`` gives, up to float
rounding of batched arithmetic.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from core.data.piece import Piece
from core.errors import UserError
from core.generation.abc_compose import ComposeSettings, compose_abc
from core.generation.batch import run_lockstep
from core.generation.midi_compose import MidiComposeSettings, compose_midi, is_midi_model
from core.generation.settings import MAX_SEED, load_model, one_thread
from core.training.checkpoint import LoadedModel

MAX_VARIATIONS = 8


def check_variations(n) -> int:
    """N must be a whole number from 1 to MAX_VARIATIONS; raises UserError otherwise."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_VARIATIONS:
        raise UserError(f"Variations must be a whole number from 1 to {MAX_VARIATIONS}, not {n!r}.")
    return n


def variation_seeds(seed: int, n: int) -> list[int]:
    """The seeds of N variations: ``seed, seed + 1, ...``, wrapping past the largest seed."""
    return [(seed + i) % (MAX_SEED + 1) for i in range(check_variations(n))]


def compose_variations(settings: ComposeSettings | MidiComposeSettings, n: int,
                       loaded: LoadedModel | None = None) -> list[Piece | UserError]:
    """N pieces (or, per variation, the UserError that stopped it: a NoPlayableTune carries its best attempt)."""
    loaded = loaded or load_model(settings.model)
    midi_model = is_midi_model(loaded)
    if midi_model != isinstance(settings, MidiComposeSettings):
        raise UserError(f"{loaded.card.name} is an {'MIDI' if midi_model else 'ABC'} model; its settings do not fit.")
    settings.validate()
    each = [replace(settings, seed=seed) for seed in variation_seeds(settings.seed, n)]
    if midi_model and loaded.card.family == "autoencoder":
        return [_catch(compose_midi, s, loaded) for s in each]
    compose_one = compose_midi if midi_model else compose_abc
    with one_thread():
        if hasattr(loaded.model, "verify"):
            results = [_catch(compose_one, s, loaded) for s in each]
        else:
            results = run_lockstep(loaded.model, [partial(_task, compose_one, s, loaded) for s in each])
    for result in results:
        if isinstance(result, Exception) and not isinstance(result, UserError):
            raise result
    return results


def _task(compose_one, settings, loaded, make_sampler):
    return compose_one(settings, loaded, make_sampler)


def _catch(compose_one, settings, loaded) -> Piece | UserError:
    try:
        return compose_one(settings, loaded)
    except UserError as exc:
        return exc
