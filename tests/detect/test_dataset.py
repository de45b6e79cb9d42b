"""AVA keyframes as samples: grouping rows into people with multi-hot labels, centred clips, collate."""

import numpy as np
import torch

from motionlens.dataprep.ava_csv import AvaRow
from motionlens.dataprep.synth_ava import synthesize_ava
from motionlens.detect.ava_files import read_annotations
from motionlens.detect.dataset import AvaDetectionDataset, build_keyframes, clip_indices, collate


def test_rows_group_into_people_with_multi_hot_labels():
    box_a, box_b = (0.1, 0.1, 0.4, 0.9), (0.5, 0.1, 0.9, 0.9)
    rows = [AvaRow("v", 902.0, box_a, 3, 0), AvaRow("v", 902.0, box_a, 1, 0), AvaRow("v", 902.0, box_b, 3, 1),
            AvaRow("v", 903.0, box_a, 7, 0), AvaRow("v", 903.0, box_b, 1, None)]
    keyframes = build_keyframes(rows, [1, 3])  # action 7 is not learned
    assert [(k.video_id, k.timestamp) for k in keyframes] == [("v", 902.0), ("v", 903.0)]
    np.testing.assert_array_equal(keyframes[0].labels, [[1, 1], [0, 1]])
    np.testing.assert_allclose(keyframes[0].boxes, [box_a, box_b])
    np.testing.assert_array_equal(keyframes[1].labels, [[1, 0]])


def test_clip_indices_centre_and_clamp():
    times = np.arange(20) / 10.0
    assert clip_indices(times, 1.0, 4, 2) == [6, 8, 10, 12]
    assert clip_indices(times, 0.0, 4, 1) == [0, 0, 0, 1]
    assert clip_indices(times, 1.95, 3, 1) == [18, 19, 19]


def test_dataset_samples_and_collate(tmp_path):
    data = synthesize_ava(tmp_path, num_videos=2, size=(48, 72), fps=8, duration=3)
    rows = read_annotations(data.train_csv, [])
    dataset = AvaDetectionDataset(build_keyframes(rows, [1, 2, 3, 4]), data.root / "videos", 4, 2, 32,
                                  (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    assert len(dataset) == 2  # keyframes at 1 s and 2 s of the training video
    sample = dataset[0]
    assert sample["video"].shape == (3, 4, 32, 32) and sample["video"].dtype == torch.float32
    assert -2.01 <= float(sample["video"].min()) and float(sample["video"].max()) <= 2.01
    batch = collate([dataset[0], dataset[1]])
    people = len(sample["boxes"])
    assert batch["video"].shape == (2, 3, 4, 32, 32) and batch["boxes"].shape == (2 * people, 5)
    assert batch["boxes"][:, 0].tolist() == [0.0] * people + [1.0] * people
    assert batch["labels"].shape == (2 * people, 4) and (batch["labels"].sum(1) >= 1).all()


def test_keyframes_of_missing_videos_are_left_out(tmp_path):
    import pytest

    from motionlens.core.errors import MotionlensError

    data = synthesize_ava(tmp_path, num_videos=2, size=(48, 72), fps=8, duration=3)
    rows = read_annotations(data.train_csv, []) + [AvaRow("gone", 1.0, (0.1, 0.1, 0.5, 0.5), 1, 0)]
    dataset = AvaDetectionDataset(build_keyframes(rows, [1, 2, 3, 4]), data.root / "videos", 4, 1, 32, (0.5,) * 3,
                                  (0.25,) * 3)
    assert dataset.missing == ["gone"] and len(dataset) == 2
    with pytest.raises(MotionlensError, match="none of the 1 videos"):
        AvaDetectionDataset(build_keyframes(rows[-1:], [1]), data.root / "videos", 4, 1, 32, (0.5,) * 3, (0.25,) * 3)
