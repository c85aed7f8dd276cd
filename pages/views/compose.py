"""Compose as an instrument: Generate (a fresh seed each press, or a locked one; N variations in one
batch), pick one, edit its ABC and play it again, transpose, change the tempo; or continue your own tune.

Sections, top to bottom: model, Generate, Continue my tune, Variations, Work on the tune, Earlier.
"""

import dataclasses

import streamlit as st

from core.audio.render import GM_INSTRUMENTS
from core.data.abc import default_unit
from core.errors import UserError
from core.evaluation.novelty import NoveltyResult, check_novelty
from core.evaluation.report import describe
from core.generation.abc_compose import training_index
from core.generation.compose import ComposeSettings
from core.generation.continuation import ContinueSettings, continue_tune
from core.generation.edit import decode_upload
from core.generation.midi_compose import MidiComposeSettings, primer_titles
from core.generation.settings import draw_seed
from core.generation.variations import MAX_VARIATIONS, compose_variations, variation_seeds
from pages.common import cached_model, model_label, models_by_name
from pages.common.admin import require_admin_beyond_loopback
from pages.common.rewrite import rewrite_section
from pages.common.tunes import show, show_audio, show_pictures, timed, tune_view
from pages.common.workbench import pick, workbench

ANY = "(model's choice)"
NO_PRIMER = "(none: the model starts from nothing)"
TUNE_TYPES = [ANY, "jig", "reel", "hornpipe", "slip jig", "double jig", "polka", "waltz", "air"]
METERS = [ANY, "6/8", "C|", "2/4", "3/4", "C", "9/8", "4/4", "12/8"]
KEYS = [ANY, "D", "G", "A", "C", "F", "Em", "Am", "Bm", "Dm", "Gm", "Ador", "Edor", "Dmix", "Amix", "Gmix"]
UNITS = ["(auto)", "1/8", "1/16", "1/4"]
HISTORY = 10
ABC_ONLY_NOVELTY = "Novelty is checked for ABC models only."
SLIDER_TEMPERATURE = 1.2
"""The slider's top: the shipped models still make music here; higher values only by typing (up to 3)."""
FORMS = ["AABB", "AB", "AABBCC", "free"]

require_admin_beyond_loopback()  # composing spends CPU: only the admin, on a public server
st.title("Compose")
st.caption("Every piece is new: sampled step by step from a network trained on a tune book or a MIDI corpus. "
           "The same model, seed and settings always give the same piece.")
st.session_state.setdefault("history", [])
st.session_state.setdefault("variation_tunes", [])

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


def _temperature(slider_key: str, typed_key: str, default: float, what: str) -> float:
    """The slider (capped where the shipped models still make music) or, above it, the typed value."""
    c1, c2 = st.columns(2)
    slid = c1.slider("Temperature", 0.1, SLIDER_TEMPERATURE, default, 0.05, key=slider_key,
                     help=f"Lower: safer, more repetitive {what}. Higher: bolder, more mistakes.")
    typed = c2.number_input(f"…or type a temperature above {SLIDER_TEMPERATURE:g} (up to 3; 0: the slider's)",
                            value=0.0, step=0.1, key=typed_key,
                            help="Past the slider the shipped models break more bars; the best attempt is shown.")
    return float(typed) if typed else float(slid)


def _seed_and_variations(prefix: str = "") -> tuple[int, bool, int]:
    c1, c2, c3 = st.columns([2, 1, 2], vertical_alignment="bottom")
    seed = c1.number_input("Seed", value=0, step=1, key=f"{prefix}seed",
                           help="Used when locked; otherwise each press draws a fresh seed and shows it.")
    lock = c2.checkbox("Lock seed", key=f"{prefix}lock_seed", help="Keep this seed: the same settings, the same tune.")
    n = c3.number_input(f"Variations (1-{MAX_VARIATIONS})", value=4, step=1, key=f"{prefix}variations",
                        help="Tunes of the same settings sampled together in one batch, seeds seed, seed + 1, …")
    return int(seed), bool(lock), int(n)


