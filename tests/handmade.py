"""Small pieces built note by note, for tests that know every expected value."""

from __future__ import annotations

import pretty_midi


def make_midi(
    notes: list[tuple[int, float, float]],
    tempo: float = 120.0,
    meter: tuple[int, int] = (4, 4),
    drums: list[tuple[int, float, float]] | None = None,
) -> pretty_midi.PrettyMIDI:
    """A piece from ``(pitch, onset, length)`` triples in quarter notes, at ``tempo`` quarters a minute."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(meter[0], meter[1], 0.0))
    seconds = 60.0 / tempo
    tracks = ([(False, notes)] if notes or not drums else []) + ([(True, drums)] if drums else [])
    for is_drum, triples in tracks:  # a piece of no notes keeps one empty piano track
        inst = pretty_midi.Instrument(0, is_drum=is_drum)
        inst.notes = [pretty_midi.Note(90, p, on * seconds, (on + length) * seconds) for p, on, length in triples]
        midi.instruments.append(inst)
    return midi


def melody(pitches: list[int], lengths: list[float], start: float = 0.0) -> list[tuple[int, float, float]]:
    """Consecutive notes: each starts where the one before ends (quarter notes)."""
    out, t = [], start
    for p, length in zip(pitches, lengths, strict=True):
        out.append((p, t, length))
        t += length
    return out
