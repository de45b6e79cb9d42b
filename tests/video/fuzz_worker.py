"""Worker for test_reader_fuzz.py: reads one case per stdin line, answers one JSON line per case.

A case is {"src", "dst", "kind", "seed"}: write a mutated copy of `src` to `dst`, then probe,
count, read random frames and stream the whole file. The answer is {"status": "ok"} or
{"status": "error", "message": the VideoError's one line} or {"status": "bug", "message": a
traceback}. Run as a script; the parent enforces the time limit, this process its memory limit."""

import json
import resource
import sys
import traceback

import numpy as np

MEMORY_LIMIT = 3 << 30  # bytes of address space: a damaged header must not make us allocate without bound


def mutate(data: bytes, kind: str, rng: np.random.Generator, other: bytes) -> bytes:
    data = bytearray(data)
    n = len(data)
    if kind == "flip":  # random bytes anywhere, headers included
        for pos in rng.integers(0, n, int(rng.integers(1, 200))):
            data[pos] ^= int(rng.integers(1, 256))
    elif kind == "truncate":
        del data[int(rng.integers(0, n)):]
    elif kind == "zero":
        start = int(rng.integers(0, n))
        data[start:start + int(rng.integers(16, 4096))] = bytes(min(n - start, 4096))[: len(data[start:start + 4096])]
    elif kind == "swap":  # another file's header over this one's, or two stretches of this one swapped
        if rng.random() < 0.5:
            k = int(rng.integers(64, min(len(other), n, 4096)))
            data[:k] = other[:k]
        else:
            k = int(rng.integers(16, max(n // 8, 17)))
            a, b = sorted(int(x) for x in rng.integers(0, n - k, 2))
            if b - a >= k:
                data[a:a + k], data[b:b + k] = data[b:b + k], data[a:a + k]
    return bytes(data)


def run(case: dict) -> dict:
    from motionlens.video import DecodeReport, VideoError, count_frames, iter_frames, probe, read_frames

    rng = np.random.default_rng(case["seed"])
    with open(case["src"], "rb") as f:
        src = f.read()
    with open(case["other"], "rb") as f:
        other = f.read()
    with open(case["dst"], "wb") as f:
        f.write(mutate(src, case["kind"], rng, other))
    try:
        probe(case["dst"])
        n = count_frames(case["dst"])
        frames = read_frames(case["dst"], sorted(rng.integers(0, n, 6).tolist()) + [n - 1], size=24)
        assert frames.dtype == np.uint8 and frames.shape[0] == 7 and frames.shape[-1] == 3
        report = DecodeReport()
        for _ in iter_frames(case["dst"], size=16, step=5, report=report):
            pass
        return {"status": "ok", "frames": n, "problem": report.problem()}
    except VideoError as err:
        return {"status": "error", "message": str(err)}
    except Exception:
        return {"status": "bug", "message": traceback.format_exc()}


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    for line in sys.stdin:
        try:
            answer = run(json.loads(line))
        except MemoryError:
            answer = {"status": "bug", "message": "MemoryError"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
