"""What every model family shares when composing: loading a model once, and the common settings' checks."""

from __future__ import annotations

import secrets
import threading
from contextlib import contextmanager
from functools import lru_cache

import torch

from core.errors import UserError
from core.generation.sampler import check_temperature, check_top_p
from core.training.checkpoint import LoadedModel, find_model, load_checkpoint

MAX_SEED = 2**31 - 1
_THREADS_LOCK = threading.Lock()
_THREADS = {"users": 0, "before": 1}


@contextmanager
def one_thread():
    """Run step-by-step sampling with one intra-op thread, then restore the count.

    A step at batch 1-8 is a few small matrix-vector products: a second OpenMP thread gains little,
    and on a busy machine its spin-waiting costs 10-50x (measured: 1.9 ms a character with one
    thread, 16-160 ms with two, at load 9 on 2 cores). Nested and concurrent uses share one count.
    """
    with _THREADS_LOCK:
        if _THREADS["users"] == 0:
            _THREADS["before"] = torch.get_num_threads()
            torch.set_num_threads(1)
        _THREADS["users"] += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS["users"] -= 1
            if _THREADS["users"] == 0:
                torch.set_num_threads(_THREADS["before"])


def draw_seed() -> int:
    """A fresh seed, 0 .. MAX_SEED, for a press of Generate (or ``generate`` without ``--seed``)."""
    return secrets.randbelow(MAX_SEED + 1)


def check_seed(seed) -> int:
    """A seed must be a whole number from 0 to MAX_SEED; raises UserError otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise UserError(f"The seed must be a whole number from 0 to {MAX_SEED:,}, not {seed!r}.")
    return seed


@lru_cache(maxsize=8)
def load_model(name: str) -> LoadedModel:
    """A model by name, loaded once per process."""
    torch.set_flush_denormal(True)
    return load_checkpoint(find_model(name))


def check_common(s) -> None:
    """The settings every model shares (ABC or MIDI): seed, temperature, top-p, length, tempo, instrument."""
    check_seed(s.seed)
    check_temperature(s.temperature)
    check_top_p(s.top_p)
    if not 2 <= s.seconds <= 600:  # NaN fails too
        raise UserError(f"Length must be between 2 and 600 seconds, not {s.seconds}.")
    if s.tempo is not None and not 20 <= s.tempo <= 400:
        raise UserError(f"Tempo must be between 20 and 400 quarter notes a minute, not {s.tempo}.")
    if not 0 <= s.program <= 127:
        raise UserError(f"General MIDI program must be between 0 and 127, not {s.program}.")
