"""Compose's "Rewrite bars" section: pick bars of the current tune, the model writes them anew.

The work is core.generation.infill; this only lays out the controls and turns the result into an
entry of the visit's history (the same keys the Compose page's own entries have).
"""

from __future__ import annotations

import time

import streamlit as st

from core.data.piece import Piece, UnplayableABC
from core.errors import UserError
from core.generation.infill import infill, parse_tune
from core.generation.settings import draw_seed
from core.tokenizers.fim import has_fim
from pages.common.compose_forms import SLIDER_TEMPERATURE
from pages.common.library import keep
from pages.common.tunes import made_in, tune_view

NOT_CHECKED = "Rewritten bars are not checked against the training tunes."


def _bars(abc: str) -> list[str]:
    try:
        return [bar.text for bar in parse_tune(abc).bars]
    except UserError:
        return []


def rewrite_section(tune: dict, model: str, loaded, program: int = 0) -> dict | None:
    """The controls under the current tune; the rewritten tune (saved, its parent the current one) when
    "Rewrite bars" was pressed. Its own temperature and seed (fresh each press unless locked) are read as
    they are on screen at the press."""
    bars = _bars(tune["abc"])
    if len(bars) < 2:
        return None
    st.subheader("Rewrite bars")
    fim = has_fim(loaded.tokenizer) and loaded.card.family == "transformer"
    if fim:
        st.caption(f"{model} was trained to fill in the middle: it reads the bars before and after the ones it "
                   "rewrites. Everything else stays as it is. (After one epoch of that training it still predicts "
                   "held-out bars better from what comes before alone: see docs/musicians.md.)")
    else:
        st.caption(f"{model} reads only the bars before the ones it rewrites: it does not see what follows, so "
                   "the new bars may not lead into the next ones. Everything else stays as it is. A model "
                   "trained to fill in the middle (gpt-folk-fim) sees both sides.")
    with st.expander(f"The tune's {len(bars)} bars, numbered"):
        st.code("\n".join(f"{k:>3}  {text}" for k, text in enumerate(bars, start=1)), language=None)
    with st.form("rewrite"):
        c1, c2, c3 = st.columns(3)
        first = c1.number_input("From bar", 1, len(bars), min(3, len(bars)), key="rewrite_first")
        last = c2.number_input("To bar", 1, len(bars), min(4, len(bars)), key="rewrite_last")
        temperature = c3.slider("Temperature", 0.1, SLIDER_TEMPERATURE, 0.8, 0.05, key="rewrite_temperature")
        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        typed = c1.number_input("Seed for the new bars", 0, 2**31 - 1, 0, key="rewrite_seed",
                                help="Used when locked; otherwise each press draws a fresh seed and shows it.")
        lock = c2.checkbox("Lock seed", key="rewrite_lock_seed", help="The same seed rewrites the same bars.")
        if not st.form_submit_button("Rewrite bars"):
            return None
    t0, seed = time.perf_counter(), int(typed) if lock else draw_seed()
    try:
        with st.spinner("Rewriting…"):
            result = infill(tune["abc"], f"{int(first)}-{int(last)}", loaded, seed=seed, temperature=float(temperature))
            piece = Piece.from_abc(result.abc, program, meta={"model": model, "rewritten_bars": list(result.bars),
                                                             "mode": result.mode, "seed": seed})
    except (UserError, UnplayableABC) as exc:
        st.error(str(exc))
        return None
    return _entry(piece, tune, result, model, t0)


def _entry(piece: Piece, tune: dict, result, model: str, since: float) -> dict:
    """The rewritten tune in the page's own form (pages.common.tunes.tune_view), saved with where it came from."""
    first, last = result.bars
    piece.meta = {**tune.get("meta", {}), **piece.meta}
    label = f"{piece.title} · bars {first}-{last} rewritten by {model} · seed {result.seed}"
    how = f"bars {first}-{last} rewritten with seed {result.seed}"
    if result.abc == tune["abc"]:
        how += " (the same notes: that seed gives these bars; unlock it for new ones)"
    new = tune_view(piece, result.seed, label, made_in(how, since), novelty=("unchecked", NOT_CHECKED), model=model)
    return keep(new, "rewritten", tune.get("id"))
