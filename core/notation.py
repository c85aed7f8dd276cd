"""Pictures of a piece: sheet music (verovio, offline, ABC to SVG) and a piano roll (PNG)."""

from __future__ import annotations

import io
import threading

import numpy as np
import pretty_midi

_VEROVIO_LOCK = threading.Lock()
_TOOLKIT = None


def _toolkit():
    global _TOOLKIT
    if _TOOLKIT is None:
        import verovio

        verovio.enableLog(verovio.LOG_OFF)
        _TOOLKIT = verovio.toolkit()
    return _TOOLKIT


def abc_to_svg(abc: str, width: int = 2100, scale: int = 40) -> list[str]:
    """Engrave one ABC tune as SVG pages; an empty list when verovio cannot read it.

    ``width`` is in verovio's units (tenths of a millimetre at scale 100).
    """
    with _VEROVIO_LOCK:
        tk = _toolkit()
        tk.setOptions(
            {
                "inputFrom": "abc",
                "pageWidth": width,
                "adjustPageHeight": True,
                "scale": scale,
                "header": "none",
                "footer": "none",
                "breaks": "auto",
            }
        )
        try:
            if not tk.loadData(abc):
                return []
            return [tk.renderToSVG(page) for page in range(1, tk.getPageCount() + 1)]
        except (RuntimeError, ValueError):
            return []


def piano_roll(midi: pretty_midi.PrettyMIDI, fs: int = 20) -> np.ndarray:
    """Piano roll, shape (128 pitches, frames) at ``fs`` frames per second, velocities 0-127."""
    return midi.get_piano_roll(fs=fs)


def piano_roll_png(midi: pretty_midi.PrettyMIDI, fs: int = 20, title: str = "") -> bytes:
    """A piano-roll picture: time in seconds across, MIDI pitch up, for pieces without notation."""
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
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
