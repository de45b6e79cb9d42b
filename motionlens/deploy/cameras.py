"""Several cameras in one process: a cameras file, one thread per camera, one inference loop.

    cameras:
      - name: door                      # letters, digits, `_ - .` and spaces; unique
        source: rtsp://user:pw@10.0.0.5/stream
        alerts: ["fight:0.8:2s"]        # LABEL:THRESHOLD[:DURATION], this camera's own rules
        cooldown: 30s                   # optional: a rule does not fire again within this time

Each camera decodes in its own thread and runs its own `watch.StreamWatcher` (windows, rules,
reconnection); their windows go to one `BatchScorer`, which scores whatever windows are waiting,
from any cameras, in one forward pass. A camera that stalls or gives up holds up nobody: the
scorer never waits for a camera, and a camera's failure ends only its thread.
"""

from __future__ import annotations

import os
import queue
import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import yaml

from ..core.errors import ConfigError, MotionlensError
from .watch import AlertRule, AlertTracker, parse_duration

KEYS = ("name", "source", "alerts", "cooldown")
_NAME = re.compile(r"^[A-Za-z0-9_.\- ]{1,64}$")


@dataclass
class CameraConfig:
    """One camera: its name (in events and URLs), its source and its own alert rules."""

    name: str
    source: str
    rules: list[AlertRule] = field(default_factory=list)
    line: int = 0  # where the camera starts in its file (for errors about it)
    rule_lines: list[int] = field(default_factory=list)


def _scalar(node, where: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.value == "":
        raise ConfigError(f"{where}:{node.start_mark.line + 1}: {what} must be a single value")
    return node.value


def _camera(node, where: str, cooldown: float) -> CameraConfig:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{where}:{line}: each camera is a mapping with {', '.join(KEYS)}")
    values = {}
    for key_node, value_node in node.value:
        key = key_node.value
        if key not in KEYS:
            raise ConfigError(f"{where}:{key_node.start_mark.line + 1}: unknown key {key!r} "
                              f"(a camera has {', '.join(KEYS)})")
        values[key] = value_node
    for key in ("name", "source"):
        if key not in values:
            raise ConfigError(f"{where}:{line}: this camera has no {key}")
    name = _scalar(values["name"], where, "name")
    if not _NAME.match(name) or name.strip(" .") == "":
        raise ConfigError(f"{where}:{values['name'].start_mark.line + 1}: camera name {name!r}: use up to 64 "
                          "letters, digits, '_', '-', '.' and spaces")
    camera = CameraConfig(name, _scalar(values["source"], where, "source"), line=line)
    if "cooldown" in values:
        try:
            cooldown = parse_duration(_scalar(values["cooldown"], where, "cooldown"))
        except MotionlensError as err:
            raise ConfigError(f"{where}:{values['cooldown'].start_mark.line + 1}: {err}") from None
    rules = values.get("alerts")
    items = [] if rules is None else rules.value if isinstance(rules, yaml.SequenceNode) else [rules]
    for item in items:
        try:
            rule = AlertRule.parse(_scalar(item, where, "an alert rule"))
        except ConfigError:
            raise
        except MotionlensError as err:
            raise ConfigError(f"{where}:{item.start_mark.line + 1}: {err}") from None
        camera.rules.append(AlertRule(rule.label, rule.threshold, rule.min_duration, cooldown))
        camera.rule_lines.append(item.start_mark.line + 1)
    return camera


def load_cameras(path: str | os.PathLike, cooldown: float = 0.0) -> list[CameraConfig]:
    """The cameras of a cameras file; every problem is a ConfigError `file:line: reason`.
    `cooldown`: the rules' cooldown where a camera does not set its own."""
    where = str(path)
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as err:
        raise ConfigError(f"{where}: cannot read the cameras file ({err.strerror or err})") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}{line}: not valid YAML ({getattr(err, 'problem', None) or err})") from None
    if not isinstance(root, yaml.MappingNode) or [k.value for k, _ in root.value] != ["cameras"] \
            or not isinstance(root.value[0][1], yaml.SequenceNode) or not root.value[0][1].value:
        line = root.start_mark.line + 1 if root is not None else 1
        raise ConfigError(f"{where}:{line}: expected `cameras:` followed by a list of cameras (name, source, alerts)")
    cameras, seen = [], {}
    for node in root.value[0][1].value:
        camera = _camera(node, where, cooldown)
        if camera.name in seen:
            raise ConfigError(f"{where}:{camera.line}: camera name {camera.name!r} is used twice "
                              f"(first on line {seen[camera.name]})")
        seen[camera.name] = camera.line
        cameras.append(camera)
    return cameras


def check_rules(cameras: Sequence[CameraConfig], classes: Sequence[str], where: str = "") -> None:
    """Every rule's label is one of the model's classes, else a one-line error naming its line."""
    for camera in cameras:
        for rule, line in zip(camera.rules, camera.rule_lines or [camera.line] * len(camera.rules)):
            try:
                AlertTracker([rule], classes)
            except MotionlensError as err:
                raise ConfigError(f"{where}:{line}: camera {camera.name}: {err}" if where else str(err)) from None


class BatchScorer:
    """One inference loop for many cameras: `scorer(clip)` (uint8 `(T, H, W, C)` -> `(K,)`) may be
    called from any thread and blocks until its window is scored. The loop takes every window
    waiting (up to `max_batch`) into one forward pass, so cameras share batches but never wait
    for each other: a camera with no window ready is simply not in the batch."""

    def __init__(self, predictor: Callable[[list[np.ndarray]], np.ndarray], max_batch: int = 8):
        self.predictor, self.max_batch = predictor, max(1, int(max_batch))
        self.requests: queue.Queue = queue.Queue()
        self.batches = self.windows = 0
        self.thread = threading.Thread(target=self._loop, name="inference", daemon=True)
        self.thread.start()

    def __call__(self, clip: np.ndarray) -> np.ndarray:
        slot = {"clip": clip, "done": threading.Event()}
        self.requests.put(slot)
        slot["done"].wait()
        if "error" in slot:
            raise slot["error"]
        return slot["scores"]

    def _loop(self) -> None:
        while True:
            batch = [self.requests.get()]
            while batch[-1] is not None and len(batch) < self.max_batch:
                try:
                    batch.append(self.requests.get_nowait())
                except queue.Empty:
                    break
            stop = batch[-1] is None
            batch = [slot for slot in batch if slot is not None]
            if batch:
                self._score(batch)
            if stop:
                return

    def _score(self, batch: list[dict]) -> None:
        try:
            scores = np.asarray(self.predictor([slot["clip"] for slot in batch]))  # (B, K)
            for slot, row in zip(batch, scores):
                slot["scores"] = row
        except Exception as err:  # reported to each camera waiting on this batch, in its own thread
            for slot in batch:
                slot["error"] = err
        self.batches += 1
        self.windows += len(batch)
        for slot in batch:
            slot["done"].set()

    def close(self) -> None:
        self.requests.put(None)
        self.thread.join(timeout=60)
