"""The AVA evaluator against hand-computed cases and a step-by-step transcription of ActivityNet's
`get_ava_performance.py` (read_csv, per_image_evaluation, metrics) on randomised CSVs."""

import csv
import heapq
import json
import math
from collections import defaultdict

import numpy as np
import pytest

from motionlens.dataprep.ava_csv import AvaRow
from motionlens.dataprep.ava_csv import write_labelmap
from motionlens.detect.ava_files import read_annotations, read_exclusions, read_labelmap
from motionlens.detect.evaluate import average_precision, box_iou, frame_map, keyframe_boxes, match_detections
from tests.conftest import run_cli

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


# ---- ActivityNet's get_ava_performance.py, step by step (reference transcription) ----

def ref_read_csv(path, whitelist, capacity):
    entries, boxes, labels, scores = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    for row in csv.reader(open(path)):
        key = "%s,%04d" % (row[0], int(float(row[1])))
        x1, y1, x2, y2 = [float(n) for n in row[2:6]]
        action_id = int(row[6])
        if whitelist and action_id not in whitelist:
            continue
        score = float(row[7]) if len(row) == 8 else 1.0  # for ground truth: the person id
        if capacity < 1 or len(entries[key]) < capacity:
            heapq.heappush(entries[key], (score, action_id, y1, x1, y2, x2))
        elif score > entries[key][0][0]:
            heapq.heapreplace(entries[key], (score, action_id, y1, x1, y2, x2))
    for key in entries:
        for score, action_id, y1, x1, y2, x2 in sorted(entries[key], key=lambda tup: -tup[0]):
            boxes[key].append([y1, x1, y2, x2]), labels[key].append(action_id), scores[key].append(score)
    return boxes, labels, scores


def ref_iou(b1, b2):
    [ymin1, xmin1, ymax1, xmax1] = np.split(b1, 4, axis=1)
    [ymin2, xmin2, ymax2, xmax2] = np.split(b2, 4, axis=1)
    h = np.maximum(np.zeros((len(b1), len(b2))), np.minimum(ymax1, np.transpose(ymax2)) - np.maximum(ymin1, np.transpose(ymin2)))
    w = np.maximum(np.zeros((len(b1), len(b2))), np.minimum(xmax1, np.transpose(xmax2)) - np.maximum(xmin1, np.transpose(xmin2)))
    inter = h * w
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    return inter / (np.expand_dims(area(b1), axis=1) + np.expand_dims(area(b2), axis=0) - inter)


def ref_tp_fp_single_class(det_boxes, det_scores, gt_boxes):
    if det_boxes.size == 0:
        return np.array([], dtype=float), np.array([], dtype=bool)
    if gt_boxes.size == 0:
        return det_scores, np.zeros(len(det_boxes), dtype=bool)
    iou = ref_iou(det_boxes, gt_boxes)
    tp_fp = np.zeros(len(det_boxes), dtype=bool)
    max_overlap_gt_ids = np.argmax(iou, axis=1)
    is_gt_box_detected = np.zeros(iou.shape[1], dtype=bool)
    for i in range(len(det_boxes)):
        gt_id = max_overlap_gt_ids[i]
        if iou[i, gt_id] >= 0.5 and not is_gt_box_detected[gt_id]:
            tp_fp[i] = True
            is_gt_box_detected[gt_id] = True
    return det_scores, tp_fp


def ref_ap(scores, labels, num_gt):
    sorted_indices = np.argsort(scores)[::-1]
    tp = labels.astype(int)[sorted_indices]
    ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
    precision, recall = ctp.astype(float) / (ctp + cfp), ctp.astype(float) / num_gt
    if not precision.size:
        return 0.0
    recall, precision = np.concatenate([[0], recall, [1]]), np.concatenate([[0], precision, [0]])
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = np.maximum(precision[i], precision[i + 1])
    indices = np.where(recall[1:] != recall[:-1])[0] + 1
    return np.sum((recall[indices] - recall[indices - 1]) * precision[indices])


def ref_evaluate(labelmap, gt_path, det_path, excluded):
    num_class = max(labelmap)
    whitelist = set(labelmap)
    gt_boxes, gt_labels, _ = ref_read_csv(gt_path, whitelist, 0)
    gt_db, num_gt = {}, np.zeros(num_class, dtype=int)
    for key in gt_boxes:
        if key in excluded:
            continue
        gt_db[key] = (np.array(gt_boxes[key], dtype=float), np.array(gt_labels[key], dtype=int) - 1)
        for c in range(num_class):
            num_gt[c] += np.sum(gt_db[key][1] == c)
    scores_per_class, tp_per_class = [[] for _ in range(num_class)], [[] for _ in range(num_class)]
    boxes, labels, scores = ref_read_csv(det_path, whitelist, 50)
    for key in boxes:
        if key in excluded:
            continue
        b, l, s = np.array(boxes[key], dtype=float), np.array(labels[key], dtype=int) - 1, np.array(scores[key])
        valid = np.logical_and(b[:, 0] < b[:, 2], b[:, 1] < b[:, 3])
        b, l, s = b[valid], l[valid], s[valid]
        gb, gl = gt_db.get(key, (np.empty((0, 4)), np.array([], dtype=int)))
        for c in range(num_class):
            sc, tp = ref_tp_fp_single_class(b[l == c], s[l == c], gb[gl == c])
            if sc.shape[0] > 0:
                scores_per_class[c].append(sc), tp_per_class[c].append(tp)
    ap = np.full(num_class, np.nan)
    for c in range(num_class):
        if num_gt[c] == 0:
            continue
        if not scores_per_class[c]:
            ap[c] = ref_ap(np.array([]), np.array([], dtype=bool), num_gt[c])
        else:
            ap[c] = ref_ap(np.concatenate(scores_per_class[c]), np.concatenate(tp_per_class[c]), num_gt[c])
    return np.nanmean(ap), ap


