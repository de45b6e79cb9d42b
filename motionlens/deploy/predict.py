"""Action recognition on whole videos of any length: sliding windows, streamed.

A video is decoded once, frame by frame, as stored, and each frame that reaches the windows is
resized, cropped and normalised once (`Predictor.prepare`) before the windows, which overlap, share it. When the
pipeline resamples (`target_fps`, e.g. the 15 fps of torchvision's weights), only the frames of
the resampled video (`resample_indices` over the file's frame times) reach the windows, exactly
as in training and evaluation; with `clip_seconds` (X3D) each window spreads its frames evenly
over that many seconds. Window and segment frame numbers stay those of the source video. A ring buffer keeps only the
prepared frames the next window needs (at most one window span), each window becomes exactly the clip
evaluation makes of its frames (`ClipTransform.join`), and windows are scored in batches. The result for a video:

    {"video", "fps", "frames", "duration", "label", "score", "top_k",
     "segments": [{"start_frame", "end_frame", "start_sec", "end_sec", "label", "score",
                   "top_k": [[label, score], ...], "window": [first, last]}, ...],
     "events": [...]}  # only with a threshold

Windows are `clip_len` frames taken every `frame_stride` frames (of the resampled video when
`target_fps` is set, as the dataset does), `window_stride` source frames apart, the last one aligned to the end of
the video (`InputSpec.file_windows`: `data.samplers.SlidingWindows`, the windowing watch uses too). Each
window owns the frames nearer its centre than any other window's, so segments tile
`[0, frames)`: `end_frame` is exclusive and the next segment starts there. `window` is the first
and last frame the window read. Video-level label and score come from the mean of the windows'
softmax scores.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.pipeline import eval_transform
from ..data.spec import InputSpec, as_spec
from ..core.device import parse_device
from ..core.errors import MotionlensError
from .events import events as find_events
from .events import smooth_scores

log = logging.getLogger(__name__)


def tile_segments(starts: Sequence[int], ends: Sequence[int], num_frames: int) -> list[tuple[int, int]]:
    """`[start, end)` frame ranges that tile `[0, num_frames)`: each window owns the frames nearest
    its centre (ties go to the earlier window). Windows must be in increasing start order."""
    centres = (np.asarray(starts, dtype=np.float64) + np.asarray(ends, dtype=np.float64)) / 2
    cuts = np.floor((centres[:-1] + centres[1:]) / 2).astype(np.int64) + 1
    bounds = np.concatenate([[0], np.clip(cuts, 0, num_frames), [num_frames]])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


@dataclass
class Predictor:
    """A model with what it needs to score clips: its pipeline, class names and a runtime.

    The runtime (`deploy.backends`) is chosen on the first batch from `backend` and `precision`
    ("auto": see `backends.pick`); `export` is an OpenVINO export folder (then `model` is None).
    `fast=True` runs PyTorch fp32 as a frozen TorchScript trace in channels_last_3d
    (`models.inference.optimize_for_inference`), faster on CPU for most models; same outputs."""

    model: nn.Module | None
    pipeline: InputSpec
    classes: list[str]
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    fast: bool = False
    backend: str = "auto"
    precision: str = "auto"
    export: str | None = None
    _runner: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.model is not None:
            self.model = self.model.eval().to(self.device)
        self.transform = eval_transform(self.pipeline)

    def runner(self, example: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """The backend, built for clips shaped like `example` `(B, C, T, H, W)` on first use."""
        if self._runner is None:
            from .backends import make_backend

            self._runner = make_backend(self.model, example, self.backend, self.precision, fast=self.fast,
                                        export=self.export, device=self.device)
        return self._runner

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def clips(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        """uint8 `(T, H, W, C)` windows -> normalised `(B, C, T, S, S)` model input."""
        with _one_thread():
            return torch.stack([self.transform(f) for f in frames])

    def prepare(self, images: Sequence[np.ndarray]) -> list[torch.Tensor]:
        """Decoded uint8 `(H, W, C)` frames -> each one's `(C, 1, S, S)` part of a clip (resized,
        cropped, normalised: `ClipTransform.spatial`), done once however many windows share a frame.
        Several frames at a time make fewer, larger tensor ops."""
        with _one_thread():
            return list(torch.split(self.transform.spatial(np.stack(images)), 1, dim=-3))

    def window_clips(self, windows: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
        """Windows of `prepare`d frames -> `(B, C, T, S, S)` model input, equal to `clips` of their frames."""
        with _one_thread():
            return torch.stack([self.transform.join(w) for w in windows])

    @torch.inference_mode()
    def logits(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        """`(B, K)` float logits for a batch of uint8 `(T, H, W, C)` windows."""
        return self._run(self.clips(frames))

    @torch.inference_mode()
    def window_logits(self, windows: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
        """`(B, K)` float logits for a batch of windows of `prepare`d frames."""
        return self._run(self.window_clips(windows))

    def prepare_one(self, image: np.ndarray) -> torch.Tensor:
        """`prepare` of one frame (`watch`, where frames arrive one at a time)."""
        return self.prepare([image])[0]

    def window_scores(self, window: Sequence[torch.Tensor]) -> np.ndarray:
        """`(K,)` softmax scores of one window of `prepare`d frames (`watch`)."""
        return F.softmax(self.window_logits([window]), dim=1)[0].numpy()

    def _run(self, clips: torch.Tensor) -> torch.Tensor:
        x = clips.to(self.device)  # (B, C, T, S, S)
        return self.runner(x)(x)

    def __call__(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """`(B, K)` softmax scores for a batch of uint8 `(T, H, W, C)` windows."""
        return F.softmax(self.logits(frames), dim=1).numpy()

    def blank(self) -> np.ndarray:
        """A black uint8 `(T, S, S, 3)` window."""
        size = self.pipeline.crop_size
        return np.zeros((self.pipeline.clip_len, size, size, 3), dtype=np.uint8)

    def warmup(self, batch_size: int = 1) -> None:
        """Run a blank batch, so tracing and first-call costs are paid before timing matters."""
        self.logits([self.blank()] * batch_size)


@contextmanager
def _one_thread():
    """One intra-op thread for the transform, as in DataLoader workers: evaluation's numerics (a
    resize's last bit depends on how its output is split among threads, and rounding to grey
    levels can turn that into a level), and speed: the ops are small, and on a busy CPU a
    multi-threaded op can wait a whole time slice for a descheduled thread. torch's OpenMP thread
    count is per calling thread, so a model running in another thread keeps its own."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def load_predictor(model: str | os.PathLike | nn.Module, pretrained: str | None = None,
                   pipeline: InputSpec | dict | None = None, classes: Sequence[str] | None = None,
                   device: str | torch.device = "auto", clip_len: int | None = None,
                   target_fps: float | None = None, fast: bool = False, backend: str = "auto",
                   precision: str = "auto") -> Predictor:
    """A Predictor from a run folder, a checkpoint written by training, an export folder
    (`motionlens export --format openvino`), a model name (weights from `pretrained`: a tag such
    as "kinetics400" or a file) or an `nn.Module`; `backend` and `precision` pick its runtime.

    Run folders and checkpoints bring their pipeline and classes; model names and modules use
    the model's `cfg` (its weights' preprocessing and label names) unless `pipeline`/`classes`
    are given. `clip_len` and `target_fps` override the pipeline's."""
    from .export_dir import is_export_dir, read_export

    export = None
    if isinstance(model, nn.Module):
        net, cfg_pipe, names = model, None, None
        if hasattr(model, "cfg"):
            cfg_pipe, names = as_spec(model.cfg), list(model.cfg.label_names)
    elif is_export_dir(model):
        meta, export = read_export(model), str(model)
        net, cfg_pipe, names = None, InputSpec.from_dict(meta["pipeline"]), list(meta["classes"])
    elif _is_checkpoint(model):
        if pretrained:
            raise MotionlensError(f"{model} is a run or checkpoint: --pretrained applies to model names only")
        from ..training.runs import load_run

        run = load_run(model)
        net, cfg_pipe, names = run.model, run.pipeline, run.classes
    else:
        from ..models import create_model

        net = create_model(str(model), pretrained=pretrained or None)
        cfg_pipe, names = as_spec(net.cfg), list(net.cfg.label_names)
    pipe = InputSpec.from_dict(pipeline) if isinstance(pipeline, dict) else pipeline or cfg_pipe
    if pipe is None:
        raise MotionlensError("this model has no cfg: pass pipeline=InputSpec(...) (clip geometry and normalisation)")
    if clip_len:
        pipe = replace(pipe, clip_len=int(clip_len))
    if target_fps:
        pipe = replace(pipe, target_fps=float(target_fps))
    names = list(classes) if classes is not None else names
    num_classes = _num_outputs(net) if net is not None else len(names)
    if not names:
        names = [f"class_{i}" for i in range(num_classes or 0)]
    if num_classes is not None and len(names) != num_classes:
        raise MotionlensError(f"{len(names)} class names for a model with {num_classes} outputs")
    if export and pipe.clip_len != cfg_pipe.clip_len:
        raise MotionlensError(f"{model}: an export's clip length is fixed ({cfg_pipe.clip_len}); export again for --clip-len")
    return Predictor(net, pipe, names, parse_device(device), fast=fast, backend=backend, precision=precision,
                     export=export)


