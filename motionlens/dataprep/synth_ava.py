"""Synthetic AVA: scenes of 2-3 actors (boxes), each doing one or more actions at once, written as
real videos with AVA annotation CSVs, a label map and person-box CSVs, so a detector's learning
can be asserted in seconds.

An actor is a filled rectangle (its box, fixed for the video) holding a square. Its actions, drawn
anew for every second:
`move_left` / `move_right` (the square slides across the box, wrapping around), `flash` (the
body's brightness alternates every two frames) and `bounce` (the square moves up and down). Left
and right exclude each other; the others combine freely. Only motion tells the actions apart: a
single frame shows a square somewhere in a box of some brightness. Keyframes are every whole
second from 1 s to the end minus 1 s, and timestamps are seconds of the file (`--time-offset 0`).

Layout: OUT/videos/<video_id>.mp4, OUT/annotations/{train,val}.csv (AVA rows with person ids),
OUT/annotations/labelmap.pbtxt, OUT/annotations/{train,val}_person_boxes.csv.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.errors import MotionlensError
from ..video import write_video
from .ava_csv import AvaRow, PersonBox, write_ava_csv, write_labelmap, write_person_boxes

ACTIONS = {1: "move_left", 2: "move_right", 3: "flash", 4: "bounce"}


@dataclass(frozen=True)
class Actor:
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels, exclusive end
    actions: tuple[tuple[int, ...], ...]  # per second of video: what the actor does around keyframe k
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class SynthAva:
    root: Path
    videos: list[str]
    train_csv: Path
    val_csv: Path
    labelmap: Path
    val_boxes: Path


def _actions(rng: np.random.Generator, num_actions: int) -> tuple[int, ...]:
    chosen = []
    direction = rng.choice([0, 1, 2], p=[0.2, 0.4, 0.4])
    if direction:
        chosen.append(int(direction))
    chosen += [a for a in range(3, num_actions + 1) if rng.random() < 0.4]
    if not chosen:
        chosen.append(int(rng.integers(1, num_actions + 1)))
    return tuple(sorted(chosen))


def make_actors(rng: np.random.Generator, height: int, width: int, num_actions: int, duration: int) -> list[Actor]:
    """2-3 actors side by side, each in its own slot of the frame's width, with new actions every second."""
    count = int(rng.integers(2, 4))
    slot = width // count
    actors = []
    for k in range(count):
        w = int(rng.integers(int(slot * 0.6), int(slot * 0.9) + 1))
        h = int(rng.integers(int(height * 0.5), int(height * 0.85) + 1))
        x1 = k * slot + int(rng.integers(0, slot - w + 1))
        y1 = int(rng.integers(0, height - h + 1))
        colour = tuple(int(c) for c in rng.integers(60, 180, 3))
        actions = tuple(_actions(rng, num_actions) for _ in range(duration + 1))
        actors.append(Actor((x1, y1, x1 + w, y1 + h), actions, colour))
    return actors


def render(actors: list[Actor], rng: np.random.Generator, height: int, width: int, num_frames: int,
           fps: float) -> np.ndarray:
    """uint8 (T, H, W, 3) frames of the actors over a noisy textured background; the actions of
    keyframe k (second k) fill the frames from k - 0.5 s to k + 0.5 s."""
    background = rng.integers(0, 50, (height, width, 3)).astype(np.int16)
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    phases = rng.uniform(0, 1, (len(actors), 2))
    for t in range(num_frames):
        frame = background + rng.integers(-8, 9, (height, width, 1))
        for actor, (px, py) in zip(actors, phases):
            x1, y1, x2, y2 = actor.box
            actions = actor.actions[int(t / fps + 0.5)]
            bright = 70 if 3 in actions and (t // 2) % 2 else 0
            frame[y1:y2, x1:x2] = np.asarray(actor.colour) + bright
            side = max(4, min(x2 - x1, y2 - y1) // 2)
            span_x, span_y = x2 - x1 - side, y2 - y1 - side
            sx = px * span_x
            if 1 in actions or 2 in actions:
                sx = (px * span_x + (3 if 2 in actions else -3) * t) % max(span_x, 1)
            sy = span_y / 2 + (span_y / 2 * np.sin(t * 0.8 + py * 6) if 4 in actions else 0)
            ix, iy = x1 + int(sx), y1 + int(round(sy))
            frame[iy:iy + side, ix:ix + side] = 250
        frames[t] = np.clip(frame, 0, 255)
    return frames


def _rows(video_id: str, actors: list[Actor], height: int, width: int, duration: int) -> list[AvaRow]:
    rows = []
    for second in range(1, duration):
        for person, actor in enumerate(actors):
            x1, y1, x2, y2 = actor.box
            box = (round(x1 / width, 3), round(y1 / height, 3), round(x2 / width, 3), round(y2 / height, 3))
            rows += [AvaRow(video_id, float(second), box, a, person) for a in actor.actions[second]]
    return rows


def synthesize_ava(out: str | os.PathLike, num_videos: int = 24, size: tuple[int, int] = (64, 96),
                   fps: float = 8.0, duration: int = 6, num_actions: int = 4, val_share: float = 0.25,
                   seed: int = 0, progress: Callable[[int, int], None] | None = None) -> SynthAva:
    """Write the synthetic AVA set to `out` (see the module docstring); seeded per video."""
    if not 1 <= num_actions <= len(ACTIONS):
        raise MotionlensError(f"synthetic AVA has {len(ACTIONS)} actions, asked for {num_actions}")
    root = Path(out)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    height, width = size
    num_val = max(1, int(round(num_videos * val_share)))
    rows: dict[str, list[AvaRow]] = {"train": [], "val": []}
    names = []
    for k in range(num_videos):
        rng = np.random.default_rng([seed, k])
        video_id = f"synth{k:04d}"
        actors = make_actors(rng, height, width, num_actions, duration)
        frames = render(actors, rng, height, width, int(duration * fps), fps)
        write_video(root / "videos" / f"{video_id}.mp4", frames, fps)
        rows["val" if k >= num_videos - num_val else "train"] += _rows(video_id, actors, height, width, duration)
        names.append(video_id)
        if progress is not None:
            progress(k + 1, num_videos)
    paths = {}
    for split, split_rows in rows.items():
        paths[split] = write_ava_csv(root / "annotations" / f"{split}.csv", split_rows)
        boxes = {(r.video_id, r.timestamp, r.box): PersonBox(r.video_id, r.timestamp, r.box, 1.0) for r in split_rows}
        write_person_boxes(root / "annotations" / f"{split}_person_boxes.csv", boxes.values())
    labelmap = write_labelmap(root / "annotations" / "labelmap.pbtxt",
                              {i: n for i, n in ACTIONS.items() if i <= num_actions})
    return SynthAva(root, names, paths["train"], paths["val"], labelmap, root / "annotations" / "val_person_boxes.csv")
