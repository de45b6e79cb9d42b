"""motionlens/cli/dataprep.py: `data hara-json` (and its old name `ava hara-json`) and `trim` are
wired into the command tree; tests/dataprep/ runs them on real data."""

import json

from motionlens.dataprep.synth import synthesize
from tests.conftest import run_cli


def test_hara_json_is_a_data_command_and_keeps_its_old_name(tmp_path):
    data = synthesize(tmp_path / "toy", layout="folder", num_classes=2, videos_per_class=2, size=(32, 48), fps=10.0,
                      duration=0.5, seed=0)
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    for args, out in ((("data", "hara-json"), new), (("ava", "hara-json"), old)):
        proc = run_cli(*args, data.spec, "--out", out)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"wrote 4 videos (4 training) in 2 classes to {out}"
    assert json.loads(new.read_text()) == json.loads(old.read_text())
    assert len(json.loads(new.read_text())["database"]) == 4
    listed = {group: run_cli(group, "-h").stdout for group in ("data", "ava")}
    assert "hara-json" in listed["data"] and "hara-json" not in listed["ava"]  # the old name is hidden
    trim = run_cli("trim", "-h")
    assert trim.returncode == 0 and "Kinetics" in trim.stdout
