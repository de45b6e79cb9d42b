"""Events out: JSON lines to a stream, and alerts to a webhook with retries and a spool on disk."""

from __future__ import annotations

import json
import math
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from pathlib import Path
from typing import IO, Callable

from ..core.atomic import write_text


class EventSink:
    """Writes events as JSON lines to a stream and delivers alerts to a webhook, never losing one.

    Alerts (`alert`, `alert_end`) are POSTed in order by a background thread, so a slow or dead
    endpoint never stalls inference. A failure of any kind (refused, timeout, reset, a truncated
    or non-2xx reply) is retried with exponential backoff from `retry_delay` to `max_delay`
    seconds, for as long as the sink is open. Each alert carries an `Idempotency-Key` header that
    stays the same across retries, so a receiver that got an alert whose reply was lost can drop
    the repeat.

    `spool`: a JSON-lines file holding every alert not yet delivered. An alert is written there
    before its first attempt and removed once delivered, so a killed process loses none; alerts
    found there at start are delivered first. Without a spool they are kept in memory only.
    `close()` keeps trying for up to `drain_timeout` seconds, then reports what is left (through
    `warn`) and returns that number."""

    KINDS = ("alert", "alert_end")

    def __init__(self, stream: IO[str], webhook: str | None = None, timeout: float = 5.0,
                 warn: Callable[[str], None] = lambda message: None, spool: str | os.PathLike | None = None,
                 retry_delay: float = 1.0, max_delay: float = 60.0, drain_timeout: float = 30.0):
        self.stream, self.webhook, self.timeout, self.warn = stream, webhook, timeout, warn
        self.retry_delay, self.max_delay, self.drain_timeout = retry_delay, max_delay, drain_timeout
        self.spool = Path(spool) if spool and webhook else None
        self.posted = self.failed = 0
        self._pending: deque[tuple[str, dict]] = deque()  # (idempotency key, event), oldest first
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._closing = False
        self._deadline = math.inf
        self._thread = None
        if webhook:
            if self.spool is not None and self.spool.is_file():
                self._pending.extend(self._read_spool())
                if self._pending:
                    warn(f"{len(self._pending)} undelivered alerts from an earlier run found in {self.spool}; "
                         "sending them first")
            self._thread = threading.Thread(target=self._post_loop, name="webhook", daemon=True)
            self._thread.start()

    def __call__(self, event: dict) -> None:
        with self._write_lock:  # several cameras' threads share one sink
            self.stream.write(json.dumps(event) + "\n")
            self.stream.flush()
        if self._thread is not None and event.get("event") in self.KINDS:
            with self._cond:
                item = (uuid.uuid4().hex, event)
                self._pending.append(item)
                if self.spool is not None:
                    self._append_spool(item)
                self._cond.notify_all()

    @property
    def undelivered(self) -> int:
        with self._cond:
            return len(self._pending)

    def _post_loop(self) -> None:
        failures = 0
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending or time.monotonic() >= self._deadline:
                    return
                key, event = self._pending[0]
            error = self._post(key, event)
            with self._cond:
                if error is None:
                    self._pending.popleft()
                    self.posted += 1
                    if failures:
                        self.warn(f"webhook {self.webhook} is back after {failures} failed attempts; "
                                  f"{len(self._pending)} alerts still to send")
                    failures = 0
                    if self.spool is not None:
                        self._rewrite_spool()
                    continue
                self.failed += 1
                failures += 1
                delay = min(self.retry_delay * 2 ** (failures - 1), self.max_delay)
                if failures == 1 or delay >= self.max_delay and failures % 10 == 0:
                    where = f"kept in {self.spool}" if self.spool is not None else "kept in memory"
                    self.warn(f"webhook {self.webhook} failed ({error}); {len(self._pending)} alerts {where}, "
                              f"retrying with backoff")
                self._cond.wait(min(delay, max(self._deadline - time.monotonic(), 0.0)))

    def _post(self, key: str, event: dict) -> str | None:
        """None when the endpoint accepted the alert (2xx, reply read to the end), else why not."""
        timeout = min(self.timeout, max(self._deadline - time.monotonic(), 0.1))
        request = urllib.request.Request(self.webhook, data=json.dumps(event).encode("utf-8"), method="POST",
                                         headers={"Content-Type": "application/json", "Idempotency-Key": key})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
                if not 200 <= response.status < 300:
                    return f"HTTP {response.status}"
            return None
        except urllib.error.HTTPError as err:
            return f"HTTP {err.code}"
        except Exception as err:  # refused, reset, timeout, IncompleteRead, bad URL: all worth retrying
            reason = getattr(err, "reason", None) or err
            return f"{type(err).__name__}: {reason}" if str(reason) else type(err).__name__

    def _read_spool(self) -> list[tuple[str, dict]]:
        items = []
        for line in self.spool.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                items.append((str(record["key"]), dict(record["event"])))
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash mid-write: that alert had not been spooled yet
        return items

    def _append_spool(self, item: tuple[str, dict]) -> None:
        try:
            with open(self.spool, "a", encoding="utf-8") as f:
                f.write(json.dumps({"key": item[0], "event": item[1]}) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as err:
            self.warn(f"cannot write the webhook spool {self.spool} ({err}); alerts are kept in memory only")

    def _rewrite_spool(self) -> None:
        try:
            if not self._pending:
                self.spool.unlink(missing_ok=True)
                return
            write_text(self.spool, "".join(json.dumps({"key": k, "event": e}) + "\n" for k, e in self._pending))
        except OSError as err:
            self.warn(f"cannot update the webhook spool {self.spool} ({err})")

    def close(self) -> int:
        """Deliver what is still queued (for up to `drain_timeout` seconds); returns how many alerts
        are left undelivered, and reports them through `warn` (and where they are kept)."""
        if self._thread is None:
            return 0
        with self._cond:
            self._closing = True
            self._deadline = time.monotonic() + self.drain_timeout
            self._cond.notify_all()
        self._thread.join(timeout=self.drain_timeout + self.timeout + 1.0)
        left = self.undelivered
        if left:
            where = (f"kept in {self.spool}; they are sent when `motionlens watch` next starts with this spool"
                     if self.spool is not None else "lost (they are in the event log; pass --spool to keep them)")
            self.warn(f"{left} alerts not delivered to {self.webhook} by shutdown: {where}")
        return left
