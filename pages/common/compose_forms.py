"""Compose's forms: Generate for ABC models, Generate for MIDI models, Continue my tune.

Each action reads only the fields of its own form as they are on screen when it is pressed (a Streamlit form
sends all its fields with its submit button); no action reads another form's last submitted values. Try again
is a second submit button of the Generate form: the settings on screen, a fresh seed.
"""

from __future__ import annotations

import streamlit as st

from core.audio.render import GM_INSTRUMENTS
from core.data.abc import default_unit
from core.errors import UserError
from core.generation.compose import ComposeSettings
from core.generation.continuation import MAX_STEER, STEER_STRENGTH, ContinueSettings
from core.generation.edit import decode_upload
from core.generation.midi_compose import MidiComposeSettings
from core.generation.settings import draw_seed
from core.generation.variations import MAX_VARIATIONS
from core.training.checkpoint import ModelCard

ANY = "(model's choice)"
NO_PRIMER = "(none: the model starts from nothing)"
TUNE_TYPES = [ANY, "jig", "reel", "hornpipe", "slip jig", "double jig", "polka", "waltz", "air"]
METERS = [ANY, "6/8", "C|", "2/4", "3/4", "C", "9/8", "4/4", "12/8"]
KEYS = [ANY, "D", "G", "A", "C", "F", "Em", "Am", "Bm", "Dm", "Gm", "Ador", "Edor", "Dmix", "Amix", "Gmix"]
UNITS = ["(auto)", "1/8", "1/16", "1/4"]
FORMS = ["AABB", "AB", "AABBCC", "free"]
# The slider's top: the shipped models still make music here; higher values only by typing (up to 3).
SLIDER_TEMPERATURE = 1.2
ABC_UPLOAD_BYTES = 1_000_000
MIDI_UPLOAD_BYTES = 1_000_000


def _choice(value: str) -> str | None:
    return None if value in (ANY, "(auto)") else value


def temperature_fields(slider_key: str, typed_key: str, default: float, what: str) -> float:
    """The slider (capped where the shipped models still make music) or, above it, the typed value."""
    c1, c2 = st.columns(2)
    slid = c1.slider("Temperature", 0.1, SLIDER_TEMPERATURE, default, 0.05, key=slider_key,
                     help=f"Lower: safer, more repetitive {what}. Higher: bolder, more mistakes.")
    typed = c2.number_input(f"…or type a temperature above {SLIDER_TEMPERATURE:g} (up to 3; 0: the slider's)",
                            value=0.0, step=0.1, key=typed_key,
                            help="Past the slider the shipped models break more bars; the best attempt is shown.")
    return float(typed) if typed else float(slid)


def seed_fields(prefix: str = "", variations: bool = True) -> tuple[int, bool, int]:
    """Seed, Lock seed and (with ``variations``) how many variations; returns (seed, locked, n)."""
    c1, c2, c3 = st.columns([2, 1, 2], vertical_alignment="bottom")
    seed = c1.number_input("Seed", value=0, step=1, key=f"{prefix}seed",
                           help="Used when locked; otherwise each press draws a fresh seed and shows it.")
    lock = c2.checkbox("Lock seed", key=f"{prefix}lock_seed", help="Keep this seed: the same settings, the same tune.")
    n = 1
    if variations:
        n = c3.number_input(f"Variations (1-{MAX_VARIATIONS})", value=4, step=1, key=f"{prefix}variations",
                            help="Tunes of the same settings sampled together in one batch, seeds seed, seed + 1, …")
    return int(seed), bool(lock), int(n)


def submit_buttons(retry: bool) -> str | None:
    """Generate, and Try again (a fresh seed, the settings on screen) after a press that made no tune."""
    c1, c2 = st.columns([1, 5])
    if c1.form_submit_button("Generate", type="primary"):
        return "generate"
    if retry and c2.form_submit_button("Try again", help="The settings on screen with a fresh seed."):
        return "retry"
    return None


def _seed(seed: int, lock: bool, pressed: str) -> int:
    return seed if lock and pressed == "generate" else draw_seed()


