"""Synthetic datasets: the motions of `synth_motion`, written as real encoded files in the layouts
real datasets ship in (folders, HMDB51, UCF101, Kinetics, frame folders, file lists).

Videos are seeded per (seed, class, number), so the same arguments give the same frames, and
adding videos or classes leaves the existing ones unchanged.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from ..core.errors import MotionlensError
from ..video import VideoWriter
from .synth_motion import CLASSES, Size, render_clip
# The motion vocabulary and rendering stay importable from here, where callers have always found them.
from .synth_motion import draw_frames, make_scene, make_track, write_long_video  # noqa: F401

LAYOUTS = ("folder", "hmdb51", "ucf101", "kinetics", "frames", "list")

# UCF101 names; RotateCW's folder is spelled RotateCw on disk, as UCF101's HandStandPushups lists
# point at a HandstandPushups folder, so indexes must match names without regard to case.
_UCF_NAMES = {"move_left": "MoveLeft", "move_right": "MoveRight", "rotate_cw": "RotateCW",
              "rotate_ccw": "RotateCCW", "approach": "Approach", "recede": "Recede", "swing": "Swing",
              "slide_once": "SlideOnce", "move_up": "MoveUp", "move_down": "MoveDown",
              "move_up_left": "MoveUpLeft", "move_up_right": "MoveUpRight", "move_down_left": "MoveDownLeft",
              "move_down_right": "MoveDownRight"}
_UCF_FOLDER_QUIRK = {"RotateCW": "RotateCw"}
_YOUTUBE_CHARS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))


@dataclass
class SynthDataset:
    """What `synthesize` wrote. `classes` are the layout's names in label order (what the index
    reports); `motions[i]` is the built-in motion class behind `classes[i]`."""

    root: Path
    layout: str
    classes: list[str]
    num_videos: int
    motions: list[str] = field(default_factory=list)

    @property
    def spec(self) -> str:
        """The `--data` value for this dataset."""
        return f"{self.layout}:{self.root}"


@dataclass(frozen=True)
class _Job:
    """One video to write: where, what, and the seed that fixes everything else."""

    path: str
    motion: str
    seed: tuple[int, ...]
    size: Size
    fps: float
    duration: float
    codec: str | None
    frames_dir: bool
    object_size: tuple[float, float]


def _layout_name(layout: str, motion: str) -> str:
    if layout == "ucf101":
        return _UCF_NAMES[motion]
    if layout == "kinetics":
        return motion.replace("_", " ")
    return motion


def _choose(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _split_names(n: int, train_share: float, three_way: bool) -> list[str]:
    """Split names for the n videos of one class: `train_share` train, the rest test (or val,
    then test), at least one held out and one kept for training when n >= 2."""
    held_out = min(max(1, round((1 - train_share) * n)), n - 1) if n >= 2 else 0
    val = (held_out + 1) // 2 if three_way else 0
    return ["train"] * (n - held_out) + ["val"] * val + ["test"] * (held_out - val)


def _extension(layout: str, codec: str | None) -> str:
    if codec and codec.startswith("libvpx"):
        return ".webm"
    if layout in ("hmdb51", "ucf101") or (codec or "").lower() in ("xvid", "divx", "mjpeg"):
        return ".avi"
    return ".mp4"


def _video_name(layout: str, name: str, k: int, n: int, split: str, duration: float,
                rng: np.random.Generator, ext: str) -> tuple[str, dict]:
    """The k-th of n videos of class `name`: its path relative to the root, as the layout names
    it, and what its annotation line needs besides (UCF101 group; Kinetics id and times)."""
    if layout in ("folder", "frames"):
        return f"{name}/{name}_{k:04d}" + ("" if layout == "frames" else ext), {}
    if layout == "list":
        return f"videos/{name}/{name}_{k:04d}{ext}", {}
    if layout == "hmdb51":
        return f"videos/{name}/Synth{k // 3:03d}_{name}_f_cm_np1_ri_med_{k % 3}{ext}", {}
    if layout == "ucf101":
        group, clip = _ucf_group(k, n)
        folder = _UCF_FOLDER_QUIRK.get(name, name)
        return f"UCF-101/{folder}/v_{name}_g{group:02d}_c{clip:02d}{ext}", {"group": group}
    start = int(rng.integers(0, 300))
    end = start + int(duration)
    youtube_id = "".join(_YOUTUBE_CHARS[rng.integers(len(_YOUTUBE_CHARS), size=11)])
    folder = {"train": "train", "val": "validate", "test": "test"}[split]
    extra = {"youtube_id": youtube_id, "time_start": start, "time_end": end}
    return f"{folder}/{name}/{youtube_id}_{start:06d}_{end:06d}{ext}", extra


def _render_job(job: _Job) -> str:
    rng = np.random.default_rng(job.seed)
    height, width = job.size
    num_frames = max(2, int(round(job.duration * job.fps)))
    frames = render_clip(job.motion, rng, height, width, num_frames, job.fps, job.object_size)
    path = Path(job.path)
    if job.frames_dir:
        path.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames, start=1):
            cv2.imwrite(str(path / f"img_{i:05d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 90])
    else:
        with VideoWriter(path, job.fps, codec=job.codec, deterministic=True) as writer:
            for frame in frames:
                writer.write(frame)
    return job.path


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise MotionlensError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise MotionlensError(f"{out} is not empty; choose another folder or pass --overwrite to replace "
                                  "its contents")
        resolved, cwd = out.resolve(), Path.cwd().resolve()
        if resolved in (Path(resolved.anchor), Path.home().resolve(), cwd, *cwd.parents):
            raise MotionlensError(f"refusing to delete {out} (a filesystem root, home or working folder)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def synthesize(
    out: str | os.PathLike,
    layout: str = "folder",
    num_classes: int = 4,
    videos_per_class: int = 10,
    size: Size | Sequence[Size] = (240, 320),
    fps: float | Sequence[float] = 25.0,
    duration: float | tuple[float, float] = (1.0, 10.0),
    codec: str | None = None,
    seed: int = 0,
    split_ratio: float = 0.7,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    classes: Sequence[str] | None = None,
    object_size: tuple[float, float] = (0.1, 0.17),
) -> SynthDataset:
    """Write a dataset of `num_classes` x `videos_per_class` synthetic videos in `layout`.

    size: (H, W), or a list of them to pick from per video. fps: a rate, or a tuple to pick from.
    duration: seconds, or a (min, max) range sampled uniformly. codec: None picks the layout's usual
    one (H.264 mp4; XVID avi for hmdb51/ucf101). split_ratio is the train share where the layout
    has splits. `overwrite` empties a non-empty `out` first (else MotionlensError).
    `progress(done, total)` is called after each video. `classes` picks the motions by name
    (e.g. ["approach", "recede"], for a second class set to fine-tune on) instead of the first
    `num_classes` of CLASSES. `object_size` is the range of the object's radius as a fraction of
    the short side (larger: motion shows in more pixels at small sizes)."""
    motions, sizes, rates, durations = _check_options(layout, num_classes, videos_per_class, size, fps, duration,
                                                      split_ratio, classes)
    out = Path(out)
    _prepare_out(out, overwrite)
    jobs, rows = _plan(out, layout, motions, videos_per_class, sizes, rates, durations, codec, seed, split_ratio,
                       tuple(object_size))

    # One process, one thread: worker processes doubled the speed, but a forked worker hangs on
    # OpenCV's inherited thread-pool locks and a spawned one re-runs an unguarded __main__ script.
    if progress:
        progress(0, len(jobs))
    for done, job in enumerate(jobs, start=1):
        _render_job(job)
        if progress:
            progress(done, len(jobs))
    _write_annotations(out, layout, rows, seed, split_ratio)
    classes = sorted({_layout_name(layout, m) for m in motions})
    motion_of = {_layout_name(layout, m): m for m in motions}
    return SynthDataset(root=out, layout=layout, classes=classes, num_videos=len(jobs),
                        motions=[motion_of[c] for c in classes])


def _check_options(layout: str, num_classes: int, videos_per_class: int, size, fps, duration, split_ratio: float,
                   classes: Sequence[str] | None) -> tuple[list[str], list[Size], list[float], tuple[float, float]]:
    """The motions to write and the sizes, rates and (min, max) duration to draw from, as `synthesize`
    takes them; MotionlensError for a bad value."""
    if layout not in LAYOUTS:
        raise MotionlensError(f"unknown layout '{layout}'; expected one of {', '.join(LAYOUTS)}")
    if classes is not None:
        unknown = [c for c in classes if c not in CLASSES]
        if unknown or not classes or len(set(classes)) != len(classes):
            raise MotionlensError(f"classes must be distinct names among {', '.join(CLASSES)}; got {list(classes)}")
        num_classes = len(classes)
    if not 1 <= num_classes <= len(CLASSES):
        raise MotionlensError(f"num_classes must be 1..{len(CLASSES)}, got {num_classes}")
    if videos_per_class < 1:
        raise MotionlensError(f"videos_per_class must be at least 1, got {videos_per_class}")
    sizes = [tuple(size)] if isinstance(size[0], (int, np.integer)) else [tuple(s) for s in size]
    rates = [float(fps)] if isinstance(fps, (int, float)) else [float(f) for f in fps]
    lo, hi = (float(duration), float(duration)) if isinstance(duration, (int, float)) else map(float, duration)
    if any(len(s) != 2 or min(s) < 16 for s in sizes) or not rates or min(rates) <= 0 or not 0 < lo <= hi:
        raise MotionlensError(f"bad size {size}, fps {fps} or duration {duration} (sizes are (H, W) >= 16)")
    if not 0 < split_ratio < 1:
        raise MotionlensError(f"split_ratio must be between 0 and 1, got {split_ratio}")
    motions = list(classes) if classes is not None else list(CLASSES[:num_classes])
    return motions, sizes, rates, (lo, hi)


def _plan(out: Path, layout: str, motions: list[str], videos_per_class: int, sizes: list[Size], rates: list[float],
          durations: tuple[float, float], codec: str | None, seed: int, split_ratio: float,
          object_size: tuple[float, float]) -> tuple[list[_Job], list[tuple[str, str, str, dict]]]:
    """Every video to write, and its annotation row: (motion, layout class name, split, extra)."""
    lo, hi = durations
    ext = _extension(layout, codec)
    avi_codec = codec or ("xvid" if layout in ("hmdb51", "ucf101") else None)

    jobs: list[_Job] = []
    rows: list[tuple[str, str, str, dict]] = []  # (motion, layout class name, split, extra)
    for ci, motion in enumerate(motions):
        name = _layout_name(layout, motion)
        split_rng = np.random.default_rng([seed, ci, 1_000_003])
        splits = _split_names(videos_per_class, split_ratio, three_way=layout in ("kinetics", "list"))
        splits = [splits[i] for i in split_rng.permutation(videos_per_class)]
        for k in range(videos_per_class):
            video_seed = (seed, ci, k)
            meta_rng = np.random.default_rng([*video_seed, 17])
            vsize, vfps = _choose(meta_rng, sizes), _choose(meta_rng, rates)
            vdur = float(meta_rng.uniform(lo, hi))
            if layout == "kinetics":
                vdur = float(max(1, round(vdur)))  # whole seconds, as the CSVs give clip bounds
            rel, extra = _video_name(layout, name, k, videos_per_class, splits[k], vdur, meta_rng, ext)
            jobs.append(_Job(str(out / rel), motion, video_seed, vsize, vfps, vdur, avi_codec, layout == "frames",
                             object_size))
            rows.append((motion, name, splits[k], {"rel": rel, **extra}))
    return jobs, rows


def _ucf_group(k: int, n: int) -> tuple[int, int]:
    """(group, clip) numbers of the k-th of n videos. UCF101 has 25 groups of 4-7 clips and split
    N tests groups 7N-6..7N; with fewer videos, fewer groups are spread over g01-g25 so that rule
    still holds out about 30% (at least 7 groups, one per video for n < 7)."""
    groups = n if n < 7 else min(25, max(7, math.ceil(n / 4)))
    return (k % groups) * 25 // groups + 1, k // groups + 1


def _write_annotations(out: Path, layout: str, rows: list[tuple[str, str, str, dict]], seed: int,
                       split_ratio: float) -> None:
    if layout in ("folder", "frames"):
        return
    if layout == "list":
        classes = sorted({name for _, name, _, _ in rows})
        for split in ("train", "val", "test"):
            lines = [f"{e['rel']} {classes.index(name)}\n" for _, name, s, e in rows if s == split]
            (out / f"{split}.txt").write_text("".join(lines))
    elif layout == "kinetics":
        for split, file in (("train", "train.csv"), ("val", "validate.csv"), ("test", "test.csv")):
            with open(out / file, "w", newline="") as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
                for _, name, s, e in rows:
                    if s == split:
                        writer.writerow([name, e["youtube_id"], e["time_start"], e["time_end"], file[:-4]])
    elif layout == "hmdb51":
        _write_hmdb_splits(out, rows, seed, split_ratio)
    elif layout == "ucf101":
        _write_ucf_lists(out, rows)


def _write_hmdb_splits(out: Path, rows, seed: int, split_ratio: float) -> None:
    """<class>_test_split{1,2,3}.txt: `name.avi id ` per video, 1 train / 2 test / 0 unused, a
    different draw per split, trailing space as HMDB51 has it."""
    (out / "splits").mkdir(parents=True, exist_ok=True)
    by_class: dict[str, list[str]] = {}
    for _, name, _, e in rows:
        by_class.setdefault(name, []).append(Path(e["rel"]).name)
    for ci, (name, files) in enumerate(sorted(by_class.items())):
        n = len(files)
        unused = n // 10 if n >= 10 else 0
        ids = [{"train": "1", "test": "2"}[s] for s in _split_names(n - unused, split_ratio, False)]
        ids += ["0"] * unused
        for split in (1, 2, 3):
            order = np.random.default_rng([seed, ci, split, 2_000_003]).permutation(n)
            lines = [f"{files[i]} {ids[j]} \n" for j, i in enumerate(order)]
            lines.sort()
            (out / "splits" / f"{name}_test_split{split}.txt").write_text("".join(lines))


def _write_ucf_lists(out: Path, rows) -> None:
    """classInd.txt, trainlist0N.txt (`Class/v_....avi label`), testlist0N.txt (`Class/v_....avi`):
    split N tests groups 7N-6..7N, as UCF101 does."""
    lists = out / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    classes = sorted({name for _, name, _, _ in rows})
    (lists / "classInd.txt").write_text("".join(f"{i} {c}\n" for i, c in enumerate(classes, start=1)))
    entries = sorted((name, Path(e["rel"]).name, e["group"]) for _, name, _, e in rows)
    for split in (1, 2, 3):
        tested = range(7 * split - 6, 7 * split + 1)
        train = [f"{c}/{f} {classes.index(c) + 1}\n" for c, f, g in entries if g not in tested]
        test = [f"{c}/{f}\n" for c, f, g in entries if g in tested]
        (lists / f"trainlist0{split}.txt").write_text("".join(train))
        (lists / f"testlist0{split}.txt").write_text("".join(test))
