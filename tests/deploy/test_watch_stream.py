"""`motionlens watch` on a real live stream: MPEG-TS over HTTP on loopback, served by PyAV in a
separate process that is killed mid-stream and restarted. Reconnection, the gap and alerts on
both sides of it are checked on the real thing, not a fake source."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CLI
from tests.deploy.test_watch import brightness_checkpoint

pytestmark = pytest.mark.slow  # a live stream, killed and restarted

SERVER = str(Path(__file__).with_name("_ts_server.py"))
BRIGHT = (1.0, 2.6)  # seconds of each connection's stream that are bright
WINDOW, HOP = 8 / 25, 2 / 25


def _default_sigint() -> None:
    """In the child before exec: Ctrl-C as a shell would deliver it (default action, not blocked),
    whatever this test process inherited or set up."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, lifetime: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, SERVER, str(port), *map(str, BRIGHT), str(lifetime)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "listening"
    return proc


def read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def wait_for_event(path: Path, proc: subprocess.Popen, condition, limit: float = 60.0) -> list[dict]:
    """Poll the event log until `condition(events)`; fail (not hang) after `limit` s or if watch exits."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        events = read_events(path)
        if condition(events):
            return events
        if proc.poll() is not None:
            pytest.fail(f"watch ended early:\n{proc.stderr.read()}")
        time.sleep(0.05)
    pytest.fail(f"timed out; events so far: {read_events(path)}")


def test_watch_reconnects_to_a_killed_and_restarted_stream(tmp_path):
    port = free_port()
    ckpt = brightness_checkpoint(tmp_path / "bright.pt")
    events_file = tmp_path / "events.jsonl"
    server = start_server(port, lifetime=60)
    watch = subprocess.Popen([CLI, "watch", f"http://127.0.0.1:{port}/live.ts", str(ckpt), "--alert",
                              "bright:0.8:0.4s", "--events", str(events_file), "--window-stride", "2", "--retry-delay", "0.3",
                              "--max-retries", "8", "--device", "cpu"], stderr=subprocess.PIPE, text=True,
                             preexec_fn=_default_sigint)
    restarted, began = None, time.monotonic()
    try:
        wait_for_event(events_file, watch, lambda ev: any(e["event"] == "alert_end" for e in ev))
        server.send_signal(signal.SIGKILL)  # mid-stream: the stream goes on, dark, until killed
        server.wait()
        killed_at = time.monotonic() - began
        # Restart only once two attempts have failed against the dead port, so the gap is real.
        wait_for_event(events_file, watch, lambda ev: any(e["event"] == "reconnect" and e["attempt"] >= 2
                                                          for e in ev))
        restarted = start_server(port, lifetime=60)
        restarted_at = time.monotonic() - began
        wait_for_event(events_file, watch, lambda ev: sum(e["event"] == "alert_end" for e in ev) == 2)
        watch.send_signal(signal.SIGINT)  # how a user stops watching a live camera
        _, stderr = watch.communicate(timeout=60)
    finally:
        for proc in (watch, server, restarted):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    events = read_events(events_file)
    timeline = [{k: e[k] for k in ("event", "start_sec", "time_sec", "end_sec", "attempt", "delay_sec", "reason", "gap_sec",
                                   "stream_sec", "frames", "windows", "alerts") if k in e}
                for e in events if e["event"] not in ("status",)]
    print(f"\nwall clock from starting watch: server killed at {killed_at:.2f} s, restarted (listening) at "
          f"{restarted_at:.2f} s")
    print("\n".join(json.dumps(t) for t in timeline))  # the timeline (pytest -s), for the record

    alerts = [e for e in events if e["event"] == "alert"]
    ends = [e for e in events if e["event"] == "alert_end"]
    retries = [e for e in events if e["event"] == "reconnect"]
    resumed = [e for e in events if e["event"] == "reconnected"]
    assert len(alerts) == 2 and len(ends) == 2, timeline  # the rule fired before and after the gap
    assert len(resumed) == 1 and resumed[0]["attempts"] == len(retries) >= 2
    assert [r["attempt"] for r in retries] == list(range(1, len(retries) + 1))
    assert [r["delay_sec"] for r in retries[:2]] == [0.3, 0.6]  # exponential backoff
    assert "refused" in " ".join(r["reason"] for r in retries[1:]).lower()  # the port was really dead
    gap = resumed[0]["gap_sec"]
    assert gap >= 0.3 + 0.6  # at least the two waits before the server was restarted
    # Before the gap: fired once the bright stretch had lasted 0.4 s, while it was still bright.
    # (Bounds allow for the first frames' timestamps and for a frame or two dropped on a busy machine.)
    first, second = alerts
    assert BRIGHT[0] - 0.1 <= first["start_sec"] and first["time_sec"] <= BRIGHT[1] + WINDOW
    assert first["time_sec"] - first["start_sec"] >= 0.4 - 1e-6
    assert first["time_sec"] < ends[0]["end_sec"] < resumed[0]["stream_sec"]
    # After it: the timeline went on across the gap, and the alert came in the new stream's bright stretch.
    # (`back` is stamped when the first new frame arrives, after the decoder's probe: allow for that.)
    back = resumed[0]["stream_sec"]
    assert back >= ends[0]["end_sec"] + gap - 0.5
    assert BRIGHT[0] - 0.4 <= second["start_sec"] - back and second["time_sec"] - back <= BRIGHT[1] + WINDOW
    assert second["time_sec"] - second["start_sec"] >= 0.4 - 1e-6
    summary = events[-1]
    assert summary["event"] == "summary" and summary["alerts"] == 2
    assert watch.returncode == 130 and "back after a" in stderr and "Traceback" not in stderr


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port`, asked of the kernel: connecting to find out
    would use up a server that takes one client."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        if any(r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "0A" for r in rows):
            return True
    return False


@pytest.mark.slow
def test_a_server_that_takes_one_client_is_scored_whole(tmp_path):
    """FFmpeg's `-listen 1` HTTP server serves one client, once: watch must not spend that one
    connection on reading the frame rate. Every frame served is scored."""
    from motionlens.video import write_video
    import numpy as np

    frames = np.full((75, 64, 80, 3), 40, dtype=np.uint8)
    frames[25:55] = 215
    video = write_video(tmp_path / "source.mp4", frames, 25.0)
    ckpt = brightness_checkpoint(tmp_path / "bright.pt")
    port = free_port()
    server = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", str(video), "-c:v",
                               "libx264", "-g", "5", "-bf", "0", "-f", "mpegts", "-listen", "1",
                               f"http://127.0.0.1:{port}"], stdin=subprocess.DEVNULL)
    events_file = tmp_path / "events.jsonl"
    try:
        deadline = time.monotonic() + 10
        while not listening(port):
            assert time.monotonic() < deadline and server.poll() is None, "ffmpeg did not start listening"
            time.sleep(0.05)
        proc = subprocess.run([CLI, "watch", f"http://127.0.0.1:{port}", str(ckpt), "--alert", "bright:0.8:0.4s",
                               "--events", str(events_file), "--window-stride", "2", "--max-retries", "1",
                               "--retry-delay", "0.1", "--device", "cpu"], capture_output=True, text=True, timeout=60)
    finally:
        server.kill()
        server.wait()
    events = read_events(events_file)
    summary = events[-1]
    assert summary["event"] == "summary", proc.stderr
    assert summary["frames"] + summary["dropped_frames"] >= 72, summary  # the whole stream, not 0 frames
    assert summary["frames"] >= 60 and summary["windows"] >= 25
    assert sum(e["event"] == "alert" for e in events) == 1
    assert proc.returncode == 1 and "gave up after 1 reconnection" in proc.stderr  # the server is gone after one
