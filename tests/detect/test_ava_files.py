"""AVA readers: label maps, annotation and detection CSVs, exclusions and person boxes; bad rows are
reported as file:line: reason and skipped."""

import pytest

from motionlens.core.errors import MotionlensError
from motionlens.dataprep.ava_csv import AvaRow, PersonBox, write_ava_csv, write_labelmap, write_person_boxes
from motionlens.detect.ava_files import read_annotations, read_exclusions, read_labelmap, read_person_boxes

PBTXT = '''item {
  name: "bend/bow (at the waist)"
  id: 1
}
item {
  name: "fight/hit (a person)"
  label_id: 64
  label_type: PERSON_INTERACTION
}
'''


def test_labelmap_official_and_v22_spellings(tmp_path):
    path = tmp_path / "map.pbtxt"
    path.write_text(PBTXT)
    assert read_labelmap(path) == {1: "bend/bow (at the waist)", 64: "fight/hit (a person)"}
    write_labelmap(tmp_path / "again.pbtxt", {3: "x", 1: "y"})
    assert read_labelmap(tmp_path / "again.pbtxt") == {3: "x", 1: "y"}


@pytest.mark.parametrize("text, reason", [("nothing here", "no 'item"), ('item {\n  name: "a"\n}\n', ":1: an item"),
                                          ('item {\n  name: "a"\n  id: 0\n}\n', "start at 1")])
def test_bad_labelmap_is_one_error(tmp_path, text, reason):
    (tmp_path / "m.pbtxt").write_text(text)
    with pytest.raises(MotionlensError, match=reason):
        read_labelmap(tmp_path / "m.pbtxt")


def test_bad_rows_are_reported_and_skipped(tmp_path):
    path = tmp_path / "gt.csv"
    path.write_text("vidA,0902,0.1,0.2,0.5,0.9,1,0\n"
                    "vidA,0902,0.1,0.2,1.5,0.9,1,0\n"  # outside 0-1
                    "vidA,0903,0.6,0.2,0.5,0.9,1,1\n"  # x2 < x1
                    "../etc,0903,0.1,0.2,0.5,0.9,1,1\n"  # climbs out of its folder
                    "vidA,0904,0.1,0.2,0.5,0.9,99,1\n"  # not in the label map
                    "vidA,0905,0.1,0.2,0.5,0.9,64,2\n")
    problems = []
    rows = read_annotations(path, problems, labelmap={1: "bend", 64: "fight"})
    assert rows == [AvaRow("vidA", 902.0, (0.1, 0.2, 0.5, 0.9), 1, 0), AvaRow("vidA", 905.0, (0.1, 0.2, 0.5, 0.9), 64, 2)]
    assert [p.split(": ")[0].rsplit(":", 1)[-1] for p in problems] == ["2", "3", "4", "5"]
    assert "box" in problems[0] and "box" in problems[1] and "'../etc'" in problems[2]
    assert "action id 99 is not in the label map" in problems[3]


def test_detections_carry_scores_and_round_trip(tmp_path):
    rows = [AvaRow("vidA", 902.0, (0.1, 0.2, 0.5, 0.9), 3, None, 0.25), AvaRow("v2", 910.0, (0, 0, 1, 1), 1, None, 1.0)]
    write_ava_csv(tmp_path / "det.csv", rows, scored=True)
    assert read_annotations(tmp_path / "det.csv", [], scored=True) == rows
    problems = []
    (tmp_path / "bad.csv").write_text("vidA,0902,0.1,0.2,0.5,0.9,3,high\n")
    assert read_annotations(tmp_path / "bad.csv", problems, scored=True) == [] and "score" in problems[0]


def test_exclusions_and_person_boxes(tmp_path):
    (tmp_path / "ex.csv").write_text("vidA,0902\nvidB,1000.5\n../x,0902\nvidC\n")
    problems = []
    assert read_exclusions(tmp_path / "ex.csv", problems) == {("vidA", 902), ("vidB", 1000)}
    assert len(problems) == 2 and ":3:" in problems[0] and ":4:" in problems[1]
    boxes = [PersonBox("vidA", 902.0, (0.1, 0.2, 0.5, 0.9), 0.75), PersonBox("vidA", 903.0, (0.0, 0.0, 0.5, 0.5), 1.0)]
    write_person_boxes(tmp_path / "boxes.csv", boxes)
    with open(tmp_path / "boxes.csv", "a") as f:
        f.write("vidA,0904,0.5,0.2,0.5,0.9\nvidA,0904,0.1,0.2,0.3,0.9\n")
    problems = []
    read = read_person_boxes(tmp_path / "boxes.csv", problems)
    assert read[:2] == boxes and read[2] == PersonBox("vidA", 904.0, (0.1, 0.2, 0.3, 0.9), 1.0)
    assert len(problems) == 1 and ":3: box" in problems[0]
    with pytest.raises(MotionlensError, match="not found"):
        read_person_boxes(tmp_path / "none.csv", [])
