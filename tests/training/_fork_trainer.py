"""Starts `motionlens train` runs by fork from one warm interpreter (torch already imported), so a
test can kill 20 training processes without paying 20 interpreter and torch start-ups.

Reads one JSON request per line on stdin: {"argv": [...], "env": {...}, "log": "file", "fsize":
bytes or null}; forks a child that runs `motionlens.cli.main(argv)` with its output in `log` and,
with `fsize`, RLIMIT_FSIZE set (no file may grow past it: a full disk, as the writer sees it); answers {"pid": PID} at once
and {"pid": PID, "status": CODE} when the child has ended (negative: killed by that signal).
Exits when stdin closes."""

from __future__ import annotations

import json
import os
import resource
import sys

import torch  # noqa: F401  (imported before any fork: that is the point)
import torch._dynamo  # noqa: F401  (the optimizer imports it lazily: seconds per child otherwise)

import motionlens.report.plots  # noqa: F401  (matplotlib)
import motionlens.training.train  # noqa: F401  (everything training imports, loaded once)
from motionlens.cli import main


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.environ.update(request.get("env", {}))
                if request.get("fsize"):
                    resource.setrlimit(resource.RLIMIT_FSIZE, (request["fsize"], request["fsize"]))
                fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                try:
                    main(request["argv"])
                    code = 0
                except SystemExit as done:
                    code = done.code if isinstance(done.code, int) else 1
            finally:
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "status": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
