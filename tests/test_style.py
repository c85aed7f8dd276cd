"""Continuations in the tune's own style (core.generation.style): its note lengths, no chords unless it has them."""

from __future__ import annotations

import re

from core.generation.continuation import ContinueSettings, continue_tune
from core.generation.meter import SUFFIXES
from core.generation.settings import one_thread
from core.generation.style import style_of
from tests.conftest import SHIPPED

JIG = """X:1
T:A jig without chords
M:6/8
L:1/8
K:G
|:D|GBd gdB|AGA BGE|DGB dBG|AGA BGE|
GBd gdB|AGA Bcd|edc BAG|AFD G2:|
"""


def test_style_reads_lengths_chords_broken_rhythm_and_tuplets():
    jig = style_of('|:A2B c2d|e2f g3|"Am"agf e2d|c3 A3:|[1 B3 :|[2 c3|]')
    assert jig.suffixes == ("", "2", "3") and not jig.chords and not jig.broken and not jig.tuplets
    reel = style_of("|:A>B c/d/e [CEG]2 (3ABc dcBA|")
    assert set(reel.suffixes) == {"", "2", "/", "/2"} and reel.chords and reel.broken and reel.tuplets
    assert style_of("|:A3/4B/4 c2|").suffixes == tuple(s for s in SUFFIXES if s in ("", "2", "/4", "//", "3/4"))


def test_a_continued_jig_stays_a_jig(shipped_lstm):
    with one_thread():
        for seed in range(3):
            added = continue_tune(ContinueSettings(SHIPPED[0], JIG, seed=seed), shipped_lstm).abc[len(JIG):]
            assert "[" not in added.replace("[1", "").replace("[2", ""), added  # no chords: the jig has none
            assert not re.search(r"[<>]|\(\d", added), added
            lengths = set(re.findall(r"[A-Ga-gz][,']*([0-9/]*)", added))
            assert lengths <= {"", "2", "3"}, (lengths, added)
