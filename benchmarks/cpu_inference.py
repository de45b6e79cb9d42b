"""Kinetics-grade models on a CPU: per-clip latency and end-to-end real time, per backend and precision.

For each model (random-init weights: latency does not depend on them) and each backend/precision
this machine runs (`deploy.backends`): the median per-clip latency over `--repeats` batches of
one clip, and of `--batch` clips (per clip), on `--threads` threads; and top-1 agreement and the
largest logit error against PyTorch fp32 on random clips (random weights give near-tied logits,
so this is a lower bound; the accuracy guard of `motionlens export` measures it on real clips).
int8 is NNCF-calibrated on `--calibration-clips` random clips. Then, for `--e2e-models`, the
real-time factor of `predict` (`score_video`: decode, resample, transform, model) on a long
768x576 CCTV-like video, with two baselines measured in the same run: decoding alone, and decode
plus transform (a model that costs nothing), which say where the time goes.

    python benchmarks/cpu_inference.py --video cctv.avi          # makes the video if missing
    python benchmarks/cpu_inference.py --models r3d_18 --e2e-combos torch:fp32,openvino:int8
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from motionlens.data.spec import as_spec
from motionlens.deploy import backends as B
from motionlens.deploy.calibrate import agreement, batched_logits
from motionlens.deploy.export import _quantize
from motionlens.deploy.predict import Predictor, score_video
from motionlens.models import create_model

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def make_cctv_video(path: Path, seconds: float = 79.5) -> Path:
    """A 768x576 10 fps XVID AVI like OpenCV's vtest.avi: a mandelbrot zoom over a test pattern, with noise."""
    graph = "[0][1]blend=all_mode=average,noise=alls=8:allf=t+u"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "mandelbrot=s=768x576:r=10,format=yuv420p",
                    "-f", "lavfi", "-i", "testsrc2=s=768x576:r=10", "-filter_complex", graph, "-t", str(seconds),
                    "-c:v", "mpeg4", "-vtag", "XVID", "-q:v", "5", str(path)], check=True)
    return path


def combos() -> list[tuple[str, str]]:
    """Every (backend, precision) this machine runs natively."""
    out = [("torch", "fp32")]
    if B.native_bf16():
        out.append(("torch", "bf16"))
    if B.openvino_installed():
        out.append(("openvino", "fp32"))
        for precision in ("bf16", "int8"):
            try:
                B.check_precision("openvino", precision)
                out.append(("openvino", precision))
            except B.MotionlensError:
                pass
    return out


def build(model, example: torch.Tensor, backend: str, precision: str, calibration: np.ndarray, threads: int):
    if backend == "torch":
        return B.TorchBackend(model, precision, fast=True)
    ov_model = B.to_openvino(model, example)
    if precision == "int8":
        ov_model = _quantize(ov_model, calibration)
    return B.OpenVINOBackend(ov_model, precision, threads=threads)


