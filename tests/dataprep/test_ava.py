"""AVA clip extraction: sampling rules, clip lengths, missing videos, CSV validation, the CLI."""

import csv

import pytest

from motionlens.data.index import build_index
from motionlens.dataprep.ava import (
    build_ava_dataset,
    clip_window,
    cut_ava_clips,
    parse_actions,
    plan_ava_clips,
    read_ava_csv,
)
from motionlens.dataprep.synth import write_long_video
from motionlens.core.errors import MotionlensError
from motionlens.video import count_frames, probe
from tests.conftest import run_cli

FPS = 10.0
OFFSET = 900  # the local files start at AVA's 900 s mark
# (video, local second, actions of the persons there). 64 = fight/hit, 8 lie/sleep, 28 drive, 29 eat, 80 other
KEYFRAMES = [
    ("vidA", 3, [64, 8]),  # mixed: positive only
    ("vidA", 5, [64, 80]),
    ("vidA", 7, [8]),
    ("vidA", 9, [28]),
    ("vidA", 11, [29, 80]),
    ("vidA", 13, [80]),
    ("vid_B", 1, [8]),  # near the start: the window is shifted, not cut short
    ("vid_B", 4, [28]),
    ("vid_B", 6, [29]),
    ("vid_B", 8, [28, 29]),
    ("vid_B", 10, [64]),
    ("vid_B", 15, [8]),  # near the end
    ("gone", 5, [64]),  # no local file
    ("gone", 6, [8]),
]


def write_ava_csv(path, keyframes=KEYFRAMES):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        for video_id, second, actions in keyframes:
            for person, action in enumerate(actions):
                writer.writerow([video_id, f"{OFFSET + second:04d}", 0.1, 0.2, 0.5, 0.9, action, person])
    return path


@pytest.fixture(scope="module")
def ava(tmp_path_factory):
    root = tmp_path_factory.mktemp("ava")
    videos = root / "videos"
    write_long_video(videos / "vidA.mp4", [(None, 8.0), ("swing", 8.0)], size=(48, 64), fps=FPS, seed=1)
    write_long_video(videos / "vid_B.mkv", [("move_left", 8.0), (None, 8.0)], size=(48, 64), fps=FPS, seed=2)
    return {"videos": videos, "csv": write_ava_csv(root / "ava_train_v2.2.csv"), "root": root}


def plan(ava, out, **kw):
    args = dict(positive="64", negative="8,28,29", per_class=3, clip_seconds=4.0, time_offset=OFFSET)
    return plan_ava_clips(ava["csv"], ava["videos"], out, **{**args, **kw})


def test_actions_by_id_or_name():
    assert parse_actions("fight/hit (a person)") == [64]
    assert parse_actions("64") == [64]
    assert parse_actions("8,28,29") == [8, 28, 29]
    assert parse_actions("drive (e.g., a car, a truck),eat") == [28, 29]  # a name with commas in it
    assert parse_actions(["lie/sleep", 29]) == [8, 29]
    with pytest.raises(MotionlensError, match="unknown AVA action 'punch'"):
        parse_actions("64,punch")


def test_sampling_is_balanced_and_positive_wins_mixed_timestamps(ava, tmp_path):
    p = plan(ava, tmp_path)
    positives = [c for c in p.clips if c.class_name == "fight"]
    negatives = [c for c in p.clips if c.class_name == "no_fight"]
    assert len(positives) == 3 and len(negatives) == 3
    assert all(64 in c.actions for c in positives)
    assert all(64 not in c.actions for c in negatives)  # vidA@903 carries 64 and 8: never a negative
    assert sorted(c.action_id for c in negatives) == [8, 28, 29]  # 3 negatives split over 3 actions
    assert p.missing_videos == ["gone"]
    assert p.available == {"fight": 3, "8": 3, "28": 3, "29": 3}
    keys = [(c.video_id, c.timestamp) for c in p.clips]
    assert len(set(keys)) == len(keys)  # one clip per (video, timestamp)
    assert [c.file for c in p.clips] == [c.file for c in plan(ava, tmp_path).clips]  # seeded
    assert {c.file for c in positives} == {"fight/vidA_0903.mp4", "fight/vidA_0905.mp4", "fight/vid_B_0910.mp4"}


