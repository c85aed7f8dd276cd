"""The sampler: seeded reproducibility, banned characters, top-k, top-p, forced text and ids."""

import pytest
import torch

from core.errors import UserError
from core.generation.sampler import Sampler, check_temperature, check_top_p
from core.training.checkpoint import load_checkpoint


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


class FixedModel:
    """A stand-in model whose next-token probabilities are always ``probs``; state counts the ids read."""

    def __init__(self, probs: list[float]):
        self.logits = torch.tensor(probs).log()[None]

    def prefill(self, ids, state):
        return self.logits, (state or 0) + ids.size(1)

    def step(self, idx, state):
        return self.logits, state + 1


def _reference(tiny, seed: int, n: int, greedy: bool = False) -> str:
    """Softmax and multinomial by hand through prefill/step: what the sampler drew before top-p existed."""
    gen = torch.Generator().manual_seed(seed)
    logits, state = tiny.model.prefill(torch.tensor([tiny.tokenizer.encode("X:1\nT:")]), None)
    out = []
    for _ in range(n):
        if greedy:
            token = int(logits[0].argmax())
        else:
            token = int(torch.multinomial(torch.softmax(logits[0], -1), 1, generator=gen))
        out.append(token)
        logits, state = tiny.model.step(torch.tensor([token]), state)
    return tiny.tokenizer.decode(out)


def test_char_rnn_prefill_is_the_last_position_of_forward(tiny):
    ids = torch.tensor([tiny.tokenizer.encode("X:1\nT:The Jig\n")])
    logits, state = tiny.model.prefill(ids, None)
    with torch.inference_mode():
        full, _, full_state = tiny.model(ids)
    assert torch.equal(logits, full[:, -1])
    assert all(torch.equal(a, b) for s, t in zip(state, full_state, strict=True) for a, b in zip(s, t, strict=True))


def test_top_p_one_draws_as_before(tiny):
    assert _draw(tiny, 3, n=100, top_p=1.0) == _draw(tiny, 3, n=100) == _reference(tiny, 3, 100)


def test_tiny_top_p_is_greedy(tiny):
    assert _draw(tiny, 1, n=50, top_p=1e-6) == _draw(tiny, 7, n=50, top_p=1e-6) == _reference(tiny, 0, 50, True)


@pytest.mark.parametrize(
    "top_p, allowed", [(0.49, {0}), (0.51, {0, 1}), (0.79, {0, 1}), (0.81, {0, 1, 2}), (1.0, {0, 1, 2, 3})]
)
def test_top_p_keeps_the_fewest_likeliest_tokens_reaching_p(top_p, allowed):
    sampler = Sampler(FixedModel([0.5, 0.3, 0.15, 0.05]), None, torch.Generator().manual_seed(0), top_p=top_p)
    sampler.feed_ids([0, 1])
    drawn = {sampler.next_token() for _ in range(400)}
    assert drawn == allowed
    assert sampler.state == 402  # feed_ids read two ids in one prefill, then one step per draw


@pytest.mark.parametrize("bad", [0, -0.1, 1.01, float("nan")])
def test_top_p_outside_range_is_refused(bad):
    with pytest.raises(UserError, match="top-p"):
        Sampler(FixedModel([0.5, 0.5]), None, torch.Generator(), top_p=bad)
    with pytest.raises(UserError, match="top-p"):
        check_top_p(bad)
    assert check_top_p(1) == 1.0


def test_feed_ids_equals_feed(tiny):
    text = "X:1\nT:A\n"
    by_text = Sampler(tiny.model, tiny.tokenizer, torch.Generator())
    by_text.feed(text)
    by_ids = Sampler(tiny.model, tiny.tokenizer, torch.Generator())
    by_ids.feed_ids(tiny.tokenizer.encode(text))
    by_ids.feed_ids([])  # nothing to read: no change
    assert torch.equal(by_text.logits, by_ids.logits)
