"""Synthetic action videos, written as real encoded files in the layouts real datasets ship in.

Every class is a motion of one object over a drifting, textured, noisy background, and classes
come in pairs that only motion tells apart (left/right, clockwise/anticlockwise, approach/recede,
swing/slide once, up/down, and the four diagonals as two mirrored pairs). Everything a single
frame shows (position, size, orientation, shape, colour) is drawn from the same distribution for
both classes of a pair, so a frame classifier is at chance within a pair while a model that sees
time is not.

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
from statistics import NormalDist
from typing import Callable, Sequence

import cv2
import numpy as np

from ..core.errors import MotionlensError
from ..video import VideoWriter

CLASSES = ("move_left", "move_right", "rotate_cw", "rotate_ccw", "approach", "recede", "swing", "slide_once",
           "move_up", "move_down", "move_up_left", "move_up_right", "move_down_left", "move_down_right")
# Screen direction (x right, y down) of the straight-line classes other than left/right. A diagonal
# is the sum of two cardinal motions, so a model that knows those has its features already (the
# fine-tune test relies on this).
_DIRECTIONS = {"move_up": (0, -1), "move_down": (0, 1), "move_up_left": (-1, -1), "move_up_right": (1, -1),
               "move_down_left": (-1, 1), "move_down_right": (1, 1)}
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

Size = tuple[int, int]
# Gaussian noise through a byte lookup: the (i + 0.5) / 256 quantiles of N(0, 1). Random bytes
# are five times cheaper than standard_normal, which otherwise costs as much as encoding.
_GAUSS_QUANTILES = np.array([NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)], np.float32)


@dataclass(frozen=True)
class Scene:
    """Everything about a video that does not depend on its class."""

    height: int
    width: int
    texture: np.ndarray  # (H + 2*margin, W + 2*margin, 3) uint8 background, panned over
    margin: int
    pan_amp: float  # pixels
    pan_period: tuple[float, float]  # seconds, x and y
    pan_phase: tuple[float, float]
    jitter: float  # camera shake, pixels (standard deviation)
    noise_sigma: float  # per-pixel noise, grey levels
    parts: tuple[tuple[np.ndarray, tuple[int, int, int]], ...]  # (polygon (N, 2) in unit coords, colour)
    radius: float  # object radius, pixels
    distractor: tuple[np.ndarray, tuple[int, int, int], float] | None  # (polygon, colour, radius)


@dataclass
class Track:
    """Per-frame object state; all arrays (T,)."""

    x: np.ndarray  # centre, pixels
    y: np.ndarray
    radius: np.ndarray  # pixels
    angle: np.ndarray  # radians; increasing angle turns clockwise on screen (y points down)


def _polygon(name: str) -> np.ndarray:
    """Unit-size outline (N, 2) of a shape."""
    if name == "disk":
        t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if name == "ellipse":
        t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        return np.stack([np.cos(t), 0.6 * np.sin(t)], 1)
    if name == "square":
        return np.array([[-0.8, -0.8], [0.8, -0.8], [0.8, 0.8], [-0.8, 0.8]])
    if name == "triangle":
        t = np.array([0, 2 * np.pi / 3, 4 * np.pi / 3])
        return np.stack([np.cos(t), np.sin(t)], 1)
    if name == "pentagon":
        t = np.linspace(0, 2 * np.pi, 5, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], 1)
    raise ValueError(name)


SHAPES = ("disk", "ellipse", "square", "triangle", "pentagon")


def _colour(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]) -> tuple[int, int, int]:
    """A random RGB colour with saturation and value in the given ranges (0-1)."""
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(*sat) * 255, rng.uniform(*val) * 255]]], dtype=np.uint8)
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Muted, smooth background (H, W, 3) uint8: low-frequency noise, soft blobs and maybe stripes."""
    m = min(height, width)
    cell = max(4, m // 6)
    coarse = rng.normal(0, 1, (height // cell + 2, width // cell + 2, 3)).astype(np.float32)
    tex = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC) * 18
    blobs = np.zeros_like(tex)
    for _ in range(rng.integers(4, 10)):
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        cv2.circle(blobs, centre, int(rng.uniform(0.05, 0.2) * m), rng.uniform(-45, 45, 3).tolist(), -1)
    tex += cv2.GaussianBlur(blobs, (0, 0), 0.03 * m + 1)
    if rng.random() < 0.5:
        theta, period = rng.uniform(0, np.pi), rng.uniform(0.08, 0.3) * m
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        wave = np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * (2 * np.pi / period))
        tex += wave[..., None] * rng.uniform(8, 20)
    base = np.array(_colour(rng, (0.1, 0.5), (0.35, 0.7)), np.float32)
    return np.clip(tex + base, 0, 255).astype(np.uint8)


def make_scene(rng: np.random.Generator, height: int, width: int,
               object_size: tuple[float, float] = (0.1, 0.17)) -> Scene:
    """Draw the class-independent look of one video; the object's radius is drawn from
    `object_size` (fractions of the short side)."""
    m = min(height, width)
    pan_amp = rng.uniform(0.02, 0.08) * m
    jitter = rng.uniform(0.3, 1.0) * max(1.0, m / 120)
    margin = int(math.ceil(pan_amp + 4 * jitter)) + 2
    texture = _texture(rng, height + 2 * margin, width + 2 * margin)
    body = _colour(rng, (0.55, 1.0), (0.6, 1.0))
    # The marker makes every shape rotationally asymmetric, so turning direction is visible.
    marker = _colour(rng, (0.0, 0.4), (0.0, 0.3) if rng.random() < 0.5 else (0.9, 1.0))
    t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    marker_poly = np.stack([0.5 + 0.25 * np.cos(t), 0.25 * np.sin(t)], 1)
    parts = ((_polygon(SHAPES[rng.integers(len(SHAPES))]), body), (marker_poly, marker))
    distractor = None
    if rng.random() < 0.35:
        distractor = (_polygon(SHAPES[rng.integers(len(SHAPES))]), _colour(rng, (0.3, 1.0), (0.4, 1.0)),
                      rng.uniform(0.03, 0.06) * m)
    return Scene(
        height=height, width=width, texture=texture, margin=margin, pan_amp=pan_amp,
        pan_period=(rng.uniform(3, 12), rng.uniform(3, 12)),
        pan_phase=(rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)),
        jitter=jitter, noise_sigma=rng.uniform(3, 8), parts=parts, radius=rng.uniform(*object_size) * m,
        distractor=distractor,
    )


