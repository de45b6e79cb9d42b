"""Kinetics label order (motionlens/data/layouts.py): indices come from the class list, not from disk."""

from __future__ import annotations

from motionlens.data.index import build_index
from motionlens.labels import kinetics400_classes


def _kinetics(root, make_video, rows, on_disk):
    root.mkdir()
    lines = ["label,youtube_id,time_start,time_end,split"]
    for label, vid in rows:
        lines.append(f'"{label}",{vid},10,20,val')
        if vid in on_disk:
            path = make_video(f"{vid}.mp4", num_frames=8, size=(16, 16))
            path.rename(root / f"{vid}_000010_000020.mp4")
    (root / "validate.csv").write_text("\n".join(lines) + "\n")
    return build_index(f"kinetics:{root}")


ROWS = [("zumba", "vid_z"), ("air drumming", "vid_a"), ("sharpening knives", "vid_s"), ("abseiling", "vid_b")]


def test_kinetics400_labels_are_the_official_indices_whatever_is_downloaded(tmp_path, make_video):
    official = kinetics400_classes()
    full = _kinetics(tmp_path / "full", make_video, ROWS, {"vid_z", "vid_a", "vid_s", "vid_b"})
    partial = _kinetics(tmp_path / "partial", make_video, ROWS, {"vid_z", "vid_s"})  # "abseiling" never downloaded
    for index in (full, partial):
        assert index.classes == official
        for record in index.records:
            assert record.label == official.index(record.class_name)
    by_name = {r.class_name: r.label for r in partial.records}
    assert by_name == {"zumba": 399, "sharpening knives": 290}
    assert len(partial.report.listed_missing) == 2


def test_other_kinetics_versions_keep_every_listed_class(tmp_path, make_video):
    rows = [("zumba", "vid_z"), ("a class new in kinetics-700", "vid_n"), ("abseiling", "vid_b")]
    index = _kinetics(tmp_path / "k700", make_video, rows, {"vid_z"})  # two of three classes missing on disk
    assert index.classes == ["a class new in kinetics-700", "abseiling", "zumba"]
    assert [r.label for r in index.records] == [2]
