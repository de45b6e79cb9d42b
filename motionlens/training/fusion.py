"""Late fusion of a spatial (RGB) and a temporal (flow) stream, and the per-stream analysis.

Fusion is a weighted average of the two streams' video-level softmax scores,
`w * p_spatial + (1 - w) * p_temporal`, with `w` chosen on the validation split by a grid search
that maximises video top-1 (a stretch of tied weights gives its middle; see `tune_fusion_weight`).
`evaluate_fusion` evaluates both trained runs on the same videos and reports spatial, temporal and
fused accuracy side by side.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..core.errors import MotionlensError
from .evaluate import default_split, predict_videos
from .runs import load_run

log = logging.getLogger(__name__)

DEFAULT_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)  # steps of 0.05


def fuse(p_spatial: np.ndarray, p_temporal: np.ndarray, weight: float) -> np.ndarray:
    """`weight * p_spatial + (1 - weight) * p_temporal` for `(N, K)` probability matrices."""
    p_spatial, p_temporal = np.asarray(p_spatial, dtype=np.float64), np.asarray(p_temporal, dtype=np.float64)
    if p_spatial.shape != p_temporal.shape:
        raise ValueError(f"score shapes differ: spatial {p_spatial.shape}, temporal {p_temporal.shape}")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"fusion weight must be in [0, 1], got {weight}")
    return weight * p_spatial + (1.0 - weight) * p_temporal


def fusion_curve(p_spatial: np.ndarray, p_temporal: np.ndarray, labels: np.ndarray,
                 grid: np.ndarray = DEFAULT_GRID) -> np.ndarray:
    """Top-1 accuracy of the fused scores for every weight in `grid`: `(len(grid),)`."""
    labels = np.asarray(labels)
    return np.array([float((fuse(p_spatial, p_temporal, float(w)).argmax(1) == labels).mean()) for w in grid])


def tune_fusion_weight(p_spatial: np.ndarray, p_temporal: np.ndarray, labels: np.ndarray,
                       grid: np.ndarray = DEFAULT_GRID) -> float:
    """The spatial weight in `grid` with the best fused top-1 on (`p_spatial`, `p_temporal`, `labels`).

    On a small validation split many weights tie. They form stretches of neighbouring grid
    values; the stretch nearest 0.5 is taken, and within it the middle, because its edges are
    where some validation video flips (the even-mix end of a stretch is no safer than the other).
    Between two equally good choices the smaller weight wins."""
    grid = np.sort(np.asarray(grid, dtype=np.float64))
    accuracy = fusion_curve(p_spatial, p_temporal, labels, grid)
    best = np.flatnonzero(np.isclose(accuracy, accuracy.max()))
    runs = np.split(best, np.flatnonzero(np.diff(best) > 1) + 1)  # stretches of neighbouring grid indices

    def distance(run: np.ndarray) -> float:
        return 0.0 if grid[run[0]] <= 0.5 <= grid[run[-1]] else float(np.min(np.abs(grid[run] - 0.5)))

    run = min(runs, key=lambda r: (distance(r), grid[r[0]]))
    middle = run[(len(run) - 1) // 2: len(run) // 2 + 1]  # one index, or the two middle ones
    return float(min(grid[middle], key=lambda w: (abs(w - 0.5), w)))


def _aligned(a: dict, b: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Video ids both summaries scored, with each one's `(V, K)` scores and the labels."""
    ids = np.intersect1d(a["video_ids"], b["video_ids"])
    rows_a = np.searchsorted(a["video_ids"], ids)
    rows_b = np.searchsorted(b["video_ids"], ids)
    return ids, a["video_scores"][rows_a], b["video_scores"][rows_b], a["video_labels"][rows_a]


def _video_metrics(scores: np.ndarray, labels: np.ndarray, num_classes: int) -> dict:
    from .metrics import summarize

    m = summarize(scores, labels, np.arange(len(labels)), num_classes)
    return {"video_top1": m["video_top1"], "video_top5": m["video_top5"],
            "mean_class_accuracy": m["mean_class_accuracy"], "per_class_accuracy": m["per_class_accuracy"]}


