"""Sweeps on a Ray cluster (``kxrules sweep FILE --ray ADDRESS|auto``; ``pip install kxrules[ray]``).

Ray's own pieces, no scheduler of ours: one actor per worker (``SweepActor``: a long-lived
``SweepWorker`` that compiles the profile once per trading date), ``ray.util.ActorPool`` to keep
every actor busy, and the object store for the data: each day file is put once and an actor
fetches it (``ray.get``) the first time it replays that day, then replays its local copy. The
profile is compiled on each actor from the workspace (a compiled profile holds generated
kernels): on a cluster the workspace travels as the job's ``runtime_env`` working directory.
Only the driver writes results, as with the local pool.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from .spec import Sweep
from .worker import RunSpec, SweepWorker

# never shipped to a cluster with the workspace: recordings, results, exported days
WORKSPACE_EXCLUDES = ["data/", "days/", "*.duckdb", "*.parquet", ".git/", ".venv/", "__pycache__/"]


class SweepActor:
    """One Ray worker process: a SweepWorker plus its local copies of the days it was sent."""

    def __init__(self, root: str, profile: str, universe: str | None, warm_date: dt.date | None):
        self.worker = SweepWorker(Path(root), profile, Path(universe) if universe else None)
        self.local: dict[str, Path] = {}
        if warm_date is not None:
            self.worker.profile_for(warm_date)

    def run(self, spec: RunSpec, day_ref: list) -> dict[str, Any]:
        """``day_ref`` is ``[ObjectRef]`` (wrapped: Ray then leaves it to us to fetch, once)."""
        import dataclasses

        import ray

        try:
            key = str(spec.day)
            if key not in self.local:
                path = self.worker.scratch / "days" / f"{len(self.local)}-{spec.day.name}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(ray.get(day_ref[0]))
                self.local[key] = path
            return self.worker.run(dataclasses.replace(spec, day=self.local[key]))
        except Exception as exc:  # noqa: BLE001 - reported per run; the actor stays up for the next
            return {"run_key": spec.key, "error": f"{type(exc).__name__}: {exc}"}


    def close(self) -> None:
        self.worker.close()


def _signal_handlers() -> dict:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(handlers: dict) -> None:
    import signal

    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)


def _is_local(address: str | None) -> bool:
    return address in (None, "", "local")


class RaySession:
    """``ray.init`` if Ray is not running in this process yet, and on ``stop`` its ``ray.shutdown``
    with the driver's SIGINT/SIGTERM handlers given back (ray.init installs its own); a Ray that was
    running already is left as it was. ``address``: ``auto``, ``ray://HOST:PORT``, or None/``local``."""

    def __init__(self, root: Path, address: str | None = None, init_kwargs: dict | None = None):
        import ray

        self.ray, self.root, self.address = ray, root, address
        self.started = False
        self.session_dir: str | None = None
        self._handlers: dict = {}
        self._init_kwargs = dict(init_kwargs or {})

    def start(self) -> "RaySession":
        if self.ray.is_initialized():
            return self
        self._handlers = _signal_handlers()
        kwargs = self._init_kwargs
        kwargs.setdefault("include_dashboard", False)
        kwargs.setdefault("log_to_driver", False)
        if not _is_local(self.address):
            kwargs["address"] = self.address
            kwargs.setdefault("runtime_env", {"working_dir": str(self.root), "excludes": WORKSPACE_EXCLUDES})
        context = self.ray.init(**kwargs)
        self.started = True
        self.session_dir = getattr(context, "address_info", {}).get("session_dir")
        return self

    def stop(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False
            _restore(self._handlers)            # the driver's Ctrl-C and SIGTERM are ours again


class RayPool:
    """The Backend of ``runner.run_sweep`` on Ray: one actor per worker, on the Ray of this process
    or one it starts (``RaySession``) and stops when the sweep ends."""

    def __init__(self, sweep: Sweep, workers: int, warm_date: dt.date | None, *, address: str | None = None,
                 init_kwargs: dict | None = None):
        self.session = RaySession(sweep.root, address, init_kwargs).start()
        self.ray = ray = self.session.ray
        root = str(sweep.root) if _is_local(address) else "."          # the job's working directory
        universe = sweep.universe
        if universe is not None and not _is_local(address):
            universe = Path(os.path.relpath(universe, sweep.root))     # must lie inside the workspace
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, min(workers or cpus, cpus))
        actor = ray.remote(num_cpus=1)(SweepActor)
        self.actors = [actor.remote(root, sweep.model.profile, str(universe) if universe else None, warm_date)
                       for _ in range(self.workers)]
        self.refs: dict[Path, Any] = {}

    def results(self, todo: list[RunSpec]):
        from ray.util import ActorPool

        for spec in todo:
            if spec.day not in self.refs:
                self.refs[spec.day] = self.ray.put(spec.day.read_bytes())
        by_key = {s.key: s for s in todo}
        pool = ActorPool(self.actors)
        for spec in todo:
            pool.submit(lambda a, s: a.run.remote(s, [self.refs[s.day]]), spec)
        while pool.has_next():
            row = pool.get_next_unordered()
            spec = by_key[row["run_key"]]
            if "error" in row:
                yield spec, None, row["error"]
            else:
                yield spec, row, None

    def stop(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        self.actors = []
        self.close()

    def close(self) -> None:
        if self.actors:
            try:
                self.ray.get([a.close.remote() for a in self.actors], timeout=30)   # their scratch dirs
            except Exception:  # noqa: BLE001 - killed actors (an interrupt) cannot answer
                pass
            for a in self.actors:               # their CPUs are free at once for the next sweep on this Ray
                self.ray.kill(a)
        self.actors = []
        self.refs = {}
        self.session.stop()


def ray_backend(address: str | None, init_kwargs: dict | None = None):
    """A ``backend`` factory for ``run_sweep``."""
    def make(sweep: Sweep, workers: int, warm_date: dt.date | None) -> RayPool:
        return RayPool(sweep, workers, warm_date, address=address, init_kwargs=init_kwargs)
    return make
