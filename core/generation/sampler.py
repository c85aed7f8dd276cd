"""Autoregressive sampling with forced text, temperature, top-k and top-p, from an explicit generator.

The sampler keeps the model's state (an RNN's hidden state, a Transformer's key/value cache),
so forcing a header field or sampling one more token costs one model step, never a re-read of
the text so far. It drives every autoregressive family through two methods only:
``model.prefill(ids (B, T), state) -> (logits (B, V), state)`` and
``model.step(idx (B,), state) -> (logits (B, V), state)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from core.errors import UserError
from core.generation.speculative import LookupDraft, speculative_round
from core.tokenizers import Tokenizer
from core.tokenizers.fim import special_ids

MAX_TEMPERATURE = 3.0
DRAFT_TOKENS = 6
_NEG_INF = torch.tensor(float("-inf"))


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

    Filters apply in this order: temperature, banned tokens, the optional ``logits_hook`` (a per-step
    mask: logits (V,) -> logits (V,), -inf where a token is not allowed), top-k (0 = off), then top-p
    (1 = off: keep the fewest most likely tokens whose probabilities sum to at least top_p).

    All model calls go through :meth:`advance`, so a row of a batch (:mod:`core.generation.batch`)
    is a Sampler whose ``advance`` hands its tokens to one batched forward pass.
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
        self.logits_hook: Callable[[torch.Tensor], torch.Tensor] | None = None
        self._char_ids: dict[str, list[int]] = {}
        # Consulted before every draw and told every token (see core.generation.meter.MeterConstraint):
        # an object with allowed() -> bool mask (V,) and advance(token). None: no constraint.
        self.constraint = None
        self.never = special_ids(tokenizer)  # fill-in-the-middle tokens never go into a tune
        self.pending: list[int] = []  # drawn and told, not yet read by the model (the next pass reads them)
        # Speculative sampling (core.generation.speculative): drafts up to this many tokens a round where the
        # model can verify several positions in one pass; 0 = off.
        self.speculate = DRAFT_TOKENS if hasattr(model, "verify") else 0
        self.draft = LookupDraft() if self.speculate else None  # sees every token fed or drawn
        self.sampled = 0  # tokens drawn so far
        self.passes = 0  # model calls so far (a step, a prefill or a speculative round's pass)

    def feed(self, text: str) -> None:
        """Condition on ``text`` (one batched forward pass)."""
        if text:
            self.feed_ids(self.tokenizer.encode(text))

    def feed_ids(self, ids: Sequence[int]) -> None:
        """Condition on token ids (one ``model.prefill``), for tokenizers without text (MIDI tokens)."""
        if len(ids) == 0:
            return
        self.advance(list(ids))
        self._tell(ids)

    def advance(self, ids: list[int]) -> None:
        """Run the model over the pending tokens and ``ids`` (one step for one id, else one prefill).

        Sets ``self.logits``.
        """
        ids, self.pending = self.pending + ids, []
        self.passes += 1
        with torch.inference_mode():
            if len(ids) == 1:
                logits, self.state = self.model.step(torch.tensor(ids), self.state)
            else:
                logits, self.state = self.model.prefill(torch.tensor([ids]), self.state)
        self.logits = logits[0]

    def _tell(self, ids: Sequence[int]) -> None:
        """Tell the constraint (if any) and the draft (if any) the tokens just fed or drawn."""
        if self.constraint is not None:
            for token in ids:
                self.constraint.advance(int(token))
        if self.draft is not None:
            self.draft.extend(ids)

    @torch.inference_mode()
    def distribution(self, logits: torch.Tensor, banned: list[int] | None = None,
                     allowed: torch.Tensor | None = None) -> torch.Tensor:
        """Probabilities (V,) of the next token from ``logits`` (V,) after every filter (see the class docstring).

        ``allowed`` is the constraint's mask for this position (None: no constraint).
        """
        logits = logits / self.temperature
        if banned or self.never:
            logits[list(banned or []) + self.never] = float("-inf")  # logits is a fresh tensor here
        if allowed is not None:
            logits = torch.where(allowed, logits, _NEG_INF)
        if self.logits_hook is not None:
            logits = self.logits_hook(logits)
        if self.top_k and self.top_k < logits.numel():
            kth = torch.topk(logits, self.top_k).values[-1]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if self.top_p < 1.0:
            sorted_probs, order = torch.sort(torch.softmax(logits, dim=-1), descending=True)
            before = sorted_probs.cumsum(0) - sorted_probs  # mass of the tokens more likely than each
            logits = logits.index_fill(0, order[before >= self.top_p], float("-inf"))
        return torch.softmax(logits, dim=-1)

    @torch.inference_mode()
    def draw(self, banned: list[int] | None = None) -> int:
        """One token from the filtered next-token distribution, without advancing the model."""
        if self.pending:
            self.advance([])
        if self.logits is None:
            raise RuntimeError("feed() some text before sampling.")
        allowed = self.constraint.allowed() if self.constraint is not None else None
        probs = self.distribution(self.logits, banned, allowed)
        return int(torch.multinomial(probs, 1, generator=self.generator))

    def next_token(self, banned: list[int] | None = None) -> int:
        """Draw one token (never one of ``banned``) and advance the model past it."""
        token = self.draw(banned)
        self.sampled += 1
        self.advance([token])
        self._tell([token])
        return token

    def next_tokens(self, limit: int = DRAFT_TOKENS + 1, stop: frozenset[int] = frozenset()) -> list[int]:
        """One to ``limit`` tokens from the model's distribution, none after a ``stop`` token: a speculative
        round where the model can verify drafts (core.generation.speculative), else one token. The last may
        be left for the next pass to read."""
        if self.speculate and self.logits_hook is None and limit > 1:
            tokens = speculative_round(self, min(self.speculate, limit - 1), stop)
            if tokens:
                return tokens
        return [self.next_token()]

    def next_char(self, banned: str = "") -> str:
        """Draw one character, never one of ``banned``."""
        ids = None
        if banned:
            ids = self._char_ids.get(banned)
            if ids is None:
                ids = self._char_ids[banned] = [self.tokenizer.index[c] for c in banned if c in self.tokenizer.index]
        return self.tokenizer.decode([self.next_token(ids or None)])

    def sample_line(self, max_chars: int = 80) -> str:
        """Sample up to and including a newline; returns the line without it."""
        newline = frozenset([self.tokenizer.index["\n"]]) if "\n" in self.tokenizer.index else frozenset()
        out: list[int] = []
        while len(out) < max_chars:
            out += self.next_tokens(max_chars - len(out), newline)
            if out[-1] in newline:
                return self.tokenizer.decode(out[:-1])
        self.feed("\n")
        return self.tokenizer.decode(out)