def median_seconds(run, x: torch.Tensor, repeats: int) -> float:
    run(x)  # first calls specialise graphs
    run(x)
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def clip_rows(name: str, args) -> tuple[list[dict], dict]:
    """Latency and agreement rows of one model; returns them and its built backends."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    pipe = as_spec(model)
    shape = (getattr(model, "in_chans", 3), pipe.clip_len, pipe.crop_size, pipe.crop_size)
    gen = torch.Generator().manual_seed(1)
    clips = torch.randn((args.agreement_clips, *shape), generator=gen).numpy()
    calibration = torch.randn((args.calibration_clips, *shape), generator=gen).numpy()
    rows, built, reference = [], {}, None
    for backend, precision in combos():
        begin = time.perf_counter()
        run = build(model, torch.from_numpy(clips[:1]), backend, precision, calibration, args.threads)
        setup = time.perf_counter() - begin
        one = median_seconds(run, torch.from_numpy(clips[:1]), args.repeats)
        batch = torch.from_numpy(np.repeat(clips[:1], args.batch, axis=0))
        per_clip_batched = median_seconds(run, batch, max(1, args.repeats // 2)) / args.batch
        with torch.inference_mode():
            logits = batched_logits(run, clips)
        reference = logits if reference is None else reference
        rows.append({"model": name, "backend": backend, "precision": precision, "setup_s": setup, "ms_b1": one * 1e3,
                     f"ms_b{args.batch}": per_clip_batched * 1e3, **agreement(reference, logits)})
        built[(backend, precision)] = run
        print(_row_line(rows[-1], args.batch), flush=True)
    return rows, {"model": model, "pipe": pipe, "backends": built}


def _row_line(r: dict, batch: int) -> str:
    return (f"| {r['model']} | {r['backend']} | {r['precision']} | {r['ms_b1']:.0f} | {r[f'ms_b{batch}']:.0f} | "
            f"{r['top1_agreement']:.0%} | {r['max_logit_error']:.2g} | {r['setup_s']:.0f} |")


def e2e_rows(name: str, built: dict, video: Path, batch: int, only: set[str] | None = None) -> list[str]:
    """Real-time factor of score_video per backend, with decode-only and decode+transform baselines."""
    from motionlens.data.resample import resample_indices
    from motionlens.video import frame_times, iter_frames, probe

    info, pipe = probe(video), built["pipe"]
    duration = info.num_frames / info.fps
    begin = time.perf_counter()
    frame_times(video)
    if pipe.target_fps:
        resample_indices(frame_times(video), pipe.target_fps)
    for _ in iter_frames(video):
        pass
    lines = [f"| {name} | decode only | - | {duration / (time.perf_counter() - begin):.1f}x | - |"]
    num_classes = built["model"].num_classes
    free = Predictor(None, pipe, [str(i) for i in range(num_classes)])
    free._runner = lambda x: torch.zeros(len(x), num_classes)  # decode + resample + transform, no model
    scores = score_video(free, video, batch_size=batch)
    lines.append(f"| {name} | decode + transform | - | {duration / scores.seconds:.1f}x | {len(scores.starts)} windows |")
    print(lines[-2], flush=True)
    print(lines[-1], flush=True)
    reference = None
    for (backend, precision), run in built["backends"].items():
        if only and f"{backend}:{precision}" not in only:
            continue
        predictor = Predictor(built["model"], pipe, [str(i) for i in range(num_classes)], fast=True)
        predictor._runner = run
        scores = score_video(predictor, video, batch_size=batch)
        top = scores.probs.argmax(1)
        reference = top if reference is None else reference
        lines.append(f"| {name} | {backend} | {precision} | {duration / scores.seconds:.2f}x | "
                     f"{scores.seconds:.1f} s, window top-1 = fp32 on {np.mean(top == reference):.0%} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="r3d_18,r2plus1d_18,resnet3d_34,x3d_xs")
    parser.add_argument("--e2e-models", default="r3d_18", help="models whose predict real-time factor is measured")
    parser.add_argument("--e2e-combos", default="", help="e.g. torch:fp32,openvino:int8 (default: every one)")
    parser.add_argument("--video", type=Path, default=Path("cctv_768x576.avi"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8, help="windows per call, as predict's --batch-size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--agreement-clips", type=int, default=16)
    parser.add_argument("--calibration-clips", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    flags = sorted(set(FLAGS) & B.cpu_flags())
    caps = sorted(B.openvino_capabilities()) if B.openvino_installed() else "not installed"
    print(f"cpu flags: {' '.join(flags)} | native bf16 (torch): {B.native_bf16()} | openvino: {caps} | "
          f"threads {args.threads}", flush=True)
    print(f"| model | backend | precision | ms/clip b1 | ms/clip b{args.batch} | top-1 = fp32 | max logit err | "
          f"setup s |\n|---|---|---|---|---|---|---|---|", flush=True)
    e2e = {}
    for name in args.models.split(","):
        _, built = clip_rows(name, args)
        if name in args.e2e_models.split(","):
            e2e[name] = built
    if e2e:
        video = args.video if args.video.exists() else make_cctv_video(args.video)
        print(f"\nend to end, `predict` (score_video, batch {args.batch}) on {video}:\n"
              "| model | backend | precision | real-time factor | |\n|---|---|---|---|---|", flush=True)
        for name, built in e2e.items():
            e2e_rows(name, built, video, args.batch, set(filter(None, args.e2e_combos.split(","))))


if __name__ == "__main__":
    main()
