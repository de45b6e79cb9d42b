import numpy as np

from motionlens.data.samplers import (
    FirstClipsSampler,
    RandomClipSampler,
    SlidingWindowSampler,
    Span,
    TSNSampler,
    UniformClipSampler,
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


def test_target_fps_makes_equal_time_spans():
    a = RandomClipSampler(clip_len=5, frame_stride=1, target_fps=10)
    (c30,) = a(Span(0, 300, 30.0), np.random.default_rng(0))
    (c10,) = a(Span(0, 100, 10.0), np.random.default_rng(0))
    assert np.diff(c30.indices).tolist() == [3, 3, 3, 3]
    assert np.diff(c10.indices).tolist() == [1, 1, 1, 1]


def test_tsn_segments():
    sampler = TSNSampler(clip_len=4)
    (clip,) = sampler(Span(0, 40, 25))
    assert clip.indices == (5, 15, 25, 35)  # segment centres in testing
    sampler.random = True
    (clip,) = sampler(Span(0, 40, 25), np.random.default_rng(0))
    assert all(10 * k <= i < 10 * (k + 1) for k, i in enumerate(clip.indices))


def test_first_clips_and_sliding_windows_cover_the_video():
    clips = FirstClipsSampler(clip_len=4, num_clips=3)(Span(0, 10, 25))
    assert [c.indices for c in clips] == [(0, 1, 2, 3), (4, 5, 6, 7)]
    windows = SlidingWindowSampler(clip_len=8, window_stride=5)(Span(0, 30, 25))
    starts = [w.indices[0] for w in windows]
    assert starts == [0, 5, 10, 15, 20, 22] and windows[-1].indices[-1] == 29


def test_make_sampler_rejects_unknown():
    import pytest

    from motionlens.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown sampler 'nope'"):
        make_sampler("nope", 8)
