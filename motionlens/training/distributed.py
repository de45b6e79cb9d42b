"""DDP under torchrun: one process per GPU (or per CPU worker with gloo), logging on rank 0."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..core.device import parse_device


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); otherwise a no-op."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = parse_device(device).type == "cuda"  # not "any device but cpu": mps has no nccl
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local_rank)
    return DistInfo(rank, world_size, local_rank)


def pick_device(device: str, info: DistInfo) -> torch.device:
    """`parse_device`, and under DDP a bare `cuda`/`auto` is this process's GPU (`cuda:LOCAL_RANK`)."""
    dev = parse_device(device)
    if dev.type == "cuda" and dev.index is None and info.enabled:
        return torch.device("cuda", info.local_rank)
    return dev


def all_gather_objects(obj, info: DistInfo) -> list:
    if not info.enabled:
        return [obj]
    out = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def _reduce(value: int, info: DistInfo, op) -> int:
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None
    t = torch.tensor([int(value)], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=op)
    return int(t.item())


def any_rank(flag: bool, info: DistInfo) -> bool:
    """True on every rank when `flag` is true on any. A check that can fail on one rank (a run
    folder that exists, too many bad videos) is decided together, so all ranks raise and none
    is left waiting in a collective."""
    return bool(_reduce(bool(flag), info, dist.ReduceOp.MAX)) if info.enabled else bool(flag)


def sum_ranks(value: int, info: DistInfo) -> int:
    """The sum of an integer over all ranks (the same on each)."""
    return _reduce(value, info, dist.ReduceOp.SUM) if info.enabled else int(value)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
