"""One compose entry point for every model family: settings -> Piece, and Piece -> files.

ABC models take :class:`ComposeSettings` (:mod:`core.generation.abc_compose`), the MIDI families
take :class:`MidiComposeSettings` (:mod:`core.generation.midi_compose`); :func:`compose` dispatches
on the model's kind, so callers never need to know which family made a piece.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

from core.audio.render import render, resolve_soundfont, wav_bytes, write_atomic
from core.data.piece import Piece
from core.errors import UserError
from core.generation.abc_compose import ComposeSettings, compose_abc
from core.generation.midi_compose import MidiComposeSettings, compose_midi, is_midi_model
from core.generation.settings import load_model, one_thread
from core.training.checkpoint import LoadedModel

__all__ = ["ComposeSettings", "MidiComposeSettings", "compose", "compose_to_files", "load_model", "variations_to_files"]


def compose(settings: ComposeSettings | MidiComposeSettings, loaded: LoadedModel | None = None) -> Piece:
    """Sample a piece with the model the settings name; the same model, seed and settings give the same piece.

    Raises UserError when the settings' kind (ABC or MIDI) does not fit the model's.
    """
    loaded = loaded or load_model(settings.model)
    midi_model = is_midi_model(loaded)
    if midi_model != isinstance(settings, MidiComposeSettings):
        kind = "MIDI" if midi_model else "ABC"
        raise UserError(f"{loaded.card.name} is an {kind} model; its settings do not fit.")
    with one_thread():
        return compose_midi(settings, loaded) if midi_model else compose_abc(settings, loaded)


def compose_to_files(settings: ComposeSettings | MidiComposeSettings, out_dir: Path, soundfont: str | None = None,
                     stem: str = "tune") -> dict:
    """Compose, then write ``stem``.abc (ABC models), .mid, .wav and, without notation, a piano-roll
    .png into ``out_dir``; returns a summary. ``settings`` is a ComposeSettings for ABC models or a
    :class:`core.midi_compose.MidiComposeSettings` for MIDI models.

    If FluidSynth is missing, the ABC and MIDI files are still written before the error.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", stem):
        raise UserError(f"File stem {stem!r} may only use letters, digits, '.', '_' and '-'.")
    sf = resolve_soundfont(soundfont)
    out_dir = _out_folder(Path(out_dir))
    timings = {}
    t = time.perf_counter()
    loaded = load_model(settings.model)
    timings["load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    piece = compose(settings, loaded)
    timings["compose_s"] = time.perf_counter() - t
    return write_piece(piece, settings, loaded, out_dir, sf, stem, timings)


def variations_to_files(settings: ComposeSettings | MidiComposeSettings, n: int, out_dir: Path,
                        soundfont: str | None = None, stem: str = "tune") -> list[dict]:
    """N variations (seeds ``seed .. seed + N - 1``, one batch) written as ``stem-1`` .. ``stem-N``;
    one summary each. A variation where no attempt passed has ``"error"`` and, when its best attempt
    plays, that attempt's files (broken bars marked)."""
    from core.generation.variations import check_variations, compose_variations, variation_seeds

    check_variations(n)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,60}", stem):
        raise UserError(f"File stem {stem!r} may only use letters, digits, '.', '_' and '-'.")
    sf = resolve_soundfont(soundfont)
    out_dir = _out_folder(Path(out_dir))
    loaded = load_model(settings.model)
    t = time.perf_counter()
    results = compose_variations(settings, n, loaded)
    each_s = (time.perf_counter() - t) / n
    summaries = []
    for i, result in enumerate(results, start=1):
        seed = variation_seeds(settings.seed, n)[i - 1]
        one = replace(settings, seed=seed)
        if isinstance(result, Piece):
            summaries.append(write_piece(result, one, loaded, out_dir, sf, f"{stem}-{i}", {"compose_s": each_s}))
            continue
        best = getattr(result, "best", None)
        summary = (write_piece(best, one, loaded, out_dir, sf, f"{stem}-{i}", {"compose_s": each_s}) if best
                   else {"seed": seed, "files": {}})
        summaries.append({**summary, "error": str(result)})
    return summaries


def write_piece(piece: Piece, settings, loaded: LoadedModel, out_dir: Path, sf: str, stem: str,
                timings: dict) -> dict:
    """Write ``stem``.abc (when the piece has ABC), .mid, .wav and, without ABC, a piano-roll .png; the summary."""
    paths = {"midi": out_dir / f"{stem}.mid", "wav": out_dir / f"{stem}.wav"}
    if piece.abc:
        paths = {"abc": out_dir / f"{stem}.abc", **paths}
        write_atomic(paths["abc"], piece.abc.encode())
    write_atomic(paths["midi"], piece.midi_bytes())
    if not piece.abc:
        from core.audio.notation import piano_roll_png

        paths["png"] = out_dir / f"{stem}.png"
        write_atomic(paths["png"], piano_roll_png(piece.midi, title=piece.title))
    t = time.perf_counter()
    audio = render(piece.midi, sf)
    timings = {**timings, "render_s": time.perf_counter() - t}
    write_atomic(paths["wav"], wav_bytes(audio))
    return {
        "title": piece.title,
        "model": loaded.card.name,
        "family": loaded.card.family,
        "seed": settings.seed,
        "temperature": settings.temperature,
        "duration_s": round(piece.duration, 3),
        "attempts": piece.meta.get("attempts", 1),
        "files": {k: str(v) for k, v in paths.items()},
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }


def _out_folder(out_dir: Path) -> Path:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"Cannot create the output folder {out_dir} ({exc.strerror}).") from None
    if not _writable(out_dir):
        raise UserError(f"The output folder {out_dir} is not writable.")
    return out_dir


def _writable(folder: Path) -> bool:
    probe = folder / f".write-probe-{time.time_ns()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False
