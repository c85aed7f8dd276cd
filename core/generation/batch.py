"""Sample several sequences in lockstep: one forward pass per step for all of them.

Each row runs the ordinary single-sequence code (the ABC tune procedure, the MIDI token loop) in its
own greenlet, against a :class:`RowSampler` instead of a :class:`~core.generation.sampler.Sampler`.
Whenever a row needs the model it hands its tokens to the driver and waits; when every row of the
round waits, the driver runs ONE model pass for all of them (a step when each gives one token, a
prefill of the shortest pending run otherwise) and wakes them with their logits. Drawing, filters
and any per-step mask stay in the row's own Sampler code, with the row's own generator, so a row
draws as a single sequence with the same seed would (up to float rounding of batched arithmetic).

A row that starts a new attempt (a fresh model state) waits for the round to end; rows that finish
or wait leave the batch (their state rows are dropped), so the others run at a smaller batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from greenlet import getcurrent, greenlet

from core.generation.sampler import Sampler
from core.models.transformer import KVCache

SamplerFactory = Callable[..., Sampler]
"""Makes a sampler: ``(model, tokenizer, generator, temperature, top_k, top_p) -> Sampler``."""


@dataclass(eq=False)
class _Row:
    task: Callable[[SamplerFactory], object]
    thread: greenlet | None = None
    sampler: RowSampler | None = None
    request: list[int] | None = None  # ids the row waits to have read by the model
    restart: bool = False  # waits for a new round (a fresh model state)
    done: bool = False
    result: object = None
    error: BaseException | None = None


class RowSampler(Sampler):
    """A Sampler whose model calls go to the lockstep driver (see the module docstring).

    Rows do not speculate: the batch already shares each pass among the rows, and rows accepting different
    numbers of drafts would need a cache position per row.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.speculate, self.draft = 0, None

    def advance(self, ids: list[int]) -> None:
        row = self._row
        row.request = list(ids)
        getcurrent().parent.switch()  # the driver runs the batch and sets self.logits


def select_rows(state, rows: list[int]):
    """The model state of the kept batch ``rows``: (layers, B, H) RNN states, (B, T) windows, KV caches."""
    if state is None:
        return None
    index = torch.tensor(rows)
    if isinstance(state, KVCache):
        return KVCache([k[index] for k in state.k], [v[index] for v in state.v], state.ids[index], state.length)
    if isinstance(state, (list, tuple)):
        return type(state)(select_rows(s, rows) for s in state)
    if state.dim() == 3:  # an RNN's (layers, B, hidden)
        return state[:, index].contiguous()
    return state[index]  # a (B, T) window of ids


def run_lockstep(model: torch.nn.Module, tasks: list[Callable[[SamplerFactory], object]]) -> list:
    """Run ``tasks`` (each gets a sampler factory) in lockstep; returns each task's result or exception."""
    rows = [_Row(task) for task in tasks]
    driver = getcurrent()
    for row in rows:
        row.thread = greenlet(partial(_main, row), parent=driver)
        _resume(row)
    members: list[_Row] = []
    state = None
    while not all(row.done for row in rows):
        live = [row for row in members if not row.done and not row.restart]
        if not live:  # a new round: every row still going asks for a fresh state
            members, state = [row for row in rows if row.restart], None
            for row in members:
                row.restart = False
                _resume(row)
            continue
        if len(live) < len(members):
            keep = [i for i, row in enumerate(members) if row in live]
            state, members = select_rows(state, keep), live
        k = min(len(row.request) for row in members)
        ids = torch.tensor([row.request[:k] for row in members])
        with torch.inference_mode():
            logits, state = model.step(ids[:, 0], state) if k == 1 else model.prefill(ids, state)
        for i, row in enumerate(members):
            row.request = row.request[k:] or None
            if row.request is None:
                row.sampler.logits = logits[i]
                _resume(row)
    return [row.error if row.error is not None else row.result for row in rows]


def _main(row: _Row):
    try:
        row.result = row.task(partial(_new_sampler, row))
    except Exception as exc:  # handed back to the caller, who decides per row
        row.error = exc


def _new_sampler(row: _Row, *args, **kwargs) -> RowSampler:
    sampler = RowSampler(*args, **kwargs)
    sampler._row = row
    row.sampler, row.restart = sampler, True
    getcurrent().parent.switch()  # until a round starts with a fresh state
    return sampler


def _resume(row: _Row) -> None:
    row.thread.switch()
    row.done = row.thread.dead
