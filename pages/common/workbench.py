"""The Compose page's "Work on the tune" section: edit the ABC and play it again, transpose, change the
playback tempo; downloads follow the edited tune. Each change is a new saved tune whose parent is the one
it came from. The work is in core.generation.edit; every button reads the fields as they are on screen
when it is pressed (its callback runs with the values sent along with the press)."""

from __future__ import annotations

import io
import time

import pretty_midi
import streamlit as st

from core.data.piece import Piece, set_program
from core.errors import UserError
from core.generation.edit import replay, retime_midi, semitones_to, set_tempo, split_header, transpose, transpose_midi
from pages.common.library import copy_link, keep
from pages.common.tunes import (
    audio_qpm,
    caption,
    made_in,
    show_audio,
    show_downloads,
    show_novelty,
    show_pictures,
    tune_view,
)

KEY_NAMES = ["C", "C#", "Db", "D", "Eb", "E", "F", "F#", "Gb", "G", "Ab", "A", "Bb", "B"]


def pick(tune: dict) -> None:
    """Make ``tune`` the one worked on (a button's callback: runs before the page)."""
    st.session_state.current = dict(tune)
    st.session_state.edit_abc = tune.get("abc") or ""
    st.session_state.pop("edit_message", None)
    st.session_state.play_tempo = int(round(tune.get("qpm") or 120))


def sentence_case(text: str) -> str:
    """The first letter up, the rest as written ("transposed to G" -> "Transposed to G", not "to g")."""
    return text[:1].upper() + text[1:]


def _program() -> int:
    return int(st.session_state.current.get("meta", {}).get("settings", {}).get("program", 0))


def _replace_abc(abc: str, how: str, kind: str, since: float) -> None:
    """Re-render the current tune from ``abc`` (abc2midi -> FluidSynth) as a new saved tune."""
    current = st.session_state.current
    try:
        piece, check = replay(abc, _program(), meta=dict(current.get("meta", {})))
    except UserError as exc:
        st.session_state.edit_message = ("error", str(exc))
        return
    fields, _ = split_header(abc)
    piece.meta["qpm"] = _qpm(fields.get("Q", "")) or audio_qpm(piece)  # without Q:, what abc2midi played
    tune = tune_view(piece, current.get("seed"), f"{piece.title} · {how}", made_in(how, since),
                     model=current.get("model"))
    st.session_state.current = keep(tune, kind, current.get("id"))
    st.session_state.edit_abc = abc
    sentence = check.sentence()
    st.session_state.edit_message = ("warning", sentence) if sentence else ("success", f"{sentence_case(how)}.")


def _qpm(q: str) -> float | None:
    value = q.split("=")[-1].strip()
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _play() -> None:
    _replace_abc(st.session_state.edit_abc, "edited and played again", "edited", time.perf_counter())


def _transpose() -> None:
    since, current = time.perf_counter(), st.session_state.current
    try:
        if current.get("abc"):
            target = st.session_state.get("transpose_to", "C")
            key = split_header(st.session_state.edit_abc)[0].get("K", "")
            _replace_abc(transpose(st.session_state.edit_abc, semitones_to(key, target)), f"transposed to {target}",
                         "transposed", since)
            return
        shift = int(st.session_state.transpose_by)
        _replace_midi(transpose_midi(_midi(current), shift), f"transposed by {shift:+d} semitones", "transposed",
                      since)
    except UserError as exc:
        st.session_state.edit_message = ("error", str(exc))


def _tempo() -> None:
    since, current = time.perf_counter(), st.session_state.current
    qpm = float(st.session_state.play_tempo)
    try:
        if current.get("abc"):
            _replace_abc(set_tempo(st.session_state.edit_abc, qpm), f"played at {qpm:g} quarter notes a minute",
                         "retimed", since)
            return
        midi = retime_midi(_midi(current), float(current.get("qpm") or 120), qpm)
        _replace_midi(midi, f"played at {qpm:g} quarter notes a minute", "retimed", since, qpm)
    except UserError as exc:
        st.session_state.edit_message = ("error", str(exc))


def _midi(tune: dict) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(tune["midi"]))


def _replace_midi(midi: pretty_midi.PrettyMIDI, how: str, kind: str, since: float, qpm: float | None = None) -> None:
    current = st.session_state.current
    set_program(midi, _program())
    piece = Piece(midi, None, current["title"], dict(current.get("meta", {})))
    tune = tune_view(piece, current.get("seed"), f"{current['title']} · {how}", made_in(how, since),
                     model=current.get("model"))
    tune["qpm"] = qpm or current.get("qpm")
    st.session_state.current = keep(tune, kind, current.get("id"))
    st.session_state.edit_message = ("success", f"{sentence_case(how)}.")


def _controls(current: dict) -> None:
    c1, c2, c3, c4 = st.columns([1, 2, 1, 2], vertical_alignment="bottom")
    if current.get("abc"):
        c1.button("Play", key="play", on_click=_play, type="primary", help="Play and engrave the edited ABC.")
        c2.selectbox("Transpose to", KEY_NAMES, key="transpose_to",
                     help="The tonic the tune moves to (nearest way up or down; the mode stays). abc2abc does it.")
    else:
        c2.selectbox("Transpose by (semitones)", list(range(-12, 13)), index=12, key="transpose_by")
    c3.button("Transpose", key="transpose", on_click=_transpose)
    st.session_state.setdefault("play_tempo", 120)
    c4.number_input("Playback tempo (quarter notes a minute)", step=5, key="play_tempo",
                    on_change=_tempo, help="The notes stay; only the speed changes (20-400).")


def workbench() -> None:
    """The current tune: player, score, ABC to edit, Play, transpose, tempo, link, downloads."""
    current = st.session_state.get("current")
    if not current:
        return
    st.subheader(f"Work on: {current['title']}")
    with st.container():
        st.caption(caption(current))
        show_audio(current)
        show_pictures(current, "current-score")
    show_novelty(current)
    kind, text = st.session_state.get("edit_message", ("", ""))
    if text:
        getattr(st, kind)(text)
    if current.get("abc"):
        st.text_area("ABC (edit the notes, then Play: audio, notation and downloads follow)", key="edit_abc",
                     height=220)
    elif current.get("tokens_text"):
        with st.expander("Tokens (the first 200 sampled)"):
            st.code(current["tokens_text"], language=None)
    _controls(current)
    if current.get("id"):
        c1, c2 = st.columns([1, 4], vertical_alignment="center")
        with c1:
            copy_link(current["id"], "copy-current")
        parent = current.get("parent")
        c2.caption(f"Link: `?tune={current['id']}` opens this tune for anyone, read-only"
                   + (f" · made from [{parent}](?tune={parent})" if parent else ""))
    show_downloads(current, "current")
