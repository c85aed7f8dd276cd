"""A composed piece as the Compose page shows it (audio, notation, downloads), and the edits on it."""

from __future__ import annotations

import time

import streamlit as st

from core.audio.notation import abc_to_svg, midi_to_svg, piano_roll_png
from core.audio.render import render, wav_bytes
from core.data.piece import Piece
from core.errors import UserError


def tune_view(piece: Piece, seed: int, label: str, seconds_taken: float = 0.0, novelty=("unchecked", ""),
              notation: bool = True) -> dict:
    """What the page keeps of a piece: its texts, MIDI, WAV, notation and where it came from."""
    try:
        wav, audio_error = wav_bytes(render(piece.midi)), None
    except UserError as exc:
        wav, audio_error = None, str(exc)
    svgs = (abc_to_svg(piece.abc) if piece.abc else midi_to_svg(piece.midi)) if notation else []
    # ABC: the piano roll only where the notation could not be engraved; MIDI: always, after the score
    roll = None if not notation or (piece.abc and svgs) else piano_roll_png(piece.midi, title=piece.title)
    return {
        "title": piece.title, "abc": piece.abc, "midi": piece.midi_bytes(), "wav": wav, "audio_error": audio_error,
        "svgs": svgs, "roll": roll, "duration": piece.duration, "seed": seed, "label": label,
        "tokens_text": piece.meta.get("tokens_text"), "seconds_taken": seconds_taken, "novelty": novelty,
        "meta": piece.meta, "qpm": piece.meta.get("qpm") or piece.meta.get("tempo"),
        "broken_bars": piece.meta.get("broken_bars"),
    }


def show_audio(tune: dict) -> None:
    if tune["wav"] is not None:
        st.audio(tune["wav"], format="audio/wav")
    else:
        st.error(tune["audio_error"])


def show_pictures(tune: dict) -> None:
    for svg in tune.get("svgs") or []:
        st.image(svg)
    if tune.get("roll") is not None:
        st.image(tune["roll"], caption="Piano roll" if tune.get("abc") is None
                 else "Piano roll (the notation could not be engraved)")


def show_downloads(tune: dict, prefix: str) -> None:
    stem = "".join(c if c.isalnum() else "_" for c in tune["title"])[:40] or "tune"
    buttons = [("Download MIDI", tune["midi"], f"{stem}.mid", "audio/midi", "mid")]
    if tune.get("abc"):
        buttons.insert(0, ("Download ABC", tune["abc"], f"{stem}.abc", "text/vnd.abc", "abc"))
    if tune["wav"] is not None:
        buttons.append(("Download WAV", tune["wav"], f"{stem}.wav", "audio/wav", "wav"))
    for column, (label, data, file_name, mime, suffix) in zip(st.columns(3), buttons, strict=False):
        column.download_button(label, data, file_name, mime, key=f"{prefix}-{suffix}")


def show(tune: dict, prefix: str) -> None:
    """One piece of the history: audio, verdict, notation or piano roll, text, downloads."""
    show_audio(tune)
    st.caption(f"Seed {tune.get('seed')} · {tune['duration']:.1f} s of music, made in {tune['seconds_taken']:.2f} s")
    verdict, sentence = tune.get("novelty", ("unchecked", ""))
    if verdict == "copies":
        st.warning(sentence, icon=":material/content_copy:")
    elif sentence:
        st.caption(f":material/new_releases: {sentence}")
    show_pictures(tune)
    if tune.get("abc"):
        with st.expander("ABC text"):
            st.code(tune["abc"], language=None)
    elif tune.get("tokens_text"):
        with st.expander("Tokens (the first 200 sampled)"):
            st.code(tune["tokens_text"], language=None)
    show_downloads(tune, prefix)


def timed(fn, *args):
    """``fn(*args)`` and the seconds it took."""
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0
