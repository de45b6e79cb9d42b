"""Archive-scale jobs: one task per video, run in this process, a local process pool or on Ray.

`run_jobs(fn, items, shared=...)` calls `fn(shared, item)` for every `(key, item)` and yields a
`JobOutcome` per key as tasks finish, in completion order. `fn` must be a module-level function
(it is pickled) that writes its own outputs; what it returns comes back as `outcome.value`.
A task that raises fails alone, with its reason; a worker process that dies (out of memory, a
crash in native code) loses only its current task:

- local pool: the task is retried once on a fresh worker, then reported as failed;
- Ray: Ray retries it up to `max_retries` times on any worker of the cluster.

`shared` (model weights, settings) is sent once: to each local worker when it starts, and into
Ray's object store once for the whole job, never once per task. Workers run single-threaded, so
that a run gives the same bytes whatever the engine and the number of workers.

Ray is optional (`pip install 'motionlens[ray]'`) and imported only when `engine="ray"`.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
from collections import Counter, deque
from dataclasses import dataclass
from multiprocessing import connection as mp_connection
from typing import Any, Callable, Iterator, Sequence

from .errors import MotionlensError, VideoError

# Test hook: when set to a folder, each task's first attempt leaves a marker there (`crash_marker`)
# and kills its worker process with os._exit, as an out-of-memory kill would. Only the retry can
# finish it. A task whose marker is already there runs normally.
CRASH_ONCE_ENV = "MOTIONLENS_TEST_CRASH_ONCE"

ENGINES = ("local", "ray")
RAY_BATCH = 8  # the most videos in one Ray task


@dataclass(frozen=True)
class JobOutcome:
    key: str
    ok: bool
    value: Any = None  # what fn returned, when ok
    reason: str = ""  # why it failed, one line


def run_jobs(fn: Callable[[Any, Any], Any], items: Sequence[tuple[str, Any]], shared: Any = None,
             workers: int = 2, engine: str = "local", ray_address: str | None = None, num_cpus: float = 1,
             num_gpus: float = 0, max_retries: int = 2, description: str | None = None,
             unit: str = "videos") -> Iterator[JobOutcome]:
    """Yield one `JobOutcome` per item as tasks finish; a progress bar (done, failed, rate, ETA)
    is shown on this process when `description` is given.

    `ray_address`: "local" starts a Ray instance on this machine with `workers` CPUs; None uses
    RAY_ADDRESS or a running cluster ("auto"); anything else is a cluster address."""
    from .progress import progress_bar

    if engine not in ENGINES:
        raise MotionlensError(f"unknown engine '{engine}'; expected one of {', '.join(ENGINES)}")
    items = list(items)
    crash_dir = os.environ.get(CRASH_ONCE_ENV)
    if engine == "ray" and items:  # nothing to do (a resumed job) starts no Ray
        outcomes = _run_ray(fn, items, shared, workers, ray_address, num_cpus, num_gpus, max_retries, crash_dir)
    elif workers <= 1 or len(items) <= 1:
        outcomes = (_call(fn, key, item, shared, crash_dir) for key, item in items)
    else:
        outcomes = _run_pool(fn, items, shared, workers, crash_dir)
    failed = 0
    with progress_bar(len(items), description or "", enabled=bool(description and items), unit=unit) as advance:
        for outcome in outcomes:
            failed += not outcome.ok
            advance(1, failed=failed)
            yield outcome


def failure_reason(err: BaseException) -> str:
    """One line for a failed task: the user-facing message, or the exception type and last line."""
    if isinstance(err, VideoError):
        return err.reason
    if isinstance(err, MotionlensError):
        return str(err)
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[-1]}" if text else type(err).__name__


_shared: Any = None  # what the worker process was given once, read by each task


def _init_worker(shared: Any) -> None:
    """In a worker process: keep `shared`, and one thread per worker (N workers x all cores each
    would oversubscribe the CPU). Libraries not imported yet read the variables when they are."""
    global _shared
    _shared = shared
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM"):
        os.environ[var] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(1)


def crash_marker(crash_dir: str | os.PathLike, key: str) -> str:
    """The file that CRASH_ONCE_ENV's hook leaves for task `key` (a test creates it to spare the task)."""
    return os.path.join(crash_dir, hashlib.sha1(key.encode()).hexdigest() + ".crashed")


def _call(fn: Callable[[Any, Any], Any], key: str, item: Any, shared: Any = None,
          crash_dir: str | None = None) -> JobOutcome:
    """Run one task; a failure is an outcome, never an exception (one bad video stops nothing)."""
    if crash_dir:
        marker = crash_marker(crash_dir, key)
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(17)
    try:
        return JobOutcome(key, True, fn(_shared if shared is None else shared, item))
    except Exception as err:  # noqa: BLE001 - reported per task
        return JobOutcome(key, False, reason=failure_reason(err))


def _worker_loop(conn, fn, shared: Any, crash_dir: str | None) -> None:
    _init_worker(shared)
    while (task := conn.recv()) is not None:
        conn.send(_call(fn, *task, crash_dir=crash_dir))


