"""Metrics on hand-made pieces with known values, ABC validity, Yang & Lerch's set comparison, and
the evaluate-samples command."""

import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from core.cli import main
from core.data.notes import note_table
from core.errors import UserError
from core.evaluation.metrics import (
    NOTE_LENGTHS,
    average_ioi,
    average_pitch_interval,
    empty_rate,
    groove_consistency,
    note_length_histogram,
    piece_metrics,
    pitch_class_histogram,
    pitch_class_transition_matrix,
)
from core.evaluation.samples import Evaluation
from core.evaluation.setcompare import (
    compare_metric,
    compare_sets,
    feature_matrix,
    inter_distances,
    intra_distances,
    kl_divergence,
    overlap_area,
)
from core.evaluation.validity import abc_validity, repeats_balanced, validity_rates
from tests.conftest import SHIPPED
from tests.handmade import make_midi, melody

# C quarter, E eighth, D eighth, G half: one 4/4 bar
FOUR = melody([60, 64, 62, 67], [1, 0.5, 0.5, 2])


def _m(notes, **kw):
    return piece_metrics(make_midi(notes, **kw))


def test_pitch_metrics_of_a_four_note_bar():
    m = _m(FOUR)
    assert m["pitch_count"] == 4 and m["pitch_class_count"] == 4
    assert m["pitch_range"] == 7  # C4 to G4
    assert m["pitch_entropy"] == 2.0 and m["pitch_class_entropy"] == 2.0  # four equally likely: 2 bits
    assert m["scale_consistency"] == 1.0  # all in C major
    assert m["pitch_class_histogram"].tolist() == [0.25, 0, 0.25, 0, 0.25, 0, 0, 0.25, 0, 0, 0, 0]
    pctm = m["pitch_class_transition_matrix"]
    assert pctm[0, 4] == pctm[4, 2] == pctm[2, 7] == pytest.approx(1 / 3) and pctm.sum() == pytest.approx(1)
    assert m["average_pitch_interval"] == pytest.approx((4 + 2 + 5) / 3)


def test_rhythm_metrics_of_a_four_note_bar():
    m = _m(FOUR)
    assert m["note_count"] == 4
    assert m["average_ioi"] == pytest.approx((1 + 0.5 + 0.5) / 3)  # quarter notes
    expected = np.zeros(12)
    expected[[NOTE_LENGTHS.index(1.0), NOTE_LENGTHS.index(2.0)]] = 0.25  # one quarter, one half
    expected[NOTE_LENGTHS.index(0.5)] = 0.5  # two eighths
    assert np.allclose(m["note_length_histogram"], expected)
    nltm = m["note_length_transition_matrix"]
    assert nltm[2, 3] == nltm[3, 3] == nltm[3, 1] == pytest.approx(1 / 3)
    assert m["polyphony"] == 1.0 and m["polyphony_rate"] == 0.0
    assert m["empty_beat_rate"] == 0.0 and m["empty_measure_rate"] == 0.0
    assert math.isnan(m["groove_consistency"])  # one bar: no neighbours to compare


def test_metrics_do_not_depend_on_tempo_and_ignore_drums():
    slow, fast = _m(FOUR, tempo=60), _m(FOUR, tempo=180, drums=[(36, i / 2, 0.25) for i in range(8)])
    for name, value in slow.items():
        assert np.allclose(value, fast[name], equal_nan=True), name


def test_chords_count_in_polyphony_and_in_intervals_in_pitch_order():
    # C-E-G for two quarters, then C alone for two: 3 pitches half the time, 1 the other half
    m = _m([(60, 0, 2), (64, 0, 2), (67, 0, 2), (60, 2, 2)])
    assert m["polyphony"] == 2.0 and m["polyphony_rate"] == 0.5
    assert m["average_pitch_interval"] == pytest.approx((4 + 3 + 7) / 3)  # C E G C
    assert m["average_ioi"] == 2.0  # one onset for the chord


