"""CLI commands for spatio-temporal action detection: `motionlens ava eval|train|predict`.

They join the `ava` group of `cli/ava.py`; this module only parses and prints."""

from __future__ import annotations

import json
import math

import click

from .ava import _print_rejected, ava_group


@ava_group.command("eval")
@click.option("--labelmap", required=True, type=click.Path(), help="action list .pbtxt (which actions are scored)")
@click.option("--groundtruth", required=True, type=click.Path(), help="AVA annotation CSV")
@click.option("--detections", required=True, type=click.Path(), help="detection CSV (score in the last column)")
@click.option("--exclusions", type=click.Path(), help="CSV of video_id,timestamp keyframes to leave out")
@click.option("--json", "json_path", type=click.Path(), help="write frame_map and per-action AP here")
def eval_command(labelmap, groundtruth, detections, exclusions, json_path):
    """Frame-mAP at IoU 0.5, exactly as ActivityNet's get_ava_performance.py computes it."""
    from ..core.atomic import write_text
    from ..detect.ava_files import read_annotations, read_exclusions, read_labelmap
    from ..detect.evaluate import frame_map

    problems: list[str] = []
    labels = read_labelmap(labelmap)
    excluded = read_exclusions(exclusions, problems)
    truth = read_annotations(groundtruth, problems)
    dets = read_annotations(detections, problems, scored=True)
    _print_rejected(problems)
    result = frame_map(labels, truth, dets, excluded)
    click.echo(f"frame_map {result.frame_map:.4f}  ({sum(n > 0 for n in result.num_gt.values())} of "
               f"{len(labels)} actions have ground truth)")
    for action_id, name in labels.items():
        ap = result.ap[action_id]
        click.echo(f"{action_id:4d}  {'   n/a' if math.isnan(ap) else f'{ap:.4f}'}  {result.num_gt[action_id]:6d}  {name}")
    if json_path:
        report = {"frame_map": _number(result.frame_map),
                  "per_class": [{"id": i, "name": n, "ap": _number(result.ap[i]), "num_gt": result.num_gt[i]}
                                for i, n in labels.items()],
                  "official": {k: _number(v) for k, v in result.official_metrics().items()},
                  "skipped_rows": len(problems)}
        write_text(json_path, json.dumps(report, indent=2) + "\n")


def _number(value: float) -> float | None:
    """NaN (no ground truth) as JSON null."""
    return None if math.isnan(value) else float(value)


COMMANDS: list = []  # the commands above join `ava_group`
