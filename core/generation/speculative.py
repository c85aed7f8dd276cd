"""Speculative sampling: cheap drafts, verified by the model in one pass, the model's distribution kept exactly.

A round proposes up to k draft tokens (the tokens that followed the last earlier occurrence of the
current n-gram: folk tunes repeat their motifs and parts), runs the model ONCE over the token left
pending by the last round and the drafts, and walks the drafts: draft d at a position whose filtered
distribution is p is accepted with probability p(d); at the first rejection a token is drawn from p
with d removed and renormalised, and the round ends; when every draft is accepted, one more token is
drawn from the distribution after them. For a draft that is one token (q one-hot) this is the
rejection rule of Leviathan et al. (2023) and Chen et al. (2023): conditioned on any draft d, the
token emitted is distributed as p(d) [x = d] + (1 - p(d)) p(x) / (1 - p(d)) [x != d] = p(x), so every
sample keeps the model's distribution, filters and constraint mask included (the same seed need not
give the same tune as plain sampling).

The constraint (the meter machine) is walked along the drafts on a saved copy, so each position is
judged under the mask it would have; drafts stop at the first token the mask forbids and at the end
of the tune. The model reads the emitted tokens' keys and values; the rejected drafts' are rolled back.

A model takes part when it has ``verify(ids (B, T), state) -> (logits (B, T, V), state)``,
``room(state) -> int`` and ``rollback(state, n)`` (the GPT's key/value cache); recurrent models
sample one token at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

NGRAMS = (6, 4, 2, 1)
"""Context lengths tried in turn when looking for an earlier occurrence (longest first)."""


class LookupDraft:
    """Drafts the tokens that followed the most recent earlier occurrence of the last n tokens."""

    def __init__(self, ngrams: Sequence[int] = NGRAMS):
        self.ids: list[int] = []
        self.ngrams = tuple(ngrams)
        self._after: dict[int, dict[tuple[int, ...], int]] = {n: {} for n in self.ngrams}

    def extend(self, ids: Sequence[int]) -> None:
        """Read tokens (fed or drawn), remembering where each n-gram was last followed."""
        for token in ids:
            i = len(self.ids)
            for n, table in self._after.items():
                if i >= n:
                    table[tuple(self.ids[i - n : i])] = i
            self.ids.append(int(token))

    def propose(self, k: int) -> list[int]:
        """Up to ``k`` draft tokens; [] when the last n tokens never occurred before, for every n."""
        for n, table in self._after.items():
            if len(self.ids) >= n:
                start = table.get(tuple(self.ids[-n:]))
                if start is not None:
                    return self.ids[start : start + k]
        return []


def speculative_round(sampler, k: int, stop: frozenset[int] = frozenset()) -> list[int]:
    """Emit 1 to k + 1 tokens from ``sampler`` (a Sampler) in one model pass, none after a ``stop`` token;
    [] when no draft can be checked.

    The tokens are told to the constraint and the draft; the last one is left pending (read by the next
    pass) unless the constraint has ended the tune or it is a stop token that was drafted.
    """
    model, constraint = sampler.model, sampler.constraint
    drafts, masks, final_mask, done = _walk(constraint, sampler.draft.propose(k), stop)
    pending = sampler.pending
    if not drafts or model.room(sampler.state) < len(pending) + len(drafts) or (not pending and sampler.logits is None):
        return []
    sampler.passes += 1
    with torch.inference_mode():
        logits, sampler.state = model.verify(torch.tensor([pending + drafts]), sampler.state)
        rows = logits[0, len(pending) - 1 :] if pending else torch.cat([sampler.logits[None], logits[0]])
        out, accepted = _accept(sampler, drafts, masks, rows, final_mask, done)
    model.rollback(sampler.state, len(drafts) - accepted)
    if len(out) > accepted:  # a replacement or a bonus token: the next pass reads it
        sampler.pending, sampler.logits = [out[-1]], None
    else:  # every draft accepted and the tune is over
        sampler.pending, sampler.logits = [], rows[accepted]
    sampler.sampled += len(out)
    sampler._tell(out)
    return out


def _walk(constraint, drafts: list[int], stop: frozenset[int]):
    """Drafts cut where the constraint forbids one, after a stop token or where the tune ends; the mask before
    each; the mask after the last; whether nothing may follow them."""
    if constraint is None:
        cut = next((i + 1 for i, d in enumerate(drafts) if d in stop), len(drafts))
        return drafts[:cut], [None] * cut, None, cut > 0 and drafts[cut - 1] in stop
    saved, kept, masks = constraint.save(), [], []
    try:
        for d in drafts:
            if constraint.done:
                break
            mask = constraint.allowed()
            if not mask[d]:
                break
            kept.append(d)
            masks.append(mask)
            constraint.advance(d)
            if d in stop:
                break
        done = constraint.done or (bool(kept) and kept[-1] in stop)
        return kept, masks, (None if constraint.done else constraint.allowed()), done
    finally:
        constraint.restore(saved)


def _accept(sampler, drafts, masks, rows, final_mask, done) -> tuple[list[int], int]:
    """The rejection walk of the module docstring: the tokens (accepted drafts, then a replacement or a bonus
    token) and how many drafts were accepted."""
    generator, out = sampler.generator, []
    uniforms = torch.rand(len(drafts), generator=generator)
    for j, d in enumerate(drafts):
        probs = sampler.distribution(rows[j], None, masks[j])
        if uniforms[j] < probs[d]:
            out.append(d)
            continue
        probs = probs.clone()
        probs[d] = 0.0
        out.append(int(torch.multinomial(probs / probs.sum(), 1, generator=generator)))
        return out, j
    if not done:
        probs = sampler.distribution(rows[len(drafts)], None, final_mask)
        out.append(int(torch.multinomial(probs, 1, generator=generator)))
    return out, len(drafts)
