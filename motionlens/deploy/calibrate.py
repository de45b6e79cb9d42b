"""Clips from the user's videos for int8 calibration and for the accuracy guard of an export.

Clips go through the model's own input contract (`data.pipeline.clip_input`: its timing,
resize, crop and normalisation). Calibration and guard clips come from different videos: with a
dataset, calibration from the train split and the guard from val/test; with a plain folder of
videos, a seeded shuffle split in two.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..core.errors import MotionlensError
from ..data.spec import InputSpec

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}


def split_videos(spec: str) -> tuple[list[str], list[str]]:
    """(calibration videos, held-out videos) of a folder of videos or a dataset spec LAYOUT:ROOT."""
    root = Path(spec).expanduser()
    if root.is_dir() and any(p.suffix.lower() in VIDEO_EXTENSIONS for p in root.iterdir()):
        videos = sorted(str(p) for p in root.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)
        if len(videos) < 2:
            raise MotionlensError(f"{spec}: calibration needs at least 2 videos (some calibrate, others check)")
        order = np.random.default_rng(0).permutation(len(videos))
        cut = max(1, len(videos) // 2)
        return [videos[i] for i in order[:cut]], [videos[i] for i in order[cut:]]
    from ..config import DataConfig
    from ..data.pipeline import load_index

    index = load_index(DataConfig(dataset=str(spec)), show_progress=False)
    train = [r.path for r in index.records if r.split == "train"]
    held = [r.path for r in index.records if r.split in ("val", "test")]
    if not train or not held:
        paths = [r.path for r in index.records]
        if len(paths) < 2:
            raise MotionlensError(f"{spec}: calibration needs at least 2 videos")
        order = np.random.default_rng(0).permutation(len(paths))
        train, held = [paths[i] for i in order[::2]], [paths[i] for i in order[1::2]]
    return train, held


def draw_clips(videos: list[str], pipe: InputSpec, count: int, seed: int = 0) -> np.ndarray:
    """`(N, C, T, H, W)` float32 clips, N <= `count`, spread over `videos` (several per video when
    there are fewer videos than clips, at evenly spaced start times). Unreadable videos are skipped
    and counted in one warning."""
    from ..data.pipeline import clip_input
    from ..video import frame_times

    if "flow" in pipe.modality:
        raise MotionlensError(f"calibration clips are drawn from frames (rgb, diff, rgb_diff), not {pipe.modality}")
    rng = np.random.default_rng(seed)
    chosen = [videos[i] for i in rng.permutation(len(videos))]
    per_video = max(1, -(-count // max(len(chosen), 1)))
    clips, failed = [], 0
    for video in chosen:
        try:
            times = frame_times(video)
            room = max(float(times[-1] - times[0]) - _span(pipe, times), 0.0) if len(times) > 1 else 0.0
            for k in range(per_video):  # starts spread over where a whole clip fits (a clip past the end loops)
                start = float(times[0]) + room * (k + 0.5) / per_video
                clips.append(clip_input(video, pipe, start).numpy())
                if len(clips) == count:
                    break
        except MotionlensError as err:
            failed += 1
            log.debug("%s: %s", video, err)
        if len(clips) == count:
            break
    if failed:
        log.warning("%d of %d videos could not be read for calibration clips", failed, len(chosen))
    if not clips:
        raise MotionlensError("no clip could be read from the calibration videos")
    return np.stack(clips).astype(np.float32)


def _span(pipe: InputSpec, times: np.ndarray) -> float:
    """Seconds a clip spans in a video with frame times `times` `(N,)`."""
    if pipe.clip_seconds:
        return float(pipe.clip_seconds)
    rate = pipe.target_fps or (len(times) - 1) / max(float(times[-1] - times[0]), 1e-6)
    return float(pipe.clip_offsets(rate)[-1] + 1) / rate


def batched_logits(run: Callable[[torch.Tensor], torch.Tensor], clips: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """`(N, K)` logits of `run` over `(N, C, T, H, W)` clips, `batch_size` at a time."""
    out = []
    for i in range(0, len(clips), batch_size):
        out.append(run(torch.from_numpy(clips[i:i + batch_size])).detach().float().numpy())
    return np.concatenate(out)


def agreement(reference: np.ndarray, candidate: np.ndarray) -> dict:
    """Top-1 agreement and the largest logit error of `candidate` against `reference` `(N, K)`."""
    same = np.argmax(reference, axis=1) == np.argmax(candidate, axis=1)
    return {"clips": int(len(reference)), "top1_agreement": round(float(same.mean()), 6),
            "max_logit_error": float(np.max(np.abs(reference - candidate))),
            "max_logit_reference": float(np.max(np.abs(reference)))}