def abc_form(model: str, retry: bool) -> tuple[ComposeSettings, int] | None:
    """The ABC form; the settings and the number of variations when Generate (or Try again) was pressed."""
    with st.form("compose"):
        c1, c2, c3, c4 = st.columns(4)
        tune_type = c1.selectbox("Tune type", TUNE_TYPES, key="tune_type")
        meter = c2.selectbox("Meter", METERS, key="meter",
                             help="Left to the model, a tune type implies its usual meter; a meter that "
                                  "contradicts the type is refused.")
        key = c3.selectbox("Key", KEYS, key="key")
        unit = c4.selectbox("Unit note length", UNITS, key="unit")
        title = st.text_input("Title (optional: the model names the tune)", key="title", max_chars=80)
        opening = st.text_area("Opening bars (optional, ABC body; a whole tune: Continue my tune below)",
                               key="opening", height=70, placeholder="e.g. A2B c2d | e2f g2e |")
        temperature = temperature_fields("temperature", "temperature_typed", 0.8, "tunes")
        c1, c2 = st.columns(2)
        top_k = c1.number_input("Top-k (0: off)", 0, 200, 0, key="top_k",
                                help="Sample only from the k likeliest characters.")
        top_p = c2.slider("Top-p", 0.05, 1.0, 1.0, 0.05, key="top_p",
                          help="Sample only from the likeliest characters that together have this probability "
                               "(1: off).")
        c1, c2, c3 = st.columns(3)
        form = c1.selectbox("Form", FORMS, key="form",
                            help="AABB: two parts of the same length, each played twice. A form sets the "
                                 "tune's length; free samples to the length in seconds.")
        bars_per_part = c2.number_input("Bars per part", 4, 16, 8, key="bars_per_part")
        tonic_ending = c3.checkbox("End each part on the tonic", value=True, key="tonic_ending")
        seed, lock, n = seed_fields()
        c1, c2, c3 = st.columns(3)
        seconds = c1.slider("Length (seconds, repeats included; free form only)", 10, 180, 40, 5, key="seconds")
        instrument = c2.selectbox("Instrument", list(GM_INSTRUMENTS), key="instrument")
        tempo = c3.number_input("Tempo in quarter notes a minute (0: usual for the meter)", value=0, step=5,
                                key="tempo", help="20 to 400, or 0.")
        c1, c2 = st.columns(2)
        avoid_copies = c1.checkbox("Sample again when the tune copies a training tune", value=True,
                                   key="avoid_copies",
                                   help="Every tune is checked against the model's training tunes, key and tempo "
                                        "aside.")
        copy_bars = c2.number_input("A copy: this many bars shared with one training tune", 0.5, 16.0, 2.0, 0.5,
                                    key="copy_bars")
        pressed = submit_buttons(retry)
    if pressed is None:
        return None
    chosen_meter = _choice(meter)
    return ComposeSettings(
        model=model, seed=_seed(seed, lock, pressed), temperature=temperature, top_k=int(top_k),
        top_p=float(top_p), title=title.strip() or None, meter=chosen_meter, key=_choice(key),
        rhythm=_choice(tune_type), opening=opening.strip(),
        unit=_choice(unit) or (default_unit(chosen_meter) if chosen_meter else None),
        seconds=float(seconds), tempo=float(tempo) or None, program=GM_INSTRUMENTS[instrument],
        max_copy_bars=float(copy_bars) if avoid_copies else None,
        form=form, bars_per_part=int(bars_per_part), tonic_ending=bool(tonic_ending),
    ), n


def _autoencoder_fields(card: ModelCard) -> dict:
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
    return {"threshold": float(threshold), "spread": float(spread)}


