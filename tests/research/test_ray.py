"""The same sweeps through Ray in local mode (actors, ActorPool, days through the object store)
give the same rows as the local pool. One local Ray (2 CPUs) serves the module; it is started and
stopped the way ``kxrules sweep --ray local`` does (``RaySession``) and leaves no process behind."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from kxrules.research.runner import run_sweep
from kxrules.research.store import SweepStore

from .conftest import REPO, SEARCH, _plan, _table

ray = pytest.importorskip("ray")


def _processes_of(session_dir: str) -> set[int]:
    """The processes of one Ray session: those naming its directory (gcs_server, raylet, agents)
    and all their descendants (the workers rename themselves ``ray::...``)."""
    parent: dict[int, int] = {}
    roots = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        if os.path.basename(session_dir).encode() in cmdline:
            roots.add(int(entry))
    found, grew = set(roots), True
    while grew:
        more = {pid for pid, ppid in parent.items() if ppid in found} - found
        found |= more
        grew = bool(more)
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def local_ray():
    from kxrules.research.ray_backend import RaySession

    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    session = RaySession(REPO, "local", {"num_cpus": 2}).start()
    assert session.started and session.session_dir
    yield session
    pids = _processes_of(session.session_dir)
    assert pids, "the session's processes should be visible while it runs"
    session.stop()
    deadline = time.monotonic() + 10
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if _running(p)], "Ray processes left behind"
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers   # Ray's handlers gone


def test_the_same_grid_on_ray_gives_identical_rows(local_ray, swept, recorded, tmp_path):
    from kxrules.research.ray_backend import ray_backend

    _, _, full, _ = swept
    plan = _plan(recorded, tmp_path)
    store = SweepStore(tmp_path / "ray.duckdb")
    outcome = run_sweep(plan, store, workers=2, backend=ray_backend("local"))
    assert not outcome.failed and len(outcome.ran) == 8
    assert _table(store, plan.keys, plan.sweep.name) == full
    assert ray.is_initialized()                 # a Ray the sweep did not start is left running
    store.close()


def test_the_same_search_on_ray_gives_identical_trials_and_rows(local_ray, searched, recorded, tmp_path):
    from kxrules.research.ray_backend import ray_backend

    _, _, full, trials, _ = searched
    plan = _plan(recorded, tmp_path, SEARCH, seed=3)
    store = SweepStore(tmp_path / "ray.duckdb")
    outcome = run_sweep(plan, store, workers=2, backend=ray_backend("local"))
    assert not outcome.failed and outcome.ran
    assert store.trials(plan.sweep.name) == trials
    assert _table(store, outcome.keys, plan.sweep.name) == full
    store.close()