def _is_checkpoint(model: str | os.PathLike) -> bool:
    path = Path(model)
    return path.exists() or path.suffix in (".pt", ".pth") or os.sep in str(model)


def _num_outputs(model: nn.Module) -> int | None:
    n = getattr(model, "num_classes", None)
    return int(n) if isinstance(n, int) and n > 0 else None


@dataclass
class VideoScores:
    """Every window of one video and its scores; what the output formats are made from."""

    video: str
    fps: float
    frames: int
    starts: np.ndarray  # (W,) first frame of each window
    ends: np.ndarray  # (W,) last frame read, inclusive
    probs: np.ndarray  # (W, K) softmax scores
    logits: np.ndarray | None = None  # (W, K), kept on request (the hara format writes them)
    max_buffered: int = 0  # most frames the ring buffer held
    seconds: float = 0.0  # wall time spent
    problem: str | None = None  # what decoding found wrong, e.g. "decoded 16 of 100 frames (...)" (video.DecodeReport)
    times: np.ndarray | None = None  # (frames,) seconds of each frame from the first: real timestamps (VFR)

    def time_of(self, frame: int) -> float:
        """Seconds at which `frame` starts (`frames` = the end of the last one), by real timestamps."""
        if self.times is None or not len(self.times):
            return frame / self.fps
        if frame < len(self.times):
            return float(self.times[frame])
        return float(self.times[-1]) + (frame - len(self.times) + 1) / self.fps


