"""The Ray executor: a film's shots rendered across a Ray cluster (many GPUs, many machines).

The same steps as the local executor (:mod:`studio.run.local`), split where they run:

1. the driver (this process) prepares the film (voices, plans, takes, cast), exactly as
   the local executor does;
2. shots go to :class:`ShotWorker` actors, one per GPU (one per CPU on a cluster
   without GPUs). Each worker loads its backend once (the diffusers pipelines load at
   its first shot) and opens the shared cache folder; it runs the local executor's own
   :func:`produce_shot` (cache lookup or render, take record, identity QA and its
   re-takes), so a clip rendered here is the clip the local executor would render;
3. the driver finishes the film (sound, cut, lockfile, report) from the outcomes in
   story order.

Scheduling follows the scene graph's render order (:mod:`studio.run.distributed.schedule`):
the first shot of every continuity chain is ready at once; a continuous shot becomes
ready when the clip it continues is stored; free workers take ready shots longest
chain first. Shots already in the cache are taken by the driver itself, so a film
whose shots are all cached never starts Ray at all.

Failures: renders are idempotent (same cache key, same clip), so a failed shot is
simply rendered again. A worker process that dies mid-shot is restarted by Ray and the
shot retried (``max_restarts`` / ``max_task_retries``); a worker Ray gives up on is
replaced by a fresh actor and the shot handed out again, up to ``retries`` times a
shot. A :class:`StudioError` (bad input, a backend bug) is not retried: it ends the
render with its message, like the local executor.

Without an address, a private Ray instance starts on loopback only (every Ray server
binds 127.0.0.1) and stops afterwards; with one, the executor joins that cluster as a
driver and leaves it running (only its own actors are removed). On a cluster, every
node needs the same studio, backend and models installed, and the cache folder on
shared storage at the same path.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.atomic import write_text
from studio.cache.store import Clip, ShotStore
from studio.errors import RenderError, StudioError
from studio.render.plan import ShotPlan
from studio.run import local
from studio.run.distributed.dispatch import cached as _cached  # noqa: F401  (older callers' names)
from studio.run.distributed.dispatch import produce_shots as _produce_shots
from studio.run.distributed.worker import ShotWorker, WorkerResult, WorkerSpec
from studio.run.distributed.worker import worker_spec as _spec
from studio.run.local import (
    Progress,
    RenderResult,
    finish_film,
    prepare_film,
)
from studio.screenplay.model import Screenplay

RETRIES = 3  # attempts after the first, per shot, by Ray (a dead process) and by us (a dead actor)
LOOPBACK = "127.0.0.1"

log = logging.getLogger("studio.run.ray")


def render_film_ray(screenplay: Screenplay, output_dir: Path, *, cache_dir: Path, name: str,
                    address: str | None = None, workers: int | None = None, retries: int = RETRIES,
                    **options: Any) -> RenderResult:
    """:func:`studio.run.local.render_film` with the shots rendered by Ray workers.

    ``address``: a running Ray cluster to join (``ray start --head`` prints it; ``auto``
    finds one on this machine); None starts a private instance on loopback and stops it
    afterwards (in a process where Ray is already initialised, that instance is used and
    left running). ``workers``: at most this many workers (default: one per GPU, else
    one per CPU; a private instance gets this many CPUs). ``retries``: how many times a
    shot is tried again after its worker died. Other keyword arguments are
    :func:`render_film`'s (backend, video, progress, audio, lockfile, takes, verify, qa)."""
    if workers is not None and workers < 1:
        raise StudioError(f"workers must be at least 1, not {workers}")
    cache_dir = Path(cache_dir).resolve()  # workers may run elsewhere: the path must be absolute
    store: ShotStore | None = None
    try:
        store = ShotStore(cache_dir)
        job = prepare_film(screenplay, output_dir, store=store, cache_dir=cache_dir, name=name, **options)
        job.progress.film_started(len(job.plans), sum(p.frames for p in job.plans))
        pool = _Pool(lambda: _spec(job, options), address=address, workers=workers, retries=retries,
                     progress=job.progress)
        started = time.perf_counter()
        try:
            outcomes = _produce_shots(job, pool, retries)
        finally:
            pool.close()
        shots_seconds = time.perf_counter() - started
        result = finish_film(job, outcomes)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise local._disk_full(exc) from None
        raise
    except RenderError as exc:
        if "No space left on device" in str(exc):
            raise local._disk_full(OSError(errno.ENOSPC, "No space left on device")) from None
        raise
    finally:
        if store is not None:
            store.manifest.close()
    result.report["executor"] = {
        "name": "ray", "address": pool.cluster or address, "private": pool.private,
        "workers": pool.size, "gpus_per_worker": pool.gpus, "shots_on_workers": pool.submitted,
        "shots_seconds": round(shots_seconds, 3),  # step 3, Ray's start included
        "startup_seconds": round(pool.startup_seconds, 3),  # joining or starting Ray, until every worker was up
        "busy_seconds": round(pool.busy_seconds, 3),  # the workers' time inside shots, added up
        "retried": {result.plans[i].shot_id: n for i, n in sorted(pool.retried.items())},
        "hosts": sorted(pool.hosts),
    }
    report_path = output_dir / "render-report.json"
    if report_path.is_file():
        write_text(report_path, json.dumps(result.report, indent=2) + "\n")
    return result