def _sampler_fields(primers: list[str]) -> dict:
    c1, c2 = st.columns([3, 1])
    primer = c1.selectbox("Primer: the opening of a held-out piece of the model's corpus",
                          [NO_PRIMER, *primers], key="midi_primer")
    primer_tokens = c2.number_input("Primer tokens", 1, 1024, 32, key="midi_primer_tokens",
                                    help="How much of the primer (its opening, or your file's end) the "
                                         "model is given.")
    upload = st.file_uploader("…or continue your own piece: upload a MIDI file", type=["mid", "midi"],
                              key="midi_primer_file", max_upload_size=MIDI_UPLOAD_BYTES // 10**6)
    temperature = temperature_fields("midi_temperature", "midi_temperature_typed", 1.0, "pieces")
    c1, c2 = st.columns(2)
    top_k = c1.number_input("Top-k (0: off)", 0, 1000, 0, key="midi_top_k", help="Sample only from the k likeliest "
                            "tokens.")
    top_p = c2.slider("Top-p", 0.05, 1.0, 1.0, 0.05, key="midi_top_p",
                      help="Sample only from the likeliest tokens that together have this probability (1: off).")
    return {"temperature": temperature, "top_k": int(top_k), "top_p": float(top_p),
            "primer": None if primer == NO_PRIMER else primer, "primer_tokens": int(primer_tokens),
            "primer_midi": upload.getvalue() if upload is not None else None, "play_primer": True}


def midi_form(model: str, card: ModelCard, primers: list[str], retry: bool) -> tuple[MidiComposeSettings, int] | None:
    """The form for the MIDI families; the settings and the number of variations when Generate was pressed."""
    autoencoder = card.family == "autoencoder"
    with st.form("compose_midi"):
        fields = _autoencoder_fields(card) if autoencoder else _sampler_fields(primers)
        seed, lock, n = seed_fields("midi_")
        columns = st.columns(2 if autoencoder else 3)
        seconds = None if autoencoder else columns[2].slider("Length (seconds)", 5, 180, 30, 5, key="midi_seconds")
        instrument = columns[0].selectbox("Instrument", list(GM_INSTRUMENTS), key="midi_instrument")
        usual = "100" if autoencoder else "the primer's, or 100"
        tempo = columns[1].number_input(f"Tempo, quarter notes a minute (0: {usual})", value=0, step=5,
                                        key="midi_tempo")
        pressed = submit_buttons(retry)
    if pressed is None:
        return None
    if seconds is not None:
        fields["seconds"] = float(seconds)
    return MidiComposeSettings(model=model, seed=_seed(seed, lock, pressed), tempo=float(tempo) or None,
                               program=GM_INSTRUMENTS[instrument], **fields), n


def continue_form(model: str) -> ContinueSettings | None:
    """Continue my tune (ABC models): a whole tune pasted or uploaded, continued from its end, with this
    form's own seed and temperature."""
    with st.expander("Continue my tune: paste or upload a whole ABC tune; the model carries on from its end"), \
            st.form("continue"):
        text = st.text_area("Your tune (headers and body; up to 6,000 characters)", key="continue_abc",
                            height=160, placeholder="X:1\nT:My tune\nM:6/8\nL:1/8\nK:D\n|:A2B c2d|e2f g2e|")
        upload = st.file_uploader("…or upload one .abc file (up to 6,000 characters)", type=["abc", "txt"],
                                  key="continue_file", max_upload_size=ABC_UPLOAD_BYTES // 10**6)
        c1, c2, c3 = st.columns(3)
        seconds = c1.slider("Music to add (seconds)", 5, 120, 20, 5, key="continue_seconds")
        temperature = c2.slider("Temperature", 0.1, SLIDER_TEMPERATURE, 0.8, 0.05, key="continue_temperature")
        steer = c3.slider("Keep to the tune's proportions", 0.0, MAX_STEER, STEER_STRENGTH, 0.5, key="continue_steer",
                          help="How hard the continuation is pulled toward your tune's shares of notes, note "
                               "lengths, dotted rhythm and rests. 0: the model alone.")
        seed, lock, _ = seed_fields("continue_", variations=False)
        if not st.form_submit_button("Continue"):
            return None
    tune = decode_upload(upload.getvalue()) if upload is not None else text
    if not tune.strip():
        raise UserError("Paste a tune or upload an .abc file to continue.")
    return ContinueSettings(model=model, tune=tune, seed=seed if lock else draw_seed(), seconds=float(seconds),
                            temperature=float(temperature), steer=float(steer))
