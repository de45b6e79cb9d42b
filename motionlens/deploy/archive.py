"""`predict` and `data check --deep` over many videos: one job per video (`deploy/jobs.py`), in
this process, on local worker processes or on a Ray cluster, with the same files either way.

predict writes OUT/<stem>.json per video, then a `done` marker OUT/.done/<stem>.json holding the
settings and the summary line. A rerun skips videos whose marker has the same settings (their
line is printed again), redoes the rest, and refuses to mix settings in one folder unless asked
to overwrite. The model goes to the workers once per job (Ray: once into the object store).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..core.atomic import write_text
from ..core.errors import MotionlensError
from ..video import VIDEO_EXTENSIONS
from ..core.jobs import JobOutcome, run_jobs


@dataclass(frozen=True)
class PredictSettings:
    """Everything besides the model that decides what `predict` writes for a video."""

    window_stride: int | None = None  # source frames between window starts (None: half a window)
    batch_size: int = 8  # windows per forward pass
    top_k: int = 5
    smooth: int = 1  # moving average over this many windows
    threshold: float | None = None  # add events above this score
    off_threshold: float | None = None  # hysteresis: events end below this
    format: str = "motionlens"  # motionlens | hara
    annotate: bool = False  # also write the video with predictions drawn on it


def unique_stems(videos: Sequence[str]) -> list[str]:
    """Output names: each video's file stem, made unique in order ("a", "a-2", ...)."""
    used: set[str] = set()
    stems = []
    for video in videos:
        stem = Path(str(video).rstrip("/")).stem or "video"
        name, n = stem, 2
        while name in used:
            name, n = f"{stem}-{n}", n + 1
        used.add(name)
        stems.append(name)
    return stems


def model_id(model_or_run: str, pretrained: str | None) -> str:
    """What the done markers call the model: a run folder's absolute path, or a name with its weights."""
    path = Path(model_or_run)
    return f"{path.resolve() if path.exists() else model_or_run}|{pretrained}"


def annotated_paths(output_video: str | None, videos: Sequence[str]) -> list[str | None]:
    """Each video's annotated output: `output_video` itself for one video when it names a video file,
    else `output_video/<stem>.mp4`; None each without `output_video`."""
    if not output_video:
        return [None] * len(videos)
    path = Path(output_video)
    if len(videos) == 1 and path.suffix.lower() in VIDEO_EXTENSIONS:
        return [str(path)]
    return [str(path / f"{stem}.mp4") for stem in unique_stems(videos)]


def predict_files(predictor, videos: Sequence[str], out_dir: str | os.PathLike, settings: PredictSettings,
                  model_id: str, annotated: Sequence[str | None] | None = None, overwrite: bool = False,
                  workers: int = 1, engine: str = "local", ray_address: str | None = None,
                  frame_progress: bool = True) -> Iterator[tuple[str, JobOutcome, bool]]:
    """Predict every video into `out_dir`; yield (video, outcome, skipped) as each finishes.

    `model_id` names the model for the done markers (run folder, or name + weights); `annotated`
    gives each video's annotated output path (None: none). An outcome's value is the summary:
    label, score, segments, events, real-time factor, json and video paths, and `problem`."""
    out_dir = Path(out_dir)
    (out_dir / ".done").mkdir(parents=True, exist_ok=True)
    annotated = list(annotated) if annotated is not None else [None] * len(videos)
    fingerprint = _fingerprint(model_id, predictor.pipeline.to_dict(), settings)
    todo, clashes = [], []
    for video, stem, video_out in zip(videos, unique_stems(videos), annotated):
        marker = _read_marker(out_dir / ".done" / f"{stem}.json")
        if marker is not None and not overwrite:
            if marker.get("fingerprint") == fingerprint and marker.get("video") == os.path.abspath(video):
                yield video, JobOutcome(str(video), True, marker["summary"]), True
                continue
            clashes.append(stem)
            continue
        todo.append((str(video), (str(video), stem, video_out)))
    if clashes:
        raise MotionlensError(f"{len(clashes)} videos in {out_dir} were predicted with another model, settings or "
                              f"input (e.g. {clashes[0]}); use another --out, or --overwrite to redo them")
    in_process = engine == "local" and (workers <= 1 or len(todo) <= 1)
    shared = {"token": uuid.uuid4().hex, "out": str(out_dir), "settings": settings, "fingerprint": fingerprint,
              "frame_progress": frame_progress and in_process and len(todo) == 1}
    if in_process:
        _predictors[shared["token"]] = predictor
    else:  # what a worker needs to rebuild the predictor: eager weights on the CPU (or the export), pipeline, ...
        shared.update(model=predictor.model.cpu() if predictor.model is not None else None,
                      pipeline=predictor.pipeline.to_dict(), classes=list(predictor.classes),
                      device=str(predictor.device), fast=predictor.fast, backend=predictor.backend,
                      precision=predictor.precision, export=predictor.export)
    gpus = 1 if predictor.device.type == "cuda" and engine == "ray" else 0
    try:
        for outcome in run_jobs(_predict_task, todo, shared, workers=workers, engine=engine, ray_address=ray_address,
                                num_gpus=gpus, description=None if shared["frame_progress"] else "predicting"):
            yield outcome.key, outcome, False
    finally:
        _predictors.pop(shared["token"], None)


