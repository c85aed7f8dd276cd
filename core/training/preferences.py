"""Training from listeners' judgements: DPO on pairs (the preferred tune and the other), KTO on single votes.

Both start from a finished ABC checkpoint (LSTM, GRU or GPT), the *policy*, and keep a frozen copy of
it, the *reference*. A tune's score is its summed log-probability, character by character, read as the
model read its training tunes (after a line break, ending with one).

- **DPO** (Rafailov et al. 2023) raises the policy's log-ratio to the reference on the preferred tune
  above that on the other: ``-log sigmoid(beta * (dc - dr - lam * max(0, -dc)))`` where ``dc``, ``dr``
  are the chosen and rejected tunes' log-ratios. The ``lam`` term (DPO-Positive, Pal et al. 2024, as
  NotaGen's CLaMP-DPO uses) keeps the preferred tune's own likelihood from falling, which plain DPO
  allows and which degrades small music models.
- **KTO** (Ethayarajh et al. 2024) needs no pairs: every vote is a tune judged good (label 1) or not (0).
  Its loss is ``1 - sigmoid(beta * (d - z))`` for a good tune and ``1 - sigmoid(beta * (z - d))`` for
  another, ``z`` being the batch's mean log-ratio (at least 0, no gradient), the KL anchor.

What changes is written in the card: the method and its settings, where the judgements came from (a CSV's
fingerprint or a survey id), how many there were, and held-out bits per character before and after.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from core.errors import UserError
from core.training.judgements import Judgements

METHODS = ("dpo", "kto")
MIN_TUNE_CHARS = 10  # a judged tune shorter than this, in characters the model reads, is refused


@dataclass
class PreferenceStats:
    """One optimizer step's figures."""

    loss: float
    accuracy: float  # share of pairs (DPO) or votes (KTO) the policy now ranks the listeners' way
    margin: float  # mean log-ratio of preferred or good tunes minus the other ones


def encode_tune(tokenizer, text: str, block: int | None, row: str) -> list[int]:
    """The ids the model scores a judged tune by: a line break, the tune, a line break; characters the model
    never saw left out, cut to the context of a Transformer."""
    index = tokenizer.index
    ids = [index[c] for c in "\n" + text.strip() + "\n" if c in index]
    if len(ids) < MIN_TUNE_CHARS + 2:
        raise UserError(f"{row}: the tune has fewer than {MIN_TUNE_CHARS} characters this model reads.")
    return ids[:block] if block else ids


def sequence_logprobs(model: torch.nn.Module, sequences: list[list[int]]) -> torch.Tensor:
    """Summed log-probability (nats) of each sequence's ids after its first, (N,); one padded batch."""
    longest = max(len(s) for s in sequences)
    ids = torch.zeros(len(sequences), longest, dtype=torch.long)
    mask = torch.zeros(len(sequences), longest - 1)
    for i, s in enumerate(sequences):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s) - 1] = 1.0
    logits, _, _ = model(ids[:, :-1])
    logp = F.log_softmax(logits.float(), dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return (logp * mask).sum(1)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float, lam: float) -> tuple[torch.Tensor, PreferenceStats]:
    """DPO-Positive loss over a batch of pairs (log-probabilities in nats), with its figures."""
    chosen, rejected = policy_chosen - ref_chosen, policy_rejected - ref_rejected
    penalty = lam * torch.clamp(-chosen, min=0.0)
    loss = -F.logsigmoid(beta * (chosen - rejected - penalty)).mean()
    margin = (chosen - rejected).detach()
    return loss, PreferenceStats(loss.item(), float((margin > 0).float().mean()), float(margin.mean()))


def kto_loss(policy: torch.Tensor, ref: torch.Tensor, labels: torch.Tensor,
             beta: float) -> tuple[torch.Tensor, PreferenceStats]:
    """KTO loss over a batch of single votes (labels 1 good, 0 not), with its figures."""
    ratio = policy - ref
    anchor = torch.clamp(ratio.detach().mean(), min=0.0)
    good = labels > 0.5
    value = torch.where(good, torch.sigmoid(beta * (ratio - anchor)), torch.sigmoid(beta * (anchor - ratio)))
    loss = (1.0 - value).mean()
    d = ratio.detach()
    right = torch.where(good, d > anchor, d < anchor).float().mean()
    margin = (d[good].mean() if good.any() else 0.0) - (d[~good].mean() if (~good).any() else 0.0)
    return loss, PreferenceStats(loss.item(), float(right), float(margin))


