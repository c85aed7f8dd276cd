"""GPT: shapes, weight tying, overfitting, causality, the key/value cache against plain forward passes."""

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from core.errors import UserError
from core.generation.sampler import Sampler
from core.models.transformer import GPT, GPTConfig, apply_rope, rope_tables

V = 11


def _gpt(positions: str = "rope", block_size: int = 32, seed: int = 0, **kw) -> GPT:
    torch.manual_seed(seed)
    config = dict(vocab_size=V, block_size=block_size, n_layer=2, n_head=2, n_embd=16, dropout=0.0)
    return GPT(GPTConfig(**{**config, "positions": positions, **kw})).eval()


class Uncached(torch.nn.Module):
    """The same model sampled the slow way: a full forward pass over every id so far at each step."""

    def __init__(self, model: GPT):
        super().__init__()
        self.model = model

    def prefill(self, ids, state):
        ids = ids if state is None else torch.cat([state, ids], dim=1)
        return self.model(ids)[0][:, -1], ids

    def step(self, idx, state):
        return self.prefill(idx[:, None], state)


@pytest.mark.parametrize(
    "bad",
    [dict(n_embd=10, n_head=3), dict(positions="alibi"), dict(n_embd=6, n_head=2), dict(dropout=1.0)],
)
def test_bad_config_is_refused(bad):
    with pytest.raises(ValueError):
        GPTConfig(vocab_size=V, **bad)


def test_defaults_keep_a_long_context():
    assert GPTConfig(vocab_size=V).block_size >= 1024


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_shapes(positions):
    model = _gpt(positions)
    idx = torch.randint(0, V, (3, 7))
    logits, loss, state = model(idx, idx)
    assert logits.shape == (3, 7, V) and loss.ndim == 0 and state is None
    last, cache = model.prefill(idx, None)
    assert last.shape == (3, V) and cache.length == 7 and cache.k[0].shape == (3, 2, 32, 8)
    nxt, cache = model.step(idx[:, 0], cache)
    assert nxt.shape == (3, V) and cache.length == 8


def test_ignored_targets_leave_the_loss():
    model = _gpt()
    idx = torch.randint(0, V, (2, 9))
    targets = idx.clone()
    targets[:, :4] = -100
    logits, loss, _ = model(idx, targets)
    assert torch.isclose(loss, F.cross_entropy(logits[:, 4:].reshape(-1, V), idx[:, 4:].reshape(-1)))


def test_head_is_the_token_embedding():
    model = _gpt()
    matrices = [k for k, t in model.state_dict().items() if t.shape == (V, 16)]
    assert matrices == ["transformer.wte.weight"]  # one tensor, one key: safetensors can save it
    with torch.no_grad():
        model.transformer.wte.weight[3] = 0.0
    logits, _, _ = model(torch.tensor([[1, 2, 4]]))
    assert torch.all(logits[..., 3] == 0)  # the head reads the (zeroed) embedding row


def test_save_then_load_through_safetensors(tmp_path):
    model = _gpt("learned")
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "m.safetensors"))
    other = _gpt("learned", seed=1)
    other.load_state_dict(load_file(str(tmp_path / "m.safetensors")), strict=True)
    idx = torch.randint(0, V, (1, 12))
    assert torch.equal(model(idx)[0], other(idx)[0])


