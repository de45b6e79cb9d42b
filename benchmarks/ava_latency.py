"""Per-keyframe latency of the AVA detector on the CPU, against the same backbone classifying the same clip.

    python benchmarks/ava_latency.py [--backbone r3d_18] [--clip-len 8] [--crop-size 112] [--boxes 3]
                                     [--repeats 10] [--threads 2] [--backend torch]

A keyframe costs one backbone pass over its clip plus the head (temporal mean, RoIAlign, max pool,
linear) for each person box; the baseline is the classifier's forward on the same input, measured
in the same run, so the ratio is the head's overhead. Decoding and person boxes are not timed.

Backends: `torch` (fp32 eager). Another runtime plugs in through BACKENDS: a function
`(detector, clips, boxes) -> callable() -> (R, K) logits`; an OpenVINO one (being built separately,
`motionlens.deploy.export`) only needs to export `ActionDetector` with the clip and boxes as inputs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from motionlens.detect.model import build_detector
from motionlens.models import create_model


def torch_backend(detector, clips: torch.Tensor, boxes: torch.Tensor) -> Callable[[], torch.Tensor]:
    detector.eval()

    def run() -> torch.Tensor:
        with torch.inference_mode():
            return detector(clips, boxes)

    return run


BACKENDS: dict[str, Callable] = {"torch": torch_backend}


def median_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()  # warm-up: allocations, oneDNN primitive caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="r3d_18")
    parser.add_argument("--clip-len", type=int, default=8)
    parser.add_argument("--crop-size", type=int, default=112)
    parser.add_argument("--boxes", type=int, default=3, help="person boxes on the keyframe")
    parser.add_argument("--classes", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="torch")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    clips = torch.randn(1, 3, args.clip_len, args.crop_size, args.crop_size)
    step = 1.0 / max(args.boxes, 1)
    boxes = torch.tensor([[0, i * step, 0.1, (i + 0.9) * step, 0.95] for i in range(args.boxes)])
    detector = build_detector(args.backbone, args.classes)
    classifier = create_model(args.backbone, num_classes=args.classes).eval()
    run = BACKENDS[args.backend](detector, clips, boxes)
    assert run().shape == (args.boxes, args.classes)
    with torch.inference_mode():
        base_med, base_min = median_ms(lambda: classifier(clips), args.repeats)
    det_med, det_min = median_ms(run, args.repeats)
    print(f"{args.backbone} {args.clip_len}x{args.crop_size}x{args.crop_size}, {args.boxes} boxes, "
          f"{args.threads} threads, {args.backend}")
    print(f"ms/keyframe detector {det_med:.1f} (min {det_min:.1f}) | classifier {base_med:.1f} (min {base_min:.1f}) "
          f"| ratio {det_med / base_med:.2f}")


if __name__ == "__main__":
    main()
