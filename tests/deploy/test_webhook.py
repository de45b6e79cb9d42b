"""EventSink: every alert reaches a webhook that fails, hangs, drops out and recovers, exactly once."""

from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from motionlens.deploy.webhook import EventSink


class FlakyEndpoint:
    """A loopback webhook that answers its first requests as `script` says, then accepts.

    ok: reads the alert, records it (the only mode that does), 204 | 500/503: an error status |
    hang: says nothing for longer than the client waits | incomplete: a 200 whose body is cut
    short (http.client.IncompleteRead) | reset: closes without a reply (RemoteDisconnected)."""

    def __init__(self, script=(), port: int = 0):
        self.script = list(script)
        self.received: list[tuple[str, dict]] = []  # (Idempotency-Key, alert) accepted
        self.requests = 0
        self.release = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    endpoint.requests += 1
                    mode = endpoint.script.pop(0) if endpoint.script else "ok"
                if mode == "hang":
                    endpoint.release.wait(5.0)
                    self.close_connection = True
                elif mode == "reset":
                    self.close_connection = True
                elif mode == "incomplete":
                    self.send_response(200)
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    self.wfile.write(b"parti")
                    self.close_connection = True
                elif mode in ("500", "503"):
                    self.send_error(int(mode))
                else:
                    with lock:
                        endpoint.received.append((self.headers["Idempotency-Key"], json.loads(body)))
                    self.send_response(204)
                    self.end_headers()

            def log_message(self, *args):
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def wait_for(condition, limit: float = 30.0) -> None:
    """Poll until `condition()` holds; fail (not hang) after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached")
        time.sleep(0.02)


def alert(n: int) -> dict:
    return {"event": "alert", "label": "fight", "n": n}


def test_every_alert_delivered_exactly_once_through_failures_hangs_and_an_outage(tmp_path):
    endpoint = FlakyEndpoint(["500", "incomplete", "hang", "reset", "503", "ok", "hang", "500"])
    spool = tmp_path / "spool.jsonl"
    warnings: list[str] = []
    log = io.StringIO()
    sink = EventSink(log, endpoint.url, timeout=0.5, warn=warnings.append, spool=spool, retry_delay=0.05,
                     max_delay=0.2, drain_timeout=10.0)
    for n in range(5):
        sink(alert(n))
        sink({"event": "status", "n": n})  # not an alert: logged, never posted
    wait_for(lambda: len(endpoint.received) == 5)
    assert sink.failed == 7  # every scripted failure was retried, none ended the thread

    endpoint.stop()  # the endpoint goes away; alerts go on happening
    for n in range(5, 10):
        sink({"event": "alert_end" if n % 2 else "alert", "label": "fight", "n": n})
    wait_for(lambda: sink.failed >= 10)
    spooled = [json.loads(line)["event"]["n"] for line in spool.read_text().splitlines()]
    assert spooled == [5, 6, 7, 8, 9]  # undelivered alerts are on disk, in order

    endpoint = FlakyEndpoint(["503"], port=endpoint.port)  # back, at the same address
    wait_for(lambda: sink.undelivered == 0)
    assert sink.close() == 0
    endpoint.stop()
    keys = [key for key, _ in endpoint.received]
    assert [event["n"] for _, event in endpoint.received] == [5, 6, 7, 8, 9]
    assert len(set(keys)) == len(keys)
    assert sink.posted == 10 and not spool.exists()  # delivered: the spool is emptied and removed
    assert any("failed" in w for w in warnings) and any("is back" in w for w in warnings)
    assert [json.loads(line)["n"] for line in log.getvalue().splitlines()] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7,
                                                                                8, 9]


def test_shutdown_reports_and_keeps_what_it_could_not_deliver(tmp_path):
    endpoint = FlakyEndpoint()
    url = endpoint.url
    endpoint.stop()  # nobody listens: connection refused
    spool = tmp_path / "spool.jsonl"
    warnings: list[str] = []
    sink = EventSink(io.StringIO(), url, timeout=0.3, warn=warnings.append, spool=spool, retry_delay=0.05,
                     drain_timeout=0.5)
    for n in range(3):
        sink(alert(n))
    assert sink.close() == 3
    assert "3 alerts not delivered" in warnings[-1] and str(spool) in warnings[-1]
    assert len(spool.read_text().splitlines()) == 3

    # The next run with the same spool delivers them first, then its own.
    endpoint = FlakyEndpoint(["reset"], port=endpoint.port)
    warnings.clear()
    sink = EventSink(io.StringIO(), url, timeout=0.5, warn=warnings.append, spool=spool, retry_delay=0.05)
    sink(alert(3))
    assert sink.close() == 0
    endpoint.stop()
    assert [event["n"] for _, event in endpoint.received] == [0, 1, 2, 3]
    assert len({key for key, _ in endpoint.received}) == 4
    assert "3 undelivered alerts from an earlier run" in warnings[0] and not spool.exists()


def test_without_a_spool_close_says_they_are_lost():
    endpoint = FlakyEndpoint()
    url = endpoint.url
    endpoint.stop()
    warnings: list[str] = []
    sink = EventSink(io.StringIO(), url, timeout=0.2, warn=warnings.append, retry_delay=0.05, drain_timeout=0.3)
    sink(alert(0))
    assert sink.close() == 1 and "1 alerts not delivered" in warnings[-1] and "lost" in warnings[-1]
