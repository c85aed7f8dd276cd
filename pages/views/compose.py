"""Compose: pick a model and settings, press Generate, hear the tune and see its notation."""

import time

import streamlit as st

from core.abc import default_unit
from core.compose import ComposeSettings, compose, training_index
from core.errors import UserError
from core.notation import abc_to_svg, piano_roll_png
from core.novelty import NoveltyResult, check_novelty
from core.render import GM_INSTRUMENTS, render, wav_bytes
from core.report import describe
from pages.common import cached_model, model_label, models_by_name

ANY = "(model's choice)"
TUNE_TYPES = [ANY, "jig", "reel", "hornpipe", "slip jig", "double jig", "polka", "waltz", "air"]
METERS = [ANY, "6/8", "C|", "2/4", "3/4", "C", "9/8", "4/4", "12/8"]
KEYS = [ANY, "D", "G", "A", "C", "F", "Em", "Am", "Bm", "Dm", "Gm", "Ador", "Edor", "Dmix", "Amix", "Gmix"]
UNITS = ["(auto)", "1/8", "1/16", "1/4"]
HISTORY = 10

st.title("Compose")
st.caption("Every tune is new: sampled character by character from a network trained on a tune book. "
           "The same model, seed and settings always give the same tune.")
st.session_state.setdefault("history", [])

cards = models_by_name()
if not cards:
    st.info("No trained models yet. Train one with `python -m core train --preset r1-lstm`.")
    st.stop()

with st.form("compose"):
    model = st.selectbox("Model", list(cards), format_func=lambda n: model_label(cards[n]), key="model")
    c1, c2, c3, c4 = st.columns(4)
    tune_type = c1.selectbox("Tune type", TUNE_TYPES, key="tune_type")
    meter = c2.selectbox("Meter", METERS, key="meter", help="Left to the model, a tune type implies its usual meter.")
    key = c3.selectbox("Key", KEYS, key="key")
    unit = c4.selectbox("Unit note length", UNITS, key="unit")
    title = st.text_input("Title (optional: the model names the tune)", key="title", max_chars=80)
    opening = st.text_area("Opening bars (optional, ABC body)", key="opening", height=70, max_chars=400,
                           placeholder="e.g. A2B c2d | e2f g2e |")
    c1, c2, c3 = st.columns(3)
    temperature = c1.slider("Temperature", 0.1, 2.0, 0.8, 0.05, key="temperature",
                            help="Lower: safer, more repetitive tunes. Higher: bolder, more mistakes.")
    seed = c2.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="seed")
    seconds = c3.slider("Length (seconds, repeats included)", 10, 180, 40, 5, key="seconds")
    c1, c2 = st.columns(2)
    instrument = c1.selectbox("Instrument", list(GM_INSTRUMENTS), key="instrument")
    tempo = c2.number_input("Tempo in quarter notes a minute (0: usual for the meter)", 0, 400, 0, key="tempo")
    c1, c2 = st.columns(2)
    avoid_copies = c1.checkbox("Sample again when the tune copies a training tune", value=True, key="avoid_copies",
                               help="Every tune is checked against the model's training tunes, key and tempo aside.")
    copy_bars = c2.number_input("A copy: this many bars shared with one training tune", 0.5, 16.0, 2.0, 0.5,
                                key="copy_bars")
    submitted = st.form_submit_button("Generate", type="primary")


def _choice(value: str) -> str | None:
    return None if value in (ANY, "(auto)") else value


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


if submitted:
    chosen_meter = _choice(meter)
    settings = ComposeSettings(
        model=model, seed=int(seed), temperature=float(temperature), title=title.strip() or None,
        meter=chosen_meter, key=_choice(key), rhythm=_choice(tune_type), opening=opening.strip(),
        unit=_choice(unit) or (default_unit(chosen_meter) if chosen_meter else None),
        seconds=float(seconds), tempo=float(tempo) or None, program=GM_INSTRUMENTS[instrument],
        max_copy_bars=float(copy_bars) if avoid_copies else None,
    )
    try:
        with st.spinner("Composing…"):
            t0 = time.perf_counter()
            piece = compose(settings, cached_model(model))
            audio_error, wav = None, None
            try:
                wav = wav_bytes(render(piece.midi))
            except UserError as exc:
                audio_error = str(exc)
            svgs = abc_to_svg(piece.abc)
            novelty = _novelty(piece, cached_model(model), float(copy_bars))
        st.session_state.history.insert(0, {
            "title": piece.title, "abc": piece.abc, "midi": piece.midi_bytes(), "wav": wav,
            "audio_error": audio_error, "svgs": svgs, "duration": piece.duration,
            "roll": None if svgs else piano_roll_png(piece.midi, title=piece.title),
            "label": f"{piece.title} · {model} · seed {seed} · T={temperature:g}",
            "seconds_taken": time.perf_counter() - t0, "novelty": novelty,
            "meta": piece.meta,  # model and settings: the survey builder can take this tune as a machine clip
        })
        del st.session_state.history[HISTORY:]
    except UserError as exc:
        st.error(str(exc))


def show(tune: dict, prefix: str) -> None:
    if tune["wav"] is not None:
        st.audio(tune["wav"], format="audio/wav")
    else:
        st.error(tune["audio_error"])
    st.caption(f"{tune['duration']:.1f} s of music, made in {tune['seconds_taken']:.2f} s")
    verdict, sentence = tune.get("novelty", ("unchecked", ""))
    if verdict == "copies":
        st.warning(sentence, icon=":material/content_copy:")
    elif sentence:
        st.caption(f":material/new_releases: {sentence}")
    for svg in tune["svgs"]:
        st.image(svg)
    if tune["roll"] is not None:
        st.image(tune["roll"], caption="Piano roll (the notation could not be engraved)")
    with st.expander("ABC text"):
        st.code(tune["abc"], language=None)
    stem = "".join(c if c.isalnum() else "_" for c in tune["title"])[:40] or "tune"
    c1, c2, c3 = st.columns(3)
    c1.download_button("Download ABC", tune["abc"], f"{stem}.abc", "text/vnd.abc", key=f"{prefix}-abc")
    c2.download_button("Download MIDI", tune["midi"], f"{stem}.mid", "audio/midi", key=f"{prefix}-mid")
    if tune["wav"] is not None:
        c3.download_button("Download WAV", tune["wav"], f"{stem}.wav", "audio/wav", key=f"{prefix}-wav")


history = st.session_state.history
if history:
    st.subheader(history[0]["title"])
    show(history[0], "latest")
if len(history) > 1:
    st.subheader("Earlier this visit")
    for i, tune in enumerate(history[1:], start=1):
        with st.expander(tune["label"]):
            show(tune, f"h{i}")
