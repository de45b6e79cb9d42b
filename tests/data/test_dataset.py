"""The index, the dataset and `describe` on files made by ffmpeg (tests/assets): frame counts the
decoders agree with, clips in display order, truncation named, damage under a threshold."""

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from motionlens.data.dataset import VideoClipDataset, rgb_decoder
from motionlens.data.index import build_index
from motionlens.data.samplers import Span, UniformClipSampler
from motionlens.dataprep.describe import describe
from motionlens.core.errors import MotionlensError, VideoError
from motionlens.video import count_frames, read_frames

ASSETS = Path(__file__).parents[1] / "assets"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("real") / "data"
    for name, label in (("xvid_bf.avi", "a"), ("cinepak_vfr.avi", "a"), ("vfr_mpdecimate.avi", "b"),
                        ("h264_bf_editlist.mp4", "b"), ("truncated.avi", "b")):
        (root / label).mkdir(parents=True, exist_ok=True)
        shutil.copy(ASSETS / name, root / label / name)
    return root


def test_index_counts_what_the_decoders_give(root):
    index = build_index(f"folder:{root}", cache=False)
    assert len(index) == 5 and not index.failures
    for record in index.records:
        assert record.num_frames == count_frames(record.path) and not record.frames_estimated
    counts = {Path(r.path).name: r.num_frames for r in index.records}
    assert counts == {"xvid_bf.avi": 73, "cinepak_vfr.avi": 33, "vfr_mpdecimate.avi": 33,
                      "h264_bf_editlist.mp4": 62, "truncated.avi": 8}  # headers: 75, 61, 61, 75, 100


def test_dataset_clips_are_the_sequential_frames(root):
    index = build_index(f"folder:{root}")
    sampler = UniformClipSampler(clip_len=8, num_clips=3)
    seen = []
    dataset = VideoClipDataset(index, sampler, transform=lambda x: (seen.append(x), torch.zeros(3, 1, 1, 1))[1])
    for i, record in enumerate(index.records):
        seen.clear()
        sample = dataset[i]
        assert sample["failures"] == 0
        clips = sampler(Span.of(record))
        for clip, frames in zip(clips, seen):
            np.testing.assert_array_equal(frames, read_frames(record.path, list(clip.indices)))


def test_describe_names_the_truncated_file(root, tmp_path):
    index = build_index(f"folder:{root}")
    summary = describe(index, tmp_path / "out", thumbs_per_class=1)
    problems = dict(summary["decode_problems"])
    assert list(problems) == [str(root / "b" / "truncated.avi")]
    assert problems[str(root / "b" / "truncated.avi")].startswith("decoded 8 of 100 frames")


def _zero_chunk(src: Path, dst: Path, chunk: int) -> Path:
    data = bytearray(src.read_bytes())
    movi = data.index(b"movi")
    pos = [i for i in range(movi, len(data) - 4) if data[i:i + 4] == b"00dc"][chunk]
    size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
    data[pos + 8:pos + 8 + size] = bytes(size)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(bytes(data))
    return dst


def test_damaged_clips_are_used_or_dropped_by_the_threshold(tmp_path):
    path = _zero_chunk(ASSETS / "vfr_mpdecimate.avi", tmp_path / "data" / "a" / "zeroed.avi", 10)
    index = build_index(f"folder:{tmp_path / 'data'}", cache=False)
    record = index.records[0]
    frames = rgb_decoder(max_damaged_fraction=0.25)(record, list(range(8, 16)))  # 1 of 8 damaged: kept
    assert frames.shape == (8, 64, 96, 3)
    np.testing.assert_array_equal(frames[2], frames[1])  # frame 10 holds frame 9
    with pytest.raises(VideoError, match=r"zeroed\.avi: 1 of 8 frames of the clip damaged"):
        rgb_decoder(max_damaged_fraction=0.1)(record, list(range(8, 16)))
    rgb_decoder(max_damaged_fraction=0.0)(record, list(range(16, 24)))  # clean clips of it still load
    dataset = VideoClipDataset(index, UniformClipSampler(clip_len=33, num_clips=1), lambda x: torch.zeros(1),
                               decoder=rgb_decoder(max_damaged_fraction=0.0), max_retries=2)
    with pytest.raises(MotionlensError, match="undecodable"):
        dataset[0]  # its only video is dropped every time
    assert str(path) in dataset._reported
