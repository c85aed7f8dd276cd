"""Autoregressive sampling with forced text, temperature, top-k and top-p, from an explicit generator.

The sampler keeps the model's state (an RNN's hidden state, a Transformer's key/value cache),
so forcing a header field or sampling one more token costs one model step, never a re-read of
the text so far. It drives every autoregressive family through two methods only:
``model.prefill(ids (B, T), state) -> (logits (B, V), state)`` and
``model.step(idx (B,), state) -> (logits (B, V), state)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from core.errors import UserError
from core.tokenizers import Tokenizer
from core.tokenizers.fim import special_ids

MAX_TEMPERATURE = 3.0


def check_temperature(temperature: float) -> float:
    """Temperature must be in (0, 3]; raises UserError otherwise."""
    if not (temperature > 0 and temperature <= MAX_TEMPERATURE):
        raise UserError(f"Temperature must be greater than 0 and at most {MAX_TEMPERATURE:g}, not {temperature}.")
    return float(temperature)


def check_top_p(top_p: float) -> float:
    """Nucleus size top-p must be in (0, 1], 1 meaning off; raises UserError otherwise."""
    if not (top_p > 0 and top_p <= 1):
        raise UserError(f"top-p must be greater than 0 and at most 1 (1 = off), not {top_p}.")
    return float(top_p)


class Sampler:
    """Feeds forced text (or ids) and draws tokens one at a time from a step-wise model.

    Filters apply in this order: temperature, banned tokens, top-k (0 = off), then top-p (1 = off:
    keep the fewest most likely tokens whose probabilities sum to at least top_p).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Tokenizer,
        generator: torch.Generator,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
    ):
        self.model, self.tokenizer, self.generator = model, tokenizer, generator
        self.temperature = check_temperature(temperature)
        if top_k < 0:
            raise UserError(f"top-k must be 0 (off) or a positive number, not {top_k}.")
        self.top_k = top_k
        self.top_p = check_top_p(top_p)
        self.state = None
        self.logits: torch.Tensor | None = None  # (V,) next-token logits
        # Consulted before every draw and told every token (see core.generation.meter.MeterConstraint):
        # an object with allowed() -> bool mask (V,) and advance(token). None: no constraint.
        self.constraint = None
        self.never = special_ids(tokenizer)  # fill-in-the-middle tokens never go into a tune

    @torch.inference_mode()
    def feed(self, text: str) -> None:
        """Condition on ``text`` (one batched forward pass)."""
        if text:
            self.feed_ids(self.tokenizer.encode(text))

    @torch.inference_mode()
    def feed_ids(self, ids: Sequence[int]) -> None:
        """Condition on token ids (one ``model.prefill``), for tokenizers without text (MIDI tokens)."""
        if len(ids) == 0:
            return
        logits, self.state = self.model.prefill(torch.tensor([list(ids)], dtype=torch.long), self.state)
        self.logits = logits[0]
        if self.constraint is not None:
            for token in ids:
                self.constraint.advance(int(token))

    @torch.inference_mode()
    def next_token(self, banned: list[int] | None = None) -> int:
        """Draw one token (never one of ``banned``) and advance the model past it."""
        if self.logits is None:
            raise RuntimeError("feed() some text before sampling.")
        logits = self.logits / self.temperature
        if banned or self.never:
            logits = logits.clone()
            logits[list(banned or []) + self.never] = float("-inf")
        if self.constraint is not None:
            logits = logits.masked_fill(~self.constraint.allowed(), float("-inf"))
        if self.top_k and self.top_k < logits.numel():
            kth = torch.topk(logits, self.top_k).values[-1]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if self.top_p < 1.0:
            sorted_probs, order = torch.sort(torch.softmax(logits, dim=-1), descending=True)
            before = sorted_probs.cumsum(0) - sorted_probs  # mass of the tokens more likely than each
            logits = logits.index_fill(0, order[before >= self.top_p], float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        token = int(torch.multinomial(probs, 1, generator=self.generator))
        if self.constraint is not None:
            self.constraint.advance(token)
        logits, self.state = self.model.step(torch.tensor([token]), self.state)
        self.logits = logits[0]
        return token

    def next_char(self, banned: str = "") -> str:
        """Draw one character, never one of ``banned``."""
        ids = [self.tokenizer.index[c] for c in banned if c in self.tokenizer.index] if banned else None
        return self.tokenizer.decode([self.next_token(ids)])

    def sample_line(self, max_chars: int = 80) -> str:
        """Sample up to and including a newline; returns the line without it."""
        out = []
        for _ in range(max_chars):
            c = self.next_char()
            if c == "\n":
                return "".join(out)
            out.append(c)
        self.feed("\n")
        return "".join(out)
