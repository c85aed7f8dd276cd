"""The tempo a tune is played at when none is given: typical for its meter (no torch here: the survey's clip
rendering on a participant-only server needs it)."""

from __future__ import annotations

DEFAULT_QPM = {
    "6/8": 180,
    "9/8": 180,
    "12/8": 180,
    "3/8": 150,
    "C|": 200,
    "2/2": 200,
    "C": 150,
    "4/4": 150,
    "2/4": 120,
    "3/4": 110,
    "3/2": 180,
}
SLOW_RHYTHMS = ("air", "slow air", "lament", "march")


def default_tempo(meter: str, rhythm: str = "") -> float:
    """Quarter notes per minute typical for the meter (jigs at 120 dotted quarters, reels at 100 halves)."""
    qpm = DEFAULT_QPM.get(meter, 120)
    return qpm * 0.6 if rhythm.strip().lower() in SLOW_RHYTHMS else qpm
