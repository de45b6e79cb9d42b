"""Loaders whose samples depend only on (seed, epoch, video) (motionlens/data/loader.py)."""

from __future__ import annotations

import pytest
import torch

from motionlens.config import DataConfig
from motionlens.data.index import build_index
from motionlens.data.loader import EpochSampler, epoch_seed, make_loader, sample_seed, train_drops_last
from motionlens.data.pipeline import make_dataset
from motionlens.data.spec import InputSpec


def _epoch(loader, epoch: int) -> tuple[list[int], torch.Tensor]:
    loader.sampler.set_epoch(epoch)
    batches = list(loader)
    return [int(i) for b in batches for i in b["video_index"]], torch.cat([b["video"] for b in batches])


def test_an_epoch_is_the_same_with_any_workers_and_after_a_restart(make_video, tmp_path):
    """Each sample's clip and augmentation come from (seed, epoch, video): workers can live across
    epochs, the worker count changes nothing, and a fresh loader (a resumed run) repeats an epoch."""

    root = tmp_path / "data"
    for i in range(6):
        (root / "ab"[i % 2]).mkdir(parents=True, exist_ok=True)
        make_video(f"v{i}.mp4", num_frames=20 + 3 * i, size=(40, 48), seed=i).rename(root / "ab"[i % 2] / f"v{i}.mp4")
    data = DataConfig(batch_size=2, train_sampler="random", hflip=True)
    pipe = InputSpec(clip_len=4, frame_stride=1, target_fps=None, resize=(36, 44), crop_size=32,
                     mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    dataset = make_dataset(build_index(f"folder:{root}"), pipe, train=True, data=data, seed=3)
    persistent = make_loader(dataset, 2, True, 2, seed=3)
    assert persistent.persistent_workers
    order0, clips0 = _epoch(persistent, 0)
    order1, clips1 = _epoch(persistent, 1)
    assert sorted(order0) == sorted(order1) == list(range(6)) and order0 != order1  # reshuffled each epoch
    for workers in (0, 1):
        fresh = make_loader(dataset, 2, True, workers, seed=3)
        assert _epoch(fresh, 1)[0] == order1 and torch.equal(_epoch(fresh, 1)[1], clips1)
    by_video = {i: clips0[k] for k, i in enumerate(order0)}
    assert any(not torch.equal(by_video[i], clips1[order1.index(i)]) for i in range(6))  # new draws each epoch
    state = torch.get_rng_state()
    dataset[(0, 123)]
    assert torch.equal(torch.get_rng_state(), state)  # a seeded sample leaves the process's RNG alone

    # DDP: rank shards cover every video, padded with repeats to equal length, as DistributedSampler.
    shards = [list(EpochSampler(5, shuffle=True, seed=3, rank=r, world_size=2)) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 3
    assert sorted({i for s in shards for i, _ in s}) == list(range(5))
    seeds = {i: s for shard in shards for i, s in shard}
    assert seeds == {i: s for i, s in EpochSampler(5, shuffle=True, seed=3)}  # a video's seed is its own


def test_sample_seed_mixes_every_key():
    seeds = {sample_seed(s, e, i) for s in range(3) for e in range(3) for i in range(3)}
    assert len(seeds) == 27 and all(0 <= x < 2**63 for x in seeds)
    assert sample_seed(1, 2) != sample_seed(2, 1) and sample_seed(1, 2) == sample_seed(1, 2)
    assert len({epoch_seed(s, e) for s in range(3) for e in range(100)}) == 300
    with pytest.raises(ValueError):
        sample_seed(0, -1)  # keys are counts and indices: never negative


def test_a_rank_loads_its_share_only():
    loaders = [make_loader(list(range(10)), 2, True, 0, seed=1, rank=r, world_size=3) for r in range(3)]
    shares = [[i for i, _ in loader.sampler] for loader in loaders]
    assert [len(s) for s in shares] == [4, 4, 4] and set().union(*shares) == set(range(10))
    assert train_drops_last(4, 2, True) and not train_drops_last(1, 2, True) and not train_drops_last(4, 2, False)
