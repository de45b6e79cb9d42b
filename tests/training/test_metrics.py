import numpy as np
import pytest

from motionlens.training.metrics import confusion_matrix, mean_class_accuracy, summarize, topk_correct


def test_hand_built_case():
    # 3 videos x 2 clips, 3 classes
    probs = np.array([
        [0.7, 0.2, 0.1], [0.5, 0.4, 0.1],   # video 0, true 0: right on both clips
        [0.6, 0.3, 0.1], [0.1, 0.8, 0.1],   # video 1, true 1: clip 1 wrong, mean [0.35, 0.55, 0.1] right
        [0.5, 0.3, 0.2], [0.4, 0.4, 0.2],   # video 2, true 2: wrong; class 2 is third
    ])
    labels = np.array([0, 0, 1, 1, 2, 2])
    videos = np.array([0, 0, 1, 1, 2, 2])
    m = summarize(probs, labels, videos, num_classes=3)
    assert m["clip_top1"] == pytest.approx(3 / 6)
    assert m["video_top1"] == pytest.approx(2 / 3)
    assert m["video_top5"] == pytest.approx(1.0)
    np.testing.assert_allclose(m["video_scores"][1], [0.35, 0.55, 0.1])
    assert m["confusion"].tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 0]]
    assert m["mean_class_accuracy"] == pytest.approx(2 / 3)


def test_mean_class_accuracy_ignores_imbalance():
    labels = np.array([0] * 9 + [1])
    predicted = np.zeros(10, dtype=int)
    cm = confusion_matrix(labels, predicted, 2)
    assert mean_class_accuracy(cm) == pytest.approx(0.5)  # plain accuracy would be 0.9


def test_topk():
    scores = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4]])
    assert topk_correct(scores, np.array([2, 0]), 1).tolist() == [False, False]
    assert topk_correct(scores, np.array([2, 0]), 2).tolist() == [True, True]


def test_unlabelled_videos_are_scored_but_never_counted():
    # Kinetics' test CSVs give no labels (-1); they must not land in the last class's row.
    probs = np.array([[0.9, 0.1, 0.0], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6], [0.1, 0.2, 0.7]])
    labels = np.array([0, -1, -1, 2])
    videos = np.array([0, 1, 1, 2])
    m = summarize(probs, labels, videos, num_classes=3)
    assert m["num_videos"] == 2 and m["num_unlabeled"] == 1 and m["num_clips"] == 2
    assert m["video_top1"] == pytest.approx(1.0) and m["clip_top1"] == pytest.approx(1.0)
    assert m["confusion"].tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 1]]
    assert m["mean_class_accuracy"] == pytest.approx(1.0)
    assert m["video_ids"].tolist() == [0, 1, 2] and m["video_labels"].tolist() == [0, -1, 2]


def test_only_unlabelled_videos_give_no_figures():
    m = summarize(np.array([[0.3, 0.7]]), np.array([-1]), np.array([0]), num_classes=2)
    assert m["num_videos"] == 0 and m["num_unlabeled"] == 1
    assert np.isnan(m["video_top1"]) and m["confusion"].sum() == 0