def _run_pool(fn, items: list[tuple[str, Any]], shared: Any, workers: int,
              crash_dir: str | None) -> Iterator[JobOutcome]:
    """Worker processes fed one task at a time, so that when one dies the driver knows which task
    it held: that task is retried once on a fresh worker, and the other tasks are not disturbed."""
    # forkserver/spawn, not fork: a forked child inherits OpenCV's and PyTorch's thread pools in
    # whatever state they were, which can deadlock.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        # The server imports the task's module (and with it torch) once, before it forks any
        # worker; each worker would otherwise import it again (5-7 s of CPU each on a small machine).
        # It runs no work itself, so it holds no thread pool to inherit.
        ctx.set_forkserver_preload(["__main__", fn.__module__])

    def start():
        conn, child = ctx.Pipe()
        process = ctx.Process(target=_worker_loop, args=(child, fn, shared, crash_dir), daemon=True)
        process.start()
        child.close()
        return conn, process

    todo = deque(items)
    attempts: Counter = Counter()
    idle = [start() for _ in range(min(workers, len(items)))]
    busy: dict = {}  # conn -> (key, item, process)
    try:
        while todo or busy:
            while idle and todo:
                conn, process = idle.pop()
                key, item = todo.popleft()
                attempts[key] += 1
                conn.send((key, item))
                busy[conn] = (key, item, process)
            sentinels = {process.sentinel: conn for conn, (_, _, process) in busy.items()}
            for ready in mp_connection.wait([*busy, *sentinels]):
                conn = sentinels.get(ready, ready)
                if conn not in busy:
                    continue  # its result and its sentinel were both ready: handled once
                key, item, process = busy.pop(conn)
                try:
                    outcome = conn.recv() if conn.poll() else None
                except (EOFError, OSError):
                    outcome = None
                if outcome is not None:
                    idle.append((conn, process))
                    yield outcome
                    continue
                process.join()  # the worker died holding this task
                conn.close()
                if attempts[key] < 2:
                    todo.appendleft((key, item))
                else:
                    yield JobOutcome(key, False, reason=f"worker process died twice (exit code {process.exitcode}: "
                                                        "out of memory, or a crash in native code)")
                if todo:
                    idle.append(start())
    finally:
        for conn, process in idle + [(c, p) for c, (_, _, p) in busy.items()]:
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()


def _run_ray(fn, items: list[tuple[str, Any]], shared: Any, workers: int, address: str | None, num_cpus: float,
             num_gpus: float, max_retries: int, crash_dir: str | None) -> Iterator[JobOutcome]:
    """Ray tasks of a few videos each (one per task for short jobs): fewer, larger tasks keep Ray's
    per-task cost small against a short video's decode. Outcomes stream back as tasks finish."""
    ray = _import_ray()
    started = _ensure_ray(ray, address, workers)
    try:
        remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=max_retries)(_ray_task)
        fn_ref, shared_ref = ray.put(fn), ray.put(shared)  # once per job; tasks receive them by reference
        slots = max(1, int(ray.cluster_resources().get("CPU", workers) / max(num_cpus, 1e-3)))
        size = max(1, min(RAY_BATCH, len(items) // (8 * slots)))  # >= 8 tasks per slot balance the load
        batches = iter([items[i:i + size] for i in range(0, len(items), size)])
        # Bounded in-flight tasks: a 650k-video job must not queue 650k task specs at once.
        running: dict = {}

        def submit() -> None:
            for batch in batches:
                running[remote.remote(fn_ref, batch, shared_ref, crash_dir)] = batch
                if len(running) >= 2 * slots:
                    return

        submit()
        while running:
            (ref,), _ = ray.wait(list(running), num_returns=1)
            batch = running.pop(ref)
            try:
                yield from ray.get(ref)
            except Exception as err:  # noqa: BLE001 - the worker died more often than max_retries allows
                cause = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                for key, _ in batch:
                    yield JobOutcome(key, False, reason=f"worker died after {max_retries} retries: "
                                                        f"{type(err).__name__}: {cause}")
            submit()
    finally:
        if started:
            ray.shutdown()


def _ray_task(fn, batch: list[tuple[str, Any]], shared: Any, crash_dir: str | None) -> list[JobOutcome]:
    _init_worker(shared)
    return [_call(fn, key, item, shared, crash_dir) for key, item in batch]


def _import_ray():
    try:
        import ray
    except ImportError:
        raise MotionlensError("Ray is not installed: pip install 'motionlens[ray]'") from None
    return ray


def _ensure_ray(ray, address: str | None, workers: int) -> bool:
    """Connect to (or, for "local", start) Ray; True when this call started it and must stop it."""
    if ray.is_initialized():
        return False
    options = dict(log_to_driver=False, include_dashboard=False, configure_logging=False)
    # The workers must import this package as the driver does, e.g. from a source checkout.
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env_vars = {"PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    env = {"env_vars": env_vars}
    try:
        if address == "local":
            # Ray nices its workers to 15 by default, for a cluster's own machines; on a machine
            # shared with other work that starves them, so local workers run at normal priority.
            # address="local": a new instance even where `ray start` left one running, which Ray
            # would otherwise join (and refuse num_cpus for).
            ray.init(address="local", num_cpus=workers, runtime_env=env, _system_config={"worker_niceness": 0},
                     **options)
        else:
            ray.init(address=address or os.environ.get("RAY_ADDRESS") or "auto", runtime_env=env, **options)
    except (ConnectionError, RuntimeError) as err:
        where = address or os.environ.get("RAY_ADDRESS") or "a running cluster (auto)"
        raise MotionlensError(f"cannot connect to Ray at {where}: {str(err).strip().splitlines()[0]}; start one "
                              "with `ray start --head`, set RAY_ADDRESS, or use --ray local") from None
    return True