def _place(rng: np.random.Generator, dx: np.ndarray, dy: np.ndarray, radius: np.ndarray,
           height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Absolute positions for offsets (dx, dy) from a centre drawn uniformly among those that keep
    the object inside the frame. Mirrored offsets give a mirrored range, hence equal position
    distributions for both classes of a pair."""
    def axis(d: np.ndarray, size: int) -> np.ndarray:
        lo, hi = float(np.max(radius - d)), float(np.min(size - radius - d))
        return d + (rng.uniform(lo, hi) if hi > lo else (lo + hi) / 2)
    return axis(dx, width), axis(dy, height)


def _drift(rng: np.random.Generator, t: np.ndarray, m: float) -> tuple[np.ndarray, np.ndarray]:
    """A slow drift in a random direction plus a small wobble, so a still object is not a cue."""
    speed, heading = rng.uniform(0, 0.08) * m, rng.uniform(0, 2 * np.pi)
    wobble, freq, phase = rng.uniform(0, 0.015) * m, rng.uniform(0.2, 0.8), rng.uniform(0, 2 * np.pi, 2)
    dx = speed * t * np.cos(heading) + wobble * np.sin(2 * np.pi * freq * t + phase[0])
    dy = speed * t * np.sin(heading) + wobble * np.sin(2 * np.pi * freq * t + phase[1])
    return dx - dx.mean(), dy - dy.mean()


def make_track(class_name: str | None, rng: np.random.Generator, scene: Scene, num_frames: int,
               fps: float) -> Track:
    """Object states for one class's motion over `num_frames` frames."""
    if class_name is not None and class_name not in CLASSES:
        raise MotionlensError(f"unknown synthetic class '{class_name}'; expected one of {', '.join(CLASSES)}")
    h, w, m = scene.height, scene.width, min(scene.height, scene.width)
    t = np.arange(num_frames) / fps  # seconds
    u = np.linspace(-0.5, 0.5, num_frames)  # clip progress, symmetric about 0
    r = np.full(num_frames, scene.radius)
    angle = rng.uniform(0, 2 * np.pi) + np.deg2rad(rng.uniform(-20, 20)) * t  # small idle spin
    dx, dy = _drift(rng, t, m)
    if class_name in ("move_left", "move_right"):
        sign = 1 if class_name == "move_right" else -1
        travel = min(rng.uniform(0.35, 0.6) * w, w - 2 * scene.radius - 2)
        dx, dy = sign * travel * u, 0.3 * dy
    elif class_name in _DIRECTIONS:
        # As left/right: the travel along each moving axis is drawn once per video, and the drift
        # is damped, so direction is the only class cue.
        ux, uy = _DIRECTIONS[class_name]
        share = rng.uniform(0.35, 0.6)
        travel_x = min(share * w, w - 2 * scene.radius - 2)
        travel_y = min(share * h, h - 2 * scene.radius - 2)
        dx, dy = ux * travel_x * u + 0.3 * dx, uy * travel_y * u + 0.3 * dy
    elif class_name in ("rotate_cw", "rotate_ccw"):
        sign = 1 if class_name == "rotate_cw" else -1
        angle = rng.uniform(0, 2 * np.pi) + sign * np.deg2rad(rng.uniform(120, 300)) * t
    elif class_name in ("approach", "recede"):
        sign = 1 if class_name == "approach" else -1
        # Radius is log-symmetric about its middle value, so both classes show the same sizes.
        r = scene.radius * 0.85 * np.exp(sign * rng.uniform(0.7, 1.2) * u)
    elif class_name == "swing":
        heading, amp = rng.uniform(0, np.pi), rng.uniform(0.15, 0.3) * m
        s = amp * np.sin(2 * np.pi * rng.uniform(0.8, 1.6) * t + rng.uniform(0, 2 * np.pi))
        dx, dy = s * np.cos(heading) + 0.2 * dx, s * np.sin(heading) + 0.2 * dy
    elif class_name == "slide_once":
        heading, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 0.6) * m
        dur = t[-1] if num_frames > 1 else 1.0
        length = min(rng.uniform(0.35, 0.55) * dur, rng.uniform(1.0, 2.0))
        start = rng.uniform(0.05 * dur, 0.05 * dur + 0.45 * max(dur - length - 0.05 * dur, 0))
        p = np.clip((t - start) / max(length, 1e-6), 0, 1)
        s = dist * (p * p * (3 - 2 * p) - 0.5)  # smoothstep: starts and stops gently
        dx, dy = s * np.cos(heading) + 0.2 * dx, s * np.sin(heading) + 0.2 * dy
    x, y = _place(rng, dx, dy, r, h, w)
    return Track(x=x, y=y, radius=r, angle=angle)


