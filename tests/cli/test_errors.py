"""Every common user mistake ends in one line that names the fix: exit status 2 when the command
line asks for something that cannot be, 1 when the work itself failed; never a traceback.

Runs the console entry point (`motionlens.cli.main`) in-process, so a dozen mistakes cost one
interpreter start; an exception other than SystemExit escaping it fails the test."""

from __future__ import annotations

import pytest
import torch

from motionlens.cli import main
from motionlens.dataprep.synth import synthesize
from motionlens.video import write_video
from tests.conftest import pattern_frames

TINY = ["--model", "cnn3d_small", "--clip-len", "4", "--batch-size", "4", "--workers", "0", "--max-steps", "1",
        "--set", "data.resize=32", "--set", "data.crop_size=28"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny dataset, a finished one-epoch run, a video, a corrupt video and assorted wrong things."""
    root = tmp_path_factory.mktemp("mistakes")
    data = synthesize(root / "ucf", layout="ucf101", num_classes=2, videos_per_class=3, size=(32, 48), fps=10.0,
                      duration=0.6, seed=0)
    main(["train", "--data", data.spec, *TINY, "--epochs", "1", "--out", str(root / "runs"), "--name", "done"])
    (root / "not_a_run").mkdir()
    (root / "empty").mkdir()
    (root / "corrupt.mp4").write_bytes(b"\x00\x01 not a video" * 100)
    write_video(root / "clip.mp4", pattern_frames(12), 10.0)
    lists = root / "lists"
    write_video(lists / "walk" / "a.mp4", pattern_frames(12), 10.0)
    (lists / "train.txt").write_text("walk/a.mp4 0\nwalk/gone.mp4 0\n")
    return {"ROOT": str(root), "DATA": data.spec.split(":", 1)[1], "RUN": str(root / "runs" / "done")}


def run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as done:
        code = done.code
    return code, capsys.readouterr().err


# (command line with {ROOT} {DATA} {RUN} placeholders, exit status, what the one line must say)
MISTAKES = [
    ("train --data hmdb52:{DATA} --model cnn3d_small", 2, ["unknown layout 'hmdb52'", "hmdb51:", "ucf101"]),
    ("train --data ucf101:{DATA} --model resnet99 --epochs 1", 2, ["unknown model 'resnet99'", "did you mean"]),
    ("predict r3d_18 --pretrained kinetics999 {ROOT}/clip.mp4", 2, ["kinetics999", "tags: kinetics400"]),
    ("train --data hmdb51:{ROOT}/empty --model cnn3d_small", 2, ["split files", "--annotations"]),
    ("train --data ucf101:{ROOT}/nowhere --model cnn3d_small", 2, ["data path not found"]),
    ("predict {RUN} {ROOT}/clip.mp4 --device cuda", 2, ["no usable CUDA", "--device cpu"]),
    ("predict {RUN} {ROOT}/clip.mp4 --device gpu", 2, ["unknown device 'gpu'", "cuda:N"]),
    ("eval {ROOT}/not_a_run", 2, ["is not a run folder", "motionlens train"]),
    ("predict {ROOT}/not_a_run {ROOT}/clip.mp4", 2, ["is not a run folder"]),
    ("train --resume {RUN}", 2, ["already finished its 1 epochs", "--epochs N"]),
    ("watch {ROOT}/clip.mp4 {RUN} --alert figth:0.8", 2, ["no class 'figth'"]),
    ("predict {RUN} {ROOT}/clip.mp4 --clip-len abc", 2, ["--clip-len", "motionlens predict -h"]),
    ("frobnicate", 2, ["No such command", "motionlens -h"]),
    ("predict {RUN} {ROOT}/corrupt.mp4 {ROOT}/clip.mp4 --out {ROOT}/preds", 1, ["1 of 2 videos failed", "corrupt.mp4"]),
    ("predict {RUN} {ROOT}/missing1.mp4 {ROOT}/clip.mp4 --out {ROOT}/preds", 1, ["1 of 2 videos failed", "missing1.mp4"]),
]


@pytest.mark.parametrize("line,status,says", MISTAKES, ids=[m[0].split(" {")[0][:40] for m in MISTAKES])
def test_mistake_is_one_line(world, capsys, line, status, says):
    if "cuda" in line and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, err = run(line.format(**world).split(), capsys)
    assert code == status, err
    assert "Traceback" not in err, err
    if status == 2:  # nothing was done: exactly one line, and it says what to do
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
        line = err
    else:  # work failed: one line per failed item, then one that sums up
        line = err.strip().splitlines()[-1]
    for text in says:
        assert text in line, err


def test_data_check_with_problems_exits_one_with_its_report_on_stdout(world, capsys):
    # A report, not an error: its last line sums up, and stderr has no traceback and no error line.
    try:
        main(["data", "check", f"list:{world['ROOT']}/lists", "--no-cache"])
        code = 0
    except SystemExit as done:
        code = done.code
    out = capsys.readouterr()
    assert code == 1
    assert out.out.strip().splitlines()[-1] == "0 unreadable files, 1 listed videos missing", out.out
    assert "error" not in out.err and "Traceback" not in out.err
