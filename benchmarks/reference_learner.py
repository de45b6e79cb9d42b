"""A ~40-line reference learner, the yardstick for the from-scratch recipe (issue 12).

It is deliberately plain: every video decoded once into memory at 64x64 (whole frame, aspect
ignored), 16 frames spread uniformly over the whole video (a random offset per segment in
training, the centre at test), frame differences, a 4-block 3D CNN, AdamW with a one-cycle LR
over 40 epochs, batch 16. It prints test video top-1 next to chance.

Usage: python benchmarks/reference_learner.py DATASPEC [--epochs 40] [--seed 0] [--size 64]
       (DATASPEC as `motionlens train --data` takes it, e.g. hmdb51:/tmp/bench/data/motion6)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from motionlens.data import build_index
from motionlens.video import iter_frames


def load(records, size: int) -> list[np.ndarray]:
    """Each video as uint8 (T, size, size, 3)."""
    import cv2

    return [np.stack([cv2.resize(f.image, (size, size), interpolation=cv2.INTER_LINEAR if __import__('os').environ.get('EXP_LINEAR') else cv2.INTER_AREA)
                      for f in iter_frames(r.path)]) for r in records]


def clip(video: np.ndarray, n: int, rng: np.random.Generator | None) -> torch.Tensor:
    """n frames spread over the video, as frame differences: float (3, n - 1, H, W)."""
    edges = np.linspace(0, len(video), n + 1)
    offsets = rng.random(n) if rng is not None else np.full(n, 0.5)
    idx = np.minimum((edges[:-1] + offsets * np.diff(edges)).astype(int), len(video) - 1)
    x = torch.from_numpy(video[idx]).float().div(255).permute(3, 0, 1, 2)
    return (x[:, 1:] - x[:, :-1]) * 4


def net(num_classes: int) -> nn.Module:
    layers, c = [], 3
    for width in (32, 64, 128, 256):
        layers += [nn.Conv3d(c, width, 3, padding=1, bias=False), nn.BatchNorm3d(width), nn.ReLU(inplace=True),
                   nn.MaxPool3d((1, 2, 2) if width == 32 else 2)]
        c = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(c, num_classes))


def run(data: str, epochs: int = 40, seed: int = 0, size: int = 64, model_name: str | None = None) -> dict:
    """Train on the train (+ val) split of `data`, test on its test split: test video top-1 and minutes."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    index = build_index(data)
    train_rec = [r for r in index if r.split in ("train", "val")]
    test_rec = [r for r in index if r.split == "test"]
    train_videos, test_videos = load(train_rec, size), load(test_rec, size)
    if model_name:
        from motionlens.models import create_model

        model = create_model(model_name, num_classes=index.num_classes, in_chans=3)
    else:
        model = net(index.num_classes)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * -(-len(train_rec) // 16))
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(train_rec))
        for b in range(0, len(order), 16):
            batch = order[b:b + 16]
            x = torch.stack([clip(train_videos[i], 16, rng) for i in batch])
            y = torch.tensor([train_rec[i].label for i in batch])
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        pred = [int(model(clip(v, 16, None)[None]).argmax()) for v in test_videos]
    return {"video_top1": float(np.mean([p == r.label for p, r in zip(pred, test_rec)])),
            "num_videos": len(test_rec), "chance": 1 / index.num_classes,
            "minutes": (time.perf_counter() - start) / 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--model", help="a motionlens model instead of the 4-block CNN, e.g. cnn3d_small")
    args = parser.parse_args()
    result = run(args.data, args.epochs, args.seed, args.size, args.model)
    print(f"reference learner | test video top-1 {result['video_top1']:.3f} (chance {result['chance']:.3f}) on "
          f"{result['num_videos']} videos | {args.epochs} epochs | {result['minutes']:.1f} min")


if __name__ == "__main__":
    main()
