"""GPT: a decoder-only Transformer in nanoGPT's layout, with a key/value cache for sampling.

Pre-norm blocks of causal self-attention (PyTorch's fused ``scaled_dot_product_attention``)
and a GELU MLP; rotary (default) or learned positions; the output head reuses the token
embedding matrix (weight tying).

Weight tying is one Parameter used twice (``F.linear(x, wte.weight)``), not nanoGPT's
``wte.weight = lm_head.weight``: that puts two keys on one tensor in the state_dict, which
safetensors refuses to save.

Sampling past the context: when a ``prefill`` or ``step`` would take the cache past
``block_size`` positions, the cache is rebuilt by re-prefilling the most recent
``max(block_size // 2, new tokens)`` ids (kept in the cache) from position 0. So the logits the
cache gives always equal a plain forward pass over the ids it holds,
``forward(cache.ids[:, :cache.length])[0][:, -1]``: windows that start at position 0, as in
training, which is the only correct way for learned positions and exact for rotary ones. A
rebuild costs one prefill of ``block_size / 2`` tokens every ``block_size / 2`` tokens, so a
token still costs O(context) on average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import UserError

ROPE_BASE = 10_000.0
POSITIONS = ("rope", "learned")


@dataclass
class GPTConfig:
    vocab_size: int
    block_size: int = 1024  # context, in tokens
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.1
    bias: bool = False  # biases in the Linear and LayerNorm layers
    positions: str = "rope"  # "rope" (rotary, relative) or "learned" (absolute, one vector per position)

    def __post_init__(self) -> None:
        if self.vocab_size < 2 or self.block_size < 2 or self.n_layer < 1 or self.n_head < 1:
            raise ValueError("GPT needs a vocabulary of two or more, a context of two or more and one or more layers.")
        if self.n_embd < 1 or self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a positive multiple of n_head ({self.n_head}).")
        if self.positions not in POSITIONS:
            raise ValueError(f"positions must be 'rope' or 'learned', not {self.positions!r}.")
        if self.positions == "rope" and (self.n_embd // self.n_head) % 2:
            raise ValueError(f"Rotary positions need an even head size, not {self.n_embd // self.n_head}.")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}.")


@dataclass
class KVCache:
    """Keys and values of every layer, preallocated (B, n_head, block_size, head_size), and their ids.

    Positions ``0 .. length - 1`` are filled; ``ids`` (B, block_size) keeps the tokens they came from,
    so the cache can be rebuilt when it is full.
    """

    k: list[torch.Tensor]
    v: list[torch.Tensor]
    ids: torch.Tensor
    length: int = 0


def rope_tables(head_size: int, length: int, base: float = ROPE_BASE) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the rotary angles, each (length, head_size // 2): position p turns pair i by p * base^(-2i/D)."""
    inv_freq = base ** (-torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    angles = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x (B, H, T, D) by position: pairs (i, i + D/2) turn through the angles in cos, sin (T, D/2)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


def _mm(x: torch.Tensor, w_t: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x (..., in) @ w_t (in, out) (+ bias)."""
    y = x @ w_t
    return y if bias is None else y + bias


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v of all heads
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, rope, mask, start: int, cache: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        """x (B, T, C) at positions start .. start + T - 1; with a cache, keys and values go into it."""
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        if cache is not None:
            k_all, v_all = cache
            k_all[:, :, start : start + T] = k
            v_all[:, :, start : start + T] = v
            k, v = k_all[:, :, : start + T], v_all[:, :, : start + T]  # (B, nh, start + T, hs)
        # is_causal aligns its triangle top-left, right only when q and k have one length (start == 0);
        # later, one query sees every cached key (mask None) and several get an explicit mask.
        # No dropout on the attention weights: PyTorch's fused CPU kernels have none, and asking for it
        # falls back to the unfused path, 2.4x slower here (4 x 256, context 1024); dropout stays on the
        # residual branches.
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=start == 0)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, rope, mask, start, cache) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), rope, mask, start, cache)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Next-token model; ``forward(idx, targets)`` returns ``(logits, loss, None)``."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList(Block(config) for _ in range(config.n_layer)),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        if config.positions == "learned":
            self.transformer.wpe = nn.Embedding(config.block_size, config.n_embd)
        else:  # derived, so not saved with the weights
            cos, sin = rope_tables(config.n_embd // config.n_head, config.block_size)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: residual projections scaled by 1/sqrt(2 * n_layer)
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (..., V) from final hidden states (..., C), through the token embedding matrix (tied)."""
        return F.linear(x, self.transformer.wte.weight)

    def _check_length(self, n: int, what: str = "The primer") -> None:
        if n > self.config.block_size:
            raise UserError(
                f"{what} is {n} tokens long, more than the model's context of {self.config.block_size}; shorten it."
            )

    def _hidden(self, idx: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        """Final hidden states (B, T, C) of idx (B, T) placed after the cache's ``length`` positions."""
        T = idx.size(1)
        start = 0 if cache is None else cache.length
        x = self.transformer.wte(idx)  # (B, T, C)
        rope = None
        if self.config.positions == "learned":
            x = x + self.transformer.wpe(torch.arange(start, start + T, device=idx.device))
        else:
            rope = (self.rope_cos[start : start + T], self.rope_sin[start : start + T])
        mask = None  # see CausalSelfAttention: query i may see keys 0 .. start + i
        if start > 0 and T > 1:
            mask = torch.ones(T, start + T, dtype=torch.bool, device=idx.device).tril(diagonal=start)
        x = self.transformer.drop(x)
        for i, block in enumerate(self.transformer.h):
            x = block(x, rope, mask, start, None if cache is None else (cache.k[i], cache.v[i]))
        return self.transformer.ln_f(x)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, state: None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, None]:
        """idx, targets: (B, T) int64, targets -100 ignored. Returns logits (B, T, V), mean cross-entropy, None.

        ``state`` is accepted for the shared contract and ignored: every window is read afresh.
        """
        self._check_length(idx.size(1), "The training window")
        logits = self.head(self._hidden(idx, None))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)
        return logits, loss, None

    def new_cache(self, batch_size: int) -> KVCache:
        """An empty cache for ``batch_size`` sequences, on the model's device and dtype."""
        c, weight = self.config, self.transformer.wte.weight
        shape = (batch_size, c.n_head, c.block_size, c.n_embd // c.n_head)
        return KVCache(
            [weight.new_zeros(shape) for _ in range(c.n_layer)],
            [weight.new_zeros(shape) for _ in range(c.n_layer)],
            torch.zeros(batch_size, c.block_size, dtype=torch.long, device=weight.device),
        )

    def _append(self, ids: torch.Tensor, cache: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        cache = cache if cache is not None else self.new_cache(ids.size(0))
        n, block = ids.size(1), self.config.block_size
        if cache.length + n > block:  # full: start again from the most recent ids (module docstring)
            ids = torch.cat([cache.ids[:, : cache.length], ids], dim=1)[:, -max(block // 2, n) :]
            cache.length, n = 0, ids.size(1)
        x = self._hidden(ids, cache)
        cache.ids[:, cache.length : cache.length + n] = ids
        cache.length += n
        return self.head(x[:, -1]), cache

    @torch.inference_mode()
    def prefill(self, ids: torch.Tensor, cache: KVCache | None = None) -> tuple[torch.Tensor, KVCache]:
        """Read ids (B, T) after what the cache holds (a new cache if None) in one pass.

        Returns the logits (B, V) for the position after the last id and the cache, updated in place.
        Raises UserError when T exceeds the context (``block_size``).
        """
        self._check_length(ids.size(1))
        if ids.size(1) == 0:
            raise ValueError("prefill needs at least one id.")
        return self._append(ids, cache)

    @torch.inference_mode()
    def verify(self, ids: torch.Tensor, cache: KVCache) -> tuple[torch.Tensor, KVCache]:
        """Read ids (B, T) after the cache in one pass: logits (B, T, V) after each id (speculative sampling).

        Unlike ``prefill`` the cache is never rebuilt, so :meth:`rollback` stays exact; the caller checks
        :meth:`room` first.
        """
        if ids.size(1) > self.room(cache):
            raise ValueError(f"verify of {ids.size(1)} ids with room for {self.room(cache)}.")
        if self.training:
            x = self._hidden(ids, cache)
            cache.ids[:, cache.length : cache.length + ids.size(1)] = ids
            cache.length += ids.size(1)
            return self.head(x), cache
        return self._decode_lean(ids, cache), cache

    def room(self, cache: KVCache | None) -> int:
        """How many more ids the cache takes before it must be rebuilt."""
        return 0 if cache is None else self.config.block_size - cache.length

    @staticmethod
    def rollback(cache: KVCache, n: int) -> KVCache:
        """Forget the last ``n`` ids read (their keys and values are overwritten by what comes next)."""
        if not 0 <= n <= cache.length:
            raise ValueError(f"cannot roll back {n} of {cache.length} positions.")
        cache.length -= n
        return cache

    @torch.inference_mode()
    def step(self, idx: torch.Tensor, cache: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        """One token per sequence, idx (B,): logits (B, V) for the next position and the updated cache."""
        if self.training or cache is None or cache.length + 1 > self.config.block_size:
            return self._append(idx[:, None], cache)
        return self._decode_lean(idx[:, None], cache)[:, 0], cache

    def _decode_lean(self, ids: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Logits (B, T, V) after each of ids (B, T) placed after the cache, in eval mode, as plain tensor calls:
        no module dispatch, no dropout, weights read transposed (in, out), q and k rotated in one call.
        Per-call overhead and reading the weights, not arithmetic, are most of a sampling step's cost."""
        c, start = self.config, cache.length
        (B, T), C, nh = ids.shape, c.n_embd, c.n_head
        hs, end = C // nh, start + T
        x = self.transformer.wte.weight[ids]  # (B, T, C)
        cos = sin = mask = None
        if c.positions == "learned":
            x = x + self.transformer.wpe.weight[start:end]
        else:
            cos, sin = self.rope_cos[start:end, None, None], self.rope_sin[start:end, None, None]  # (T, 1, 1, hs / 2)
        if T > 1:
            mask = torch.ones(T, end, dtype=torch.bool).tril(diagonal=start)
        for i, (ln1, w_qkv, b_qkv, w_o, b_o, ln2, w_fc, b_fc, w_p, b_p) in enumerate(self._lean_weights()):
            qkv = _mm(F.layer_norm(x, (C,), *ln1), w_qkv, b_qkv).view(B, T, 3, nh, hs)
            qk = qkv[:, :, :2] if cos is None else apply_rope(qkv[:, :, :2], cos, sin)  # (B, T, 2, nh, hs)
            cache.k[i][:, :, start:end] = qk[:, :, 1].transpose(1, 2)
            cache.v[i][:, :, start:end] = qkv[:, :, 2].transpose(1, 2)
            y = F.scaled_dot_product_attention(qk[:, :, 0].transpose(1, 2), cache.k[i][:, :, :end],
                                               cache.v[i][:, :, :end], attn_mask=mask)  # (B, nh, T, hs)
            x = x + _mm(y.transpose(1, 2).reshape(B, T, C), w_o, b_o)
            x = x + _mm(F.gelu(_mm(F.layer_norm(x, (C,), *ln2), w_fc, b_fc)), w_p, b_p)
        cache.ids[:, start:end] = ids
        cache.length = end
        return self.head(F.layer_norm(x, (C,), self.transformer.ln_f.weight, self.transformer.ln_f.bias))

    def _lean_weights(self) -> list[tuple]:
        """Per block: layer-norm (weight, bias) pairs and (in, out) weight copies with biases, for the lean path;
        made again whenever any parameter changes (its version counter moves)."""
        params = self.__dict__.get("_lean_params")
        if params is None:
            params = self.__dict__["_lean_params"] = list(self.parameters())
        # weights made under inference mode have no version counter (and cannot be changed in place)
        key = tuple([p.data_ptr() for p in params[:1]] + [p._version for p in params if not p.is_inference()])
        if self.__dict__.get("_lean_key") != key:
            self._lean = [
                ((b.ln_1.weight, b.ln_1.bias), b.attn.c_attn.weight.t().contiguous(), b.attn.c_attn.bias,
                 b.attn.c_proj.weight.t().contiguous(), b.attn.c_proj.bias, (b.ln_2.weight, b.ln_2.bias),
                 b.mlp.c_fc.weight.t().contiguous(), b.mlp.c_fc.bias, b.mlp.c_proj.weight.t().contiguous(),
                 b.mlp.c_proj.bias)
                for b in self.transformer.h
            ]
            self._lean_key = key
        return self._lean