def score_video(predictor: Predictor, video: str | os.PathLike, window_stride: int | None = None, batch_size: int = 8,
                keep_logits: bool = False, progress: Callable[[int], None] | None = None) -> VideoScores:
    """Decode `video` once, streaming, and score every sliding window (see the module docstring).

    Raises VideoError naming the file when it cannot be opened or decoded."""
    from ..video import DecodeReport, VideoInfo, frame_times, iter_frames, probe

    begin = time.perf_counter()
    info: VideoInfo = probe(video)
    pipe = predictor.pipeline
    decoded = DecodeReport()  # damaged stretches are skipped; truncation and damage are named in `problem`
    times: list[float] = []  # (frames,) real timestamps of the source frames seen

    def source_frames():
        for frame in iter_frames(video, size=pipe.resize if pipe.decoder_resize else None, report=decoded):
            times.append(frame.time)
            yield frame

    frames = source_frames()
    windows, source = pipe.file_windows(info.fps, lambda: frame_times(video), window_stride)
    if source is not None:  # resampling: only the frames numbered in `source` reach the windows
        frames = _frames_at(frames, source)
    starts, ends, probs, logits, pending = [], [], [], [], []

    def flush() -> None:
        if not pending:
            return
        out = predictor.window_logits([w.frames for w in pending])  # (B, K)
        probs.append(F.softmax(out, dim=1).numpy())
        if keep_logits:
            logits.append(out.numpy())
        starts.extend(w.start for w in pending)
        ends.extend(w.end for w in pending)
        pending.clear()

    for prepared in _prepared(frames, predictor.prepare, chunk=max(1, windows.window_stride)):
        for window in windows.push(prepared):
            pending.append(window)
            if len(pending) >= batch_size:
                flush()
        if progress is not None:
            progress(1)
    pending.extend(windows.finish())
    flush()
    if windows.count == 0:
        from ..core.errors import VideoError

        raise VideoError(video, "no frames could be decoded (corrupt or empty video)")
    num_frames = windows.count
    if source is not None:  # back to source frame numbers
        starts, ends = source[np.asarray(starts, dtype=np.int64)], source[np.asarray(ends, dtype=np.int64)]
        times = list(frame_times(video))  # resampling stops reading after the last frame it needs
        num_frames = max(int(source[-1]) + 1, len(times))
    return VideoScores(
        video=str(video), fps=info.fps, frames=num_frames, starts=np.asarray(starts), ends=np.asarray(ends),
        probs=np.concatenate(probs), logits=np.concatenate(logits) if keep_logits else None,
        max_buffered=windows.max_buffered, seconds=time.perf_counter() - begin, problem=decoded.problem(),
        times=np.asarray(times) if times and np.all(np.isfinite(times)) else None,
    )