def _distractor_track(rng: np.random.Generator, scene: Scene, num_frames: int,
                      fps: float) -> np.ndarray:
    """(T, 2) positions of a random walker with inertia, bouncing off the frame edges."""
    h, w, m = scene.height, scene.width, min(scene.height, scene.width)
    keep = 0.9 ** (25 / fps)  # the same smoothness in seconds whatever the frame rate
    kicks = rng.normal(0, 0.25 * m / fps, (num_frames, 2))
    pos = np.empty((num_frames, 2))
    p, v = rng.uniform([0, 0], [w, h]), np.zeros(2)
    for i in range(num_frames):
        v = keep * v + kicks[i]
        p = p + v
        for k, size in ((0, w), (1, h)):
            if not 0 <= p[k] <= size:
                p[k], v[k] = np.clip(p[k], 0, size), -v[k]
        pos[i] = p
    return pos


def _fill(frame: np.ndarray, polygon: np.ndarray, colour, x: float, y: float, radius: float,
          angle: float) -> None:
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]]) * radius  # row-vector form of [[c, -s], [s, c]]
    pts = polygon @ rot + (x, y)
    cv2.fillPoly(frame, [np.round(pts * 16).astype(np.int32)], colour, cv2.LINE_AA, shift=4)


def draw_frames(scene: Scene, track: Track, rng: np.random.Generator, first_frame: int = 0,
                fps: float = 25.0, distractor: np.ndarray | None = None):
    """Yield uint8 RGB frames (H, W, 3) of `track`; `first_frame` keeps the background pan
    continuous when a long video is drawn piece by piece."""
    h, w, mg = scene.height, scene.width, scene.margin
    n = len(track.x)
    t = (first_frame + np.arange(n)) / fps
    shake = rng.normal(0, scene.jitter, (n, 2))
    pan_x = scene.pan_amp * np.sin(2 * np.pi * t / scene.pan_period[0] + scene.pan_phase[0])
    pan_y = scene.pan_amp * np.sin(2 * np.pi * t / scene.pan_period[1] + scene.pan_phase[1])
    off_x = np.clip(np.round(pan_x + shake[:, 0]), -mg, mg).astype(int) + mg
    off_y = np.clip(np.round(pan_y + shake[:, 1]), -mg, mg).astype(int) + mg
    noise_of_byte = np.round(_GAUSS_QUANTILES * scene.noise_sigma).astype(np.int16)
    for i in range(n):
        frame = scene.texture[off_y[i]:off_y[i] + h, off_x[i]:off_x[i] + w].copy()
        # The camera shakes the object with the background; the pan is the background's own drift.
        ox, oy = shake[i]
        for polygon, colour in scene.parts:
            _fill(frame, polygon, colour, track.x[i] + ox, track.y[i] + oy, track.radius[i], track.angle[i])
        if scene.distractor is not None and distractor is not None:
            polygon, colour, radius = scene.distractor
            _fill(frame, polygon, colour, distractor[i, 0] + ox, distractor[i, 1] + oy, radius, t[i])
        noise = noise_of_byte[np.frombuffer(rng.bytes(h * w * 3), np.uint8).reshape(h, w, 3)]
        yield np.clip(frame + noise, 0, 255).astype(np.uint8)


