"""The HTML report: headline figures, escaped names, the worst mistakes in order, embedded images."""

from __future__ import annotations

import base64
import re
from types import SimpleNamespace

import cv2
import numpy as np

from motionlens.report.html import write_report
from motionlens.report.plots import plot_confusion, plot_curves
from motionlens.video import VideoWriter


def _video(path, colour, n=6):
    with VideoWriter(path, fps=10, deterministic=True) as writer:
        for _ in range(n):
            writer.write(np.full((32, 48, 3), colour, np.uint8))
    return path


def _metrics(scores, labels):
    scores = np.asarray(scores, np.float32)
    return {"video_scores": scores, "video_labels": np.asarray(labels),
            "video_ids": np.arange(len(labels)), "per_class_accuracy": [1.0, 0.5, float("nan")]}


RESULT = {"video_top1": 0.5, "video_top5": 1.0, "clip_top1": 0.4375, "mean_class_accuracy": 0.75,
          "num_videos": 4, "num_clips": 16, "split": "test", "clips_per_video": 4, "crops_per_clip": 1,
          "checkpoint": "runs/x/checkpoints/best.pt"}
CLASSES = ["jump", "<script>alert(1)</script>", "sit & stay"]


def _images(text):
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/[a-z]+;base64,([^"]+)"', text)]


def test_report_headline_escaping_and_worst_mistakes_first(tmp_path):
    records = [SimpleNamespace(path=str(_video(tmp_path / f"v{i}.mp4", 40 * i)), num_frames=6) for i in range(4)]
    # video 1 wrong at 0.6, video 3 wrong at 0.9: the more confident mistake is listed first
    metrics = _metrics([[0.9, 0.1, 0], [0.6, 0.4, 0], [0.1, 0.9, 0], [0.05, 0.05, 0.9]], [0, 1, 1, 1])
    out = write_report(tmp_path / "report.html", RESULT, metrics, records, CLASSES)
    text = out.read_text()
    for figure in ("50.0%", "100.0%", "43.8%", "75.0%", "chance is 33.3%", "4 clips x 1 crops"):
        assert figure in text
    assert "<script>" not in text and "&lt;script&gt;" in text and "sit &amp; stay" in text
    assert "Worst mistakes (2 in all)" in text
    assert text.index("v3.mp4") < text.index("v1.mp4")  # most confident first
    assert "v0.mp4" not in text and "v2.mp4" not in text
    thumbs = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) for b in _images(text)]
    assert len(thumbs) == 2 and all(t.shape[0] == 90 for t in thumbs)
    assert abs(float(thumbs[0][:, :60].mean()) - 120) < 12  # v3's first frame: grey level 120


def test_report_embeds_curves_and_confusion_and_notes_unreadable_videos(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    plot_curves([{"epoch": 1, "train_loss": 1.0, "train_acc": 0.4, "val_loss": 1.1, "val_video_top1": 0.3},
                 {"epoch": 2, "train_loss": 0.5, "train_acc": 0.8, "val_loss": 0.7, "val_video_top1": 0.6}],
                run / "curves.png")
    plot_confusion(np.array([[2, 0, 0], [1, 1, 0], [0, 0, 0]]), CLASSES, tmp_path / "confusion.png")
    records = [SimpleNamespace(path=str(tmp_path / "missing.mp4"), num_frames=6)]
    metrics = _metrics([[0.2, 0.8, 0]], [0])
    text = write_report(tmp_path / "report.html", RESULT, metrics, records, CLASSES, run_dir=run).read_text()
    assert "Training curves" in text and "Confusion matrix" in text
    assert "thumbnail unavailable" in text
    pngs = [b for b in _images(text) if b[:8] == b"\x89PNG\r\n\x1a\n"]
    assert len(pngs) == 2


def test_report_says_when_there_are_no_mistakes(tmp_path):
    records = [SimpleNamespace(path="unused.mp4", num_frames=6)]
    text = write_report(tmp_path / "r.html", RESULT, _metrics([[0.9, 0.1, 0]], [0]), records, CLASSES).read_text()
    assert "Worst mistakes (0 in all)" in text and "every video was classified correctly" in text
