"""The official AVA evaluation beside `motionlens ava eval`, on the same files.

The AP machinery is the TensorFlow Object Detection API's evaluator that ActivityNet's
`Evaluation/get_ava_performance.py` runs (`PascalDetectionEvaluator`, per-image matching, PASCAL
AP), imported unchanged from the copy that PySlowFast's wheel ships
(`slowfast.utils.ava_evaluation`, installed by the `test` extra: `pyslowfast==1.0`). What
`get_ava_performance.py` adds around it is short, and is written out below step by step
(`read_labelmap`, `read_exclusions`, `read_csv`, `run_evaluation`), including its quirks: a CSV
row's 8th column is read as a score, so ground-truth boxes are ordered by descending person id;
at most 50 detections per keyframe, kept by a heap, ties not replacing; keys by whole seconds.
`official_metrics` and `our_metrics` return the same {key: value} layout."""

from __future__ import annotations

import csv
import heapq
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli

# metrics.py of that copy predates NumPy 2, which removed these aliases; they are the same objects.
for _alias, _value in (("NAN", np.nan), ("float", np.float64)):
    if not hasattr(np, _alias):
        setattr(np, _alias, _value)
_ode = pytest.importorskip("slowfast.utils.ava_evaluation.object_detection_evaluation",
                           reason="the test extra installs pyslowfast (the official AVA evaluator's code)")
from slowfast.utils.ava_evaluation import standard_fields  # noqa: E402

MAP_KEY = "PascalBoxes_Precision/mAP@0.5IOU"
AP_KEY = "PascalBoxes_PerformanceByCategory/AP@0.5IOU/"


def _image_key(video_id: str, timestamp: str) -> str:
    return "%s,%04d" % (video_id, int(timestamp))


def _read_labelmap(path: Path) -> tuple[list[dict], set[int]]:
    categories, ids, name = [], set(), ""
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith("  name:"):
            name = line.split('"')[1]
        elif line.startswith("  id:") or line.startswith("  label_id:"):
            class_id = int(line.strip().split(" ")[-1])
            categories.append({"id": class_id, "name": name})
            ids.add(class_id)
    return categories, ids


def _read_exclusions(path: Path | None) -> set[str]:
    if not path:
        return set()
    with open(path) as f:
        return {_image_key(row[0], row[1]) for row in csv.reader(f)}


def _read_csv(path: Path, whitelist: set[int], capacity: int) -> tuple[dict, dict, dict]:
    entries = defaultdict(list)
    with open(path) as f:
        for row in csv.reader(f):
            assert len(row) in (7, 8), row
            key = _image_key(row[0], row[1])
            x1, y1, x2, y2 = (float(n) for n in row[2:6])
            action = int(row[6])
            if whitelist and action not in whitelist:
                continue
            score = float(row[7]) if len(row) == 8 else 1.0
            item = (score, action, y1, x1, y2, x2)
            if capacity < 1 or len(entries[key]) < capacity:
                heapq.heappush(entries[key], item)
            elif score > entries[key][0][0]:
                heapq.heapreplace(entries[key], item)
    boxes, labels, scores = defaultdict(list), defaultdict(list), defaultdict(list)
    for key, items in entries.items():
        for score, action, y1, x1, y2, x2 in sorted(items, key=lambda t: -t[0]):
            boxes[key].append([y1, x1, y2, x2])
            labels[key].append(action)
            scores[key].append(score)
    return boxes, labels, scores


def official_metrics(labelmap: Path, groundtruth: Path, detections: Path, exclusions: Path | None = None) -> dict:
    """What `get_ava_performance.run_evaluation` computes (it pretty-prints the same dict)."""
    categories, whitelist = _read_labelmap(Path(labelmap))
    excluded = _read_exclusions(exclusions)
    evaluator = _ode.PascalDetectionEvaluator(categories)
    fields_in, fields_out = standard_fields.InputDataFields, standard_fields.DetectionResultFields
    boxes, labels, _ = _read_csv(groundtruth, whitelist, 0)
    for key in boxes:
        if key not in excluded:
            evaluator.add_single_ground_truth_image_info(key, {
                fields_in.groundtruth_boxes: np.array(boxes[key], dtype=float),
                fields_in.groundtruth_classes: np.array(labels[key], dtype=int),
                fields_in.groundtruth_difficult: np.zeros(len(boxes[key]), dtype=bool)})
    boxes, labels, scores = _read_csv(detections, whitelist, 50)
    for key in boxes:
        if key not in excluded:
            evaluator.add_single_detected_image_info(key, {
                fields_out.detection_boxes: np.array(boxes[key], dtype=float),
                fields_out.detection_classes: np.array(labels[key], dtype=int),
                fields_out.detection_scores: np.array(scores[key], dtype=float)})
    return {key: float(value) for key, value in evaluator.evaluate().items()}


def our_metrics(labelmap: Path, groundtruth: Path, detections: Path, exclusions: Path | None = None) -> dict:
    """`motionlens ava eval ... --json` in the official keys (NaN where it reports null)."""
    out = Path(detections).with_suffix(".ours.json")
    args = ["ava", "eval", "--labelmap", labelmap, "--groundtruth", groundtruth, "--detections", detections,
            "--json", out] + (["--exclusions", exclusions] if exclusions else [])
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    nan = float("nan")
    result = {MAP_KEY: nan if report["frame_map"] is None else report["frame_map"]}
    for entry in report["per_class"]:
        result[AP_KEY + entry["name"]] = nan if entry["ap"] is None else entry["ap"]
    return result


def assert_agree(official: dict, ours: dict, tol: float = 1e-6) -> None:
    assert official.keys() == ours.keys(), (sorted(official), sorted(ours))
    for key, want in official.items():
        got = ours[key]
        assert (math.isnan(want) and math.isnan(got)) or abs(want - got) <= tol, (key, want, got)
