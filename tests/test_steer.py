"""Continuations pulled toward their tune's proportions (core.generation.steer, core.generation.continuation)."""

from __future__ import annotations

import math

import pytest
import torch

from core.errors import UserError
from core.generation.continuation import ContinueSettings, continue_tune
from core.generation.form import FormSpec, make_plan
from core.generation.meter import TICKS, MeterConstraint
from core.generation.settings import one_thread
from core.generation.steer import StyleSteer, Tally, tune_tally
from core.tokenizers import CharTokenizer
from tests.conftest import SHIPPED

VOCAB = sorted(set("\n |:ABCDEFGabcdefgz0123456789/<>()[]{}-^_=,'"))
TOKENIZER = CharTokenizer(VOCAB)
HORNPIPE = """X:1
T:A hornpipe in dotted rhythm
M:C|
L:1/8
K:D
|:A>G|F>AD>F A>df>e|d>cB>A G>FE>D|F>AD>F A>df>a|g>ec>A d2:|
|:f>g|a>fd>f a>fd>f|g>ec>A G>FE>D|F>AD>F A>df>a|g>ec>A d2:|
"""


def test_a_tunes_tally_counts_letters_lengths_broken_rhythm_and_rests():
    tally = tune_tally("A>B c2 z|{g}A2 B/c/ d2|", 4 * TICKS)
    assert tally.letters == {"A": 2, "B": 2, "C": 2, "D": 1}  # upper case; the grace note is no note
    assert tally.lengths == {48: 1, 24: 3, 96: 3}  # ticks before broken rhythm: A> is 48, the B after it 24
    assert tally.marks == {">": 1} and tally.rests == 1 and tally.notes == 7


def _steer_after(text: str, target: str) -> tuple[StyleSteer, MeterConstraint]:
    plan = make_plan(FormSpec("free"), "C|", "1/8", "D", 60, 120)
    constraint = MeterConstraint(TOKENIZER, "C|", "1/8", plan)
    steer = StyleSteer(TOKENIZER, constraint, tune_tally(target, 8 * TICKS), strength=2.0)
    for c in text:
        constraint.advance(TOKENIZER.index[c])
    return steer, constraint


def test_what_the_continuation_overused_is_held_back_and_masks_stay():
    target = "A>Bc>d e>fg>a|b>ag>f e>dc>B|A>Bc>d e>fg>a|b>ag>f e2z2|"
    steer, constraint = _steer_after("AAAA AAAA|AAAA AA ", target)  # only A, only eighths, no broken rhythm
    logits = torch.zeros(len(VOCAB))
    logits[TOKENIZER.index["^"]] = -math.inf
    ix = TOKENIZER.index
    idle = steer(logits)  # between notes: letters are pulled
    assert idle[ix["A"]] < 0 < idle[ix["B"]] and idle[ix["^"]] == -math.inf
    constraint.advance(ix["A"])  # a note waits for its length: broken rhythm is pulled up
    pending = steer(torch.zeros(len(VOCAB)))
    assert pending[ix[">"]] > pending[ix[" "]] and pending[ix[">"]] > 0  # ending the note plain is held back
    assert pending[ix["2"]] > pending[ix[" "]]  # a length the tune has and the continuation has not: pulled up
    assert steer.tally.notes == 14 and steer.tally.letters == {"A": 14}


def test_an_unsteered_hook_changes_nothing():
    steer, _ = _steer_after("AB", "ABcd efga|bagf edcB|ABcd efga|bagf e2z2|")
    steer.strength = 0.0
    logits = torch.randn(len(VOCAB))
    assert torch.equal(steer(logits), logits)


def test_a_continued_hornpipe_keeps_its_dotted_rhythm(shipped_lstm):
    """Broken rhythm on nearly every pair of notes, as the tune has it; unpulled, the LSTM drifts to plain eighths."""
    with one_thread():
        shares = {}
        for steer in (0.0, 4.0):
            marks = notes = 0
            for seed in range(3):
                added = continue_tune(ContinueSettings(SHIPPED[0], HORNPIPE, seed=seed, steer=steer),
                                      shipped_lstm).abc[len(HORNPIPE):]
                tally = tune_tally(added, 8 * TICKS)
                marks, notes = marks + sum(tally.marks.values()), notes + tally.notes
            shares[steer] = marks / notes
    target = tune_tally(HORNPIPE.split("K:D\n")[1], 8 * TICKS)
    want = sum(target.marks.values()) / target.notes
    assert abs(shares[4.0] - want) < abs(shares[0.0] - want), (shares, want)
    assert shares[4.0] > 0.3, shares


@pytest.mark.parametrize("steer", [-1.0, 11.0, float("nan")])
def test_a_pull_out_of_range_is_refused_with_one_sentence(steer):
    with pytest.raises(UserError, match="pull toward the tune's style"):
        ContinueSettings(SHIPPED[0], HORNPIPE, steer=steer).validate()


def test_tally_reads_constraint_characters():
    tally = Tally()
    plan = make_plan(FormSpec("free"), "6/8", "1/8", "G", 60, 120)
    constraint = MeterConstraint(TOKENIZER, "6/8", "1/8", plan)
    constraint.readers.append(tally.read)
    for c in "GAB d2B|":
        constraint.advance(TOKENIZER.index[c])
    assert tally.lengths == {48: 4, 96: 1} and tally.letters == {"G": 1, "A": 1, "B": 2, "D": 1}
