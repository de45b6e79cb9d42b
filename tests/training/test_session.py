"""A training run's setup and checkpoint state (motionlens/training/session.py): the resolved
config that config.yaml and checkpoints hold, with paths that work from any directory."""

from __future__ import annotations

import os

import pytest
import yaml

from motionlens.config import TrainConfig, parse_override, resolve
from motionlens.dataprep.synth import synthesize
from motionlens.training.checkpoint import read_training_checkpoint
from motionlens.training.evaluate import evaluate_checkpoint
from motionlens.training.session import absolute_paths
from motionlens.training.train import fit

SMALL = ["data.clip_len=4", "data.resize=32", "data.crop_size=28", "data.batch_size=4", "data.num_workers=0",
         "model.name=cnn3d_small", "epochs=1", "data.hflip=false"]


def test_relative_paths_become_absolute_from_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = resolve(TrainConfig, None, *map(parse_override, [
        "data.dataset=ucf101:data/ucf", "data.annotations=ann", "data.flow_root=~/flow", "out=runs"]))
    done = absolute_paths(cfg)
    assert done.data.dataset == f"ucf101:{tmp_path / 'data' / 'ucf'}"
    assert (done.data.annotations, done.out) == (str(tmp_path / "ann"), str(tmp_path / "runs"))
    assert done.data.flow_root == os.path.expanduser("~/flow")
    plain = absolute_paths(resolve(TrainConfig, None, parse_override("data.dataset=videos")))
    assert plain.data.dataset == str(tmp_path / "videos")  # no layout given: none is added
    assert absolute_paths(done) == done


def test_a_run_made_with_relative_paths_evaluates_from_another_directory(tmp_path, monkeypatch):
    work = tmp_path / "work"
    synthesize(work / "ucf", layout="ucf101", num_classes=2, videos_per_class=4, size=(32, 48), fps=10.0,
               duration=(0.8, 1.0), seed=0)
    monkeypatch.chdir(work)
    cfg = resolve(TrainConfig, None, *map(parse_override, [*SMALL, "data.dataset=ucf101:ucf", "out=runs", "name=r"]))
    run = fit(cfg, show_progress=False)
    assert run == work / "runs" / "r" and run.is_absolute()
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["data"]["dataset"] == f"ucf101:{work / 'ucf'}" and saved["out"] == str(work / "runs")
    # the resolved config: nothing is left for a later reader to decide
    assert None not in (saved["data"]["eval_clips"], saved["data"]["eval_crops"], saved["data"]["modality"],
                        saved["data"]["frame_stride"], saved["optim"]["optimizer"], saved["epochs"])
    state = read_training_checkpoint(run / "checkpoints" / "last.pt")
    assert state["config"] == saved and state["pipeline"]["frame_stride"] == saved["data"]["frame_stride"]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = evaluate_checkpoint(run, None, elsewhere / "ev", split="test", show_progress=False)
    assert result["num_videos"] > 0 and (elsewhere / "ev" / "metrics.json").is_file()
    with pytest.raises(Exception, match="already has checkpoints"):  # out/name is the same folder from anywhere
        fit(resolve(TrainConfig, None, *map(parse_override, [*SMALL, f"data.dataset=ucf101:{work / 'ucf'}",
                                                              f"out={work / 'runs'}", "name=r"])), show_progress=False)
