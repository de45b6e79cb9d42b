"""Kinetics trimming: names, lengths, missing sources, resuming, and the index reading the result."""

import csv

import pytest

from motionlens.data.index import build_index
from motionlens.dataprep.synth import write_long_video
from motionlens.dataprep.trim import plan_trim, run_trim, trim_kinetics
from motionlens.core.errors import MotionlensError
from motionlens.video import count_frames, probe
from tests.conftest import run_cli

FPS = 10.0
ROWS = [  # label, youtube_id, time_start, time_end, split
    ("swing dancing", "-abc_123", 2, 6, "train"),
    ("swing dancing", "-abc_123", 8, 12, "val"),
    ("sliding", "xyz987", 0, 4, "train"),
    ("sliding", "xyz987", 11, 21, "train"),  # the source is 14 s: cut to 11-14
    ("sliding", "notdownloaded", 1, 5, "train"),
]


@pytest.fixture(scope="module")
def kinetics(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinetics")
    write_long_video(root / "full" / "-abc_123.mp4", [(None, 6.0), ("swing", 8.0)], size=(48, 64), fps=FPS, seed=4)
    write_long_video(root / "full" / "xyz987.mkv", [("slide_once", 14.0)], size=(48, 64), fps=FPS, seed=5)
    with open(root / "kinetics_400_train.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        writer.writerows(ROWS)
    return root


def test_trims_to_the_kinetics_layout(kinetics, tmp_path):
    out = tmp_path / "k400"
    result = trim_kinetics(kinetics / "kinetics_400_train.csv", kinetics / "full", out, workers=2)
    assert result.failures == []
    assert result.plan.missing == ["notdownloaded"] and result.plan.missing_clips == 1
    assert result.shortened == ["train/sliding/xyz987_000011_000021.mp4"]
    expected = {"train/swing dancing/-abc_123_000002_000006.mp4": 40,
                "val/swing dancing/-abc_123_000008_000012.mp4": 40,
                "train/sliding/xyz987_000000_000004.mp4": 40,
                "train/sliding/xyz987_000011_000021.mp4": 30}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4")) == sorted(expected)
    for name, frames in expected.items():
        assert count_frames(out / name) == frames
        assert abs(probe(out / name).duration - frames / FPS) <= 1 / FPS
    assert (out / "kinetics_400_train.csv").read_text() == (kinetics / "kinetics_400_train.csv").read_text()

    index = build_index(f"kinetics:{out}", cache=False)
    assert index.classes == ["sliding", "swing dancing"]
    assert sorted(r.split for r in index) == ["train", "train", "train", "val"]
    assert index.report.listed_missing == ["notdownloaded_000001_000005"]
    assert result.summary().startswith(f"4 clips in {out} (")


def test_resumes_and_skips_existing_clips(kinetics, tmp_path):
    out = tmp_path / "k400"
    first = plan_trim(kinetics / "kinetics_400_train.csv", kinetics / "full", out)
    first.jobs = first.jobs[:1]  # as if interrupted after one clip
    run_trim(first)
    done = next(out.rglob("*.mp4"))
    stamp = done.stat().st_mtime_ns
    again = plan_trim(kinetics / "kinetics_400_train.csv", kinetics / "full", out)
    assert again.existing == 1 and len(again.jobs) == 3
    result = run_trim(again)
    assert result.cut["copy"] + result.cut["reencode"] == 3 and done.stat().st_mtime_ns == stamp
    assert not [p for p in out.rglob(".*")]  # no partial files left behind
    assert len(plan_trim(kinetics / "kinetics_400_train.csv", kinetics / "full", out).jobs) == 0


def test_bad_csv_is_an_error(kinetics, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("label,youtube_id,time_start,time_end,split\njump,abc,ten,20,train\n")
    with pytest.raises(MotionlensError, match=r"bad\.csv:2: time_start and time_end must be numbers"):
        plan_trim(bad, kinetics / "full", tmp_path / "out")
    bad.write_text("name,start\njump,1\n")
    with pytest.raises(MotionlensError, match="not a Kinetics CSV"):
        plan_trim(bad, kinetics / "full", tmp_path / "out")


def test_cli_trim(kinetics, tmp_path):
    out = tmp_path / "k400"
    proc = run_cli("trim", "--csv", kinetics / "kinetics_400_train.csv", "--videos", kinetics / "full",
                   "--out", out, "--reencode")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (f"4 clips in {out} (0 copied, 4 re-encoded, 0 already there); "
                                   "1 source videos missing (1 clips); 1 clips shortened (source ends before time_end)")
    assert "notdownloaded" in proc.stderr