def check_files(paths: Sequence[str], workers: int = 1, engine: str = "local",
                ray_address: str | None = None) -> list[tuple[str, str]]:
    """Decode every frame of every file; (path, reason) for each that is unreadable, ends early or is damaged."""
    problems = []
    for outcome in run_jobs(_check_task, [(p, p) for p in paths], None, workers=workers, engine=engine,
                            ray_address=ray_address, description="decoding"):
        if not outcome.ok:
            problems.append((outcome.key, outcome.reason))
        elif outcome.value:
            problems.append((outcome.key, outcome.value))
    return sorted(problems)


def _check_task(_: Any, path: str) -> str | None:
    from ..video import check_decode

    return check_decode(path)


_predictors: dict[str, Any] = {}  # per process: the predictor of each job, built once


def _predictor(shared: dict):
    if shared["token"] not in _predictors:
        import torch

        from ..data.spec import InputSpec
        from .predict import Predictor

        _predictors.clear()  # one job at a time per worker
        _predictors[shared["token"]] = Predictor(shared["model"], InputSpec.from_dict(shared["pipeline"]),
                                                 shared["classes"], torch.device(shared["device"]), fast=shared["fast"],
                                                 backend=shared["backend"], precision=shared["precision"],
                                                 export=shared["export"])
    return _predictors[shared["token"]]


def _predict_task(shared: dict, item: tuple[str, str, str | None]) -> dict:
    from ..core.progress import progress_bar
    from ..video import probe
    from .predict import predict_with

    video, stem, video_out = item
    settings: PredictSettings = shared["settings"]
    predictor = _predictor(shared)
    out = Path(shared["out"])
    total = probe(video).num_frames if shared["frame_progress"] else None
    with progress_bar(total, Path(video).name, enabled=shared["frame_progress"], unit="frames") as advance:
        data, result, scores = predict_with(
            predictor, video, window_stride=settings.window_stride, batch_size=settings.batch_size,
            top_k=settings.top_k, smooth=settings.smooth, threshold=settings.threshold,
            off_threshold=settings.off_threshold, format=settings.format, output_video=video_out, progress=advance)
    json_path = out / f"{stem}.json"
    write_text(json_path, json.dumps([data] if settings.format == "hara" else data, indent=1))
    summary = {"label": result["label"], "score": result["score"], "segments": len(result["segments"]),
               "events": len(result["events"]) if "events" in result else None,
               "realtime_factor": scores.frames / scores.fps / max(scores.seconds, 1e-9),
               "json": str(json_path), "video_out": str(video_out) if video_out else None, "problem": scores.problem}
    marker = {"video": os.path.abspath(video), "fingerprint": shared["fingerprint"], "summary": summary}
    write_text(out / ".done" / f"{stem}.json", json.dumps(marker, indent=1))  # last: the video is done
    return summary


def _fingerprint(model_id: str, pipeline: dict, settings: PredictSettings) -> str:
    fields = asdict(settings)
    # Done markers written before the rename hash the setting as "stride": keep the hash, so a
    # rerun still skips the videos they mark.
    fields["stride"] = fields.pop("window_stride")
    text = json.dumps({"model": model_id, "pipeline": pipeline, "settings": fields}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read_marker(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # absent, or cut short by a kill: the video is redone