def test_loss_falls_when_overfitting_one_batch():
    model = _gpt().train()
    idx = torch.randint(0, V, (4, 17), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), 1e-2)
    first = None
    for _ in range(80):
        _, loss, _ = model(idx[:, :-1], idx[:, 1:])
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_a_token_changes_no_earlier_logits(positions):
    model = _gpt(positions)
    idx = torch.randint(0, V, (1, 12))
    changed = idx.clone()
    changed[0, 6] = (idx[0, 6] + 1) % V
    a, b = model(idx)[0], model(changed)[0]
    assert torch.equal(a[:, :6], b[:, :6])
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_rope_scores_depend_only_on_the_distance():
    cos, sin = rope_tables(8, 40)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)

    def score(m: int, n: int) -> torch.Tensor:
        return (apply_rope(q, cos[m : m + 1], sin[m : m + 1]) * apply_rope(k, cos[n : n + 1], sin[n : n + 1])).sum()

    assert torch.allclose(score(7, 3), score(37, 33), atol=1e-5)
    assert not torch.allclose(score(7, 3), score(7, 4), atol=1e-3)


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_cached_logits_equal_the_full_forward_at_every_position(positions):
    model = _gpt(positions)
    idx = torch.randint(0, V, (2, 24), generator=torch.Generator().manual_seed(1))
    full = model(idx)[0]  # (2, 24, V)
    cached = []
    logits, cache = model.prefill(idx[:, :5], None)  # on an empty cache: is_causal
    cached.append(logits)
    logits, cache = model.prefill(idx[:, 5:12], cache)  # after cached keys: the explicit mask
    cached.append(logits)
    for t in range(12, 24):
        logits, cache = model.step(idx[:, t], cache)
        cached.append(logits)
    expected = [full[:, 4], full[:, 11], *full[:, 12:].unbind(1)]
    for got, want in zip(cached, expected, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_cached_sampling_draws_what_full_forward_sampling_draws(positions):
    model = _gpt(positions, block_size=64)

    def draw(m) -> list[int]:
        sampler = Sampler(m, None, torch.Generator().manual_seed(5), temperature=1.5, top_k=8, top_p=0.95)
        sampler.feed_ids([1, 2, 3])
        return [sampler.next_token() for _ in range(50)]

    assert draw(model) == draw(Uncached(model))


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_sampling_past_the_context_rebuilds_the_cache(positions):
    model = _gpt(positions, block_size=8)
    gen = torch.Generator().manual_seed(0)
    logits, cache = model.prefill(torch.tensor([[1, 2, 3, 4, 5, 6]]), None)
    logits, cache = model.prefill(torch.tensor([[7, 8, 9]]), cache)  # overflows: keeps the last 4
    assert cache.length == 4 and cache.ids[0, :4].tolist() == [6, 7, 8, 9]
    lengths = []
    for _ in range(40):
        token = torch.multinomial(torch.softmax(logits[0], -1), 1, generator=gen)
        logits, cache = model.step(token, cache)
        lengths.append(cache.length)
        with torch.inference_mode():  # the ids the cache holds are inference tensors
            full = model(cache.ids[:, : cache.length])[0][:, -1]
        torch.testing.assert_close(logits, full, atol=1e-5, rtol=1e-5)
    assert max(lengths) == 8 and min(lengths) == 4  # full, then the newest half again


def test_a_primer_longer_than_the_context_is_refused():
    model = _gpt(block_size=8)
    with pytest.raises(UserError, match="context of 8"):
        model.prefill(torch.zeros(1, 9, dtype=torch.long), None)
    sampler = Sampler(model, None, torch.Generator())
    with pytest.raises(UserError, match="primer is 9 tokens"):
        sampler.feed_ids([0] * 9)
    with pytest.raises(UserError):
        model(torch.zeros(1, 9, dtype=torch.long))


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_verify_gives_the_full_forward_at_each_id_and_rollback_forgets_exactly(positions):
    """Speculative sampling's pass: logits after each of several ids equal the plain forward pass; after a
    rollback, the next ids read as if the rolled-back ones had never come."""
    model = _gpt(positions, block_size=64)
    idx = torch.randint(0, V, (1, 20), generator=torch.Generator().manual_seed(2))
    full = model(idx)[0][0]
    _, cache = model.prefill(idx[:, :8], None)
    logits, cache = model.verify(idx[:, 8:14], cache)
    torch.testing.assert_close(logits[0], full[8:14], atol=1e-5, rtol=1e-5)
    wrong = torch.tensor([[V - 1, V - 2, V - 3]])
    model.verify(wrong, cache)
    model.rollback(cache, 3)
    logits, cache = model.verify(idx[:, 14:20], cache)
    torch.testing.assert_close(logits[0], full[14:20], atol=1e-5, rtol=1e-5)
    assert cache.length == 20 and model.room(cache) == 44
    with pytest.raises(ValueError):
        model.verify(torch.zeros(1, 45, dtype=torch.long), cache)