def _prepared(frames, prepare: Callable[[list[np.ndarray]], list[torch.Tensor]], chunk: int):
    """`prepare`'s part for each of `frames`, `chunk` distinct frames prepared at a time; a frame
    repeated in a row (resampling up) is prepared once and its part repeated."""
    distinct: list = []
    counts: list[int] = []
    for frame in frames:
        if distinct and frame is distinct[-1]:
            counts[-1] += 1
            continue
        if len(distinct) == chunk:
            yield from _repeated(prepare, distinct, counts)
            distinct, counts = [], []
        distinct.append(frame)
        counts.append(1)
    if distinct:
        yield from _repeated(prepare, distinct, counts)


def _repeated(prepare, frames: list, counts: list[int]):
    for part, n in zip(prepare([f.image for f in frames]), counts):
        yield from [part] * n


def _frames_at(frames, source: np.ndarray):
    """The frames of a stream whose numbers are in `source` (sorted, repeats allowed), in that order."""
    j = 0
    for frame in frames:
        while j < len(source) and source[j] == frame.index:
            yield frame
            j += 1
        if j == len(source):
            return


def _top(scores: np.ndarray, classes: Sequence[str], k: int) -> list[list[Any]]:
    order = np.argsort(-scores, kind="stable")[:k]
    return [[classes[i], round(float(scores[i]), 6)] for i in order]


def to_result(scores: VideoScores, classes: Sequence[str], top_k: int = 5, smooth: int = 1,
              threshold: float | None = None, off_threshold: float | None = None,
              min_duration: float = 0.0) -> dict:
    """The motionlens JSON for one video (see the module docstring).

    `smooth` > 1 replaces each window's scores by the centred mean over `smooth` windows before
    segments and events are made; the video-level score is always the mean of the raw windows."""
    fps = scores.fps
    window_scores = smooth_scores(scores.probs, smooth) if smooth > 1 else scores.probs
    video_scores = scores.probs.mean(axis=0)  # (K,)
    segments = []
    for (a, b), start, end, s in zip(tile_segments(scores.starts, scores.ends, scores.frames),
                                     scores.starts, scores.ends, window_scores):
        best = int(np.argmax(s))
        segments.append({
            "start_frame": a, "end_frame": b, "start_sec": round(scores.time_of(a), 6),
            "end_sec": round(scores.time_of(b), 6),
            "label": classes[best], "score": round(float(s[best]), 6), "top_k": _top(s, classes, top_k),
            "window": [int(start), int(end)],
        })
    best = int(np.argmax(video_scores))
    result = {
        "video": scores.video, "fps": fps, "frames": scores.frames, "duration": round(scores.time_of(scores.frames), 6),
        "label": classes[best], "score": round(float(video_scores[best]), 6),
        "top_k": _top(video_scores, classes, top_k), "segments": segments,
    }
    if threshold is not None:
        triples = ((seg["start_sec"], seg["end_sec"], s) for seg, s in zip(segments, window_scores))
        found = find_events(triples, threshold, classes, off_threshold=off_threshold, min_duration=min_duration)
        result["events"] = [{**e, "peak_score": round(e["peak_score"], 6)} for e in found]
    return result


