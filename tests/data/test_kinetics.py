"""The one Kinetics CSV reader and clip name, shared by the layout parser and the trimmer."""

import pytest

from motionlens.data.kinetics import is_kinetics_csv, kinetics_name, read_kinetics_csv
from motionlens.core.errors import MotionlensError
from motionlens.core.paths import UnsafePathError


def test_rows_with_split_from_the_column_else_the_file_name(tmp_path):
    path = tmp_path / "kinetics_700_validate.csv"
    path.write_text("label,youtube_id,time_start,time_end,split\n"
                    "zumba, abc ,2,12.5,train\n"
                    "abseiling,xyz,0,10,\n")
    assert is_kinetics_csv(path)
    rows = list(read_kinetics_csv(path))
    assert [(r.where, r.youtube_id, r.label, r.start, r.end, r.split) for r in rows] == [
        (f"{path}:2", "abc", "zumba", 2.0, 12.5, "train"),
        (f"{path}:3", "xyz", "abseiling", 0.0, 10.0, "val"),
    ]


def test_clip_name_truncates_seconds_and_refuses_unsafe_ids():
    assert kinetics_name("-abc_123", 2.9, 12.0) == "-abc_123_000002_000012"
    with pytest.raises(UnsafePathError, match="youtube_id"):
        kinetics_name("../etc", 0, 10)


def test_other_csvs_are_not_kinetics(tmp_path):
    path = tmp_path / "ava.csv"
    path.write_text("video_id,timestamp\nabc,902\n")
    assert not is_kinetics_csv(path)
    with pytest.raises(MotionlensError, match="not a Kinetics CSV"):
        list(read_kinetics_csv(path))
