"""The sampler: seeded reproducibility, banned characters, top-k, forced text."""

import pytest
import torch

from core.checkpoint import load_checkpoint
from core.errors import UserError
from core.sampling import Sampler, check_temperature


@pytest.fixture(scope="module")
def tiny(tiny_model):
    return load_checkpoint(tiny_model)


def _draw(tiny, seed: int, n: int = 200, **kw) -> str:
    sampler = Sampler(tiny.model, tiny.tokenizer, torch.Generator().manual_seed(seed), **kw)
    sampler.feed("X:1\nT:")
    return "".join(sampler.next_char() for _ in range(n))


def test_same_seed_same_text_and_other_seed_other_text(tiny):
    assert _draw(tiny, 1) == _draw(tiny, 1)
    assert _draw(tiny, 1) != _draw(tiny, 2)


def test_banned_characters_never_come(tiny):
    sampler = Sampler(tiny.model, tiny.tokenizer, torch.Generator().manual_seed(0), temperature=2.0)
    sampler.feed("X:1\n")
    drawn = "".join(sampler.next_char(banned="\n|ABC") for _ in range(300))
    assert not set(drawn) & set("\n|ABC")


def test_top_1_is_greedy(tiny):
    a = _draw(tiny, 1, n=50, top_k=1)
    b = _draw(tiny, 99, n=50, top_k=1)
    assert a == b  # with one candidate, the seed no longer matters


def test_forced_text_is_one_forward_pass_equal_to_stepping(tiny):
    text = "X:1\nT:The Jig\nM:6/8\n"
    fed = Sampler(tiny.model, tiny.tokenizer, torch.Generator())
    fed.feed(text)
    stepped = Sampler(tiny.model, tiny.tokenizer, torch.Generator())
    for c in text:
        stepped.feed(c)
    assert torch.allclose(fed.logits, stepped.logits, atol=1e-5)


@pytest.mark.parametrize("bad", [0, -1, 3.01, float("nan")])
def test_temperature_outside_range_is_refused(bad):
    with pytest.raises(UserError, match="Temperature"):
        check_temperature(bad)
    assert check_temperature(3) == 3.0
