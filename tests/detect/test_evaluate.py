"""The AVA evaluator against hand-computed cases, and against ActivityNet's own `get_ava_performance.py`
(its AP code from the pyslowfast wheel, its reading steps written out in tests/detect/ava_official.py) on randomised CSVs."""

import csv
import json
import math

import numpy as np
import pytest

from motionlens.dataprep.ava_csv import AvaRow
from motionlens.dataprep.ava_csv import write_labelmap
from motionlens.detect.ava_files import read_annotations, read_exclusions, read_labelmap
from motionlens.detect.evaluate import average_precision, box_iou, frame_map, keyframe_boxes, match_detections
from tests.conftest import run_cli
from tests.detect.ava_official import AP_KEY, MAP_KEY, assert_agree, official_metrics, our_metrics

LABELS = {1: "bend", 2: "fall", 3: "hit", 5: "jump"}  # no id 4: gaps are allowed


def gt(video, t, box, action, person=0):
    return AvaRow(video, float(t), box, action, person)


def det(video, t, box, action, score):
    return AvaRow(video, float(t), box, action, None, score)


A = (0.1, 0.1, 0.5, 0.5)
B = (0.6, 0.1, 0.9, 0.9)


def test_perfect_detections_score_one():
    truth = [gt("v", 902, A, 1), gt("v", 902, B, 2), gt("v", 903, A, 1)]
    result = frame_map(LABELS, truth, [det(r.video_id, r.timestamp, r.box, r.action_id, 0.9) for r in truth])
    assert result.ap[1] == 1.0 and result.ap[2] == 1.0 and result.frame_map == 1.0
    assert math.isnan(result.ap[3]) and math.isnan(result.ap[5])  # no ground truth: NaN, not in the mean
    assert result.num_gt == {1: 2, 2: 1, 3: 0, 5: 0}


def test_duplicate_detection_is_a_false_positive():
    # ranks: TP (0.9), duplicate FP (0.8), TP (0.7) on the second keyframe -> P = 1, 1/2, 2/3 at R = .5, .5, 1
    truth = [gt("v", 902, A, 1), gt("v", 903, A, 1)]
    dets = [det("v", 902, A, 1, 0.9), det("v", 902, A, 1, 0.8), det("v", 903, A, 1, 0.7)]
    assert frame_map(LABELS, truth, dets).ap[1] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_duplicate_does_not_fall_back_to_the_next_best_box():
    near_a = (0.12, 0.1, 0.5, 0.5)
    truth = [gt("v", 902, A, 1), gt("v", 902, near_a, 1)]
    dets = [det("v", 902, A, 1, 0.9), det("v", 902, A, 1, 0.8)]  # both prefer A; the second is FP
    assert frame_map(LABELS, truth, dets).ap[1] == pytest.approx(0.5)


def test_unmatched_boxes_wrong_class_and_low_iou():
    truth = [gt("v", 902, A, 1), gt("v", 902, B, 2)]
    low_iou = (0.3, 0.3, 0.7, 0.7)  # IoU with A = 0.04 / 0.28
    dets = [det("v", 902, low_iou, 1, 0.9), det("v", 902, A, 1, 0.5), det("v", 902, B, 1, 0.95)]
    result = frame_map(LABELS, truth, dets)
    assert result.ap[1] == pytest.approx(1 / 3)  # FP, FP, TP: recall 1 reached at precision 1/3
    assert result.ap[2] == 0.0  # ground truth and no detection
    assert result.frame_map == pytest.approx((1 / 3 + 0) / 2)


def test_detections_on_keyframes_without_ground_truth_are_false_positives_and_exclusions_drop():
    truth = [gt("v", 902, A, 1)]
    dets = [det("v", 902, A, 1, 0.5), det("v", 950, A, 1, 0.9)]
    assert frame_map(LABELS, truth, dets).ap[1] == pytest.approx(0.5)
    assert frame_map(LABELS, truth, dets, excluded={("v", 950)}).ap[1] == 1.0
    # an excluded keyframe leaves the ground truth too
    assert frame_map(LABELS, truth + [gt("v", 904, B, 1)], dets, excluded={("v", 950), ("v", 904)}).ap[1] == 1.0


def test_whole_second_keys_actions_outside_the_map_and_degenerate_boxes():
    truth = [gt("v", 902, A, 1), gt("v", 902, B, 7)]  # 7 is not in the label map: ignored
    dets = [det("v", 902.6, A, 1, 0.4), det("v", 902, B, 7, 0.99), det("v", 902, (0.2, 0.2, 0.2, 0.6), 1, 0.9)]
    result = frame_map(LABELS, truth, dets)
    assert result.ap[1] == 1.0 and 7 not in result.ap


def test_ties_follow_numpy_default_argsort():
    # equal scores: the official ranking is np.argsort(scores)[::-1] over the concatenation
    truth = [gt("v", 902, A, 1), gt("v", 903, A, 1)]
    dets = [det("v", 902, A, 1, 0.5), det("v", 903, B, 1, 0.5), det("v", 904, A, 1, 0.5)]
    scores = np.array([0.5, 0.5, 0.5])
    tp = np.array([True, False, False])
    assert frame_map(LABELS, truth, dets).ap[1] == pytest.approx(average_precision(scores, tp, 2))
    order = np.argsort(scores)[::-1]  # [2, 1, 0]: the TP ranks last
    assert list(order) == [2, 1, 0] and average_precision(scores, tp, 2) == pytest.approx(0.5 * 1 / 3)


def test_top_50_detections_per_keyframe_over_all_actions():
    rows = [det("v", 902, A, 1 + i % 2, i / 100) for i in range(60)]
    kept = keyframe_boxes(rows, {1, 2}, 50)["v,0902"]
    assert len(kept) == 50 and min(item[0] for item in kept) == 0.1
    assert [item[0] for item in kept] == sorted((item[0] for item in kept), reverse=True)


