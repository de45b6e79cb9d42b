"""The synthetic motions: a vocabulary of classes and the rendering of clips and long videos.

Every class is a motion of one object over a drifting, textured, noisy background, and classes
come in pairs that only motion tells apart (left/right, clockwise/anticlockwise, approach/recede,
swing/slide once, up/down, and the four diagonals as two mirrored pairs). Everything a single
frame shows (position, size, orientation, shape, colour) is drawn from the same distribution for
both classes of a pair, so a frame classifier is at chance within a pair while a model that sees
time is not.

A video is a `Scene` (its class-independent look, `make_scene`) plus one `Track` per class
segment (`make_track`), drawn by `draw_frames`; `render_clip` and `write_long_video` put them
together. Layouts of whole datasets are in `synth`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from statistics import NormalDist
from typing import Sequence

import cv2
import numpy as np

from ..core.errors import MotionlensError
from ..video import VideoWriter

CLASSES = ("move_left", "move_right", "rotate_cw", "rotate_ccw", "approach", "recede", "swing", "slide_once",
           "move_up", "move_down", "move_up_left", "move_up_right", "move_down_left", "move_down_right")
# Screen direction (x right, y down) of the straight-line classes other than left/right. A diagonal
# is the sum of two cardinal motions, so a model that knows those has its features already (the
# fine-tune test relies on this).
DIRECTIONS = {"move_up": (0, -1), "move_down": (0, 1), "move_up_left": (-1, -1), "move_up_right": (1, -1),
               "move_down_left": (-1, 1), "move_down_right": (1, 1)}

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
    elif class_name in DIRECTIONS:
        # As left/right: the travel along each moving axis is drawn once per video, and the drift
        # is damped, so direction is the only class cue.
        ux, uy = DIRECTIONS[class_name]
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


def distractor_track(rng: np.random.Generator, scene: Scene, num_frames: int,
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
    distractor = distractor_track(rng, scene, num_frames, fps) if scene.distractor else None
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
    distractor = distractor_track(rng, scene, int(bounds[-1]), fps) if scene.distractor else None
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
