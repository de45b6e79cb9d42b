"""Person boxes: the user-function interface and its checks, HOG where OpenCV has it, IoU tracking."""

import cv2
import numpy as np
import pytest

from motionlens.core.errors import MotionlensError
from motionlens.detect.persons import HogPersonDetector, check_boxes, iou_matrix, load_person_detector, track_boxes
from motionlens.video import read_frames


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


# the people in vtest.avi's first frame, x1, y1, x2, y2 normalised, read off the frame by eye
VTEST_FRAME0_PEOPLE = {"left": (0.33, 0.38, 0.37, 0.53), "right": (0.83, 0.42, 0.89, 0.56),
                       "far": (0.65, 0.27, 0.69, 0.40)}


def covered(person, box) -> float:
    """The share of `person`'s area inside `box` (HOG boxes are padded, so IoU would be low)."""
    w = max(0.0, min(person[2], box[2]) - max(person[0], box[0]))
    h = max(0.0, min(person[3], box[3]) - max(person[1], box[1]))
    return w * h / ((person[2] - person[0]) * (person[3] - person[1]))


@pytest.mark.skipif(not hasattr(cv2, "HOGDescriptor"), reason="OpenCV 5 has no HOG people detector")
def test_hog_finds_the_pedestrians_of_a_real_cctv_frame(vtest_avi):
    frame = read_frames(vtest_avi, [0])[0]
    boxes = HogPersonDetector()(frame)
    assert boxes.shape[1] == 5 and len(boxes) >= 2, boxes
    for name in ("left", "right"):  # the two in the open; the far one, small and by a post, may be missed
        assert max(covered(VTEST_FRAME0_PEOPLE[name], b) for b in boxes) > 0.8, (name, boxes)
    for box in boxes:  # and nothing on the grass, the lamp post or the tripod
        assert max(covered(p, box) for p in VTEST_FRAME0_PEOPLE.values()) > 0.8, box
    assert (boxes[:, 3] - boxes[:, 1]).max() < 0.5  # pedestrian-sized, not the whole frame


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


def test_iou_of_x1y1x2y2_boxes_partial_and_empty():
    a, b = np.array([[0.0, 0.0, 0.2, 0.4]]), np.array([[0.1, 0.0, 0.3, 0.2], [0.5, 0.5, 0.5, 0.5]])
    # overlap 0.1 x 0.2 = 0.02; union 0.08 + 0.04 - 0.02 = 0.10
    assert iou_matrix(a, b) == pytest.approx(np.array([[0.2, 0.0]]))
    assert iou_matrix(b[1:], b[1:])[0, 0] == 0.0  # two empty boxes: 0, not NaN
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 2)
