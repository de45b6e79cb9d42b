"""Milliseconds per clip on this CPU for each model at its default input (batch 1).

Compares eager PyTorch with the inference paths of ``motionlens.models.inference``:
``channels_last_3d`` memory format, and frozen TorchScript in that format (trace + freeze), the
fast path ``motionlens predict`` and ``watch`` run by default. The paths
are timed round-robin, one call each per round, so load from other processes hits them alike;
the figure is the median over rounds. bf16 autocast is not tried: on this CPU it is ~400x slower.

    python benchmarks/models.py --models r3d_18,x3d_xs --iters 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import torch

from motionlens.models import create_model, list_models
from motionlens.models.inference import METHODS, optimize_for_inference


def bench_model(name: str, iters: int, warmup: int) -> dict[str, float | None]:
    """Median ms per clip for every inference method (None where a method fails for the model)."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    x = torch.randn(1, *model.cfg.input_size)
    with torch.inference_mode():
        reference = model(x)
    runners = {}
    for method in METHODS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.jit.trace's deprecation notice
                runner = optimize_for_inference(model, x, method)
            with torch.inference_mode():
                out = runner(x)
            if not torch.allclose(out, reference, rtol=1e-3, atol=1e-3):
                raise RuntimeError(f"output differs from eager by {(out - reference).abs().max():.2e}")
            runners[method] = runner
        except Exception as err:  # report and carry on with the other paths
            print(f"  {name}: {method} unavailable ({str(err).splitlines()[0][:100]})")
    times: dict[str, list[float]] = {m: [] for m in runners}
    with torch.inference_mode():
        for round_index in range(warmup + iters):
            for method, runner in runners.items():
                start = time.perf_counter()
                runner(x)
                if round_index >= warmup:
                    times[method].append((time.perf_counter() - start) * 1000)
    return {m: (statistics.median(times[m]) if m in times else None) for m in METHODS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(list_models()), help="comma-separated model names (default: all)")
    parser.add_argument("--iters", type=int, default=5, help="timed rounds per model (median is reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    args = parser.parse_args()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}")
    for name in [n.strip() for n in args.models.split(",") if n.strip()]:
        result = bench_model(name, args.iters, args.warmup)
        shown = {m: ms for m, ms in result.items() if ms is not None}
        best = min(shown, key=shown.get)
        cells = " | ".join(f"{m} {ms:.1f} ms" if ms is not None else f"{m} n/a" for m, ms in result.items())
        print(
            f"{name:15s} {cells} | best {shown[best]:.1f} ms ({best}, {shown['eager'] / shown[best]:.2f}x eager)",
            flush=True,
        )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
