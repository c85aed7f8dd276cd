"""Compose: pick a model and settings, press Generate, hear the piece and see its notation or piano roll."""

import time

import streamlit as st

from core.audio.notation import abc_to_svg, midi_to_svg, piano_roll_png
from core.audio.render import GM_INSTRUMENTS, render, wav_bytes
from core.data.abc import default_unit
from core.errors import UserError
from core.evaluation.novelty import NoveltyResult, check_novelty
from core.evaluation.report import describe
from core.generation.abc_compose import training_index
from core.generation.compose import ComposeSettings, compose
from core.generation.midi_compose import MidiComposeSettings, compose_midi, primer_titles
from pages.common import cached_model, model_label, models_by_name
from pages.common.rewrite import rewrite_section

ANY = "(model's choice)"
NO_PRIMER = "(none: the model starts from nothing)"
TUNE_TYPES = [ANY, "jig", "reel", "hornpipe", "slip jig", "double jig", "polka", "waltz", "air"]
METERS = [ANY, "6/8", "C|", "2/4", "3/4", "C", "9/8", "4/4", "12/8"]
KEYS = [ANY, "D", "G", "A", "C", "F", "Em", "Am", "Bm", "Dm", "Gm", "Ador", "Edor", "Dmix", "Amix", "Gmix"]
UNITS = ["(auto)", "1/8", "1/16", "1/4"]
HISTORY = 10
ABC_ONLY_NOVELTY = "Novelty is checked for ABC models only."
FORMS = ["AABB", "AB", "AABBCC", "free"]

st.title("Compose")
st.caption("Every piece is new: sampled step by step from a network trained on a tune book or a MIDI corpus. "
           "The same model, seed and settings always give the same piece.")
st.session_state.setdefault("history", [])

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


def _choice(value: str) -> str | None:
    return None if value in (ANY, "(auto)") else value


def abc_form() -> ComposeSettings | None:
    """Today's ABC form; the settings when Generate was pressed."""
    with st.form("compose"):
        c1, c2, c3, c4 = st.columns(4)
        tune_type = c1.selectbox("Tune type", TUNE_TYPES, key="tune_type")
        meter = c2.selectbox("Meter", METERS, key="meter",
                             help="Left to the model, a tune type implies its usual meter.")
        key = c3.selectbox("Key", KEYS, key="key")
        unit = c4.selectbox("Unit note length", UNITS, key="unit")
        title = st.text_input("Title (optional: the model names the tune)", key="title", max_chars=80)
        opening = st.text_area("Opening bars (optional, ABC body)", key="opening", height=70, max_chars=400,
                               placeholder="e.g. A2B c2d | e2f g2e |")
        c1, c2, c3 = st.columns(3)
        temperature = c1.slider("Temperature", 0.1, 2.0, 0.8, 0.05, key="temperature",
                                help="Lower: safer, more repetitive tunes. Higher: bolder, more mistakes.")
        top_k = c2.number_input("Top-k (0: off)", 0, 200, 0, key="top_k",
                                help="Sample only from the k likeliest characters.")
        top_p = c3.slider("Top-p", 0.05, 1.0, 1.0, 0.05, key="top_p",
                          help="Sample only from the likeliest characters that together have this probability "
                               "(1: off).")
        c1, c2, c3 = st.columns(3)
        form = c1.selectbox("Form", FORMS, key="form",
                            help="AABB: two parts of the same length, each played twice. A form sets the "
                                 "tune's length; free samples to the length in seconds.")
        bars_per_part = c2.number_input("Bars per part", 4, 16, 8, key="bars_per_part")
        tonic_ending = c3.checkbox("End each part on the tonic", value=True, key="tonic_ending")
        c1, c2 = st.columns(2)
        seed = c1.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="seed")
        seconds = c2.slider("Length (seconds, repeats included; free form only)", 10, 180, 40, 5, key="seconds")
        c1, c2 = st.columns(2)
        instrument = c1.selectbox("Instrument", list(GM_INSTRUMENTS), key="instrument")
        tempo = c2.number_input("Tempo in quarter notes a minute (0: usual for the meter)", 0, 400, 0, key="tempo")
        c1, c2 = st.columns(2)
        avoid_copies = c1.checkbox("Sample again when the tune copies a training tune", value=True,
                                   key="avoid_copies",
                                   help="Every tune is checked against the model's training tunes, key and tempo "
                                        "aside.")
        copy_bars = c2.number_input("A copy: this many bars shared with one training tune", 0.5, 16.0, 2.0, 0.5,
                                    key="copy_bars")
        if not st.form_submit_button("Generate", type="primary"):
            return None
    chosen_meter = _choice(meter)
    return ComposeSettings(
        model=model, seed=int(seed), temperature=float(temperature), top_k=int(top_k), top_p=float(top_p),
        title=title.strip() or None, meter=chosen_meter, key=_choice(key), rhythm=_choice(tune_type),
        opening=opening.strip(), unit=_choice(unit) or (default_unit(chosen_meter) if chosen_meter else None),
        seconds=float(seconds), tempo=float(tempo) or None, program=GM_INSTRUMENTS[instrument],
        max_copy_bars=float(copy_bars) if avoid_copies else None,
        form=form, bars_per_part=int(bars_per_part), tonic_ending=bool(tonic_ending),
    )


