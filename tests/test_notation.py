"""Sheet music: ABC and MIDI engraved by verovio, and the piano roll."""

from __future__ import annotations

import re

import pretty_midi

from core.audio.notation import MAX_ENGRAVED_NOTES, abc_to_svg, midi_to_svg, piano_roll_png


def _midi(notes: list[tuple[int, float, float]], drum: bool = False) -> pretty_midi.PrettyMIDI:
    """(pitch, start s, end s) notes at 120 quarter notes per minute: 0.5 s is one beat."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=0, is_drum=drum)
    inst.notes = [pretty_midi.Note(velocity=90, pitch=p, start=s, end=e) for p, s, e in notes]
    pm.instruments.append(inst)
    return pm


def _count(svg: str, cls: str) -> int:
    return len(re.findall(rf'class="{cls}"', svg))


def test_a_midi_piece_is_engraved_on_a_grand_staff_note_for_note():
    # four quarter notes C5 D5 E5 F5 for the right hand, a whole-note C3 for the left: one 4/4 bar
    piece = _midi([(72, 0.0, 0.5), (74, 0.5, 1.0), (76, 1.0, 1.5), (77, 1.5, 2.0), (48, 0.0, 2.0)])
    pages = midi_to_svg(piece)
    assert len(pages) == 1
    svg = pages[0]
    assert _count(svg, "staff") == 2  # treble and bass
    assert _count(svg, "note") == 5
    assert _count(svg, "clef") == 2


def test_midi_with_nothing_to_engrave_gives_no_pages():
    assert midi_to_svg(pretty_midi.PrettyMIDI()) == []
    assert midi_to_svg(_midi([(36, 0.0, 0.5), (38, 0.5, 1.0)], drum=True)) == []  # drums only
    many = [(60 + i % 12, i * 0.05, i * 0.05 + 0.05) for i in range(MAX_ENGRAVED_NOTES + 1)]
    assert midi_to_svg(_midi(many)) == []  # too long to quantize quickly: the piano roll stands alone


def test_abc_engraves_and_garbage_does_not():
    pages = abc_to_svg("X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|]\n")
    assert len(pages) == 1 and _count(pages[0], "note") == 8
    assert abc_to_svg("this is not ABC at all") == []


def test_the_piano_roll_is_a_png():
    png = piano_roll_png(_midi([(60, 0.0, 1.0), (64, 0.5, 1.5)]), title="two notes")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_abc_that_crashes_verovio_gives_no_pages_and_the_next_engraving_still_works():
    # verovio 6.4 dies with a segmentation fault on these; the worker process takes the crash
    assert abc_to_svg("X:1\nT:x\nM:4/4\nL:1/8\nK:C\nCD]]EF|\n") == []
    assert abc_to_svg("T:no index or key\nCDE|") == []
    assert len(abc_to_svg("X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|]\n")) == 1