def test_iou_and_matching_basics():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.5, 1.0]])
    assert box_iou(boxes, boxes)[0, 1] == pytest.approx(0.5)
    assert list(match_detections(boxes[1:], boxes[:1])) == [True]  # IoU exactly 0.5 counts
    assert average_precision(np.zeros(0), np.zeros(0, bool), 3) == 0.0
    assert math.isnan(average_precision(np.zeros(0), np.zeros(0, bool), 0))


# ---- against the official evaluator (tests/detect/ava_official.py), run on the same files ----

def random_csvs(tmp_path, seed):
    """Label map, ground truth, detections and exclusions with coarse coordinates and scores: ties,
    duplicates, boxes of IoU exactly 0.5, zero-size detections, unmatched boxes, an action of the map
    without ground truth (5), actions outside the map (6), detections on keyframes the ground truth lacks,
    up to 90 detections on a keyframe (the official cap is 50)."""
    rng = np.random.default_rng(seed)
    grid = np.round(np.linspace(0, 1, 11), 1)
    gt_rows, det_rows = [], []
    for video in ("vidA", "vidB"):
        for second in range(902, 902 + int(rng.integers(2, 6))):
            people = []
            for person in range(int(rng.integers(1, 4))):
                x1, y1 = rng.choice(grid[:6], 2)
                x2, y2 = x1 + rng.choice(grid[1:5]), y1 + rng.choice(grid[1:5])
                people.append((x1, y1, x2, y2))
                for action in rng.choice([1, 2, 3, 6], int(rng.integers(1, 3)), replace=False):
                    gt_rows.append((video, second, x1, y1, x2, y2, action, int(rng.integers(0, 3))))
            for _ in range(int(rng.integers(0, 91))):
                if rng.random() < 0.6:
                    x1, y1, x2, y2 = people[rng.integers(len(people))]
                    x1 = min(x2, max(0.0, round(x1 + rng.choice([-0.1, 0, 0.1]), 1)))  # IoU around 0.5
                else:
                    (x1, x2), (y1, y2) = np.sort(rng.choice(grid, 2)), np.sort(rng.choice(grid, 2))
                t = second + (1000 if rng.random() < 0.05 else 0)
                score = round(float(rng.choice([0.1, 0.5, 0.9, rng.random()])), 2)
                det_rows.append((video, "%04d" % t, x1, y1, x2, y2, int(rng.choice([1, 2, 3, 5, 6])), score))
    for name, rows in (("gt.csv", gt_rows), ("det.csv", det_rows), ("ex.csv", [("vidA", "0903"), ("vidB", "0950")])):
        with open(tmp_path / name, "w", newline="") as f:
            csv.writer(f).writerows(rows)
    labelmap = write_labelmap(tmp_path / "map.pbtxt", LABELS)
    return labelmap, tmp_path / "gt.csv", tmp_path / "det.csv", tmp_path / "ex.csv"


@pytest.mark.parametrize("seed", range(40))
def test_agrees_with_the_official_evaluator_on_random_csvs(tmp_path, seed):
    labelmap, gt_path, det_path, ex_path = random_csvs(tmp_path, seed)
    exclusions = ex_path if seed % 3 == 0 else None
    official = official_metrics(labelmap, gt_path, det_path, exclusions)
    assert math.isnan(official[AP_KEY + "jump"])  # an action of the map without ground truth
    assert_agree(official, our_metrics(labelmap, gt_path, det_path, exclusions))


def test_random_csvs_exercise_the_cap_and_the_ties(tmp_path):
    counts, scores = [], []
    for seed in range(40):
        _, _, det_path, _ = random_csvs(tmp_path, seed)
        rows = read_annotations(det_path, [], scored=True)
        keys = [(r.video_id, int(r.timestamp)) for r in rows]
        counts += [keys.count(k) for k in set(keys)]
        scores += [r.score for r in rows]
    assert max(counts) > 50 and len(scores) > 2 * len(set(scores))


def test_cli_eval_prints_and_writes_json(tmp_path):
    labelmap, gt_path, det_path, ex_path = random_csvs(tmp_path, 7)
    assert read_labelmap(labelmap) == LABELS
    assert read_exclusions(ex_path, []) == {("vidA", 903), ("vidB", 950)}
    proc = run_cli("ava", "eval", "--labelmap", labelmap, "--groundtruth", gt_path, "--detections", det_path,
                   "--exclusions", ex_path, "--json", tmp_path / "out.json")
    assert proc.returncode == 0, proc.stderr
    expected = official_metrics(labelmap, gt_path, det_path, ex_path)[MAP_KEY]
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["frame_map"] == pytest.approx(expected, abs=1e-9)
    assert f"frame_map {expected:.4f}" in proc.stdout and "bend" in proc.stdout
    assert report["official"][MAP_KEY] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("first_person, expected_ap", [(0, 1.0), (1, 0.5)])
def test_equal_overlaps_go_to_the_box_of_the_highest_person_id(first_person, expected_ap):
    # the official reader heaps ground truth with the person id in the score's place, so boxes run
    # by descending person id, and argmax takes the first of two equal IoUs (0.6 each here)
    left, right = (0.0, 0.0, 0.5, 1.0), (0.25, 0.0, 0.75, 1.0)
    truth = [gt("v", 902, left, 1, person=first_person), gt("v", 902, right, 1, person=1 - first_person)]
    dets = [det("v", 902, (0.125, 0.0, 0.625, 1.0), 1, 0.9), det("v", 902, left, 1, 0.8)]
    assert frame_map(LABELS, truth, dets).ap[1] == expected_ap
