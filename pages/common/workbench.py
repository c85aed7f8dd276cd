"""The Compose page's "Work on the tune" section: edit the ABC and play it again, transpose, change the
playback tempo; downloads follow the edited tune. The work is in core.generation.edit."""

from __future__ import annotations

import pretty_midi
import streamlit as st

from core.data.piece import Piece, set_program
from core.errors import UserError
from core.generation.edit import replay, retime_midi, semitones_to, set_tempo, split_header, transpose, transpose_midi
from pages.common.tunes import show_audio, show_downloads, show_pictures, tune_view

KEY_NAMES = ["C", "C#", "Db", "D", "Eb", "E", "F", "F#", "Gb", "G", "Ab", "A", "Bb", "B"]


def pick(tune: dict) -> None:
    """Make ``tune`` the one worked on (a button's callback: runs before the page)."""
    st.session_state.current = dict(tune)
    st.session_state.edit_abc = tune.get("abc") or ""
    st.session_state.pop("edit_message", None)
    st.session_state.play_tempo = int(round(tune.get("qpm") or 120))


def _program() -> int:
    return int(st.session_state.current.get("meta", {}).get("settings", {}).get("program", 0))


def _replace_abc(abc: str, how: str) -> None:
    """Re-render the current tune from ``abc`` (abc2midi -> FluidSynth -> verovio)."""
    current = st.session_state.current
    try:
        piece, check = replay(abc, _program(), meta=dict(current.get("meta", {})))
    except UserError as exc:
        st.session_state.edit_message = ("error", str(exc))
        return
    fields, _ = split_header(abc)
    piece.meta["qpm"] = _qpm(fields.get("Q", "")) or current.get("qpm")
    tune = tune_view(piece, current.get("seed"), f"{piece.title} · {how}")
    st.session_state.current = tune
    st.session_state.edit_abc = abc
    sentence = check.sentence()
    st.session_state.edit_message = ("warning", sentence) if sentence else ("success", f"{how.capitalize()}: done.")


def _qpm(q: str) -> float | None:
    value = q.split("=")[-1].strip()
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _play() -> None:
    _replace_abc(st.session_state.edit_abc, "edited")


def _transpose() -> None:
    current = st.session_state.current
    target = st.session_state.get("transpose_to", "C")
    try:
        if current.get("abc"):
            key = split_header(st.session_state.edit_abc)[0].get("K", "")
            _replace_abc(transpose(st.session_state.edit_abc, semitones_to(key, target)), f"transposed to {target}")
            return
        shift = int(st.session_state.transpose_by)
        _replace_midi(transpose_midi(_midi(current), shift), f"transposed by {shift:+d} semitones")
    except UserError as exc:
        st.session_state.edit_message = ("error", str(exc))


def _tempo() -> None:
    current = st.session_state.current
    qpm = float(st.session_state.play_tempo)
    try:
        if current.get("abc"):
            _replace_abc(set_tempo(st.session_state.edit_abc, qpm), f"at {qpm:g} quarter notes a minute")
            return
        _replace_midi(retime_midi(_midi(current), float(current.get("qpm") or 120), qpm), f"at {qpm:g} a minute")
        st.session_state.current["qpm"] = qpm
    except UserError as exc:
        st.session_state.edit_message = ("error", str(exc))


def _midi(tune: dict) -> pretty_midi.PrettyMIDI:
    import io

    return pretty_midi.PrettyMIDI(io.BytesIO(tune["midi"]))


def _replace_midi(midi: pretty_midi.PrettyMIDI, how: str) -> None:
    current = st.session_state.current
    set_program(midi, _program())
    piece = Piece(midi, None, current["title"], dict(current.get("meta", {})))
    tune = tune_view(piece, current.get("seed"), f"{current['title']} · {how}")
    tune["qpm"] = current.get("qpm")
    st.session_state.current = tune
    st.session_state.edit_message = ("success", f"{how.capitalize()}: done.")


def workbench() -> None:
    """The current tune: player, notation, ABC to edit, Play, transpose, tempo, downloads."""
    current = st.session_state.get("current")
    if not current:
        return
    st.subheader(f"Work on: {current['title']}")
    st.caption(f"Seed {current.get('seed')} · {current['duration']:.1f} s of music, made in "
               f"{current.get('seconds_taken', 0):.2f} s")
    show_audio(current)
    verdict, sentence = current.get("novelty", ("unchecked", ""))
    if verdict == "copies":
        st.warning(sentence, icon=":material/content_copy:")
    elif sentence:
        st.caption(f":material/new_releases: {sentence}")
    kind, text = st.session_state.get("edit_message", ("", ""))
    if text:
        getattr(st, kind)(text)
    show_pictures(current)
    if current.get("abc"):
        st.text_area("ABC (edit the notes, then Play: audio, notation and downloads follow)", key="edit_abc",
                     height=220)
    elif current.get("tokens_text"):
        with st.expander("Tokens (the first 200 sampled)"):
            st.code(current["tokens_text"], language=None)
    c1, c2, c3, c4 = st.columns([1, 2, 1, 2], vertical_alignment="bottom")
    if current.get("abc"):
        c1.button("Play", key="play", on_click=_play, type="primary", help="Play and engrave the edited ABC.")
    if current.get("abc"):
        c2.selectbox("Transpose to", KEY_NAMES, key="transpose_to",
                     help="The tonic the tune moves to (nearest way up or down; the mode stays). abc2abc does it.")
    else:
        c2.selectbox("Transpose by (semitones)", list(range(-12, 13)), index=12, key="transpose_by")
    c3.button("Transpose", key="transpose", on_click=_transpose)
    st.session_state.setdefault("play_tempo", 120)
    c4.number_input("Playback tempo (quarter notes a minute)", step=5, key="play_tempo",
                    on_change=_tempo, help="The notes stay; only the speed changes (20-400).")
    show_downloads(current, "current")
