"""A fork server for the tests' command lines (`conftest.CliServer`): imports torch and motionlens
once, then runs each `motionlens` command line in a fresh forked child, as the console script would.

A new interpreter spends 5-8 s of CPU on this 2-core machine importing torch; about a hundred
command lines in the suite paid that each, and the checkpoint fault test kills 20 training runs.
The server imports but never computes, so no thread pool exists to be broken by fork. Each child
gets the caller's environment and working directory, its own output files, stdin from /dev/null,
its own process group, optionally a file-size limit (RLIMIT_FSIZE: a full disk, as a writer sees
it), and exits through the normal interpreter shutdown (atexit hooks, buffered output) with the
status the console script would give.

One JSON request per line on stdin: {"args", "cwd", "env", "stdout", "stderr", "fsize"}. Replies,
one JSON line each: {"pid": N} when the child starts, then {"pid": N, "status": S} when it has
ended (negative: killed by that signal). Exits when stdin closes.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback

# Everything a command line imports that costs time; importing never starts torch's thread pools.
import torch  # noqa: F401
import torch._dynamo  # noqa: F401  (the optimisers import it lazily: seconds per child otherwise)

import motionlens.cli
import motionlens.deploy.predict  # noqa: F401
import motionlens.report.plots  # noqa: F401  (matplotlib)
import motionlens.training.evaluate  # noqa: F401
import motionlens.training.train  # noqa: F401


def child(request: dict) -> int:
    """In the forked child: become the console script for `request`; returns its exit status."""
    os.setpgid(0, 0)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    if request.get("fsize"):
        resource.setrlimit(resource.RLIMIT_FSIZE, (request["fsize"], request["fsize"]))
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                            (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND),
                            (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)):
        opened = os.open(path, flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = ["motionlens", *request["args"]]
    try:
        motionlens.cli.main(request["args"])
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    except BaseException:  # as the interpreter would: the traceback on stderr, status 1
        traceback.print_exc()
        return 1
    return 0


def serve() -> int | None:
    """Serve requests until stdin closes; in a child, return its exit status instead."""
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            return child(request)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "status": os.waitstatus_to_exitcode(status)}), flush=True)
    return None


if __name__ == "__main__":
    status = serve()
    if status is not None:
        sys.exit(status)  # a child: the interpreter's own shutdown, as the console script's