def random_csvs(tmp_path, seed):
    """Ground truth and detections with coarse coordinates and scores: ties, duplicates, boxes of
    IoU exactly 0.5, zero-size detections, unknown actions, keyframes only one side has."""
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
                for action in rng.choice([1, 2, 3, 5, 6], int(rng.integers(1, 3)), replace=False):
                    gt_rows.append((video, second, x1, y1, x2, y2, action, person))
            for _ in range(int(rng.integers(0, 70))):  # past 50: the per-keyframe cap
                if rng.random() < 0.6:
                    x1, y1, x2, y2 = people[rng.integers(len(people))]
                    x1 = min(x2, max(0.0, round(x1 + rng.choice([-0.1, 0, 0.1]), 1)))  # IoU around 0.5
                else:
                    (x1, x2), (y1, y2) = np.sort(rng.choice(grid, 2)), np.sort(rng.choice(grid, 2))
                t = second + (0.5 if rng.random() < 0.1 else 0) + (1000 if rng.random() < 0.05 else 0)
                score = round(float(rng.choice([0.1, 0.5, 0.9, rng.random()])), 2)
                det_rows.append((video, t, x1, y1, x2, y2, int(rng.choice([1, 2, 3, 5, 6])), score))
    for path, rows in (("gt.csv", gt_rows), ("det.csv", det_rows)):
        with open(tmp_path / path, "w", newline="") as f:
            csv.writer(f).writerows(rows)
    return tmp_path / "gt.csv", tmp_path / "det.csv"


@pytest.mark.parametrize("seed", range(40))
def test_matches_the_official_algorithm_on_random_csvs(tmp_path, seed):
    gt_path, det_path = random_csvs(tmp_path, seed)
    excluded = {("vidA", 903)} if seed % 3 == 0 else set()
    problems = []
    truth, dets = read_annotations(gt_path, problems), read_annotations(det_path, problems, scored=True)
    expected_map, expected_ap = ref_evaluate(LABELS, gt_path, det_path, {"%s,%04d" % k for k in excluded})
    result = frame_map(LABELS, truth, dets, excluded)
    assert abs(result.frame_map - expected_map) < 1e-6 or (math.isnan(expected_map) and math.isnan(result.frame_map))
    for c in LABELS:
        assert result.ap[c] == pytest.approx(expected_ap[c - 1], abs=1e-6, nan_ok=True)


def test_cli_eval_prints_and_writes_json(tmp_path):
    gt_path, det_path = random_csvs(tmp_path, 7)
    labelmap = write_labelmap(tmp_path / "map.pbtxt", LABELS)
    assert read_labelmap(labelmap) == LABELS
    (tmp_path / "ex.csv").write_text("vidA,0903\n")
    assert read_exclusions(tmp_path / "ex.csv", []) == {("vidA", 903)}
    proc = run_cli("ava", "eval", "--labelmap", labelmap, "--groundtruth", gt_path, "--detections", det_path,
                   "--exclusions", tmp_path / "ex.csv", "--json", tmp_path / "out.json")
    assert proc.returncode == 0, proc.stderr
    expected_map, _ = ref_evaluate(LABELS, gt_path, det_path, {"vidA,0903"})
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["frame_map"] == pytest.approx(expected_map, abs=1e-9)
    assert f"frame_map {expected_map:.4f}" in proc.stdout and "bend" in proc.stdout
    assert report["official"]["PascalBoxes_Precision/mAP@0.5IOU"] == pytest.approx(expected_map, abs=1e-9)


@pytest.mark.parametrize("first_person, expected_ap", [(0, 1.0), (1, 0.5)])
def test_equal_overlaps_go_to_the_box_of_the_highest_person_id(first_person, expected_ap):
    # the official reader heaps ground truth with the person id in the score's place, so boxes run
    # by descending person id, and argmax takes the first of two equal IoUs (0.6 each here)
    left, right = (0.0, 0.0, 0.5, 1.0), (0.25, 0.0, 0.75, 1.0)
    truth = [gt("v", 902, left, 1, person=first_person), gt("v", 902, right, 1, person=1 - first_person)]
    dets = [det("v", 902, (0.125, 0.0, 0.625, 1.0), 1, 0.9), det("v", 902, left, 1, 0.8)]
    assert frame_map(LABELS, truth, dets).ap[1] == expected_ap