def evaluate_fusion(rgb_run: str | Path, flow_run: str | Path, data: str | None = None,
                    flow_root: str | Path | None = None, split: str | None = None,
                    out_dir: str | Path | None = None, num_clips: int | None = None, num_crops: int | None = None,
                    batch_size: int | None = None, num_workers: int | None = None, device: str = "auto",
                    annotations: str | None = None, show_progress: bool = True,
                    grid: np.ndarray = DEFAULT_GRID) -> dict:
    """Evaluate a spatial (RGB) run and a temporal (flow) run on the same videos, tune the fusion
    weight on the validation split, and report spatial, temporal and fused accuracy side by side.

    `data` (LAYOUT:ROOT) defaults to the RGB run's dataset and `flow_root` to the flow run's.
    `split` (default: test, else val) is the one reported; the weight is always tuned on val, and
    the result says so when the two are the same split. Writes fusion.json and fusion.md to
    `out_dir` when given. Returns the result dict (see fusion.json)."""
    from ..data.pipeline import load_index
    from .distributed import DistInfo, pick_device

    spatial = load_run(rgb_run, data=data, annotations=annotations, batch_size=batch_size, num_workers=num_workers)
    # The flow run reads the RGB run's dataset (and index), so both score the same videos.
    rgb_data = spatial.config.data
    temporal = load_run(flow_run, data=rgb_data.dataset, annotations=rgb_data.annotations, flow_root=flow_root,
                        batch_size=batch_size, num_workers=num_workers)
    if spatial.classes != temporal.classes:
        raise MotionlensError(f"the runs were trained on different classes ({len(spatial.classes)} vs "
                              f"{len(temporal.classes)}: {spatial.classes[:3]}... vs {temporal.classes[:3]}...)")
    classes = spatial.classes
    index = load_index(spatial.config.data, show_progress=show_progress)
    if index.classes != classes:
        raise MotionlensError(f"the runs have {len(classes)} classes but {spatial.config.data.dataset} has "
                              f"{len(index.classes)}; they must match")
    split = split or default_split(index)
    if not len(index.subset(split)) or not len(index.subset("val")):
        raise MotionlensError(f"split '{split}' or 'val' of {spatial.config.data.dataset} has no videos")
    dev = pick_device(device, DistInfo())

    scores = {}
    for which in dict.fromkeys(("val", split)):  # val once when it is also the reported split
        subset = index.subset(which)
        scores[which] = [predict_videos(s, subset, dev, num_clips, num_crops, show_progress, f"{name} {which}")
                         for name, s in (("spatial", spatial), ("temporal", temporal))]

    _, val_s, val_t, val_labels = _aligned(*scores["val"])
    curve = fusion_curve(val_s, val_t, val_labels, grid)
    weight = tune_fusion_weight(val_s, val_t, val_labels, grid)
    ids, p_s, p_t, labels = _aligned(*scores[split])
    k = len(classes)
    rows = {"spatial": _video_metrics(p_s, labels, k), "temporal": _video_metrics(p_t, labels, k),
            "fused": _video_metrics(fuse(p_s, p_t, weight), labels, k),
            "even_mix": _video_metrics(fuse(p_s, p_t, 0.5), labels, k)}
    for name, summary in zip(("spatial", "temporal"), scores[split]):
        rows[name]["clip_top1"] = summary["clip_top1"]
    right_s, right_t = p_s.argmax(1) == labels, p_t.argmax(1) == labels
    result = {
        "split": split, "num_videos": int(len(ids)), "weight": weight, "tuned_on": "val",
        "tuned_on_reported_split": split == "val", "num_val_videos": int(len(val_labels)),
        "val_top1_by_weight": {f"{w:.2f}": float(a) for w, a in zip(grid, curve)},
        **{name: {k: v for k, v in row.items() if k != "per_class_accuracy"} for name, row in rows.items()},
        "agreement": {"both_right": int((right_s & right_t).sum()), "spatial_only": int((right_s & ~right_t).sum()),
                      "temporal_only": int((~right_s & right_t).sum()), "both_wrong": int((~right_s & ~right_t).sum())},
        "per_class_accuracy": {c: {n: rows[n]["per_class_accuracy"][i] for n in ("spatial", "temporal", "fused")}
                               for i, c in enumerate(classes)},
        "runs": {"spatial": str(spatial.checkpoint), "temporal": str(temporal.checkpoint)},
        "flow_root": temporal.config.data.flow_root,
        "skipped_videos": int(len(index.subset(split)) - len(ids)),
    }
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "fusion.json").write_text(json.dumps(_finite(result), indent=2))
        (out_dir / "fusion.md").write_text(format_fusion_table(result) + "\n")
    return result


