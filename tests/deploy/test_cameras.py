"""The cameras file (every error is `file:line: reason`), rule labels checked against the model, and
the inference loop that batches windows across cameras without waiting for any."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from motionlens.core.errors import ConfigError
from motionlens.deploy.cameras import BatchScorer, check_rules, load_cameras
from motionlens.deploy.watch import AlertRule
from tests.conftest import run_cli
from tests.deploy.test_watch import brightness_checkpoint

GOOD = """\
cameras:
  - name: door
    source: rtsp://user:pw@10.0.0.5/stream
    alerts: ["fight:0.8:2s", "fall:0.5"]
    cooldown: 30s
  - name: yard 2
    source: "0"
    alerts: fight:0.9
  - name: hall
    source: hall.mp4
"""


def test_a_cameras_file_is_read_with_each_cameras_own_rules(tmp_path):
    path = tmp_path / "cameras.yaml"
    path.write_text(GOOD)
    door, yard, hall = load_cameras(path, cooldown=5.0)
    assert (door.name, door.source, door.line) == ("door", "rtsp://user:pw@10.0.0.5/stream", 2)
    assert door.rules == [AlertRule("fight", 0.8, 2.0, 30.0), AlertRule("fall", 0.5, 0.0, 30.0)]
    assert door.rule_lines == [4, 4]
    assert yard.source == "0" and yard.rules == [AlertRule("fight", 0.9, 0.0, 5.0)]  # the default cooldown
    assert hall.rules == []


@pytest.mark.parametrize("text, line, reason", [
    ("cameras:\n  - name: a\n    source: a.mp4\n    colour: red\n", 4, "unknown key 'colour'"),
    ("cameras:\n  - name: a\n    alerts: [x:0.5]\n", 2, "no source"),
    ("cameras:\n  - name: a\n    source: a.mp4\n  - name: a\n    source: b.mp4\n", 4, "used twice (first on line 2)"),
    ("cameras:\n  - name: ../x\n    source: a.mp4\n", 2, "camera name '../x'"),
    ("cameras:\n  - name: a\n    source: a.mp4\n    alerts: [fight:1.5]\n", 4, "bad alert rule 'fight:1.5'"),
    ("cameras:\n  - name: a\n    source: a.mp4\n    cooldown: soon\n", 4, "bad duration 'soon'"),
    ("cameras:\n  - name: a\n    source: [a, b]\n", 3, "source must be a single value"),
    ("cameras:\n  - name: a\n   source: a.mp4\n", 3, "not valid YAML"),
    ("- name: a\n  source: a.mp4\n", 1, "expected `cameras:`"),
    ("cameras: []\n", 1, "expected `cameras:`"),
])
def test_errors_name_the_file_and_line(tmp_path, text, line, reason):
    path = tmp_path / "cameras.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_cameras(path)
    assert str(err.value).startswith(f"{path}:{line}: ") and reason in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_rule_labels_name_their_line(tmp_path):
    path = tmp_path / "cameras.yaml"
    path.write_text(GOOD)
    cameras = load_cameras(path)
    check_rules(cameras[1:2], ["fight", "walk"], str(path))
    with pytest.raises(ConfigError, match=rf"^{path}:4: camera door: alert rule fall:0.5:0s: the model has no class 'fall'"):
        check_rules(cameras, ["fight", "walk"], str(path))


@pytest.mark.slow
def test_the_cli_refuses_a_bad_cameras_file_and_unknown_labels_in_one_line(tmp_path):
    ckpt = brightness_checkpoint(tmp_path / "bright.pt")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cameras:\n  - name: a\n    source: a.mp4\n    colour: red\n")
    proc = run_cli("watch", "--cameras", bad, ckpt)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith(f"error: {bad}:4: unknown key")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("cameras:\n  - name: a\n    source: a.mp4\n    alerts: [brite:0.5]\n")
    proc = run_cli("watch", "--cameras", unknown, ckpt)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"error: {unknown}:4: camera a: alert rule brite:0.5:0s: the model has no class 'brite'" in proc.stderr
    proc = run_cli("watch", "a.mp4", ckpt, "--alert", "brite:0.5")
    assert proc.returncode == 2 and "the model has no class 'brite'; did you mean bright?" in proc.stderr
    proc = run_cli("watch", "--cameras", unknown, "a.mp4", ckpt)
    assert proc.returncode == 2 and "with --cameras, give only MODEL_OR_RUN" in proc.stderr


def test_the_scorer_batches_windows_of_several_threads_and_waits_for_none():
    gate, seen = threading.Event(), []

    def predictor(clips):
        seen.append(len(clips))
        gate.wait(5)  # the first batch is slow: the others' windows pile up meanwhile
        return np.stack([[c.mean(), 1 - c.mean()] for c in clips])

    scorer = BatchScorer(predictor, max_batch=4)
    results = {}

    def camera(value: int) -> None:
        results[value] = scorer(np.full((2, 1, 1, 1), value / 10))

    threads = [threading.Thread(target=camera, args=(v,)) for v in range(6)]
    threads[0].start()
    time.sleep(0.2)  # camera 0's window is being scored alone
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.2)
    gate.set()
    for thread in threads:
        thread.join(5)
    scorer.close()
    assert seen[0] == 1 and sorted(seen[1:]) == [1, 4]  # the five waiting windows went in two batches (4 + 1)
    assert scorer.batches == 3 and scorer.windows == 6
    for value, scores in results.items():
        assert scores == pytest.approx([value / 10, 1 - value / 10])  # each camera got its own window's scores


def test_a_failing_batch_fails_only_its_callers():
    calls = []

    def predictor(clips):
        calls.append(len(clips))
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return np.ones((len(clips), 2))

    scorer = BatchScorer(predictor)
    with pytest.raises(RuntimeError, match="out of memory"):
        scorer(np.zeros((1, 1, 1, 1)))
    assert scorer(np.zeros((1, 1, 1, 1))).tolist() == [1.0, 1.0]  # the loop goes on
    scorer.close()