def render_clip(class_name: str | None, rng: np.random.Generator, height: int, width: int,
                num_frames: int, fps: float, object_size: tuple[float, float] = (0.1, 0.17)) -> np.ndarray:
    """One clip of `class_name` (None: no action, an idly drifting object) as uint8 (T, H, W, 3)."""
    scene = make_scene(rng, height, width, object_size)
    track = make_track(class_name, rng, scene, num_frames, fps)
    distractor = _distractor_track(rng, scene, num_frames, fps) if scene.distractor else None
    return np.stack(list(draw_frames(scene, track, rng, 0, fps, distractor)))


def write_long_video(path: str | os.PathLike, schedule: Sequence[tuple[str | None, float]],
                     size: Size = (240, 320), fps: float = 25.0, seed: int = 0,
                     codec: str | None = None, object_size: tuple[float, float] = (0.1, 0.17)) -> list[dict]:
    """Write one video that plays `schedule` [(class or None, seconds), ...] in one continuous scene.

    Returns the ground truth, one dict per schedule item: label (class or None), start_sec, end_sec,
    start_frame, end_frame (end exclusive). Frame counts come from rounding cumulative times, so
    the segments tile the video exactly."""
    if not schedule:
        raise MotionlensError("empty schedule")
    for name, seconds in schedule:
        if name is not None and name not in CLASSES:
            raise MotionlensError(f"unknown synthetic class '{name}'; expected one of {', '.join(CLASSES)}")
        if not seconds > 0:
            raise MotionlensError(f"segment length must be positive, got {seconds} for {name}")
    rng = np.random.default_rng([seed, 7919])
    height, width = size
    scene = make_scene(rng, height, width, object_size)
    bounds = np.round(np.cumsum([0.0] + [s for _, s in schedule]) * fps).astype(int)
    distractor = _distractor_track(rng, scene, int(bounds[-1]), fps) if scene.distractor else None
    segments = []
    with VideoWriter(path, fps, codec=codec, deterministic=True) as writer:
        for (name, _), start, end in zip(schedule, bounds[:-1], bounds[1:]):
            if end > start:
                track = make_track(name, rng, scene, end - start, fps)
                part = distractor[start:end] if distractor is not None else None
                for frame in draw_frames(scene, track, rng, start, fps, part):
                    writer.write(frame)
            start, end = int(start), int(end)
            segments.append({"label": name, "start_sec": start / fps, "end_sec": end / fps,
                             "start_frame": start, "end_frame": end})
    return segments


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
    out = Path(out)
    _prepare_out(out, overwrite)
    motions = list(classes) if classes is not None else list(CLASSES[:num_classes])
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
                             tuple(object_size)))
            rows.append((motion, name, splits[k], {"rel": rel, **extra}))

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
