"""Fuzz: mutated copies of the fixture files (flipped bytes, truncation, zeroed ranges, swapped
headers) either read or give one VideoError line. No traceback, no hang (a time limit per case,
the worker is killed and restarted), no unbounded memory (the worker runs under RLIMIT_AS)."""

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # 560 mutated files through a worker process

ASSETS = Path(__file__).parents[1] / "assets"
WORKER = Path(__file__).with_name("fuzz_worker.py")
KINDS = ("flip", "truncate", "zero", "swap")
SEEDS = 20  # 7 files x 4 kinds x 20 = 560 cases, about 15 s on one core
CASE_TIMEOUT = 20.0  # seconds; a case takes well under one, so this only catches hangs


class Worker:
    def __init__(self):
        root = str(Path(__file__).parents[2])
        self.proc = subprocess.Popen([sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, cwd=root,
                                     env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})

    def ask(self, case: dict) -> dict | None:
        """The answer, or None when the case ran past the time limit or killed the worker."""
        answer: list[str] = []
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        reader = threading.Thread(target=lambda: answer.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(CASE_TIMEOUT)
        if not answer or not answer[0]:
            self.close()
            return None
        return json.loads(answer[0])

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_mutated_files_read_or_give_one_line(tmp_path):
    sources = sorted(ASSETS.glob("*.avi")) + sorted(ASSETS.glob("*.mp4"))
    cases = [{"src": str(src), "other": str(sources[(i + 1) % len(sources)]), "kind": kind, "seed": seed,
              "dst": str(tmp_path / f"{src.stem}_{kind}_{seed}{src.suffix}")}
             for i, src in enumerate(sources) for kind in KINDS for seed in range(SEEDS)]
    assert len(cases) >= 300
    worker, results, failures = Worker(), {"ok": 0, "error": 0}, []
    try:
        for case in cases:
            answer = worker.ask(case)
            if answer is None:
                failures.append(f"{case['dst']}: no answer within {CASE_TIMEOUT} s (hang or crash)")
                worker = Worker()
                continue
            if answer["status"] == "bug":
                failures.append(f"{case['dst']}: {answer['message']}")
                continue
            results[answer["status"]] += 1
            if answer["status"] == "error":
                message = answer["message"]
                if "\n" in message or not message.startswith(case["dst"]):
                    failures.append(f"{case['dst']}: not one line naming the file: {message!r}")
    finally:
        worker.close()
    print(f"fuzz: {len(cases)} cases, {results['ok']} read, {results['error']} one-line errors, "
          f"{len(failures)} failures")
    assert not failures, "\n".join(failures[:10])
    assert results["ok"] > 50 and results["error"] > 10  # both outcomes happen: the mutations bite
