"""Data-parallel training through PyTorch's DistributedDataParallel, launched by ``torchrun``.

``torchrun`` sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; with them the
training loop joins a process group (NCCL on GPUs, gloo on CPU), each process reads its
share of every batch, DDP averages the gradients, and only rank 0 writes files. Without
them (a plain ``python -m core train``) nothing here does anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from core.errors import UserError

TIMEOUT = timedelta(minutes=float(os.environ.get("TUNELAB_DDP_TIMEOUT_MIN", "10")))
"""How long a process waits for the others in a collective before failing instead of hanging."""


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0 logs, prints progress and writes the checkpoint."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device) -> Dist:
    """Join the process group torchrun describes (or do nothing for one process)."""
    if not launched_by_torchrun():
        return Dist()
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise UserError(f"Process {rank} wants GPU {local_rank} but this machine has {torch.cuda.device_count()}.")
        torch.cuda.set_device(local_rank)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=TIMEOUT)
    return Dist(rank, world, local_rank)


def local_device(device: torch.device, d: Dist) -> torch.device:
    """Each process drives its own GPU (cuda:LOCAL_RANK); CPU processes share the CPU."""
    return torch.device("cuda", d.local_rank) if device.type == "cuda" and d.active else device


def all_sum(values: list[float], d: Dist) -> list[float]:
    """Sum each value over the processes (float64, so token counts stay exact)."""
    if not d.active:
        return values
    # NCCL reduces only GPU tensors; gloo only CPU ones
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def any_flag(flag: bool, d: Dist) -> bool:
    """True on every process when it is true on any (e.g. a cancel seen by rank 0)."""
    return bool(all_sum([float(flag)], d)[0]) if d.active else flag


def barrier(d: Dist) -> None:
    if d.active:
        dist.barrier()


def cleanup(d: Dist) -> None:
    if d.active and dist.is_initialized():
        dist.destroy_process_group()
