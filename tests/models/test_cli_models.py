"""`motionlens models`, run through the real console entry point."""

from __future__ import annotations

import subprocess
import sys


def _run(*args):
    code = "from motionlens.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, "models", *args], capture_output=True, text=True, timeout=120)


def test_lists_filtered_models_with_figures():
    result = _run("--name", "x3d")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "x3d_xs" in out and "3.79" in out and "0.61" in out and "3×4×160×160" in out and "kinetics400" in out
    assert "GMACs" in out and "r3d_18" not in out


def test_unknown_filter_is_a_one_line_error():
    result = _run("--name", "nonexistent")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: no model matches 'nonexistent'")
    assert len(result.stderr.strip().splitlines()) == 1
