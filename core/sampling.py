"""Autoregressive sampling with forced text, temperature and top-k, from an explicit generator.

The sampler keeps the model's recurrent state, so forcing a header field or sampling one
more character costs one model step, never a re-read of the text so far.
"""

from __future__ import annotations

import torch

from core.errors import UserError
from core.tokenizers import Tokenizer

MAX_TEMPERATURE = 3.0


def check_temperature(temperature: float) -> float:
    """Temperature must be in (0, 3]; raises UserError otherwise."""
    if not (temperature > 0 and temperature <= MAX_TEMPERATURE):
        raise UserError(f"Temperature must be greater than 0 and at most {MAX_TEMPERATURE:g}, not {temperature}.")
    return float(temperature)


class Sampler:
    """Feeds forced text and draws characters one at a time from a step-wise model."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Tokenizer,
        generator: torch.Generator,
        temperature: float = 1.0,
        top_k: int = 0,
    ):
        self.model, self.tokenizer, self.generator = model, tokenizer, generator
        self.temperature = check_temperature(temperature)
        if top_k < 0:
            raise UserError(f"top-k must be 0 (off) or a positive number, not {top_k}.")
        self.top_k = top_k
        self.state = None
        self.logits: torch.Tensor | None = None  # (V,) next-token logits

    @torch.inference_mode()
    def feed(self, text: str) -> None:
        """Condition on ``text`` (one batched forward pass)."""
        if not text:
            return
        ids = torch.tensor([self.tokenizer.encode(text)], dtype=torch.long)
        logits, _, self.state = self.model(ids, None, self.state)
        self.logits = logits[0, -1]

    @torch.inference_mode()
    def next_token(self, banned: list[int] | None = None) -> int:
        """Draw one token (never one of ``banned``) and advance the model past it."""
        if self.logits is None:
            raise RuntimeError("feed() some text before sampling.")
        logits = self.logits / self.temperature
        if banned:
            logits = logits.clone()
            logits[banned] = float("-inf")
        if self.top_k and self.top_k < logits.numel():
            kth = torch.topk(logits, self.top_k).values[-1]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        token = int(torch.multinomial(probs, 1, generator=self.generator))
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