class _Pool:
    """The Ray side, started on first need: the connection (or a private loopback
    instance) and one :class:`ShotWorker` actor per GPU, else per CPU."""

    kind = "Ray"
    hint = "see the worker logs in the Ray session folder (/tmp/ray/session_latest/logs)"

    def __init__(self, spec: Callable[[], WorkerSpec], *, address: str | None, workers: int | None,
                 retries: int, progress: Progress) -> None:
        self._make_spec = spec
        self._progress = progress
        self._spec: WorkerSpec | None = None
        self.address = address
        self.limit = workers
        self.retries = retries
        self.size = 0
        self.gpus = 0
        self.submitted = 0
        self.retried: Counter[int] = Counter()  # shot index -> times handed out again by us
        self.hosts: set[str] = set()
        self.startup_seconds = 0.0  # joining or starting Ray, until every worker is up
        self.cluster: str | None = None  # the address of the cluster the workers ran on
        self.busy_seconds = 0.0
        self.running: dict[Any, tuple[int, Any]] = {}  # ObjectRef -> (shot index, actor)
        self._idle: list[Any] = []
        self._ray: Any = None
        self._owned = False

    @property
    def private(self) -> bool:
        """Whether the workers ran on a Ray instance started for this render."""
        return self._owned
        self._actor_class: Any = None
        self._actor_options: dict[str, Any] = {}

    # -- starting and stopping ---------------------------------------------------------
    def _start(self) -> None:
        started = time.perf_counter()
        self._progress.stage(f"joining the Ray cluster at {self.address}" if self.address else "starting Ray")
        ray, self._owned = _connect(self.address, self.limit)
        self._ray = ray
        self.cluster = ray.get_runtime_context().gcs_address
        resources = ray.available_resources()
        self.gpus = 1 if resources.get("GPU", 0) >= 1 else 0
        slots = int(resources.get("GPU", 0)) if self.gpus else int(resources.get("CPU", 0))
        if slots < 1:
            self.close()
            raise StudioError("the Ray cluster has no free CPU or GPU for a shot worker",
                              hint="wait for other jobs to finish, or add nodes")
        self.size = min(slots, self.limit or slots)
        # one GPU a worker when the cluster has GPUs; Ray restarts a dead worker and retries its shot
        resource = {"num_gpus": 1, "num_cpus": 0} if self.gpus else {"num_cpus": 1}
        self._actor_options = {**resource, "max_restarts": self.retries, "max_task_retries": self.retries}
        self._actor_class = ray.remote(ShotWorker)
        self._spec = self._make_spec()
        self._idle = [self._new_actor() for _ in range(self.size)]
        for _pid, host, error in ray.get([actor.ready.remote() for actor in self._idle]):
            if error is not None:
                self.close()
                raise error
            self.hosts.add(host)
        self.startup_seconds = time.perf_counter() - started

    def _new_actor(self) -> Any:
        # the spec is small (plans travel with each shot), so Ray keeps it with the actor's
        # definition and can restart the actor from it at any time
        return self._actor_class.options(**self._actor_options).remote(self._spec)

    def close(self) -> None:
        """Remove our actors; stop the Ray instance if we started it."""
        ray = self._ray
        if ray is None:
            return
        self._ray = None
        if ray.is_initialized():
            for actor in [*self._idle, *(a for _, a in self.running.values())]:
                _kill(ray, actor)
        self._idle, self.running = [], {}
        if self._owned:
            ray.shutdown()

    # -- shots ----------------------------------------------------------------------
    def has_idle(self) -> bool:
        if self._ray is None:
            self._start()
        return bool(self._idle)

    def submit(self, index: int, plan: ShotPlan, previous: Clip | None, previous_plan: ShotPlan | None,
               head: tuple[int, ShotPlan] | None = None) -> None:
        actor = self._idle.pop()
        ref = actor.produce.remote(index, plan, previous, previous_plan, head)
        self.running[ref] = (index, actor)
        self.submitted += 1

    def next_done(self) -> tuple[int, WorkerResult | None, str | None]:
        """Wait for a shot to finish: (index, result, None), or (index, None, why) when its
        worker failed (the worker is replaced; the caller hands the shot out again).
        A :class:`StudioError` or disk error from a worker is raised as it is."""
        ray = self._ray
        from ray.exceptions import RayError, RayTaskError

        [ref], _ = ray.wait(list(self.running), num_returns=1)
        index, actor = self.running.pop(ref)
        try:
            result: WorkerResult = ray.get(ref)
        except RayTaskError as exc:  # the shot raised in the worker
            cause = exc.cause
            if isinstance(cause, StudioError) or (isinstance(cause, OSError) and cause.errno == errno.ENOSPC):
                raise cause from None
            return self._failed(index, actor, f"{type(cause).__name__}: {cause}")
        except RayError as exc:  # the worker died and Ray gave up on it (restarts spent, node gone)
            return self._failed(index, actor, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        self._idle.append(actor)
        self.hosts.add(result.host)
        self.busy_seconds += result.finished - result.started
        return index, result, None

    def _failed(self, index: int, actor: Any, why: str) -> tuple[int, None, str]:
        log.warning("shot %s: worker failed (%s); retrying on a fresh worker", index, why)
        _kill(self._ray, actor)
        self._idle.append(self._new_actor())
        self.retried[index] += 1
        return index, None, why


def _kill(ray: Any, actor: Any) -> None:
    """Remove one of our actors for good (no restart), if it is still there."""
    from ray.exceptions import RayError

    with contextlib.suppress(RayError, ValueError):
        ray.kill(actor, no_restart=True)


def _connect(address: str | None, workers: int | None) -> tuple[Any, bool]:
    """Import Ray and join ``address``, or start a private instance on loopback.
    Returns (the ray module, whether we started the instance and must stop it)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage reports from a render
    if address is None:
        # Ray turns a loopback node address into the machine's outward one unless
        # clusters are off; with them off every Ray server binds the loopback address
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    try:
        import ray
    except ImportError:
        raise StudioError("--executor ray needs Ray", hint="pip install 'ray>=2.9'") from None
    if ray.is_initialized():
        return ray, False
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address is not None:
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise StudioError(f"cannot join the Ray cluster at {address}: {exc}",
                              hint="start one with `ray start --head`, and give the address it prints") from None
        return ray, False
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False  # when Ray was imported before the variable was set
    ray.init(address="local", num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
             _node_ip_address=LOOPBACK, **quiet)
    node_ip = ray.util.get_node_ip_address()
    if node_ip != LOOPBACK:
        ray.shutdown()
        raise StudioError(f"the private Ray instance came up on {node_ip}, not on loopback",
                          hint="run a cluster yourself (`ray start --head --node-ip-address 127.0.0.1`) "
                               "and pass --address")
    return ray, True
