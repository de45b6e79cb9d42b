"""describe(): catalogue and count CSVs with the right rows, plots and thumbnails that exist and
decode, and unreadable videos counted instead of raised."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest

from motionlens.data.index import build_index
from motionlens.dataprep.describe import describe
from motionlens.dataprep.synth import synthesize
from motionlens.video import count_frames, probe


@dataclass
class FakeRecord:
    path: str
    class_name: str
    split: str
    num_frames: int
    fps: float = 25.0
    duration: float = 0.0
    width: int = 64
    height: int = 48
    video_id: str = ""
    label: int = 0


@dataclass
class FakeIndex:
    records: list
    classes: list


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return synthesize(tmp_path_factory.mktemp("describe") / "data", num_classes=3, videos_per_class=4,
                      size=(48, 64), duration=(0.32, 0.6), seed=2)


def _record(path: Path, class_name: str, split: str, **changes) -> FakeRecord:
    info = probe(path)
    fields = dict(num_frames=count_frames(path), fps=info.fps, duration=info.duration, width=info.width,
                  height=info.height, video_id=path.stem)
    return FakeRecord(str(path), class_name, split, **{**fields, **changes})


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_describe_writes_catalogue_counts_plots_and_thumbnails(tiny_folder, tmp_path):
    videos = sorted(tiny_folder.root.rglob("*.mp4"))
    records = [_record(p, p.parent.name, "test" if i % 4 == 0 else "train") for i, p in enumerate(videos)]
    summary = describe(FakeIndex(records, tiny_folder.classes), tmp_path / "out", thumbs_per_class=2)

    catalogue = _rows(tmp_path / "out" / "catalogue.csv")
    assert len(catalogue) == 12 and list(catalogue[0]) == ["path", "class", "split", "frames", "fps", "duration",
                                                           "width", "height"]
    assert {r["path"] for r in catalogue} == {str(p) for p in videos}
    counts = _rows(tmp_path / "out" / "class_counts.csv")
    assert [r["class"] for r in counts] == tiny_folder.classes
    assert all(int(r["train"]) + int(r["test"]) == int(r["total"]) == 4 for r in counts)
    assert summary["counts"]["move_left"] == {"train": 3, "test": 1, "total": 4}
    assert summary["num_videos"] == 12 and summary["total_duration"] == pytest.approx(sum(r.duration for r in records))

    for name in tiny_folder.classes:
        thumbs = sorted(p.name for p in (tmp_path / "out" / "thumbnails" / name).iterdir())
        assert len(thumbs) == 4 and sum(t.endswith("_first.jpg") for t in thumbs) == 2
    first = cv2.imread(str(next((tmp_path / "out" / "thumbnails" / "move_left").glob("*_first.jpg"))))
    assert first.shape == (48, 64, 3)
    durations = cv2.imread(str(tmp_path / "out" / "durations.png"))
    sheet = cv2.imread(str(tmp_path / "out" / "thumbnails.png"))
    assert durations is not None and sheet is not None and sheet.shape[0] > 3 * 96
    assert summary["thumbnail_failures"] == [] and len(summary["files"]) == 3 + 12 + 1


def test_unreadable_videos_are_counted_and_short_endings_stepped_back_from(tiny_folder, tmp_path):
    video = sorted(tiny_folder.root.rglob("*.mp4"))[0]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 2000)
    records = [
        _record(video, "move_left", "train", video_id="overcounted",
                num_frames=count_frames(video) + 3),  # headers that promise frames the file lacks
        FakeRecord(str(broken), "move_right", "train", num_frames=10, duration=0.4, video_id="broken"),
        FakeRecord(str(tmp_path / "missing.mp4"), "move_right", "test", num_frames=10, duration=0.4),
    ]
    summary = describe(FakeIndex(records, ["move_left", "move_right"]), tmp_path / "out")
    assert sorted(Path(p).name for p, _ in summary["thumbnail_failures"]) == ["broken.mp4", "missing.mp4"]
    assert all(reason for _, reason in summary["thumbnail_failures"])
    assert (tmp_path / "out" / "thumbnails" / "move_left" / "overcounted_last.jpg").is_file()
    assert not (tmp_path / "out" / "thumbnails" / "move_right").exists()
    assert len(_rows(tmp_path / "out" / "catalogue.csv")) == 3
    assert (tmp_path / "out" / "thumbnails.png").is_file()


def test_describe_takes_a_real_index(tiny_folder, tmp_path):
    index = build_index(tiny_folder.spec)
    summary = describe(index, tmp_path / "out", thumbs_per_class=1)
    assert summary["num_classes"] == 3 and summary["num_videos"] == 12
    assert {c: n["total"] for c, n in summary["counts"].items()} == dict.fromkeys(tiny_folder.classes, 4)
    assert len(list((tmp_path / "out" / "thumbnails").rglob("*.jpg"))) == 6
