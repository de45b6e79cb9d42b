"""load_run: one record from a run folder or a checkpoint, and one-line errors for anything else."""

from __future__ import annotations

import pytest
import torch

from motionlens.core.errors import MotionlensError
from motionlens.models import create_model
from motionlens.training.checkpoint import read_training_checkpoint, save_checkpoint
from motionlens.training.runs import load_run
from tests.conftest import save_tiny_run


def test_a_run_folder_gives_its_model_pipeline_classes_config_and_checkpoint(tmp_path):
    best = save_tiny_run(tmp_path / "run", classes=("a", "b"))
    state = read_training_checkpoint(best)
    run = load_run(tmp_path / "run", data="ucf101:/elsewhere", batch_size=3)
    assert run.checkpoint == best and run.classes == ["a", "b"]
    assert run.pipeline.clip_len == 8 and run.pipeline.crop_size == 64
    assert all(torch.equal(run.model.state_dict()[k], v) for k, v in state["model"].items())
    assert (run.config.data.dataset, run.config.data.batch_size) == ("ucf101:/elsewhere", 3)
    assert run.note.startswith("best.pt: epoch ?")
    assert load_run(best).checkpoint == best  # the file itself


def test_last_is_taken_when_there_is_no_best(tmp_path):
    best = save_tiny_run(tmp_path / "run")
    best.rename(best.with_name("last.pt"))
    run = load_run(tmp_path / "run")
    assert run.checkpoint.name == "last.pt" and run.note.endswith("(the last checkpoint)")


def test_a_plain_state_dict_is_a_one_line_error_with_the_way_out(tmp_path):
    path = save_checkpoint({"model": create_model("cnn3d_small").state_dict()}, tmp_path / "plain.pt")
    with pytest.raises(MotionlensError, match=r"plain\.pt: not a checkpoint written by `motionlens train` "
                                              r"\(no classes, pipeline, model_name\).*--pretrained"):
        load_run(path)
    with pytest.raises(MotionlensError, match="run folder or checkpoint not found"):
        load_run(tmp_path / "missing.pt")
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(MotionlensError, match="is not a run folder"):
        load_run(folder)


def test_unreadable_and_foreign_files_are_one_line_errors(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(MotionlensError, match=r"junk\.pt: not a readable PyTorch file \(\w+: .+\)$") as err:
        read_training_checkpoint(junk)
    assert "\n" not in str(err.value)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(MotionlensError, match=r"foreign\.pt: not a motionlens checkpoint \(no 'model' entry\)"):
        read_training_checkpoint(foreign)
    with pytest.raises(MotionlensError, match="checkpoint not found"):
        read_training_checkpoint(tmp_path / "nope.pt")
