"""Meter-exact sampling (core.generation.meter, core.generation.form): every bar fits by construction."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest
import torch

from core.data.abc import analyse_body, meter_length, parse_fraction
from core.errors import UserError
from core.generation.form import FormSpec, in_form, make_plan, parts_of, sample_body, tonic_of
from core.generation.meter import TICKS, BarRule, MeterConstraint, State, feasible, feasible_reference, step
from core.generation.sampler import Sampler
from core.tokenizers import CharTokenizer
from core.tokenizers.fim import SPECIALS, with_fim

# Every readable (meter, unit) pair of the bundled corpora (O'Neill's, Ryan's, Aird's, Essen), as
# counted from core.data.corpus.load_corpus; test_corpus_meters_are_covered checks the folk books'.
CORPUS_METERS = [
    ("2/4", "1/16"), ("6/8", "1/8"), ("C|", "1/8"), ("4/4", "1/8"), ("3/4", "1/8"), ("C", "1/8"), ("2/4", "1/8"),
    ("3/4", "1/16"), ("6/8", "1/16"), ("4/4", "1/16"), ("3/8", "1/16"), ("9/8", "1/8"), ("4/2", "1/4"),
    ("4/4", "1/4"), ("3/4", "1/4"), ("2/4", "1/32"), ("3/8", "1/8"), ("4/2", "1/2"), ("C", "1/16"), ("6/4", "1/8"),
    ("6/4", "1/4"), ("4/1", "1/2"), ("3/2", "1/4"), ("3/2", "1/2"), ("3/2", "1/8"), ("2/2", "1/8"), ("2/2", "1/16"),
    ("3/1", "1/2"), ("4/2", "1/8"), ("6/2", "1/2"), ("C", "1/4"), ("6/2", "1/4"), ("4/4", "1/32"), ("12/8", "1/8"),
    ("C|", "1/16"), ("3/4", "1/32"), ("4/8", "1/16"), ("6/4", "1/16"), ("5/4", "1/8"), ("5/8", "1/16"),
    ("2/4", "1/4"), ("3/1", "1/4"), ("3/1", "1/1"), ("4/1", "1/4"), ("3/2", "1/16"), ("9/8", "1/16"),
    ("3/8", "1/32"), ("2/2", "1/4"), ("2/1", "1/2"), ("4/8", "1/8"), ("7/8", "1/8"), ("1/4", "1/16"),
    ("5/8", "1/32"), ("6/8", "1/32"), ("2/8", "1/16"),
]
VOCAB = sorted(set("\n !\"#'()*+,-./0123456789:;<=>ABCDEFGHIKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~"))
# Characters a random "model" favours, so that tuplets, broken rhythm, chords, grace notes and ties come up often.
FAVOURED = "(3><[]{}-~.z/2ABCDEFGabcdefg |"


class RandomModel(torch.nn.Module):
    """A stand-in for a trained model: random logits, biased towards the characters of FAVOURED."""

    def __init__(self, tokenizer: CharTokenizer, seed: int):
        super().__init__()
        self.g = torch.Generator().manual_seed(seed)
        self.bias = torch.tensor([2.0 if c in FAVOURED else 0.0 for c in tokenizer.vocab])
        self.bias[[tokenizer.index[c] for c in SPECIALS]] = 50.0  # it would love to write the FIM tokens

    def _logits(self, batch: int) -> torch.Tensor:
        return torch.randn(batch, len(self.bias), generator=self.g) * 2 + self.bias

    def prefill(self, ids, state=None):
        return self._logits(ids.size(0)), state

    def step(self, idx, state=None):
        return self._logits(idx.size(0)), state


def _sampler(seed: int, **kw) -> Sampler:
    tokenizer = with_fim(CharTokenizer(VOCAB))
    sampler = Sampler(RandomModel(tokenizer, seed), tokenizer, torch.Generator().manual_seed(seed), **kw)
    sampler.feed("X:1\n")
    return sampler


def _assert_every_bar_fits(body: str, meter: str, unit: str, pickup_ok: bool = False) -> None:
    analysis = analyse_body(body, meter, unit)
    bar = meter_length(meter)
    assert analysis.bars, body
    for i, b in enumerate(analysis.bars):
        if pickup_ok and i == 0:
            assert 0 < b.length <= bar, body
        else:
            assert b.length == bar, (meter, unit, i, b.text, body)


@pytest.mark.parametrize("meter,unit", CORPUS_METERS)
def test_masking_never_lets_a_bar_overflow(meter, unit):
    """Random 'models' under every filter setting: every bar lasts exactly one bar of the meter."""
    settings = [dict(), dict(temperature=0.5, top_k=8), dict(temperature=1.5, top_p=0.9), dict(top_k=3, top_p=0.5)]
    for seed in range(4):
        sampler = _sampler(seed, **settings[seed])
        spec = FormSpec("AB", 4, tonic_ending=seed % 2 == 0)
        body = sample_body(sampler, make_plan(spec, meter, unit, "D", 30, 120), meter, unit)
        assert not set(body) & set(SPECIALS)
        _assert_every_bar_fits(body, meter, unit)
        assert in_form(body, meter, unit, spec), body


def test_mask_tables_equal_the_machine_read_afresh():
    """The cached masks (shared by tunes and rows, keyed on a reduced state) are exactly the characters the
    machine allows when every character is stepped and judged afresh, at every position of sampled tunes."""
    checked = 0
    for seed, (meter, unit) in enumerate([("6/8", "1/8"), ("C|", "1/8"), ("3/4", "1/8"), ("2/4", "1/16")]):
        sampler = _sampler(200 + seed)
        spec = FormSpec("AB", 4, tonic_ending=seed % 2 == 0)
        constraint = MeterConstraint(sampler.tokenizer, meter, unit, make_plan(spec, meter, unit, "D", 30, 120))
        sampler.constraint = constraint
        while not constraint.done:
            fresh = [i for i, c in constraint.vocab if (n := step(constraint.state, c, constraint.rule,
                                                                    constraint.compound)) is not None
                     and feasible_reference(n, constraint.rule)]
            assert constraint.allowed().nonzero().flatten().tolist() == fresh, constraint.state
            sampler.next_token()
            checked += 1
    assert checked > 200


@pytest.mark.parametrize("last_bar,ok", [
    ("A2B2 c2D2||", True),
    ("A2B2 (c2D2)||", True),
    ("A2B2 c2^D2||", False),  # sounds D sharp
    ("^D2B2 c2D2||", False),  # the accidental holds to the end of the bar
    ("A2B2 z3D||", False),  # a lone note after a rest
    ("A2B2 c2[DF]2||", False),  # a chord
    ("A2B2 (c2D2||", False),  # a slur left open at the end of the part
    ("A2B2 c2D2-||", False),  # a tie into nothing
])
def test_a_tonic_ending_is_heard_as_one_and_closes_what_it_opened(last_bar, ok):
    tokenizer = CharTokenizer(VOCAB)
    plan = make_plan(FormSpec("AB", 4), "4/4", "1/8", "D", 30, 120)
    constraint = MeterConstraint(tokenizer, "4/4", "1/8", plan)
    text = "(A2B2 c2d2|e2)f2 g2f2|e2d2 c2B2|" + last_bar  # a slur across a bar line inside the part is fine
    try:
        for c in text:
            constraint.advance(tokenizer.index[c])
    except UserError:
        assert not ok, text
        return
    assert ok and constraint.index == 4, text


def test_triplets_broken_rhythm_chords_and_graces_come_up_and_fit():
    """Over many seeds in 6/8, 2/4 and C|, the random drive writes every construct and every bar still fits."""
    seen = ""
    for seed in range(30):
        meter, unit = [("6/8", "1/8"), ("2/4", "1/16"), ("C|", "1/8")][seed % 3]
        body = sample_body(_sampler(100 + seed), make_plan(FormSpec("AABB", 4), meter, unit, "G", 30, 120), meter, unit)
        _assert_every_bar_fits(body, meter, unit)
        seen += body
    for construct in ("(3", ">", "<", "[", "{", "-", "~"):
        assert construct in seen, construct


def test_free_form_reaches_the_length_and_may_open_with_a_pickup():
    for seed in range(6):
        sampler = _sampler(seed)
        plan = make_plan(FormSpec("free"), "6/8", "1/8", "Ador", 10, 180)  # 10 s at 180 qpm = 7.5 whole notes
        body = sample_body(sampler, plan, "6/8", "1/8")
        _assert_every_bar_fits(body, "6/8", "1/8", pickup_ok=True)
        bars = analyse_body(body, "6/8", "1/8").bars
        assert sum(b.length for b in bars[:-1]) < Fraction(15, 2) <= sum(b.length for b in bars)
        assert body.endswith("|]")


def test_tonic_ending_ends_each_part_on_the_tonic():
    for seed in range(8):
        body = sample_body(_sampler(seed), make_plan(FormSpec("AABB", 4), "C|", "1/8", "Ador", 30, 200), "C|", "1/8")
        for bar in analyse_body(body, "C|", "1/8").bars[3::4]:
            no_grace = re.sub(r"\{[^}]*\}", "", bar.text)
            text = re.sub(r"\[([_=^]*[A-Ga-g])[^\]]*\]", r"\1", no_grace)  # a chord counts as its first note
            letters = [c for c in text if c.isalpha() and c.upper() in "ABCDEFGZ"]
            assert letters[-1].upper() == "A", bar.text


@pytest.mark.parametrize("form,parts", [("AABB", [(8, True), (8, True)]), ("AB", [(8, False), (8, False)]),
                                        ("AABBCC", [(8, True)] * 3)])
def test_the_asked_form_holds(form, parts):
    body = sample_body(_sampler(7), make_plan(FormSpec(form, 8), "6/8", "1/8", "G", 30, 180), "6/8", "1/8")
    assert parts_of(body, "6/8", "1/8") == parts
    assert body.count("\n") >= len(parts) - 1


def test_the_machine_refuses_what_would_overflow():
    rule = BarRule(6 * TICKS)  # 6/8 with L:1/8
    s = State()
    for c in "ABcdef":
        s = step(s, c, rule)
    assert feasible(s, rule)  # six eighths: full, the pending f may still end
    assert step(s, "2", rule) is None or not feasible(step(s, "2", rule), rule)
    assert step(s, "|", rule).mode == "closed"
    t = State()
    for c in "A2B":
        t = step(t, c, rule)
    assert step(t, "|", rule) is None  # three eighths of six: too short to close


def test_bad_input():
    with pytest.raises(UserError, match="not one of"):
        make_plan(FormSpec("ABAB"), "6/8", "1/8", "D", 30, 120)
    with pytest.raises(UserError, match="between 4 and 16"):
        make_plan(FormSpec("AABB", 20), "6/8", "1/8", "D", 30, 120)
    with pytest.raises(UserError, match="not readable"):
        make_plan(FormSpec(), "none", "1/8", "D", 30, 120)
    with pytest.raises(UserError, match="more than 600"):
        make_plan(FormSpec("AABBCC", 16), "4/1", "1/2", "D", 30, 20)
    with pytest.raises(UserError, match="not readable"):
        MeterConstraint(CharTokenizer(VOCAB), "none", "1/8", None)
    assert tonic_of("Ador") == "A" and tonic_of("Bb") == "B" and tonic_of("none") == ""
    assert parse_fraction("1/8") == Fraction(1, 8)


def test_generate_cli_writes_a_tune_in_the_asked_form(tmp_path, capsys):
    import json

    from core.cli import main
    from tests.conftest import SHIPPED

    assert main(["generate", "--model", SHIPPED[0], "--seed", "2", "--meter", "6/8", "--key", "G", "--form", "AB",
                 "--bars-per-part", "4", "--allow-copies", "--out", str(tmp_path)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    abc = Path(summary["files"]["abc"]).read_text()
    assert parts_of(abc.split("K:G\n", 1)[1], "6/8", "1/8") == [(4, False), (4, False)]
    assert main(["generate", "--model", SHIPPED[0], "--bars-per-part", "40", "--out", str(tmp_path / "x")]) == 2
    assert "between 4 and 16" in capsys.readouterr().err and not any((tmp_path / "x").glob("*"))  # nothing written
