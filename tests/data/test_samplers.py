import numpy as np
import pytest

from motionlens.data.samplers import (
    RandomClipSampler,
    SlidingWindows,
    Span,
    TSNSampler,
    UniformClipSampler,
    clip_offsets,
    make_sampler,
)


def test_random_clip_stays_inside_and_has_stride():
    sampler = RandomClipSampler(clip_len=8, frame_stride=2)
    rng = np.random.default_rng(0)
    for _ in range(50):
        (clip,) = sampler(Span(first=10, num_frames=40, fps=25), rng)
        assert len(clip.indices) == 8
        assert all(b - a == 2 for a, b in zip(clip.indices, clip.indices[1:]))
        assert 10 <= clip.indices[0] and clip.indices[-1] <= 49


def test_random_clip_draws_every_valid_start_including_the_last():
    sampler = RandomClipSampler(clip_len=16)
    rng = np.random.default_rng(0)
    starts = {sampler(Span(first=0, num_frames=17, fps=25), rng)[0].start for _ in range(200)}
    assert starts == {0, 1}
    strided = RandomClipSampler(clip_len=4, frame_stride=3)  # spans 10 frames: starts 0..3 in 13 frames
    clips = [strided(Span(first=5, num_frames=13, fps=25), rng)[0] for _ in range(200)]
    assert {c.start for c in clips} == {5, 6, 7, 8}
    assert max(c.indices[-1] for c in clips) == 17  # the video's last frame, never past it


def test_short_video_is_looped():
    (clip,) = UniformClipSampler(clip_len=6, num_clips=1)(Span(0, 4, 25))
    assert clip.indices == (0, 1, 2, 3, 0, 1)


def test_uniform_clips_span_the_video():
    clips = UniformClipSampler(clip_len=4, num_clips=3)(Span(0, 100, 25))
    assert [c.indices[0] for c in clips] == [0, 48, 96]
    assert [c.clip_index for c in clips] == [0, 1, 2]


def test_tsn_segments():
    sampler = TSNSampler(clip_len=4)
    (clip,) = sampler(Span(0, 40, 25))
    assert clip.indices == (5, 15, 25, 35)  # segment centres in testing
    sampler.random = True
    (clip,) = sampler(Span(0, 40, 25), np.random.default_rng(0))
    assert all(10 * k <= i < 10 * (k + 1) for k, i in enumerate(clip.indices))


def slide(offsets, window_stride, num_frames, finish=True):
    """Push frames numbered 0..num_frames-1 (the frame is its number); the windows, as (index of the
    push that returned it or "finish", window)."""
    windows = SlidingWindows(offsets, window_stride)
    got = [(i, w) for i in range(num_frames) for w in windows.push(i)]
    got += [("finish", w) for w in windows.finish()] if finish else []
    assert windows.max_buffered <= windows.span  # never more than one window span held
    for _, w in got:
        assert w.frames == w.indices  # each window carries its own frames
    return got


def test_sliding_windows_hand_computed():
    # 8 consecutive frames every 5 frames over 30: starts 0..20, then 25 would need frame 32, so
    # `finish` adds the window aligned to the last frame (start 22)
    got = slide(range(8), 5, 30)
    assert [(when, w.start, w.end) for when, w in got] == [
        (7, 0, 7), (12, 5, 12), (17, 10, 17), (22, 15, 22), (27, 20, 27), ("finish", 22, 29)]
    assert got[-1][1].indices == tuple(range(22, 30))
    # the regular windows end exactly on the last frame: no tail window
    got = slide(range(16), 8, 24)
    assert [(w.start, w.end) for _, w in got] == [(0, 15), (8, 23)]
    # frame_stride 3: offsets 0, 3, 6, 9 (span 10); 23 frames, window_stride 7: starts 0, 7, tail 13
    got = slide(clip_offsets(4, 3.0), 7, 23)
    assert [w.indices for _, w in got] == [(0, 3, 6, 9), (7, 10, 13, 16), (13, 16, 19, 22)]
    # a window_stride longer than the video: one regular window and the tail
    got = slide(range(5), 100, 50)
    assert [w.indices for _, w in got] == [(0, 1, 2, 3, 4), (45, 46, 47, 48, 49)]


def test_sliding_windows_short_video_loops_and_empty_gives_none():
    got = slide(range(16), 8, 9)
    assert len(got) == 1 and got[0][0] == "finish"
    (_, w), = got
    assert w.start == 0 and w.end == 8
    assert w.indices == (0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4, 5, 6)  # looped, as ClipSampler.make does
    assert slide(range(16), 8, 0) == []


def test_sliding_windows_on_resampled_sources():
    # a 50 fps source sampled at 25 fps: every other frame
    got = slide(clip_offsets(4, 50 / 25), 6, 30)
    assert got[0][1].indices == (0, 2, 4, 6)
    assert got[-1][1].indices == (23, 25, 27, 29)  # aligned to the last frame
    # 30 fps at 20 fps: step 1.5, offsets floor(0, 1.5, 3, 4.5) = 0, 1, 3, 4 (span 5). Starts 0, 6,
    # 12; 18 would need frame 22; the tail starts at 20 - 5 = 15 and reads the last frame, 19.
    got = slide(clip_offsets(4, 30 / 20), 6, 20)
    assert [w.indices for _, w in got] == [(0, 1, 3, 4), (6, 7, 9, 10), (12, 13, 15, 16), (15, 16, 18, 19)]
    assert [w.end for _, w in got] == [4, 10, 16, 19]
    # PyTorchVideo's even spread (X3D: 4 frames over 40): 50 frames, window_stride 37
    got = slide([0, 13, 26, 39], 37, 50)
    assert [w.indices for _, w in got] == [(0, 13, 26, 39), (10, 23, 36, 49)]


def test_sliding_windows_restart_after_a_gap():
    windows = SlidingWindows(range(4), 2)
    got = [w for i in range(7) for w in windows.push(i)]
    assert [w.indices for w in got] == [(0, 1, 2, 3), (2, 3, 4, 5)]
    windows.restart()  # what was held is dropped: no window straddles the gap
    got = [w for i in range(100, 106) for w in windows.push(i)]
    assert [w.frames for w in got] == [(100, 101, 102, 103), (102, 103, 104, 105)]
    assert [w.start for w in got] == [0, 2]  # numbered from the restart


def test_sliding_windows_reject_bad_geometry():
    for offsets, stride in (([], 4), ([0, 2, 1], 4), ([0, 1], 0)):
        with pytest.raises(ValueError):
            SlidingWindows(offsets, stride)


def test_make_sampler_rejects_unknown():
    from motionlens.core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown sampler 'nope'"):
        make_sampler("nope", 8)
    for gone in ("first", "sliding"):  # sliding windows are SlidingWindows', planned by the InputSpec
        with pytest.raises(ConfigError):
            make_sampler(gone, 8)
