"""Header fields (core.generation.header): M:, L:, R: and K: only ever take values ABC and the tune books know."""

from __future__ import annotations

import pytest

from core.data.abc import meter_length, parse_fraction
from core.generation.abc_compose import KEY_RE, ComposeSettings, compose_abc
from core.generation.header import KEYS, METERS, RHYTHMS, UNITS, ChoiceConstraint
from core.generation.settings import one_thread
from core.tokenizers import CharTokenizer
from tests.conftest import SHIPPED

TOKENIZER = CharTokenizer(sorted(set("".join(KEYS + METERS + UNITS + RHYTHMS) + "\nRK:#")))


def _read(constraint: ChoiceConstraint, text: str) -> None:
    for c in text:
        assert constraint.allowed()[TOKENIZER.index[c]], (constraint.text, c)
        constraint.advance(TOKENIZER.index[c])


def test_the_mask_allows_exactly_the_continuations_of_the_options():
    constraint = ChoiceConstraint(TOKENIZER, ("6/8", "6/4", "C", "C|"))
    allowed = {TOKENIZER.vocab[i] for i in constraint.allowed().nonzero().flatten().tolist()}
    assert allowed == {"6", "C"}
    _read(constraint, "C")
    allowed = {TOKENIZER.vocab[i] for i in constraint.allowed().nonzero().flatten().tolist()}
    assert allowed == {"|", "\n"}  # "C" is complete: it may end, or go on to "C|"
    saved = constraint.save()
    _read(constraint, "|\n")
    assert constraint.done and constraint.text == "C|"
    constraint.restore(saved)
    assert not constraint.done and constraint.text == "C"
    with pytest.raises(ValueError):
        constraint.advance(TOKENIZER.index["8"])


def test_a_choice_without_an_end_is_done_when_an_option_is_complete():
    constraint = ChoiceConstraint(TOKENIZER, ("R:", "K:"), end="")
    _read(constraint, "K:")
    assert constraint.done and constraint.text == "K:"


def test_every_listed_value_is_readable_abc():
    assert all(meter_length(m) is not None or m in ("C", "C|") for m in METERS)
    assert all(parse_fraction(u) > 0 for u in UNITS)
    assert all(KEY_RE.match(k) for k in KEYS)


def test_temperature_three_makes_tunes_with_valid_headers(shipped_lstm):
    """Where a wild temperature used to end in "the sampled meter was not readable" ten times over."""
    with one_thread():
        for seed in range(5):
            piece = compose_abc(ComposeSettings(SHIPPED[0], seed=seed, temperature=3.0, form="AB", bars_per_part=4,
                                                max_copy_bars=None), shipped_lstm)
            fields = dict(line.split(":", 1) for line in piece.abc.splitlines()[:7] if line[1:2] == ":")
            assert fields["M"] in METERS and fields["L"] in UNITS and fields["K"] in KEYS, piece.abc
            assert piece.duration > 0
