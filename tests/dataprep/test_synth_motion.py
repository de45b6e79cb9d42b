"""Synthetic motions: seeded rendering, long videos that tile their schedule, and that a single
frame tells the paired classes nothing while their motion does."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from motionlens.core.errors import MotionlensError
from motionlens.dataprep.synth_motion import (CLASSES, DIRECTIONS, draw_frames, make_scene, make_track, render_clip,
                                              write_long_video)
from motionlens.video import count_frames, probe


def test_render_clip_is_seeded_and_background_only_works():
    a = render_clip("rotate_cw", np.random.default_rng(5), 48, 64, 12, 25.0)
    b = render_clip("rotate_cw", np.random.default_rng(5), 48, 64, 12, 25.0)
    assert a.dtype == np.uint8 and a.shape == (12, 48, 64, 3) and np.array_equal(a, b)
    idle = render_clip(None, np.random.default_rng(5), 48, 64, 12, 25.0)
    assert idle.shape == a.shape and not np.array_equal(idle, a)
    with pytest.raises(MotionlensError):
        render_clip("juggle", np.random.default_rng(0), 48, 64, 12, 25.0)


def _tracks(name: str, n: int = 400, frames: int = 20, size=(60, 80)):
    out = []
    for k in range(n):
        rng = np.random.default_rng([11, CLASSES.index(name), k])
        out.append(make_track(name, rng, make_scene(rng, *size), frames, 25.0))
    return out


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Largest gap between the two empirical distribution functions."""
    grid = np.sort(np.concatenate([a, b]))
    return float(np.max(np.abs(np.searchsorted(np.sort(a), grid, "right") / len(a)
                                - np.searchsorted(np.sort(b), grid, "right") / len(b))))


def _same_mean(per_clip_a: np.ndarray, per_clip_b: np.ndarray) -> bool:
    """Means equal within 4 standard errors (clips are the independent units, not frames)."""
    se = np.sqrt(per_clip_a.var() / len(per_clip_a) + per_clip_b.var() / len(per_clip_b))
    return abs(per_clip_a.mean() - per_clip_b.mean()) < 4 * se


def test_left_and_right_share_positions_but_move_oppositely():
    left, right = _tracks("move_left"), _tracks("move_right")
    assert _same_mean(np.array([t.x.mean() for t in left]), np.array([t.x.mean() for t in right]))
    # KS critical value for 400 independent clips at p=0.001 is 0.14; frames only add samples.
    assert _ks(np.concatenate([t.x for t in left]), np.concatenate([t.x for t in right])) < 0.1
    step_left = np.array([np.diff(t.x).mean() for t in left])
    step_right = np.array([np.diff(t.x).mean() for t in right])
    assert (step_left < -0.5).all() and (step_right > 0.5).all()


@pytest.mark.parametrize("pair, axis", [(("move_up", "move_down"), "y"), (("move_up_left", "move_up_right"), "x"),
                                         (("move_down_left", "move_down_right"), "x")])
def test_vertical_and_diagonal_pairs_share_positions_but_move_as_named(pair, axis):
    tracks = {name: _tracks(name, n=200) for name in pair}
    positions = [np.concatenate([getattr(t, axis) for t in tracks[name]]) for name in pair]
    assert _ks(*positions) < 0.1  # a frame does not tell the pair apart
    for name in pair:
        ux, uy = DIRECTIONS[name]
        step_x = np.array([np.diff(t.x).mean() for t in tracks[name]])
        step_y = np.array([np.diff(t.y).mean() for t in tracks[name]])
        for unit, step in ((ux, step_x), (uy, step_y)):
            if unit:
                assert (np.sign(step) == unit).all() and (np.abs(step) > 0.3).all(), name
            else:
                assert np.abs(step).max() < 0.2, name  # only the damped drift across the motion


def test_approach_and_recede_share_sizes_but_change_size_oppositely():
    near, far = _tracks("approach"), _tracks("recede")
    assert _same_mean(np.array([t.radius.mean() for t in near]), np.array([t.radius.mean() for t in far]))
    assert _ks(np.concatenate([t.radius for t in near]), np.concatenate([t.radius for t in far])) < 0.1
    assert all(t.radius[-1] > t.radius[0] * 1.5 for t in near) and all(t.radius[-1] < t.radius[0] / 1.5 for t in far)


def test_rotations_show_every_orientation_and_turn_oppositely():
    cw, ccw = _tracks("rotate_cw"), _tracks("rotate_ccw")
    for tracks in (cw, ccw):
        angle = np.concatenate([t.angle for t in tracks])
        # Mean resultant length of uniform angles over 400 clips is ~0.04; a fixed start would give ~1.
        assert abs(np.exp(1j * angle).mean()) < 0.15
    assert all(np.diff(t.angle).min() > 0 for t in cw) and all(np.diff(t.angle).max() < 0 for t in ccw)


def test_rendered_frames_put_the_object_where_its_track_says():
    """Column centroid of the drawn object on a flat, noiseless scene follows the track; over many
    clips its mean is the same for left and right while its drift has opposite signs."""
    centroids, drifts = {}, {}
    for name in ("move_left", "move_right"):
        cs, ds = [], []
        for k in range(100):
            rng = np.random.default_rng([12, CLASSES.index(name), k])
            scene = make_scene(rng, 48, 64)
            flat = replace(scene, texture=np.zeros_like(scene.texture), jitter=0.0, noise_sigma=0.0, distractor=None)
            track = make_track(name, rng, flat, 12, 25.0)
            frames = np.stack(list(draw_frames(flat, track, rng, 0, 25.0)))  # (T, H, W, 3)
            ink = frames.max(axis=3).astype(float).sum(axis=1)  # (T, W) object ink per column
            c = (ink * np.arange(64)).sum(1) / ink.sum(1)
            assert np.abs(c - track.x).max() < 3.0
            cs.append(c.mean())
            ds.append(np.diff(c).mean())
        centroids[name], drifts[name] = np.array(cs), np.array(ds)
    assert _same_mean(centroids["move_left"], centroids["move_right"])
    assert (drifts["move_left"] < 0).all() and (drifts["move_right"] > 0).all()


def test_long_video_segments_tile_the_written_file(tmp_path):
    schedule = [(None, 0.5), ("move_left", 0.62), ("rotate_cw", 0.3), (None, 0.4)]
    segments = write_long_video(tmp_path / "long.mp4", schedule, size=(48, 64), fps=25.0, seed=2)
    assert [s["label"] for s in segments] == [None, "move_left", "rotate_cw", None]
    assert segments[0]["start_frame"] == 0
    for a, b in zip(segments, segments[1:]):
        assert a["end_frame"] == b["start_frame"] and a["end_sec"] == pytest.approx(b["start_sec"])
    assert [s["end_frame"] - s["start_frame"] for s in segments] == [12, 16, 8, 10]
    assert count_frames(tmp_path / "long.mp4") == segments[-1]["end_frame"] == 46
    assert segments[-1]["end_sec"] == pytest.approx(probe(tmp_path / "long.mp4").duration, abs=0.05)
    with pytest.raises(MotionlensError):
        write_long_video(tmp_path / "bad.mp4", [("juggle", 1.0)], size=(48, 64))