def test_empty_beats_bars_and_groove():
    # C quarter, half rest, D quarter: beats 2 and 3 of four are silent
    rests = note_table(make_midi([(60, 0, 1), (62, 3, 1)]))
    assert empty_rate(rests, 1.0) == 0.5 and empty_rate(rests, 4.0) == 0.0
    # a whole note, a silent bar, a whole note: one bar in three is empty
    assert empty_rate(note_table(make_midi([(60, 0, 4), (62, 8, 4)])), 4.0) == pytest.approx(1 / 3)
    # bar 1 onsets on beats 1-4, bar 2 on beats 1 and 3: 2 of 96 steps differ
    two_bars = note_table(make_midi(melody([60, 62, 64, 65, 67, 64], [1, 1, 1, 1, 2, 2])))
    assert groove_consistency(two_bars) == pytest.approx(1 - 2 / 96)
    # in 3/4 the same notes make bars of 3 quarters: onsets {0,1,2}, {0,1,2}, {0}: distances 0 and 2
    assert groove_consistency(note_table(make_midi(melody([60] * 7, [1] * 7), meter=(3, 4)))) == pytest.approx(
        1 - 2 / (2 * 72)
    )


def test_note_lengths_map_to_the_nearest_class():
    lengths = [1 / 3, 2 / 3, 1.5, 0.75, 4.0, 8.0]  # 8th triplet, quarter triplet, dotted quarter, dotted 8th, 1, 2
    table = note_table(make_midi(melody([60] * 6, lengths)))
    hist = note_length_histogram(table)
    assert hist[NOTE_LENGTHS.index(1 / 3)] == hist[NOTE_LENGTHS.index(2 / 3)] == pytest.approx(1 / 6)
    assert hist[NOTE_LENGTHS.index(1.5)] == hist[NOTE_LENGTHS.index(0.75)] == pytest.approx(1 / 6)
    assert hist[NOTE_LENGTHS.index(4.0)] == pytest.approx(2 / 6)  # a breve is counted as a whole note


def test_one_note_gives_nan_where_two_are_needed():
    one = note_table(make_midi([(62, 0, 1)]))
    assert math.isnan(average_pitch_interval(one)) and math.isnan(average_ioi(one))
    assert np.isnan(pitch_class_transition_matrix(one)).all()
    assert pitch_class_histogram(one).tolist() == [0, 0, 1] + [0] * 9
    m = piece_metrics(make_midi([(62, 0, 1)]))
    assert m["pitch_count"] == 1 and m["pitch_range"] == 0 and m["pitch_entropy"] == 0


@pytest.mark.parametrize(
    "notes,drums,message",
    [([], None, "has no notes"), ([], [(36, 0, 0.5), (38, 1, 0.5)], "only drum tracks")],
)
def test_pieces_without_melody_are_refused(notes, drums, message):
    with pytest.raises(UserError, match=message):
        piece_metrics(make_midi(notes, drums=drums))


TUNE = "X:1\nT:Test\nM:4/4\nL:1/8\nK:D\n{body}\n"


@pytest.mark.parametrize(
    "body,fit,ends,balanced",
    [
        ("|:DEFG ABcd|e8:|", 1.0, True, True),
        ("DEFG ABcd|e8|f4 e4|d8|]", 1.0, True, True),
        ("DEFG ABcd|e8 f|f4 e4|d8|]", 0.75, True, True),  # bar 2 is an eighth too long
        ("DEFG ABcd|e8|f4 e4|d8", 1.0, False, True),
        ("|:DEFG ABcd|e8|:f4 e4|d8:|", 1.0, True, False),  # a second |: before the first closes
        ("|:DEFG ABcd|e8:| |:f4 e4|d8|]", 1.0, True, False),  # the second section is never closed
        ("DEFG ABcd|e8:|f4 e4|d8:|", 1.0, True, True),  # :| repeats from the start or the last :|
        ("|:DEFG ABcd|1 e8:|2 d8|]", 1.0, True, True),
        ("DEFG ABcd:|2 d8|]", 1.0, True, False),  # a second ending with no first
        ("DEFG ABcd|1 e8|2 d8|]", 1.0, True, False),  # the first ending is not closed by :|
    ],
)
def test_abc_validity(body, fit, ends, balanced):
    v = abc_validity(TUNE.format(body=body))
    assert v.parses and v.plays
    assert v.bar_fit_rate == fit and v.ends_on_bar_line == ends and v.repeats_balanced == balanced


def test_validity_of_text_that_is_not_a_tune_and_rates():
    bad = abc_validity("just some words")
    assert not bad.parses and not bad.plays and math.isnan(bad.bar_fit_rate)
    good = abc_validity(TUNE.format(body="|:DEFG ABcd|e8:|"))
    rates = validity_rates([good, bad])
    assert rates["parse_rate"] == 0.5 and rates["play_rate"] == 0.5 and rates["bar_fit_rate"] == 1.0
    assert math.isnan(validity_rates([])["parse_rate"])
    assert repeats_balanced("|: [K:G] ABcd :|", "4/4", "1/8")  # the ":" of an inline field is no repeat


