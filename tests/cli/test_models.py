"""`motionlens models` through the command line, as the console script runs it (`run_cli`)."""

from __future__ import annotations

from tests.conftest import run_cli


def _run(*args):
    return run_cli("models", *args)


def test_lists_filtered_models_with_figures():
    result = _run("--name", "x3d")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "x3d_xs" in out and "3.79" in out and "0.84" in out and "3×4×182×182" in out and "kinetics400" in out
    assert "GMACs" in out and "r3d_18" not in out


def test_unknown_filter_is_a_one_line_error():
    result = _run("--name", "nonexistent")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: no model matches 'nonexistent'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_weights_table_shows_each_files_input_contract():
    result = _run("--weights", "--name", "r3d_18")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    for text in ("r3d_18 · kinetics400", "15 fps; 16 frames", "128x171 bilinear, antialias False",
                 "centre 112", "mean (0.43216, 0.394666, 0.37645)", "5 clip(s) x 1 crop(s)", "frame_rate=15"):
        assert text in out, text
    hara = " ".join(_run("--weights", "--name", "resnet3d_18").stdout.split())
    assert "native fps" in hara and "0-255" in hara and "114.775" in hara and "antialias True" in hara
