"""`motionlens data check --deep` decodes every frame and names files that end early."""

import shutil
from pathlib import Path

from tests.conftest import run_cli

ASSETS = Path(__file__).parents[1] / "assets"


def test_check_deep_names_a_truncated_file(tmp_path):
    root = tmp_path / "data"
    for name in ("truncated.avi", "xvid_bf.avi", "vfr_mpdecimate.avi"):
        (root / "a").mkdir(parents=True, exist_ok=True)
        shutil.copy(ASSETS / name, root / "a" / name)
    result = run_cli("data", "check", f"folder:{root}", "--deep")
    out = " ".join((result.stdout + result.stderr).split())  # the console wraps long lines
    assert result.returncode == 1
    assert "truncated.avi" in out and "decoded 8 of 100 frames" in out
    assert "xvid_bf.avi" not in out and "vfr_mpdecimate.avi" not in out  # a VFR AVI's empty chunks are no loss
    assert "Traceback" not in out
