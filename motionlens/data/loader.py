"""Loaders whose every sample is reproducible: `EpochSampler` pairs each video index with the seed
its clip and augmentation are drawn from (`sample_seed`), so the worker count changes nothing,
workers live across epochs, and a resumed run sees exactly the data an uninterrupted one would."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler


def sample_seed(seed: int, *keys: int) -> int:
    """A well-mixed seed from the run's `seed` and non-negative `keys`: `(epoch, video)` seeds one
    sample's clip and augmentation, `(video,)` the videos that stand in for an undecodable one."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1, np.uint64)[0] >> 1)


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of an epoch's shuffle and of the training step's own draws (dropout) in it.

    Not `sample_seed`: the learning tests' figures (tests/training/test_train_finetune.py) were
    measured with this formula, and another mix moves them."""
    return seed * 1000 + epoch


class EpochSampler(Sampler):
    """The video indices of one epoch, each paired with the seed its clip and augmentation are drawn
    from: sample i of epoch e is the same whichever worker loads it and however many workers there
    are. Under DDP each rank takes every world_size-th index of the (shuffled) order, padded with
    its first indices to a multiple of world_size, as DistributedSampler does. Call `set_epoch`
    before each epoch."""

    def __init__(self, size: int, shuffle: bool, seed: int, rank: int = 0, world_size: int = 1):
        self.size, self.shuffle, self.seed = size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-self.size // self.world_size)

    def __iter__(self):
        if self.shuffle:
            generator = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        total = len(self) * self.world_size
        order = (order * (1 + total // max(len(order), 1)))[:total]  # pad with repeats, as DistributedSampler
        for i in order[self.rank::self.world_size]:
            yield i, sample_seed(self.seed, self.epoch, i)


def worker_init(_: int) -> None:
    torch.set_num_threads(1)  # N workers x all cores each would oversubscribe the CPU
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


def make_loader(dataset, batch_size: int, train: bool, num_workers: int, seed: int,
                rank: int = 0, world_size: int = 1) -> DataLoader:
    """A loader for every epoch of `dataset` (this rank's share of it under DDP): call
    `loader.sampler.set_epoch(epoch)` before each. Its workers live across epochs; what each
    sample draws depends only on (seed, epoch, video) (`EpochSampler`)."""
    sampler = EpochSampler(len(dataset), shuffle=train, seed=seed, rank=rank, world_size=world_size)
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
        worker_init_fn=worker_init if num_workers else None,
        drop_last=train_drops_last(len(sampler), batch_size, train),
        persistent_workers=num_workers > 0, pin_memory=torch.cuda.is_available(),
    )


def train_drops_last(num_items: int, batch_size: int, train: bool) -> bool:
    """Training drops a last partial batch (a batch of one breaks BatchNorm) unless that is all there is."""
    return train and num_items >= batch_size