def test_short_negative_action_is_filled_from_the_others(ava, tmp_path):
    p = plan(ava, tmp_path, negative="8,swim", per_class=4)  # nothing is annotated swim (13)
    assert p.taken == {"fight": 3, "8": 3, "13": 0}  # 8 has only 3 usable timestamps
    p = plan(ava, tmp_path, negative="28,29", per_class=4)
    assert p.taken["28"] + p.taken["29"] == 4 and len({(c.video_id, c.timestamp) for c in p.clips}) == 7


def test_wrong_time_offset_is_an_error_before_anything_is_written(ava, tmp_path):
    with pytest.raises(MotionlensError, match=r"11 lie outside their local video .*--time-offset 0"):
        plan(ava, tmp_path / "out", time_offset=0)  # 903 s is past the end of 16 s videos
    assert not (tmp_path / "out").exists()


def test_clip_window_stays_inside_the_video():
    assert clip_window(5.0, 4.0, 16.0) == (3.0, 7.0)
    assert clip_window(1.0, 4.0, 16.0) == (0.0, 4.0)
    assert clip_window(15.0, 4.0, 16.0) == (12.0, 16.0)
    assert clip_window(1.0, 4.0, 3.0) == (0.0, 3.0)


def test_build_writes_an_indexable_dataset_of_exact_clips(ava, tmp_path):
    out = tmp_path / "fight"
    result = build_ava_dataset(ava["csv"], ava["videos"], out, "64", "8,28,29", per_class=3, clip_seconds=4.0,
                               time_offset=OFFSET)
    assert result.failures == [] and len(result.written) == 6
    for row in result.written:
        info = probe(out / row["file"])
        assert count_frames(out / row["file"]) == 40
        assert abs(info.duration - 4.0) <= 1 / FPS
        assert float(row["end"]) - float(row["start"]) == pytest.approx(4.0)
    index = build_index(f"folder:{out}", cache=False)
    assert index.classes == ["fight", "no_fight"]
    assert sorted(r.class_name for r in index) == ["fight"] * 3 + ["no_fight"] * 3
    with open(out / "clips.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["file"] for r in rows} == {r["file"] for r in result.written}
    assert "missing" in result.summary() and (out / "summary.json").exists()

    again = cut_ava_clips(result.plan)  # re-running resumes: nothing is cut twice
    assert again.cut == {"existing": 6} and len(again.written) == 6


@pytest.mark.parametrize("line, reason", [
    ("vidA,0903,0.1,0.2,1.5,0.9,64,0", "box"),
    ("vidA,0903,0.1,0.2,0.5,0.9,fight,0", "integers"),
    ("vidA,0903,0.1,0.2", "columns"),
    ("vidA,soon,0.1,0.2,0.5,0.9,64,0", "numbers"),
])
def test_malformed_row_names_file_and_line(tmp_path, line, reason):
    path = tmp_path / "bad.csv"
    path.write_text("vidA,0903,0.1,0.2,0.5,0.9,64,0\n\nvidA,0905,0.1,0.2,0.5,0.9,8,1\n" + line + "\n")
    with pytest.raises(MotionlensError, match=rf"bad\.csv:4: .*{reason}"):
        list(read_ava_csv(path))


def test_cli_build_end_to_end(ava, tmp_path):
    out = tmp_path / "ds"
    proc = run_cli("ava", "build", "--csv", ava["csv"], "--videos", ava["videos"], "--positive", "fight/hit (a person)",
                   "--negative", "8,28,29", "--per-class", "2", "--clip-seconds", "3", "--out", out,
                   "--time-offset", str(OFFSET), "--reencode", "--positive-name", "violence")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"4 clips in {out} (2 violence, 2 no_fight")
    assert "0 copied, 4 re-encoded" in lines[0] and "1 videos missing" in lines[0]
    assert "gone" in proc.stderr
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4"))
    assert len(files) == 4 and sum(f.startswith("violence/") for f in files) == 2
    assert all(count_frames(out / f) == 30 for f in files)


def test_cli_malformed_csv_is_one_line(ava, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("vidA,0903,0.1,0.2,0.5,0.9,64,0\nvidA,0903,0.1\n")
    proc = run_cli("ava", "build", "--csv", bad, "--videos", ava["videos"], "--positive", "64",
                   "--negative", "8", "--out", tmp_path / "ds")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {bad}:2: 3 columns, expected "
                                                "'video_id,timestamp,x1,y1,x2,y2,action_id,person_id' "
                                                "with boxes in 0-1"]
