"""Compose as an instrument: Generate (a fresh seed each press, or a locked one; N variations in one
batch), pick one, edit its ABC and play it again, transpose, change the tempo; or continue your own tune.
Every tune is saved with a link (``?tune=ID``): a reload brings the tune and the history back.

Sections, top to bottom: model, Generate, Continue my tune, Variations, Work on the tune, Rewrite bars,
Earlier, My tunes.
"""

import dataclasses
import time

import streamlit as st

from core.errors import UserError
from core.evaluation.novelty import NoveltyResult, check_novelty
from core.evaluation.report import describe
from core.generation.abc_compose import training_index
from core.generation.continuation import continue_tune
from core.generation.midi_compose import MidiComposeSettings, primer_titles
from core.generation.variations import compose_variations, variation_seeds
from pages.common import cached_model, model_label, models_by_name
from pages.common.admin import require_admin_beyond_loopback
from pages.common.compose_forms import abc_form, continue_form, midi_form
from pages.common.library import HISTORY, keep, mine, my_tunes, owner_token, remember_owner, restore
from pages.common.rewrite import rewrite_section
from pages.common.shared import failure_messages, linked_tune, show_variations, sync_link
from pages.common.tunes import made_in, show, tune_view
from pages.common.workbench import pick, workbench

ABC_ONLY_NOVELTY = "Novelty is checked for ABC models only."

pressed_at = time.perf_counter()  # a press starts this run: every "made in" counts from here
linked_tune()  # ?tune=ID: the owner's tune comes back to work on; anyone else's shows read-only
require_admin_beyond_loopback()  # composing spends CPU: only the admin, on a public server
st.title("Compose")
st.caption("Every piece is new: sampled step by step from a network trained on a tune book or a MIDI corpus. "
           "The same model, seed and settings always give the same piece. Every tune is kept, with a link.")
remember_owner(owner_token())


def _open(tune_id: str) -> None:
    try:
        pick(restore(tune_id))
    except UserError as exc:
        st.session_state.library_message = ("error", str(exc))


cards = models_by_name()
if not cards:
    st.info("No trained models yet. Train one with `python -m core train --preset r1-lstm`.")
    st.stop()

# Outside the form, so that the settings below follow the model's kind (ABC, MIDI tokens, piano rolls).
model = st.selectbox("Model", list(cards), format_func=lambda n: model_label(cards[n]), key="model")
card = cards[model]
midi_model = card.is_midi


@st.cache_data(show_spinner="Reading the model's held-out pieces…", max_entries=16)
def _primers(name: str) -> list[str]:
    return primer_titles(cached_model(name))


def _novelty(piece, loaded, bars: float) -> tuple[str, str]:
    """Verdict and sentence of the novelty check against the model's training tunes."""
    if "novelty" in piece.meta:  # compose checked it already, while refusing copies
        result = NoveltyResult(**piece.meta["novelty"])
        return result.verdict, describe(result)
    index = training_index(loaded)  # the index compose uses, cached once per process
    if index is None:
        return "unchecked", "Novelty not checked: the model's training tunes are no longer here."
    try:
        result = check_novelty(piece.midi, index, bars)
    except UserError as exc:
        return "unchecked", f"Novelty not checked: {exc}"
    return result.verdict, describe(result)


def _view(piece, settings, label: str, notation: bool = True) -> dict:
    loaded = cached_model(model)
    if isinstance(settings, MidiComposeSettings):
        novelty = ("unchecked", ABC_ONLY_NOVELTY)
        knob = f"threshold {settings.threshold:g}" if card.family == "autoencoder" else f"T={settings.temperature:g}"
    else:
        novelty = _novelty(piece, loaded, float(settings.max_copy_bars or 2.0))
        knob = f"T={settings.temperature:g}"
    return tune_view(piece, settings.seed, label or f"{piece.title} · {model} · seed {settings.seed} · {knob}",
                     "", novelty, notation, model)


def generate(settings, n: int) -> None:
    """N variations of ``settings`` in one batch, each saved; the first playable one becomes the tune worked on."""
    results = compose_variations(settings, n, cached_model(model))
    tunes, failures = [], []
    for seed, result in zip(variation_seeds(settings.seed, n), results, strict=True):
        one = dataclasses.replace(settings, seed=seed)
        if isinstance(result, UserError):
            failures.append((seed, result))
            best = getattr(result, "best", None)
            if best is not None:
                tunes.append(_view(best, one, f"Best attempt (broken bars marked) · seed {seed}", n <= 4))
            continue
        tunes.append(_view(result, one, "", n <= 4))
    made = made_in("generated" if n == 1 else f"generated with {n - 1} other variation{'s' * (n > 2)}", pressed_at)
    tunes = [keep({**t, "made": made}, "generated") for t in tunes]
    st.session_state.generate_errors = failure_messages(failures, n)
    st.session_state.variation_tunes = tunes if n > 1 else []
    if tunes:
        pick(tunes[0])
    if failures:
        st.rerun()  # the Generate form, drawn above already, shows Try again from the next run on


def run_continue(settings) -> None:
    piece = continue_tune(settings, cached_model(model))
    tune = tune_view(piece, settings.seed, f"{piece.title} · continued · {model} · seed {settings.seed}",
                     made_in("continued", pressed_at), model=model)
    tune = keep(tune, "continued")
    st.session_state.variation_tunes, st.session_state.generate_errors = [], []
    pick(tune)


def _request():
    """What was asked for this run: Generate (or Try again) or Continue (every form is drawn each run, so
    that none loses what was typed in it)."""
    retry = bool(st.session_state.get("generate_errors"))
    if midi_model:
        primers: list[str] = []
        if card.family != "autoencoder":
            try:
                primers = _primers(model)
            except UserError as exc:
                st.caption(f"No primers: {exc}")
        asked = midi_form(model, card, primers, retry)
    else:
        asked = abc_form(model, retry)
    continued = None if midi_model else continue_form(model)
    if asked is not None:
        return "generate", asked
    if continued is not None:
        return "continue", continued
    return None, None


try:
    what, request = _request()
    if what == "generate":
        with st.spinner("Composing…"):
            generate(*request)
    elif what == "continue":
        with st.spinner("Continuing your tune…"):
            run_continue(request)
except UserError as exc:
    st.error(str(exc))

for message in st.session_state.get("generate_errors", []):
    st.error(message)
if "rewritten" in st.session_state:
    pick(st.session_state.pop("rewritten"))
show_variations(pick)
workbench()
current = st.session_state.get("current")
if current and current.get("abc") and not midi_model:
    rewritten = rewrite_section(current, model, cached_model(model),
                                int(current.get("meta", {}).get("settings", {}).get("program", 0)))
    if rewritten is not None:  # worked on from the next run: the editor above already holds this run's text
        st.session_state.rewritten = rewritten
        st.rerun()
shown = {*(t.get("id") for t in st.session_state.get("variation_tunes") or []), (current or {}).get("id")}
earlier = [info for info in mine(HISTORY + len(shown)) if info.id not in shown][:HISTORY]
if earlier:
    st.subheader("Earlier")
    for i, info in enumerate(earlier, start=1):
        with st.expander(f"{info.title} · {info.kind} · seed {info.seed}"):
            show(restore(info.id), f"h{i}")
my_tunes(_open)
sync_link()