@dataclass
class PreferenceRun:
    """What a preference run needs: the policy, its frozen reference, the encoded judgements."""

    policy: torch.nn.Module
    reference: torch.nn.Module
    method: str
    beta: float
    lam: float
    chosen: list[list[int]] = field(default_factory=list)  # DPO
    rejected: list[list[int]] = field(default_factory=list)
    tunes: list[list[int]] = field(default_factory=list)  # KTO
    labels: list[int] = field(default_factory=list)
    reference_logps: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def start(cls, loaded, judgements: Judgements, method: str, beta: float, lam: float) -> PreferenceRun:
        """Encode the judgements for ``loaded``'s tokenizer and freeze a copy of its model as the reference."""
        if method not in METHODS:
            raise UserError(f"Unknown method {method!r}; choose dpo or kto.")
        if not (0 < beta <= 10) or not (0 <= lam <= 100):  # NaN fails both
            raise UserError(f"Beta must be above 0 and at most 10 and the chosen-likelihood weight from 0 to 100, "
                            f"not {beta} and {lam}.")
        if getattr(loaded.tokenizer, "index", None) is None or loaded.card.is_midi:
            raise UserError(f"{loaded.card.name} is a MIDI model; learning from votes is for the ABC models.")
        judgements = judgements.for_method(method)
        block = getattr(getattr(loaded.model, "config", None), "block_size", None)
        policy = loaded.model
        reference = copy.deepcopy(policy).eval().requires_grad_(False)
        run = cls(policy, reference, method, beta, lam)
        if method == "dpo":
            for k, (good, other) in enumerate(judgements.pairs, start=1):
                run.chosen.append(encode_tune(loaded.tokenizer, good, block, f"Pair {k}'s chosen tune"))
                run.rejected.append(encode_tune(loaded.tokenizer, other, block, f"Pair {k}'s rejected tune"))
        else:
            for k, (tune, label) in enumerate(judgements.votes, start=1):
                run.tunes.append(encode_tune(loaded.tokenizer, tune, block, f"Vote {k}'s tune"))
                run.labels.append(label)
            if len(set(run.labels)) < 2:
                raise UserError("KTO needs votes both ways (some tunes judged good, some not); these are all "
                                f"{'good' if run.labels[0] else 'not good'}.")
        with torch.no_grad():
            for name in ("chosen", "rejected", "tunes"):
                seqs = getattr(run, name)
                if seqs:
                    run.reference_logps[name] = torch.cat([sequence_logprobs(reference, seqs[i : i + 16])
                                                           for i in range(0, len(seqs), 16)])
        return run

    @property
    def size(self) -> int:
        return len(self.chosen) if self.method == "dpo" else len(self.tunes)

    def loss(self, rows: list[int]) -> tuple[torch.Tensor, PreferenceStats]:
        """The method's loss on these rows (pairs or votes) of the judgements."""
        ref = self.reference_logps
        if self.method == "dpo":
            both = sequence_logprobs(self.policy, [self.chosen[i] for i in rows] + [self.rejected[i] for i in rows])
            n = len(rows)
            return dpo_loss(both[:n], both[n:], ref["chosen"][rows], ref["rejected"][rows], self.beta, self.lam)
        policy = sequence_logprobs(self.policy, [self.tunes[i] for i in rows])
        labels = torch.tensor([float(self.labels[i]) for i in rows])
        return kto_loss(policy, ref["tunes"][rows], labels, self.beta)


def optimise(run: PreferenceRun, epochs: int, lr: float, batch_size: int, seed: int,
             on_step=None) -> list[PreferenceStats]:
    """AdamW over the judgements for ``epochs`` passes in a seeded order; the policy in eval mode (no
    dropout, so its log-ratios are exact) with gradients on. Returns each step's figures."""
    if epochs < 1 or batch_size < 1 or not 0 < lr < 1:
        raise UserError("Epochs and batch size must be at least 1 and the learning rate between 0 and 1.")
    run.policy.eval().requires_grad_(True)
    optimizer = torch.optim.AdamW(run.policy.parameters(), lr=lr, weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed)
    history: list[PreferenceStats] = []
    steps = epochs * math.ceil(run.size / batch_size)
    for _ in range(epochs):
        order = torch.randperm(run.size, generator=generator).tolist()
        for start in range(0, run.size, batch_size):
            loss, stats = run.loss(order[start : start + batch_size])
            if not math.isfinite(stats.loss):
                raise UserError("The preference loss became NaN or infinite; try a smaller learning rate or beta.")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(run.policy.parameters(), 1.0)
            optimizer.step()
            history.append(stats)
            if on_step is not None:
                on_step(len(history), steps, stats)
    run.policy.requires_grad_(False)
    return history