def _finite(value):
    """A copy with NaN (a class without videos) as None: JSON has no NaN."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return None if isinstance(value, float) and np.isnan(value) else value


def format_fusion_table(result: dict) -> str:
    """The side-by-side comparison as a Markdown table, plus how the weight was chosen."""
    def pct(value) -> str:
        return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{100 * value:.1f}%"

    lines = [f"{result['split']}: {result['num_videos']} videos", "",
             "| stream | video top-1 | video top-5 | mean class acc | clip top-1 |",
             "|---|---:|---:|---:|---:|"]
    names = {"spatial": "spatial (RGB)", "temporal": "temporal (flow)",
             "fused": f"fused (w = {result['weight']:.2f})", "even_mix": "fused (w = 0.50)"}
    for key, label in names.items():
        row = result[key]
        lines.append(f"| {label} | {pct(row['video_top1'])} | {pct(row['video_top5'])} | "
                     f"{pct(row['mean_class_accuracy'])} | {pct(row.get('clip_top1'))} |")
    a = result["agreement"]
    caveat = " It was tuned on the reported split, so the fused figure is optimistic." \
        if result["tuned_on_reported_split"] else ""
    lines += ["", f"w is the spatial share, tuned on val ({result['num_val_videos']} videos) for video top-1.{caveat}",
              f"Right by both streams {a['both_right']}, spatial only {a['spatial_only']}, temporal only "
              f"{a['temporal_only']}, neither {a['both_wrong']}."]
    return "\n".join(lines)


def load_twostream(rgb_run: str | Path, flow_run: str | Path, weight: float = 0.5):
    """A `TwoStream` model from two trained runs, and the InputSpec for its `rgb+flow` input.

    The pipeline takes the temporal run's clip geometry and both runs' normalisation."""
    from dataclasses import replace

    from ..models import get_model_cfg
    from ..models.cfg import for_model
    from ..models.twostream import TwoStream

    spatial, temporal = load_run(rgb_run), load_run(flow_run)
    if spatial.classes != temporal.classes:
        raise MotionlensError("the runs were trained on different classes")
    model = TwoStream(spatial.model, temporal.model, weight)
    # The setter takes statistics and geometry from the streams.
    model.cfg = for_model(get_model_cfg("twostream"), model.num_classes, model.in_chans)
    # One transform feeds both streams: the temporal run's timing and resize numerics win.
    differ = [k for k in ("target_fps", "clip_seconds", "interpolation", "antialias", "round_resized", "channel_order")
              if getattr(spatial.pipeline, k) != getattr(temporal.pipeline, k)]
    if differ:
        log.warning("the RGB run was trained with other %s than the flow run; the two-stream model uses the flow "
                    "run's (%s)", ", ".join(differ), ", ".join(f"{k}={getattr(temporal.pipeline, k)}" for k in differ))
    pipe = replace(temporal.pipeline, mean=tuple(spatial.pipeline.mean) + tuple(temporal.pipeline.mean),
                   std=tuple(spatial.pipeline.std) + tuple(temporal.pipeline.std), modality="rgb+flow")
    return model.eval(), pipe
