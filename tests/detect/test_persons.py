"""Person boxes: the user-function interface and its checks, HOG where OpenCV has it, IoU tracking."""

import cv2
import numpy as np
import pytest

from motionlens.core.errors import MotionlensError
from motionlens.detect.persons import HogPersonDetector, check_boxes, iou_matrix, load_person_detector, track_boxes


def test_check_boxes_clips_drops_empty_and_rejects_bad_shapes():
    out = check_boxes([[-0.1, 0.2, 0.5, 1.2, 0.9], [0.5, 0.5, 0.5, 0.7, 0.8]])
    assert out.tolist() == [[0.0, 0.2, 0.5, 1.0, 0.9]]
    assert check_boxes([]).shape == (0, 5)
    with pytest.raises(MotionlensError, match=r"shape \(2, 4\)"):
        check_boxes(np.zeros((2, 4)))
    with pytest.raises(MotionlensError, match="NaN"):
        check_boxes([[0, 0, np.nan, 1, 1]])


def test_user_function_from_a_file(tmp_path):
    (tmp_path / "mine.py").write_text("import numpy as np\n"
                                      "def people(frame):\n"
                                      "    h, w = frame.shape[:2]\n"
                                      "    return np.array([[0.1, 0.1, 0.4, 0.9, float(w) / 100]])\n"
                                      "def broken(frame):\n"
                                      "    return [[1, 2, 3]]\n")
    fn = load_person_detector(f"{tmp_path / 'mine.py'}:people")
    assert fn(np.zeros((40, 50, 3), np.uint8)).tolist() == [[0.1, 0.1, 0.4, 0.9, 0.5]]
    with pytest.raises(MotionlensError, match="shape"):
        load_person_detector(f"{tmp_path / 'mine.py'}:broken")(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(MotionlensError, match="no function"):
        load_person_detector(f"{tmp_path / 'mine.py'}:absent")
    with pytest.raises(MotionlensError, match="hog, module:function"):
        load_person_detector("nonsense")


@pytest.mark.skipif(not hasattr(cv2, "HOGDescriptor"), reason="OpenCV 5 has no HOG people detector")
def test_hog_finds_a_person_shape():
    frame = np.full((256, 128, 3), 200, np.uint8)
    cv2.ellipse(frame, (64, 60), (14, 18), 0, 0, 360, (40, 40, 40), -1)  # head
    cv2.rectangle(frame, (44, 80), (84, 170), (40, 40, 40), -1)  # body
    cv2.rectangle(frame, (46, 170), (60, 240), (40, 40, 40), -1)
    cv2.rectangle(frame, (68, 170), (82, 240), (40, 40, 40), -1)
    boxes = HogPersonDetector()(frame)
    assert boxes.shape[1] == 5 and ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all()


@pytest.mark.skipif(hasattr(cv2, "HOGDescriptor"), reason="this OpenCV has HOG")
def test_hog_missing_is_one_line():
    with pytest.raises(MotionlensError, match="no HOG people detector"):
        load_person_detector("hog")


def test_tracking_keeps_ids_through_motion_gaps_and_crossings():
    a = np.array([0.1, 0.1, 0.3, 0.9])
    b = np.array([0.6, 0.1, 0.8, 0.9])
    frames = [np.stack([a, b]), np.stack([b + [0.02, 0, 0.02, 0], a + [0.03, 0, 0.03, 0]]),  # listed the other way
              np.stack([a + [0.05, 0, 0.05, 0]]),  # b missing for one keyframe
              np.stack([b + [0.04, 0, 0.04, 0], a + [0.06, 0, 0.06, 0], [0.4, 0.0, 0.5, 0.3]])]
    assert track_boxes(frames) == [[0, 1], [1, 0], [0], [1, 0, 2]]
    assert track_boxes(frames, max_gap=0)[3] == [2, 0, 3]  # b gone too long: a new id
    assert track_boxes([np.zeros((0, 5)), np.stack([a])]) == [[], [0]]
    assert iou_matrix(np.stack([a]), np.stack([a]))[0, 0] == pytest.approx(1.0)
