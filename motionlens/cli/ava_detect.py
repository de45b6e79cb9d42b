"""CLI commands for spatio-temporal action detection: `motionlens ava eval|train|predict`.

They join the `ava` group of `cli/ava.py`; this module only parses and prints."""

from __future__ import annotations

import json
import math

import click

from .ava import ava_group
from .data import print_plan_problems


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
    print_plan_problems(problems, [], "")
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


@ava_group.command("train")
@click.option("--config", "recipe", type=click.Path(), help="YAML recipe of DetectConfig keys")
@click.option("--videos", help="folder of <video_id>.mp4 (or .mkv, .webm, .avi)")
@click.option("--train-csv", help="AVA annotation CSV to learn from")
@click.option("--val-csv", help="AVA annotation CSV scored (frame-mAP) after every epoch")
@click.option("--labelmap", help="action-list .pbtxt: the actions learned")
@click.option("--exclusions", help="keyframes left out of validation")
@click.option("--backbone", help="zoo model, e.g. r3d_18, resnet3d_50, x3d_xs, cnn3d_small")
@click.option("--pretrained", help="weights tag (kinetics400) or file for the backbone")
@click.option("--epochs", type=click.IntRange(1))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="run folder to write")
@click.option("--set", "overrides", multiple=True, help="any DetectConfig key, e.g. --set crop_size=64")
def train_command(recipe, out, overrides, **flags):
    """Train a spatio-temporal action detector on AVA-format data (RUN/config.yaml, RUN/checkpoints/*.pt)."""
    from .. import config as config_mod
    from ..detect.train import DetectConfig, train_detector

    updates = [config_mod.parse_override(text) for text in overrides]
    flags = {k: v for k, v in flags.items() if v is not None}
    cfg = config_mod.resolve(DetectConfig, recipe, *updates, flags)
    result = train_detector(cfg, out, log=lambda line: click.echo(line, err=True))
    last = result["history"][-1]
    click.echo(f"trained {len(result['history'])} epochs: loss {last['loss']:.4f}"
               + (f", frame_map {last['frame_map']:.4f}" if "frame_map" in last else "") + f"; run {out}")


@ava_group.command("predict")
@click.argument("run", type=click.Path())
@click.argument("video", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="folder for detections.csv, "
              "tracks.json and annotated.mp4")
@click.option("--persons", default="hog", show_default=True,
              help="person boxes: a CSV (video_id,timestamp,x1,y1,x2,y2[,score]), hog, or module:function / "
                   "file.py:function returning (N, 5) normalised x1,y1,x2,y2,score for an RGB frame")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="seconds between keyframes")
@click.option("--time-offset", default=0.0, show_default=True, help="added to file seconds in the CSV "
              "(900 for AVA's cut files)")
@click.option("--no-video", is_flag=True, help="skip the annotated video")
def predict_command(run, video, out, persons, interval, time_offset, no_video):
    """Who does what, and where: person boxes, their tracks and actions in VIDEO."""
    from pathlib import Path

    from ..core.atomic import write_text
    from ..dataprep.ava_csv import write_ava_csv
    from ..detect.model import load_detector
    from ..detect.predict import detect_video, detection_rows, tracks_json, write_annotated

    model, state = load_detector(run)
    video, out = Path(video), Path(out)
    if not video.is_file():
        raise click.UsageError(f"video not found: {video}")
    out.mkdir(parents=True, exist_ok=True)
    results = detect_video(model, state, video, persons, interval, time_offset)
    labelmap = state["labelmap"]
    write_ava_csv(out / "detections.csv", detection_rows(video.stem, results, list(labelmap)), scored=True)
    tracks = tracks_json(results, labelmap)
    write_text(out / "tracks.json", json.dumps({"video": str(video), "tracks": tracks}, indent=2) + "\n")
    if not no_video:
        write_annotated(video, out / "annotated.mp4", results, list(labelmap.values()))
    boxes = sum(len(r.boxes) for r in results)
    click.echo(f"{len(results)} keyframes, {boxes} person boxes in {len(tracks)} tracks; wrote {out}")


def _number(value: float) -> float | None:
    """NaN (no ground truth) as JSON null."""
    return None if math.isnan(value) else float(value)


COMMANDS: list = []  # the commands above join `ava_group`
