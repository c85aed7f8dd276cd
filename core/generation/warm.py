"""No cold start: build at install time what a first Generate would build, and warm a fresh server.

``python -m core warm`` (run by ``make setup``) builds, into the data folder's cache, the novelty index
of every ABC model's training corpus and the parsed corpus every MIDI model takes its primers from.
:func:`warm_process` is what a freshly started server runs once (in the background): it loads the
default model, samples and renders a short piece and starts the notation worker, so that the first
Generate pays none of these.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core.errors import UserError
from core.training.checkpoint import list_models


def warm_caches(names: list[str] | None = None, say: Callable[[str], None] = print) -> list[dict]:
    """Build the disk caches the named models (default: every model on offer) need; one row per model."""
    from core.generation.abc_compose import training_index
    from core.generation.midi_compose import primer_titles
    from core.generation.settings import load_model

    rows = []
    for card in list_models():
        if names and card.name not in names:
            continue
        t0 = time.perf_counter()
        try:
            loaded = load_model(card.name)
            if card.is_midi:
                built = f"{len(primer_titles(loaded))} primer pieces" if card.family != "autoencoder" else "nothing"
            else:
                index = training_index(loaded)
                built = f"novelty index of {len(index.titles)} tunes" if index is not None else "no corpus"
        except UserError as exc:
            built = f"skipped: {exc}"
        rows.append({"model": card.name, "built": built, "seconds": round(time.perf_counter() - t0, 2)})
        say(f"{card.name}: {built} ({rows[-1]['seconds']:.1f} s)")
    return rows


def warm_process(name: str | None = None) -> str | None:
    """Load ``name`` (default: the first model on offer), compose and render 5 s with it, engrave it; then
    compose 5 s with every other model (its weights, novelty index or primer pieces, and the sampler's
    tables all loaded), so that no model's first Generate pays for them.

    Returns the model warmed first, or None when there is none. Errors are swallowed: warming is a courtesy.
    """
    from core.audio.notation import abc_to_svg, midi_to_svg
    from core.audio.render import render

    cards = list_models()
    card = next((c for c in cards if c.name == name), None) if name else _default(cards)
    if card is None:
        return None
    piece = _compose_short(card)
    try:
        if piece is not None:
            render(piece.midi)
            abc_to_svg(piece.abc) if piece.abc else midi_to_svg(piece.midi)
    except UserError:
        pass
    for other in cards:
        if other.name != card.name:
            _compose_short(other)
    return card.name


def _compose_short(card):
    """A 5-second piece from the model of ``card`` (None when it cannot make one)."""
    from core.generation.compose import ComposeSettings, MidiComposeSettings, compose, load_model

    try:
        loaded = load_model(card.name)
        settings = (MidiComposeSettings(card.name, seed=0, seconds=5) if card.is_midi
                    else ComposeSettings(card.name, seed=0, seconds=5, max_attempts=2))
        return compose(settings, loaded)
    except UserError:
        return None


def _default(cards):
    """The Compose page's default: ABC models first, best held-out bits per character first."""
    abc = [c for c in cards if c.metrics.get("test_bpc") is not None]
    return min(abc, key=lambda c: c.metrics["test_bpc"]) if abc else (cards[0] if cards else None)