def abc_form() -> tuple[ComposeSettings, int] | None:
    """The ABC form; the settings and the number of variations when Generate was pressed."""
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
        temperature = _temperature("temperature", "temperature_typed", 0.8, "tunes")
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
        seed, lock, n = _seed_and_variations()
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
        if not st.form_submit_button("Generate", type="primary"):
            return None
    chosen_meter = _choice(meter)
    return ComposeSettings(
        model=model, seed=seed if lock else draw_seed(), temperature=temperature, top_k=int(top_k),
        top_p=float(top_p), title=title.strip() or None, meter=chosen_meter, key=_choice(key),
        rhythm=_choice(tune_type), opening=opening.strip(),
        unit=_choice(unit) or (default_unit(chosen_meter) if chosen_meter else None),
        seconds=float(seconds), tempo=float(tempo) or None, program=GM_INSTRUMENTS[instrument],
        max_copy_bars=float(copy_bars) if avoid_copies else None,
        form=form, bars_per_part=int(bars_per_part), tonic_ending=bool(tonic_ending),
    ), n


def midi_form() -> tuple[MidiComposeSettings, int] | None:
    """The form for the MIDI families; the settings and the number of variations when Generate was pressed."""
    autoencoder = card.family == "autoencoder"
    primers: list[str] = []
    if not autoencoder:
        try:
            primers = _primers(model)
        except UserError as exc:
            st.caption(f"No primers: {exc}")
    with st.form("compose_midi"):
        upload = None
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
                                            help="How much of the primer (its opening, or your file's end) the "
                                                 "model is given.")
            upload = st.file_uploader("…or continue your own piece: upload a MIDI file (at most 1 MB)",
                                      type=["mid", "midi"], key="midi_primer_file")
            temperature = _temperature("midi_temperature", "midi_temperature_typed", 1.0, "pieces")
            c1, c2 = st.columns(2)
            top_k = c1.number_input("Top-k (0: off)", 0, 1000, 0, key="midi_top_k",
                                    help="Sample only from the k likeliest tokens.")
            top_p = c2.slider("Top-p", 0.05, 1.0, 1.0, 0.05, key="midi_top_p",
                              help="Sample only from the likeliest tokens that together have this probability "
                                   "(1: off).")
        seed, lock, n = _seed_and_variations("midi_")
        columns = st.columns(2 if autoencoder else 3)
        seconds = None if autoencoder else columns[2].slider("Length (seconds)", 5, 180, 30, 5, key="midi_seconds")
        instrument = columns[0].selectbox("Instrument", list(GM_INSTRUMENTS), key="midi_instrument")
        usual = "100" if autoencoder else "the primer's, or 100"
        tempo = columns[1].number_input(f"Tempo, quarter notes a minute (0: {usual})", value=0, step=5,
                                        key="midi_tempo")
        if not st.form_submit_button("Generate", type="primary"):
            return None
    common = {"model": model, "seed": seed if lock else draw_seed(), "tempo": float(tempo) or None,
              "program": GM_INSTRUMENTS[instrument]}
    if autoencoder:
        return MidiComposeSettings(**common, threshold=float(threshold), spread=float(spread)), n
    return MidiComposeSettings(
        **common, temperature=temperature, top_k=int(top_k), top_p=float(top_p), seconds=float(seconds),
        primer=None if primer == NO_PRIMER else primer, primer_tokens=int(primer_tokens),
        primer_midi=upload.getvalue() if upload is not None else None,
    ), n


def continue_form() -> ContinueSettings | None:
    """Continue my tune (ABC models): a whole tune pasted or uploaded, continued from its end."""
    with st.expander("Continue my tune: paste or upload a whole ABC tune; the model carries on from its end"), \
            st.form("continue"):
        text = st.text_area("Your tune (headers and body; up to 6,000 characters)", key="continue_abc",
                            height=160, placeholder="X:1\nT:My tune\nM:6/8\nL:1/8\nK:D\n|:A2B c2d|e2f g2e|")
        upload = st.file_uploader("…or upload one .abc file", type=["abc", "txt"], key="continue_file")
        seconds = st.slider("Music to add (seconds)", 5, 120, 20, 5, key="continue_seconds")
        if not st.form_submit_button("Continue"):
            return None
    tune = decode_upload(upload.getvalue()) if upload is not None else text
    if not tune.strip():
        raise UserError("Paste a tune or upload an .abc file to continue.")
    return ContinueSettings(model=model, tune=tune, seed=_seed_for_continue(), seconds=float(seconds),
                            temperature=float(st.session_state.get("temperature", 0.8)))


def _seed_for_continue() -> int:
    return int(st.session_state.get("seed", 0)) if st.session_state.get("lock_seed") else draw_seed()


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


