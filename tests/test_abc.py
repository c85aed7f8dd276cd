"""ABC parsing: bar lengths worked out by hand, repeats, tune splitting."""

from fractions import Fraction as F

import pytest

from core.data.abc import _length, analyse_body, default_unit, meter_length, normalise_meter, split_tunes
from core.errors import UserError

BOOK = """% a tune book
X: 1
T: The Test Jig
M: 6/8
L: 1/8
R: Jig
N: a note that is dropped
K: D
A|"D"dfa afd|"4"B2B BAF|
dfa afd|e3 e2:|

X: 2
T: No Key Here
M: 4/4

X: 3
T:The Second
M:C|
K:G
GABc dedB|dedB dedB||
"""


def test_meter_length_in_whole_notes():
    assert meter_length("6/8") == F(3, 4)
    assert meter_length("C") == F(1) and meter_length("C|") == F(1)
    assert meter_length("2+3/8") == F(5, 8)
    assert meter_length("none") is None


def test_default_unit_follows_abc_standard():
    assert default_unit("2/4") == "1/16"  # 2/4 = 0.5 < 0.75
    assert default_unit("3/4") == "1/8"
    assert default_unit("6/8") == "1/8"


@pytest.mark.parametrize(
    "text,expected", [("", 1), ("2", 2), ("/", F(1, 2)), ("//", F(1, 4)), ("/4", F(1, 4)), ("3/2", F(3, 2)), ("3", 3)]
)
def test_length_suffixes(text, expected):
    assert _length(text) == expected


def test_bar_lengths_with_pickup_broken_rhythm_tuplets_and_chords():
    # 6/8 with L:1/8: the pickup A is 1/8; "d>e" is 3/16 + 1/16; "(3ABc" is 3 notes in the time of 2.
    body = "A|d>ef g2e|(3ABc d [DF]3|"
    bars = analyse_body(body, "6/8", "1/8").bars
    assert [b.length for b in bars] == [F(1, 8), F(3, 4), F(3, 4)]


def test_bad_bar_is_flagged_but_pickup_and_section_end_are_not():
    body = "A|dfa afd|B2B BAF B|dfa afd|e3 e2:|"
    analysis = analyse_body(body, "6/8", "1/8")
    # bar 3 ("B2B BAF B") lasts 7 eighths: the only bad one; the pickup and the last short bar are fine.
    assert analysis.bad == [2]
    assert analysis.fit_rate == pytest.approx(4 / 5)


def test_played_length_expands_repeats():
    body = "|:ABcd|efga:|gfed|cBAG|]"
    analysis = analyse_body(body, "C", "1/8")
    # four bars of 4/8 each; the first two are repeated: 6 x 1/2 whole notes.
    assert analysis.played_length() == F(3)


def test_double_bar_is_no_repeat_boundary_as_in_abc2midi():
    from core.data.piece import abc_to_midi

    body = "CCCC|DDDD||EEEE|1FFFF:|2GGGG|]"
    # abc2midi plays C D E F C D E G: eight bars of 4/4, at 60 quarters a minute 32 s
    assert analyse_body(body, "4/4", "1/4").played_length() == F(8)
    midi = abc_to_midi("X:1\nT:t\nM:4/4\nL:1/4\nQ:1/4=60\nK:C\n" + body + "\n")
    assert midi.get_end_time() == pytest.approx(32.0, abs=0.05)


def test_inline_unit_change():
    bars = analyse_body("abcd|[L:1/16]abcdabcd|", "2/4", "1/8").bars
    assert [b.length for b in bars] == [F(1, 2), F(1, 2)]


def test_split_tunes_keeps_tunes_with_key_and_notes():
    tunes = split_tunes(BOOK, "book.abc")
    assert [t.title for t in tunes] == ["The Test Jig", "The Second"]
    jig = tunes[0]
    assert (jig.meter, jig.unit, jig.key, jig.rhythm) == ("6/8", "1/8", "D", "jig")
    assert '"' not in jig.body  # chord names and fingerings dropped
    assert jig.to_abc().startswith("X:1\nT:The Test Jig\nM:6/8\nL:1/8\nR:jig\nK:D\n")
    assert tunes[1].unit == "1/8"  # default unit for C|


def test_normalise_meter_and_bad_unit():
    assert normalise_meter(" 6 / 8") == "6/8"
    assert normalise_meter("") == "none"
    with pytest.raises(UserError):
        analyse_body("abc|", "C", "eighth")
