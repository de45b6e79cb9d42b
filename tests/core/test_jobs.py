"""Archive jobs: the same outcomes in-process, in the local pool and on a real local Ray instance;
a worker killed mid-task loses only that task, which is retried a bounded number of times."""

from __future__ import annotations

import operator
import os

import pytest

from motionlens.core.jobs import CRASH_ONCE_ENV, run_jobs
from motionlens.core.errors import MotionlensError

SHARED = {f"v{i}": i * 10 for i in range(6)}
ITEMS = [(f"v{i}", f"v{i}") for i in range(7)]  # v6 is not in SHARED: that task fails
EXPECTED = {**{f"v{i}": (True, i * 10, "") for i in range(6)}, "v6": (False, None, "KeyError: 'v6'")}


def outcomes(items=ITEMS, **kw):
    return {o.key: (o.ok, o.value, o.reason) for o in run_jobs(operator.getitem, items, SHARED, **kw)}


@pytest.fixture(scope="module")
def ray_local():
    import ray  # in the test extra: a real local instance, never a mock

    from motionlens.core.jobs import _ensure_ray

    assert _ensure_ray(ray, "local", 2)  # what `--ray local` starts
    yield ray
    ray.shutdown()


def test_in_process_and_local_pool_agree():
    assert outcomes(workers=1) == EXPECTED
    assert outcomes(workers=2) == EXPECTED


def test_a_killed_local_worker_loses_only_its_task_once(tmp_path, monkeypatch):
    monkeypatch.setenv(CRASH_ONCE_ENV, str(tmp_path))
    items = ITEMS[-3:]  # each restart costs a process start: keep it short
    assert outcomes(items, workers=2) == {k: EXPECTED[k] for k, _ in items}  # every first attempt killed its worker
    assert len(list(tmp_path.glob("*.crashed"))) == len(items)


def test_a_task_that_always_kills_its_worker_fails_after_one_retry():
    # operator.call(os._exit, 3): the worker process exits at once, every attempt
    got = list(run_jobs(operator.call, [("bad", 3), ("also", 3)], os._exit, workers=2))
    assert [o.ok for o in got] == [False] * 2
    assert all("worker process died twice (exit code 3" in o.reason for o in got)


@pytest.mark.slow  # starts Ray
def test_ray_gives_the_same_outcomes_and_retries_killed_workers(ray_local, tmp_path, monkeypatch):
    assert outcomes(engine="ray", workers=2) == EXPECTED
    monkeypatch.setenv(CRASH_ONCE_ENV, str(tmp_path))
    items = ITEMS[-3:]
    assert outcomes(items, engine="ray", workers=2, max_retries=2) == {k: EXPECTED[k] for k, _ in items}
    assert len(list(tmp_path.glob("*.crashed"))) == len(items)


def test_ray_local_starts_its_own_instance_even_beside_a_running_cluster():
    # ray.init() without an address joins a cluster that `ray start` left running, and then
    # refuses num_cpus (a ValueError traceback); address="local" always starts a new instance.
    from motionlens.core.jobs import _ensure_ray

    calls = []
    fake = type("Ray", (), {"is_initialized": staticmethod(lambda: False),
                            "init": staticmethod(lambda **kw: calls.append(kw))})
    assert _ensure_ray(fake, "local", 3)
    assert calls[0]["address"] == "local" and calls[0]["num_cpus"] == 3


def test_nothing_to_do_starts_and_reaches_no_ray():
    # A resumed job with every video done: no cluster is started or asked for (this one does not exist).
    assert list(run_jobs(operator.getitem, [], SHARED, engine="ray", ray_address="ray://nowhere:1")) == []


@pytest.mark.slow  # starts Ray
def test_ray_bounds_its_retries(ray_local):
    (outcome,) = run_jobs(operator.call, [("bad", 3)], os._exit, engine="ray", max_retries=1)
    assert not outcome.ok and outcome.reason.startswith("worker died after 1 retries")


def test_unknown_engine_is_a_one_line_error():
    with pytest.raises(MotionlensError, match="unknown engine 'spark'"):
        list(run_jobs(operator.getitem, ITEMS, SHARED, engine="spark"))
