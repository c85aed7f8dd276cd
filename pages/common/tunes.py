"""A composed piece as the Compose page shows it (audio, score, downloads), and the edits on it."""

from __future__ import annotations

import time

import streamlit as st

from core.audio.notation import midi_to_svg, piano_roll_png
from core.audio.render import render, wav_bytes
from core.data.piece import Piece
from core.errors import UserError
from pages.common.score import show_score


def tune_view(piece: Piece, seed: int | None, label: str, made: str = "", novelty=("unchecked", ""),
              notation: bool = True, model: str | None = None) -> dict:
    """What the page keeps of a piece: its texts, MIDI, WAV, notation and where it came from; ``made`` says
    how it was made and how long that took from the press (``made_in`` adds the seconds)."""
    try:
        wav, audio_error = wav_bytes(render(piece.midi)), None
    except UserError as exc:
        wav, audio_error = None, str(exc)
    # ABC: abcjs engraves it in the browser (pages.common.score); MIDI: verovio's score, then the piano roll
    svgs = midi_to_svg(piece.midi) if notation and not piece.abc else []
    join = piece.meta.get("join_seconds")
    roll = piano_roll_png(piece.midi, title=piece.title, join=join) if notation and not piece.abc else None
    return {
        "title": piece.title, "abc": piece.abc, "midi": piece.midi_bytes(), "wav": wav, "audio_error": audio_error,
        "svgs": svgs, "roll": roll, "duration": piece.duration, "seed": seed, "label": label, "made": made,
        "tokens_text": piece.meta.get("tokens_text"), "novelty": novelty, "model": model or piece.meta.get("model"),
        "meta": piece.meta, "qpm": audio_qpm(piece) or piece.meta.get("qpm") or piece.meta.get("tempo"),
        "broken_bars": piece.meta.get("broken_bars"), "audio_qpm": audio_qpm(piece),
    }


def made_in(how: str, since: float) -> str:
    """``"generated in 3.2 s from the press"`` (``0.04 s`` below a second): ``since`` is the press's
    perf_counter()."""
    seconds = time.perf_counter() - since
    return f"{how} in {seconds:.2f} s from the press" if seconds < 1 else f"{how} in {seconds:.1f} s from the press"


def audio_qpm(piece: Piece) -> float | None:
    """The tempo the audio plays at (the MIDI's first tempo, quarter notes a minute): the score keeps it."""
    _, tempi = piece.midi.get_tempo_changes()
    return float(tempi[0]) if len(tempi) else None


def caption(tune: dict) -> str:
    """``Seed 5 · 38.2 s of music · generated in 3.2 s from the press`` (the seed is what makes it again)."""
    seed = f"Seed {tune['seed']}" if tune.get("seed") is not None else "No seed"
    made = f" · {tune['made']}" if tune.get("made") else ""
    return f"{seed} · {tune['duration']:.1f} s of music{made}"


def show_audio(tune: dict) -> None:
    if tune["wav"] is not None:
        st.audio(tune["wav"], format="audio/wav")
    else:
        st.error(tune.get("audio_error") or "This tune has no audio.")


def show_pictures(tune: dict, key: str, staffwidth: int = 740) -> None:
    """The score: abcjs with a cursor for ABC tunes; verovio's pages and a piano roll for MIDI pieces."""
    if tune.get("abc"):
        show_score(tune, key, staffwidth)
        return
    svgs = tune.get("svgs") or []
    for i, svg in enumerate(svgs):
        st.image(svg, caption=f"Score of {tune['title']}" + (f", page {i + 1}" if len(svgs) > 1 else ""))
    if tune.get("roll") is not None:
        join = (tune.get("meta") or {}).get("join_seconds")
        given = f"; the notes the model was given end at {join:.1f} s (red line), its own follow" if join else ""
        st.image(tune["roll"], caption=f"Piano roll of {tune['title']}{given}")


def show_downloads(tune: dict, prefix: str) -> None:
    stem = "".join(c if c.isalnum() else "_" for c in tune["title"])[:40] or "tune"
    buttons = [("Download MIDI", tune["midi"], f"{stem}.mid", "audio/midi", "mid")]
    if tune.get("abc"):
        buttons.insert(0, ("Download ABC", tune["abc"], f"{stem}.abc", "text/vnd.abc", "abc"))
    if tune["wav"] is not None:
        buttons.append(("Download WAV", tune["wav"], f"{stem}.wav", "audio/wav", "wav"))
    for column, (label, data, file_name, mime, suffix) in zip(st.columns(3), buttons, strict=False):
        column.download_button(label, data, file_name, mime, key=f"{prefix}-{suffix}")


def show_novelty(tune: dict) -> None:
    verdict, sentence = tune.get("novelty") or ("unchecked", "")
    if verdict == "copies":
        st.warning(sentence, icon=":material/content_copy:")
    elif sentence:
        st.caption(f":material/new_releases: {sentence}")


def show(tune: dict, prefix: str) -> None:
    """One piece of the history (or a shared one): audio, verdict, score, text, downloads."""
    with st.container():
        show_audio(tune)
        st.caption(caption(tune))
        show_novelty(tune)
        show_pictures(tune, f"{prefix}-score")
    if tune.get("abc"):
        with st.expander("ABC text"):
            st.code(tune["abc"], language=None)
    elif tune.get("tokens_text"):
        with st.expander("Tokens (the first 200 sampled)"):
            st.code(tune["tokens_text"], language=None)
    show_downloads(tune, prefix)
