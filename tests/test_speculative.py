"""Speculative sampling (core.generation.speculative): drafts verified in one pass keep the model's distribution."""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from scipy.stats import chisquare

import core.generation.speculative as speculative
from core.generation.sampler import Sampler
from core.generation.settings import one_thread
from core.generation.speculative import LookupDraft
from core.models.transformer import GPT, GPTConfig
from core.tokenizers import CharTokenizer

V, LENGTH, PRIMER = 4, 3, [0, 1]


def _model() -> GPT:
    torch.manual_seed(3)
    model = GPT(GPTConfig(vocab_size=V, block_size=16, n_layer=1, n_head=2, n_embd=8, dropout=0.0)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(6)  # peaked, position-dependent distributions rather than near-uniform ones
    return model


class RandomDraft:
    """Drafts random tokens of random length, from its own generator: every acceptance path comes up."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def extend(self, ids) -> None:
        pass

    def propose(self, k: int) -> list[int]:
        return [self.rng.randrange(V) for _ in range(self.rng.randint(1, k))]


class NoRepeat:
    """A constraint: never the token just read (a stand-in for the meter machine, with the same interface)."""

    done = False

    def __init__(self):
        self.last = None

    def allowed(self) -> torch.Tensor:
        mask = torch.ones(V, dtype=torch.bool)
        if self.last is not None:
            mask[self.last] = False
        return mask

    def advance(self, token: int) -> None:
        self.last = token

    def save(self):
        return self.last

    def restore(self, saved) -> None:
        self.last = saved


def _new_sampler(model, seed, constrained, speculate=True):
    tokenizer = CharTokenizer([chr(97 + i) for i in range(V)])
    sampler = Sampler(model, tokenizer, torch.Generator().manual_seed(seed), temperature=0.9, top_p=0.95)
    sampler.feed_ids(PRIMER)
    sampler.constraint = NoRepeat() if constrained else None
    if constrained:
        sampler.constraint.last = PRIMER[-1]
    sampler.speculate = 4 if speculate else 0
    sampler.draft = RandomDraft(seed) if speculate else None
    return sampler


def _samples(model, n: int, constrained: bool, speculate: bool = True) -> list[tuple[int, ...]]:
    out = []
    with one_thread():
        for seed in range(n):
            sampler, tokens = _new_sampler(model, seed, constrained, speculate), []
            while len(tokens) < LENGTH:
                tokens += sampler.next_tokens()
            out.append(tuple(tokens[:LENGTH]))
    return out


def _exact(model, constrained: bool) -> dict[tuple[int, ...], float]:
    """Probability of every continuation of LENGTH tokens, from full forward passes and the sampler's filters."""
    sampler = _new_sampler(model, 0, False, speculate=False)
    probs = {}
    for seq in itertools.product(range(V), repeat=LENGTH):
        logits = model(torch.tensor([PRIMER + list(seq)]))[0][0]
        p, last = 1.0, PRIMER[-1]
        for t, token in enumerate(seq):
            mask = None
            if constrained:
                mask = torch.ones(V, dtype=torch.bool)
                mask[last] = False
            p *= float(sampler.distribution(logits[len(PRIMER) - 1 + t], None, mask)[token])
            last = token
        probs[seq] = p
    return probs


def _p_value(samples, probs) -> float:
    cells = [seq for seq, p in probs.items() if p * len(samples) >= 5]  # chi-square wants 5 or more expected
    observed = [sum(1 for s in samples if s == seq) for seq in cells]
    rest = len(samples) - sum(observed)
    expected = [probs[seq] * len(samples) for seq in cells]
    return chisquare(observed + [rest], expected + [len(samples) - sum(expected)]).pvalue


@pytest.mark.parametrize("constrained", [False, True])
def test_speculative_samples_follow_the_models_distribution(constrained):
    model = _model()
    with torch.inference_mode():
        probs = _exact(model, constrained)
        samples = _samples(model, 2000, constrained)
    assert abs(sum(probs.values()) - 1) < 1e-5
    assert 0.1 < max(probs.values()) < 0.5  # neither uniform nor degenerate
    assert _p_value(samples, probs) > 0.001


def test_the_distribution_test_can_fail(monkeypatch):
    """The same check catches a wrong rule: accepting every draft."""

    def accept_all(sampler, drafts, masks, rows, final_mask, done):
        return list(drafts), len(drafts)

    monkeypatch.setattr(speculative, "_accept", accept_all)
    model = _model()
    with torch.inference_mode():
        probs = _exact(model, False)
        samples = _samples(model, 1000, False)
    assert _p_value(samples, probs) < 1e-6


def test_lookup_draft_proposes_what_followed_the_last_occurrence():
    draft = LookupDraft(ngrams=(2, 1))
    draft.extend([1, 2, 3, 4, 1, 2])
    assert draft.propose(3) == [3, 4, 1]  # 1 2 was followed by 3 4 1
    draft.extend([9])
    assert draft.propose(3) == []  # 9 never came before
    draft.extend([3])
    assert draft.propose(2) == [4, 1]  # no "9 3" before: the last 3 alone


def test_a_round_reads_what_it_emits_and_rolls_back_the_rest():
    model = _model()
    sampler = _new_sampler(model, 5, constrained=False)
    emitted = []
    with torch.inference_mode():
        for _ in range(6):
            emitted += sampler.next_tokens()
            # the cache holds the primer and every emitted token but the pending one, in order
            read = sampler.state.ids[0, : sampler.state.length].tolist()
            assert read + sampler.pending == PRIMER + emitted


def test_a_line_ends_at_its_newline_and_the_model_reads_exactly_what_was_drawn():
    """sample_line speculates too: nothing is drawn past the newline, and the next field starts clean."""
    tokenizer = CharTokenizer(list("ab\n"))
    model = GPT(GPTConfig(vocab_size=3, block_size=64, n_layer=1, n_head=2, n_embd=8, dropout=0.0)).eval()
    for seed in range(20):
        sampler = Sampler(model, tokenizer, torch.Generator().manual_seed(seed))
        sampler.feed("ab\nab\na")
        line = sampler.sample_line(12)
        assert "\n" not in line and len(line) <= 12
        sampler.feed("b")
        read = tokenizer.decode(sampler.state.ids[0, : sampler.state.length].tolist())
        assert read == "ab\nab\na" + line + "\nb"  # the line's newline, drawn or (at 12 characters) fed