def test_distances_within_and_between_sets():
    a, b = np.array([[0.0], [1.0], [3.0]]), np.array([[10.0]])
    assert intra_distances(a).tolist() == [1, 3, 2]
    assert inter_distances(a, b).tolist() == [10, 9, 7]
    rows = feature_matrix([{"x": 1.0}, {"x": math.nan}, {"x": 2.0}], "x")
    assert rows.tolist() == [[1.0], [2.0]]  # an undefined value drops the piece from that metric
    assert intra_distances(np.array([[0.0, 0.0], [3.0, 4.0]])).tolist() == [5.0]


def test_overlap_and_divergence_of_known_distributions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 20000), rng.normal(1, 1, 20000)
    assert overlap_area(a, b) == pytest.approx(2 * norm.cdf(-0.5), abs=0.015)  # 0.617 for N(0,1), N(1,1)
    assert kl_divergence(a, b) == pytest.approx(0.5, abs=0.03)  # (mu1 - mu2)^2 / 2
    assert overlap_area(a, a) == pytest.approx(1.0) and kl_divergence(a, a) == 0.0
    assert overlap_area(np.zeros(4), np.zeros(6)) == 1.0 and kl_divergence(np.zeros(4), np.zeros(6)) == 0.0
    far = np.array([100.0, 101.0, 102.0])
    assert overlap_area(a[:50], far) == 0.0 and kl_divergence(a[:50], far) == math.inf


def test_set_comparison_needs_two_pieces_and_skips_what_it_cannot_compare():
    one = [{"x": 1.0, "y": math.nan}]
    two = [{"x": 1.0, "y": 1.0}, {"x": 2.0, "y": math.nan}]
    three = [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 2.5}, {"x": 2.0, "y": 1.0}]
    with pytest.raises(UserError, match="two or more pieces"):
        compare_metric(one, three, "x")
    result = compare_sets(two, three, ("x", "y"))
    assert list(result["metrics"]) == ["x"] and "y" in result["skipped"]
    x = result["metrics"]["x"]
    assert x["pieces"] == (2, 3) and x["intra_generated"] == (1.0, 0.0)
    assert x["inter"][0] == pytest.approx(5 / 6)  # |1-1| |1-3| |1-2| |2-1| |2-3| |2-2|
    assert result["overlap"] == x["overlap"] == (x["overlap_generated"] + x["overlap_reference"]) / 2
    with pytest.raises(UserError):
        compare_sets(one, three, ("x", "y"))


def test_the_json_report_has_no_infinities():
    ev = Evaluation("m", "c", "r", {"rate": math.nan}, {}, {"metrics": {"x": {"kl": math.inf}}}, {})
    out = ev.to_dict()
    assert out["validity"]["rate"] is None and out["metrics"]["metrics"]["x"]["kl"] is None
    json.dumps(out, allow_nan=False)


def test_evaluate_samples_prints_validity_novelty_and_the_comparison(capsys):
    assert main(["evaluate-samples", "--model", SHIPPED[0], "--n", "2", "--json", "--samples"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["settings"]["seeds"] == [0, 1] and out["settings"]["temperature"] == 0.8
    assert out["validity"]["tunes"] == 2 and out["validity"]["play_rate"] == 1.0
    assert out["novelty"]["checked"] == 2 and set(out["novelty"]["copies_rate_by_bars"]) == {"1", "2", "4", "8"}
    assert [s["seed"] for s in out["samples"]] == [0, 1]
    assert all(s["verdict"] in ("novel", "copies") and s["longest_shared_notes"] >= 0 for s in out["samples"])
    metrics = out["metrics"]
    assert metrics["reference"].startswith("oneills1850 test split") and metrics["pieces"][0] == 2
    assert 0 < metrics["overlap"] <= 1 and "pitch_class_histogram" in metrics["metrics"]
    assert len(out["histograms"]["note_length_histogram"]) == 12


@pytest.mark.parametrize(
    "args,message",
    [
        (["--model", SHIPPED[0], "--n", "1"], "at least 2 samples"),
        (["--model", "no-such-model", "--n", "3"], "Unknown model"),
        (["--model", SHIPPED[0], "--n", "3", "--threshold-bars", "-1"], "positive number of bars"),
    ],
)
def test_evaluate_samples_mistakes_exit_2_with_one_sentence(capsys, args, message):
    assert main(["evaluate-samples", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
