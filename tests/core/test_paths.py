"""Names from CSV, JSON, list and split files stay inside their folders (`motionlens/paths.py`)."""

import csv
import json
import os

import pytest

from motionlens.data.index import build_index
from motionlens.dataprep.ava import build_ava_dataset, plan_ava_clips
from motionlens.dataprep.synth import write_long_video
from motionlens.dataprep.trim import trim_kinetics
from motionlens.core.paths import NAME_MAX, UnsafePathError, join_inside, safe_name, safe_relpath
from motionlens.video import write_video
from tests.conftest import pattern_frames, run_cli

# What a hostile or broken download can hold where a name is expected. Each must be refused.
ESCAPE = "../outside/escape"
BAD_IDS = [ESCAPE, "../../../../tmp/escape", "/tmp/escape", "a\x00b", "x" * 300, "sub/x", "..", "C:evil"]


def test_safe_name_and_relpath():
    assert safe_name("-abc_123") == "-abc_123"
    assert safe_name("punching person (boxing)") == "punching person (boxing)"
    assert safe_name("é" * (NAME_MAX // 2)) == "é" * (NAME_MAX // 2)  # 254 bytes
    for bad in BAD_IDS + ["", ".", "sub\\x", "tab\there", "é" * 128]:
        with pytest.raises(UnsafePathError):
            safe_name(bad)
    assert safe_relpath("walk/./v_1.avi") == "walk/v_1.avi"
    assert safe_relpath("walk\\v_1.avi") == "walk/v_1.avi"  # Windows-made lists
    for bad in ["../x.avi", "a/../../x.avi", "/etc/passwd", "C:\\x.avi", "a/\x00/b", "a/" + "y" * 300, "", "./"]:
        with pytest.raises(UnsafePathError):
            safe_relpath(bad)
    assert join_inside("/data", "a/b.mp4") == join_inside("/data", "a", "b.mp4")
    with pytest.raises(UnsafePathError, match=r"'\.\.'"):
        join_inside("/data", "a", "../../b")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """root/videos/{vidA.mp4, sub/x.mp4}, and root/outside/escape.mp4 that no row may reach."""
    root = tmp_path_factory.mktemp("paths")
    write_long_video(root / "videos" / "vidA.mp4", [(None, 6.0)], size=(48, 64), fps=10.0, seed=1)
    write_video(root / "videos" / "sub" / "x.mp4", pattern_frames(40), 10.0)
    write_video(root / "outside" / "escape.mp4", pattern_frames(40), 10.0)
    return root


def files_under(root):
    return {os.path.join(d, f) for d, _, names in os.walk(root) for f in names}


def test_ava_rows_with_unsafe_ids_are_listed_and_skipped(tree, tmp_path):
    rows = [["vidA", "3", 0.1, 0.1, 0.5, 0.5, 64, 0], ["vidA", "4", 0.1, 0.1, 0.5, 0.5, 8, 0]]
    rows += [[bad, "3", 0.1, 0.1, 0.5, 0.5, 64, 0] for bad in BAD_IDS]
    csv_path = tmp_path / "ava.csv"
    with open(csv_path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    before = files_under(tree)
    out = tmp_path / "out"
    build = build_ava_dataset(csv_path, tree / "videos", out, positive="64", negative="8", per_class=5,
                              clip_seconds=2.0)
    assert sorted(c.video_id for c in build.plan.clips) == ["vidA", "vidA"]
    assert len(build.plan.rejected) == len(BAD_IDS)
    for line_no, line in enumerate(build.plan.rejected, start=3):
        assert line.startswith(f"{csv_path}:{line_no}: ")  # file:line, then why
    assert "path separator" in build.plan.rejected[0] and "NUL" in build.plan.rejected[3]
    assert "longer than 255" in build.plan.rejected[4]
    assert files_under(tree) == before  # nothing written beside the sources
    assert sorted(os.path.relpath(p, out) for p in files_under(out)) == [
        "clips.csv", "fight/vidA_0003.mp4", "no_fight/vidA_0004.mp4", "summary.json"]
    assert f"{len(BAD_IDS)} CSV rows skipped" in build.summary()
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["rejected_rows"]) == len(BAD_IDS)


def test_ava_cli_names_the_skipped_rows(tree, tmp_path):
    csv_path = tmp_path / "ava.csv"
    csv_path.write_text(f"vidA,3,0.1,0.1,0.5,0.5,64,0\nvidA,4,0.1,0.1,0.5,0.5,8,0\n{ESCAPE},3,0.1,0.1,0.5,0.5,64,0\n")
    proc = run_cli("ava", "build", "--csv", csv_path, "--videos", tree / "videos", "--positive", "64",
                   "--negative", "8", "--per-class", "2", "--clip-seconds", "2", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert f"skipped {csv_path}:3: video_id '{ESCAPE}' holds a path separator" in proc.stderr.replace("\n", "")
    assert not (tree / "outside" / "escape_0003.mp4").exists() and not (tmp_path / "escape_0003.mp4").exists()


def test_ava_only_bad_rows_fails_before_writing(tree, tmp_path):
    csv_path = tmp_path / "ava.csv"
    csv_path.write_text(f"{ESCAPE},3,0.1,0.1,0.5,0.5,64,0\n")
    with pytest.raises(Exception, match="no clips to cut.*unsafe video ids"):
        plan_ava_clips(csv_path, tree / "videos", tmp_path / "out", positive="64", negative="8")
    assert not (tmp_path / "out").exists()


def test_trim_rows_with_unsafe_ids_or_labels_are_skipped(tree, tmp_path):
    csv_path = tmp_path / "train.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        writer.writerow(["walk", "vidA", 0, 2, "train"])
        writer.writerows(["walk", bad, 0, 2, "train"] for bad in BAD_IDS)
        writer.writerow(["..", "vidA", 2, 4, "train"])  # a label that climbs out of the split folder
        writer.writerow(["a\x00b", "vidA", 2, 4, "train"])
    before = files_under(tree)
    out = tmp_path / "k400"
    result = trim_kinetics(csv_path, tree / "videos", out)
    assert len(result.plan.rejected) == len(BAD_IDS) + 2
    assert [line.split(": ")[0] for line in result.plan.rejected] == [
        f"{csv_path}:{n}" for n in range(3, 3 + len(BAD_IDS) + 2)]
    assert files_under(tree) == before
    assert sorted(os.path.relpath(p, out) for p in files_under(out)) == ["train.csv", "train/walk/vidA_000000_000002.mp4"]
    assert "CSV rows skipped" in result.summary()


def test_list_layout_stays_below_its_folder(tree, tmp_path):
    root = tmp_path / "lists"
    write_video(root / "walk" / "a.mp4", pattern_frames(20), 10.0)
    write_video(root / "run" / "b.mp4", pattern_frames(20, seed=1), 10.0)
    escape = tree / "outside" / "escape.mp4"
    (root / "train.txt").write_text(f"walk/a.mp4 0\nrun/b.mp4 1\n../outside/escape.mp4 0\n{escape} 1\n"
                                    f"{'y' * 300}.mp4 0\nwalk/../../x.mp4 1\n")
    index = build_index(f"list:{root}", cache=False)
    assert sorted(os.path.relpath(r.path, root) for r in index) == ["run/b.mp4", "walk/a.mp4"]
    rejected = index.report.rejected
    assert [line.split(": ")[0] for line in rejected] == [f"{root / 'train.txt'}:{n}" for n in (3, 4, 5, 6)]
    assert "'..'" in rejected[0] and "absolute" in rejected[1] and "longer" in rejected[2]
    assert any(line.startswith("skipped ") for line in index.report.lines())
    check = run_cli("data", "check", f"list:{root}")
    assert check.returncode == 1 and "4 rows skipped for unsafe names" in check.stdout


def test_kinetics_hmdb_and_hara_reject_unsafe_names(tmp_path):
    root = tmp_path / "k"
    write_video(root / "train" / "walk" / "vid_000000_000002.mp4", pattern_frames(20), 10.0)
    (root / "train.csv").write_text("label,youtube_id,time_start,time_end,split\nwalk,vid,0,2,train\n"
                                    "walk,../../vid,0,2,train\n../x,vid,0,2,train\n")
    index = build_index(f"kinetics:{root}", cache=False)
    assert len(index) == 1 and [line.split(": ")[0] for line in index.report.rejected] == [
        f"{root / 'train.csv'}:3", f"{root / 'train.csv'}:4"]

    root = tmp_path / "h"
    write_video(root / "walk" / "v1.avi", pattern_frames(20), 10.0, codec="mpeg4")
    (root / "walk_test_split1.txt").write_text("v1.avi 1\n../../etc/v1.avi 2\n")
    index = build_index(f"hmdb51:{root}", cache=False)
    assert len(index) == 1 and index.report.rejected[0].startswith(f"{root / 'walk_test_split1.txt'}:2: ")

    root = tmp_path / "hara"
    write_video(root / "walk" / "v1.mp4", pattern_frames(20), 10.0)
    database = {"v1": {"subset": "training", "annotations": {"label": "walk"}},
                "../../v1": {"subset": "training", "annotations": {"label": "walk"}},
                "v2": {"subset": "training", "annotations": {"label": "../walk"}}}
    (root / "ann.json").write_text(json.dumps({"labels": ["walk", "../walk"], "database": database}))
    index = build_index(f"hara:{root}", cache=False)
    assert len(index) == 1 and len(index.report.rejected) == 2
    assert "video '../../v1'" in index.report.rejected[0] and "label" in index.report.rejected[1]
