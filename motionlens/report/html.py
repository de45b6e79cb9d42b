"""A single-file HTML evaluation report: headline figures, curves, confusion matrix, per-class
accuracy and the worst mistakes as first/last-frame thumbnails (images embedded as base64)."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..core.errors import VideoError
from ..video import read_frames

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em} h2{margin-top:1.6em;border-bottom:1px solid #ddd}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{background:#f4f6fa;border-radius:8px;padding:.8em 1.2em}
.card b{display:block;font-size:1.6em} table{border-collapse:collapse} td,th{padding:.25em .8em;border-bottom:1px solid #eee;text-align:left}
.mistake{display:inline-block;margin:.5em;padding:.5em;background:#fff4f4;border-radius:6px;font-size:.85em;vertical-align:top}
img{max-width:100%}
"""


def _img_tag(data: bytes, mime: str = "image/png", alt: str = "") -> str:
    return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{base64.b64encode(data).decode()}">'


def _thumbs(path: str, num_frames: int, height: int = 90) -> str:
    """First and last frame side by side, as an <img>; a note when the video cannot be read."""
    try:
        frames = read_frames(path, [0, max(num_frames - 1, 0)], size=height)
    except VideoError as err:
        return f"<i>thumbnail unavailable: {html.escape(err.reason)}</i>"
    strip = np.concatenate([frames[0], np.full((frames.shape[1], 4, 3), 255, np.uint8), frames[1]], axis=1)
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    return _img_tag(jpg.tobytes(), "image/jpeg", "first and last frame") if ok else ""


def write_report(path: str | Path, result: dict, metrics: dict, records: Sequence, classes: Sequence[str],
                 run_dir: Path | None = None, worst: int = 12) -> Path:
    path = Path(path)
    cards = "".join(
        f'<div class="card">{label}<b>{result[key]:.1%}</b></div>'
        for key, label in (("video_top1", "video top-1"), ("video_top5", "video top-5"),
                           ("clip_top1", "clip top-1"), ("mean_class_accuracy", "mean class accuracy")))
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>motionlens evaluation</title>"
             f"<style>{_STYLE}</style></head><body><h1>Evaluation report</h1>",
             f"<p>{result['num_videos']} videos, {result['num_clips']} clips (split <b>{html.escape(result['split'])}</b>, "
             f"{result['clips_per_video']} clips x {result['crops_per_clip']} crops per video; chance is "
             f"{1 / max(len(classes), 1):.1%}). Checkpoint: <code>{html.escape(result['checkpoint'])}</code></p>",
             f'<div class="cards">{cards}</div>']
    curves = run_dir / "curves.png" if run_dir else None
    if curves and curves.exists():
        parts.append("<h2>Training curves</h2>" + _img_tag(curves.read_bytes(), alt="training curves"))
    confusion = path.parent / "confusion.png"
    if confusion.exists():
        parts.append("<h2>Confusion matrix</h2>" + _img_tag(confusion.read_bytes(), alt="confusion matrix"))
    rows = "".join(f"<tr><td>{html.escape(c)}</td><td>{'' if np.isnan(a) else f'{a:.1%}'}</td></tr>"
                   for c, a in zip(classes, metrics["per_class_accuracy"]))
    parts.append(f"<h2>Per-class accuracy</h2><table><tr><th>class</th><th>accuracy</th></tr>{rows}</table>")

    scores, labels = metrics["video_scores"], metrics["video_labels"]
    predicted = scores.argmax(1)
    mistakes = np.flatnonzero((predicted != labels) & (labels >= 0))  # unlabelled videos are not mistakes
    wrong = mistakes[np.argsort(-scores[mistakes, predicted[mistakes]])][:worst]  # most confident first
    parts.append(f"<h2>Worst mistakes ({len(mistakes)} in all)</h2>")
    if not len(wrong):
        parts.append("<p>None: every video was classified correctly.</p>")
    for i in wrong:
        record = records[int(metrics["video_ids"][i])]
        parts.append(
            f'<div class="mistake">{_thumbs(record.path, record.num_frames)}<br>'
            f"<code>{html.escape(Path(record.path).name)}</code><br>true <b>{html.escape(classes[labels[i]])}</b>, "
            f"predicted <b>{html.escape(classes[predicted[i]])}</b> ({scores[i, predicted[i]]:.0%})</div>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts))
    return path