def midi_form() -> MidiComposeSettings | None:
    """The form for the MIDI families; the settings when Generate was pressed."""
    autoencoder = card.family == "autoencoder"
    primers: list[str] = []
    if not autoencoder:
        try:
            primers = _primers(model)
        except UserError as exc:
            st.caption(f"No primers: {exc}")
    with st.form("compose_midi"):
        if autoencoder:
            measures, steps = card.model.get("measures"), card.model.get("steps")
            st.caption(f"The length is fixed by the model: it decodes {measures} measures of {steps} steps from "
                       "a random point of its latent space.")
            c1, c2 = st.columns(2)
            threshold = c1.slider("Note threshold", 0.01, 0.99, 0.5, 0.01, key="midi_threshold",
                                  help="A cell whose probability reaches this becomes a note. The report used 0.5 "
                                       "and asked for lower: lower thresholds give more notes.")
            spread = c2.slider("Latent spread", 0.1, 5.0, 1.0, 0.1, key="midi_spread",
                               help="How far from the training pieces' latent mean to sample, in standard "
                                    "deviations: higher is stranger.")
        else:
            c1, c2 = st.columns([3, 1])
            primer = c1.selectbox("Primer: the opening of a held-out piece of the model's corpus",
                                  [NO_PRIMER, *primers], key="midi_primer")
            primer_tokens = c2.number_input("Primer tokens", 1, 1024, 32, key="midi_primer_tokens",
                                            help="How much of the primer piece's opening the model is given.")
            c1, c2, c3 = st.columns(3)
            temperature = c1.slider("Temperature", 0.1, 2.0, 1.0, 0.05, key="midi_temperature",
                                    help="Lower: safer, more repetitive. Higher: bolder, more mistakes.")
            top_k = c2.number_input("Top-k (0: off)", 0, 1000, 0, key="midi_top_k",
                                    help="Sample only from the k likeliest tokens.")
            top_p = c3.slider("Top-p", 0.05, 1.0, 1.0, 0.05, key="midi_top_p",
                              help="Sample only from the likeliest tokens that together have this probability "
                                   "(1: off).")
        columns = st.columns(3 if autoencoder else 4)
        seed = columns[0].number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="midi_seed")
        seconds = None if autoencoder else columns[3].slider("Length (seconds)", 5, 180, 30, 5, key="midi_seconds")
        instrument = columns[1].selectbox("Instrument", list(GM_INSTRUMENTS), key="midi_instrument")
        usual = "100" if autoencoder else "the primer's, or 100"
        tempo = columns[2].number_input(f"Tempo, quarter notes a minute (0: {usual})", 0, 400, 0, key="midi_tempo")
        if not st.form_submit_button("Generate", type="primary"):
            return None
    common = {"model": model, "seed": int(seed), "tempo": float(tempo) or None, "program": GM_INSTRUMENTS[instrument]}
    if autoencoder:
        return MidiComposeSettings(**common, threshold=float(threshold), spread=float(spread))
    return MidiComposeSettings(
        **common, temperature=float(temperature), top_k=int(top_k), top_p=float(top_p), seconds=float(seconds),
        primer=None if primer == NO_PRIMER else primer, primer_tokens=int(primer_tokens),
    )


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