def _view(piece, settings, seconds_taken: float, notation: bool = True) -> dict:
    loaded = cached_model(model)
    if isinstance(settings, MidiComposeSettings):
        novelty = ("unchecked", ABC_ONLY_NOVELTY)
        knob = f"threshold {settings.threshold:g}" if card.family == "autoencoder" else f"T={settings.temperature:g}"
    else:
        bars = float(getattr(settings, "max_copy_bars", None) or st.session_state.get("copy_bars", 2.0))
        novelty = _novelty(piece, loaded, bars)
        knob = f"T={settings.temperature:g}"
    return tune_view(piece, settings.seed, f"{piece.title} · {model} · seed {settings.seed} · {knob}",
                     seconds_taken, novelty, notation)


def generate(settings, n: int) -> None:
    """N variations of ``settings`` in one batch; the first playable one becomes the tune worked on."""
    st.session_state.last_request = (settings, n)
    results, took = timed(compose_variations, settings, n, cached_model(model))
    tunes, errors = [], []
    for seed, result in zip(variation_seeds(settings.seed, n), results, strict=True):
        one = dataclasses.replace(settings, seed=seed)
        if isinstance(result, UserError):
            errors.append(f"Seed {seed}: {result}" if n > 1 else str(result))
            best = getattr(result, "best", None)
            if best is not None:
                tune = _view(best, one, took / n, notation=n <= 4)
                tune["label"] = f"Best attempt (broken bars marked) · seed {seed}"
                tunes.append(tune)
            continue
        tunes.append(_view(result, one, took / n, notation=n <= 4))
    st.session_state.generate_errors = errors
    st.session_state.variation_tunes = tunes if n > 1 else []
    if tunes:
        pick(tunes[0])
    _remember(tunes)


def _remember(tunes: list[dict]) -> None:
    """Put this press's tunes first in the visit's history (shown under Earlier from the next press on)."""
    st.session_state.press = st.session_state.get("press", 0) + 1
    for tune in reversed(tunes):
        tune["press"] = st.session_state.press
        st.session_state.history.insert(0, tune)
    del st.session_state.history[HISTORY:]


def _try_again() -> None:
    st.session_state.try_again = True


def run_continue(settings: ContinueSettings) -> None:
    piece, took = timed(continue_tune, settings, cached_model(model))
    tune = tune_view(piece, settings.seed, f"{piece.title} · continued · {model} · seed {settings.seed}", took)
    st.session_state.variation_tunes, st.session_state.generate_errors = [], []
    pick(tune)
    _remember([tune])


def show_variations() -> None:
    """The last press's variations side by side, each with its player, notation and seed."""
    tunes = st.session_state.variation_tunes
    if not tunes:
        return
    st.subheader(f"{len(tunes)} variations")
    for row in range(0, len(tunes), 2):
        for column, tune in zip(st.columns(2), tunes[row: row + 2], strict=False):
            with column.container(border=True):
                st.markdown(f"**{tune['title']}** · seed {tune['seed']}")
                st.caption(tune["label"] if tune.get("broken_bars") else f"{tune['duration']:.1f} s of music")
                show_audio(tune)
                show_pictures(tune)
                st.button("Work on this one", key=f"pick-{tune['seed']}", on_click=pick, args=(tune,))


def _request():
    """What was asked for this run: a Try again, a Generate press or a Continue (every form is drawn each run,
    so that none loses what was typed in it)."""
    retry = st.session_state.pop("try_again", False) and "last_request" in st.session_state
    asked = midi_form() if midi_model else abc_form()
    continued = None if midi_model else continue_form()
    if retry:
        settings, n = st.session_state.last_request
        return "generate", (dataclasses.replace(settings, seed=draw_seed()), n)
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
if st.session_state.get("generate_errors"):
    st.button("Try again", key="try_again_button", on_click=_try_again, type="primary",
              help="The same settings with a fresh seed.")
if "rewritten" in st.session_state:
    pick(st.session_state.rewritten)
    _remember([st.session_state.pop("rewritten")])
show_variations()
workbench()
current = st.session_state.get("current")
if current and current.get("abc") and not midi_model:
    rewritten = rewrite_section(current, model, cached_model(model), float(st.session_state.get("temperature", 0.8)),
                                int(current.get("meta", {}).get("settings", {}).get("program", 0)))
    if rewritten is not None:  # worked on from the next run: the editor above already holds this run's text
        st.session_state.rewritten = rewritten
        st.rerun()
earlier = [t for t in st.session_state.history if t.get("press") != st.session_state.get("press")]
if earlier:
    st.subheader("Earlier this visit")
    for i, tune in enumerate(earlier, start=1):
        with st.expander(tune["label"]):
            show(tune, f"h{i}")