def to_hara(scores: VideoScores, classes: Sequence[str]) -> dict:
    """One video in the shape of Hara's `video-classification-3d-cnn-pytorch --mode score` output
    (the companion of 3D-ResNets-PyTorch): `{"video": file name, "clips": [{"segment": [first,
    last], "label": top class, "scores": [K raw scores]}, ...]}`, with `segment` the window's
    first and last frame numbered from 1, inclusive, and `scores` the classifier's outputs before
    softmax, as Hara's script writes them. Its output file is a list of these, one per video."""
    if scores.logits is None:
        raise ValueError("score_video(..., keep_logits=True) is needed for the hara format")
    clips = []
    for start, end, row in zip(scores.starts, scores.ends, scores.logits):
        clips.append({"segment": [int(start) + 1, int(end) + 1], "label": classes[int(np.argmax(row))],
                      "scores": [float(v) for v in row]})
    return {"video": Path(scores.video).name, "clips": clips}


def predict(video: str | os.PathLike, model: str | os.PathLike | nn.Module | Predictor, *,
            pretrained: str | None = None, pipeline: InputSpec | dict | None = None,
            classes: Sequence[str] | None = None, clip_len: int | None = None, window_stride: int | None = None,
            fps: float | None = None, top_k: int = 5, batch_size: int = 8, smooth: int = 1,
            threshold: float | None = None, off_threshold: float | None = None, device: str = "auto",
            fast: bool = False, format: str = "motionlens", output_video: str | os.PathLike | None = None) -> dict:
    """Recognise actions over the whole of `video`, streaming it with bounded memory.

    `model`: a run folder, a training checkpoint, a model name (with `pretrained`), an
    `nn.Module` (with `pipeline`/`classes` unless it has a `cfg`) or a loaded Predictor.
    `window_stride`: source frames between window starts (default: half a window); `fps`: resample clips to
    this rate; `smooth`: moving average over this many windows; `threshold`: add "events".
    Returns the dict written as JSON by `motionlens predict` (`format="hara"`: Hara's shape).
    `output_video` also writes the video with the predictions drawn on every frame."""
    predictor = model if isinstance(model, Predictor) else load_predictor(
        model, pretrained=pretrained, pipeline=pipeline, classes=classes, device=device, clip_len=clip_len,
        target_fps=fps, fast=fast)
    data, _, _ = predict_with(predictor, video, window_stride=window_stride, batch_size=batch_size, top_k=top_k,
                              smooth=smooth, threshold=threshold, off_threshold=off_threshold, format=format,
                              output_video=output_video)
    return data


def predict_with(predictor: Predictor, video: str | os.PathLike, window_stride: int | None = None,
                 batch_size: int = 8,
                 top_k: int = 5, smooth: int = 1, threshold: float | None = None, off_threshold: float | None = None,
                 format: str = "motionlens", output_video: str | os.PathLike | None = None,
                 progress: Callable[[int], None] | None = None) -> tuple[Any, dict, VideoScores]:
    """What `predict` does with a loaded predictor: (the JSON data, the motionlens result, the scores)."""
    if format not in ("motionlens", "hara"):
        raise MotionlensError(f"format must be motionlens or hara, got {format!r}")
    scores = score_video(predictor, video, window_stride=window_stride, batch_size=batch_size,
                         keep_logits=format == "hara",                          progress=progress)
    result = to_result(scores, predictor.classes, top_k, smooth, threshold, off_threshold)
    if output_video is not None:
        from ..video.annotate import annotate_video

        annotate_video(video, output_video, result["segments"], fps=scores.fps, num_frames=scores.frames)
    return (to_hara(scores, predictor.classes) if format == "hara" else result), result, scores
