"""A video that ends early gets the flow of what decoded, and is listed with the failures."""

import shutil
from pathlib import Path

from motionlens.data.index import build_index
from motionlens.dataprep.flow import extract_dataset

ASSETS = Path(__file__).parents[1] / "assets"


def test_truncated_video_is_named_and_listed_with_failures(tmp_path):
    root = tmp_path / "data"
    for name in ("truncated.avi", "xvid_bf.avi"):
        (root / "a").mkdir(parents=True, exist_ok=True)
        shutil.copy(ASSETS / name, root / "a" / name)
    index = build_index(f"folder:{root}", cache=False)
    report = extract_dataset(index, tmp_path / "flow", method="dis", workers=1, show_progress=False)
    assert report.extracted == [str(root / "a" / "xvid_bf.avi")]
    assert [(Path(p).name, reason.split(" (")[0]) for p, reason in report.failed] == [
        ("truncated.avi", "flow of what decoded only: decoded 8 of 100 frames")]
    assert report.flow_frames == 72 + 7  # the truncated file's 8 frames still give 7 flow frames
    again = extract_dataset(index, tmp_path / "flow", method="dis", workers=1, show_progress=False)
    assert again.skipped == [str(root / "a" / "xvid_bf.avi")] and len(again.failed) == 1  # named every run