def _audio(piece) -> tuple[bytes | None, str | None]:
    try:
        return wav_bytes(render(piece.midi)), None
    except UserError as exc:
        return None, str(exc)


def generate(settings) -> None:
    """Compose with ``settings`` and put the piece first in the visit's history."""
    loaded = cached_model(model)
    t0 = time.perf_counter()
    if isinstance(settings, MidiComposeSettings):
        piece = compose_midi(settings, loaded)
        wav, audio_error = _audio(piece)
        svgs, roll = midi_to_svg(piece.midi), piano_roll_png(piece.midi, title=piece.title)
        novelty = ("unchecked", ABC_ONLY_NOVELTY)
        knob = (f"threshold {settings.threshold:g}" if card.family == "autoencoder"
                else f"T={settings.temperature:g}")
    else:
        piece = compose(settings, loaded)
        wav, audio_error = _audio(piece)
        svgs = abc_to_svg(piece.abc)
        roll = None if svgs else piano_roll_png(piece.midi, title=piece.title)
        novelty = _novelty(piece, loaded, float(settings.max_copy_bars or st.session_state.copy_bars))
        knob = f"T={settings.temperature:g}"
    st.session_state.history.insert(0, {
        "title": piece.title, "abc": piece.abc, "midi": piece.midi_bytes(), "wav": wav,
        "audio_error": audio_error, "svgs": svgs, "duration": piece.duration, "roll": roll,
        "tokens_text": piece.meta.get("tokens_text"),
        "label": f"{piece.title} · {model} · seed {settings.seed} · {knob}",
        "seconds_taken": time.perf_counter() - t0, "novelty": novelty,
        "meta": piece.meta,  # model and settings: the survey builder can take this tune as a machine clip
    })
    del st.session_state.history[HISTORY:]


settings = midi_form() if midi_model else abc_form()
if settings is not None:
    try:
        with st.spinner("Composing…"):
            generate(settings)
    except UserError as exc:
        st.error(str(exc))


def show(tune: dict, prefix: str) -> None:
    """One piece of the history: audio, verdict, notation or piano roll, text, downloads."""
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
    for svg in tune.get("svgs") or []:
        st.image(svg)
    if tune.get("roll") is not None:
        st.image(tune["roll"], caption="Piano roll" if tune.get("abc") is None
                 else "Piano roll (the notation could not be engraved)")
    if tune.get("abc"):
        with st.expander("ABC text"):
            st.code(tune["abc"], language=None)
    elif tune.get("tokens_text"):
        with st.expander("Tokens (the first 200 sampled)"):
            st.code(tune["tokens_text"], language=None)
    stem = "".join(c if c.isalnum() else "_" for c in tune["title"])[:40] or "tune"
    buttons = [("Download MIDI", tune["midi"], f"{stem}.mid", "audio/midi", "mid")]
    if tune.get("abc"):
        buttons.insert(0, ("Download ABC", tune["abc"], f"{stem}.abc", "text/vnd.abc", "abc"))
    if tune["wav"] is not None:
        buttons.append(("Download WAV", tune["wav"], f"{stem}.wav", "audio/wav", "wav"))
    for column, (label, data, file_name, mime, suffix) in zip(st.columns(3), buttons, strict=False):
        column.download_button(label, data, file_name, mime, key=f"{prefix}-{suffix}")


history = st.session_state.history
if history:
    st.subheader(history[0]["title"])
    show(history[0], "latest")
    if history[0].get("abc") and not midi_model:
        program = history[0].get("meta", {}).get("settings", {}).get("program", 0)
        rewritten = rewrite_section(history[0], model, cached_model(model), float(st.session_state.temperature),
                                    program)
        if rewritten is not None:
            history.insert(0, rewritten)
            del history[HISTORY:]
            st.rerun()
if len(history) > 1:
    st.subheader("Earlier this visit")
    for i, tune in enumerate(history[1:], start=1):
        with st.expander(tune["label"]):
            show(tune, f"h{i}")
