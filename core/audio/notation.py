"""Pictures of a piece: sheet music (verovio, offline, from ABC or MIDI) and a piano roll (PNG)."""

from __future__ import annotations

import io
import multiprocessing
import threading

import numpy as np
import pretty_midi

ENGRAVE_TIMEOUT_S = 20.0  # a first call also starts the worker (about a second)
_ENGRAVER_LOCK = threading.Lock()
_ENGRAVER: _Engraver | None = None

MAX_ENGRAVED_NOTES = 3000  # past this, music21's MIDI quantization takes seconds: the piano roll stands alone


def abc_to_svg(abc: str, width: int = 2100, scale: int = 40) -> list[str]:
    """Engrave one ABC tune as SVG pages; an empty list when verovio cannot read it.

    ``width`` is in verovio's units (tenths of a millimetre at scale 100).
    """
    return _engrave(abc, "abc", width, scale)


def midi_to_svg(midi: pretty_midi.PrettyMIDI, width: int = 2100, scale: int = 40) -> list[str]:
    """Engrave a MIDI piece on a grand staff as SVG pages; an empty list when it cannot be.

    Notes from middle C (pitch 60) up go on the treble staff, the rest on the bass staff;
    music21 quantizes the onsets and durations and writes MusicXML, which verovio engraves.
    Drums are left out.
    """
    import music21
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    notes = [n for inst in midi.instruments if not inst.is_drum for n in inst.notes]
    if not notes or len(notes) > MAX_ENGRAVED_NOTES:
        return []
    tempi = midi.get_tempo_changes()[1]
    hands = pretty_midi.PrettyMIDI(initial_tempo=float(tempi[0]) if len(tempi) else 120.0)
    right, left = pretty_midi.Instrument(0, name="Right hand"), pretty_midi.Instrument(0, name="Left hand")
    for note in notes:
        (right if note.pitch >= 60 else left).notes.append(note)
    hands.instruments = [staff for staff in (right, left) if staff.notes]
    buf = io.BytesIO()
    hands.write(buf)
    try:
        score = music21.converter.parseData(buf.getvalue(), format="midi")
        xml = GeneralObjectExporter(score).parse().decode("utf-8")
    except (music21.Music21Exception, ValueError, IndexError, ZeroDivisionError):
        return []
    return _engrave(xml, "musicxml", width, scale)


def _engrave(data: str, input_from: str, width: int, scale: int) -> list[str]:
    """verovio's SVG pages for ``data``, drawn in a worker process: some malformed input (ABC with a
    stray ``]]`` or no ``K:`` line) crashes verovio itself, and that must not take the app down."""
    global _ENGRAVER
    options = {
        "inputFrom": input_from,
        "pageWidth": width,
        "adjustPageHeight": True,
        "scale": scale,
        "header": "none",
        "footer": "none",
        "breaks": "auto",
    }
    with _ENGRAVER_LOCK:
        if _ENGRAVER is None:
            _ENGRAVER = _Engraver()
        try:
            return _ENGRAVER.engrave(data, options)
        except (EOFError, OSError, TimeoutError):
            _ENGRAVER.close()  # crashed or stuck: the next call starts a fresh worker
            _ENGRAVER = None
            return []


class _Engraver:
    """One verovio toolkit in a spawned process, fed through a pipe."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch threads
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True, name="tunelab-verovio")
        self._process.start()
        child.close()

    def engrave(self, data: str, options: dict) -> list[str]:
        self._conn.send((data, options))
        if not self._conn.poll(ENGRAVE_TIMEOUT_S):
            raise TimeoutError
        return self._conn.recv()  # EOFError when the worker died on this input

    def close(self) -> None:
        self._process.kill()
        self._process.join(5)
        self._conn.close()


def _serve(conn) -> None:
    import verovio

    verovio.enableLog(verovio.LOG_OFF)
    tk = verovio.toolkit()
    while True:
        try:
            data, options = conn.recv()
        except EOFError:
            return
        tk.setOptions(options)
        try:
            pages = [tk.renderToSVG(p) for p in range(1, tk.getPageCount() + 1)] if tk.loadData(data) else []
        except (RuntimeError, ValueError):
            pages = []
        conn.send(pages)


def piano_roll(midi: pretty_midi.PrettyMIDI, fs: int = 20) -> np.ndarray:
    """Piano roll, shape (128 pitches, frames) at ``fs`` frames per second, velocities 0-127."""
    return midi.get_piano_roll(fs=fs)


def piano_roll_png(midi: pretty_midi.PrettyMIDI, fs: int = 20, title: str = "", join: float | None = None) -> bytes:
    """A piano-roll picture: time in seconds across, MIDI pitch up, for pieces without notation; ``join`` (seconds)
    draws where a continuation takes over from the notes it was given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    roll = piano_roll(midi, fs)
    active = np.flatnonzero(roll.any(axis=1))
    lo, hi = (int(active.min()) - 2, int(active.max()) + 3) if active.size else (48, 84)
    fig, ax = plt.subplots(figsize=(10, 3), dpi=100)
    ax.imshow(
        roll[lo:hi] > 0,
        aspect="auto",
        origin="lower",
        cmap="Greys",
        interpolation="nearest",
        extent=(0, roll.shape[1] / fs, lo, hi),
    )
    if join is not None:
        ax.axvline(join, color="tab:red", linewidth=1.5)
        ax.text(join, hi - 1, " continuation", color="tab:red", va="top", fontsize=9)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
