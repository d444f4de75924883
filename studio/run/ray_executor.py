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
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from studio.assemble.encode import VideoSettings
from studio.atomic import write_text
from studio.cache.store import Clip, ShotStore
from studio.errors import RenderError, StudioError
from studio.render.backend import load_backend
from studio.render.plan import ShotPlan, canonical_hash
from studio.run import local
from studio.run.distributed.schedule import ReadyQueue
from studio.run.identity import QASettings
from studio.run.local import (
    FilmJob,
    Progress,
    QuietProgress,
    RenderResult,
    ShotOutcome,
    finish_film,
    prepare_film,
    produce_shot,
    shot_conditioning,
)
from studio.screenplay.model import Screenplay

RETRIES = 3  # attempts after the first, per shot, by Ray (a dead process) and by us (a dead actor)
LOOPBACK = "127.0.0.1"

log = logging.getLogger("studio.run.ray")


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to produce any shot of the film, as plain picklable data
    (a :class:`FilmJob` holds a database connection and a loaded backend: never shipped)."""

    screenplay: Screenplay  # its film settings only (produce_shot reads the seed), not its scenes
    backend: str
    options: dict[str, Any]
    models: dict[str, Any] | None
    base_dir: Path | None
    video: VideoSettings
    cache_dir: Path  # absolute: the same shared folder on every node
    film_id: str
    shots: int  # the plans travel with each shot: a feature's are ~0.4 MB
    takes: dict[str, tuple[int, int]]
    cast: Any  # studio.consistency.cast.Cast
    verify: bool
    qa: QASettings
    backend_hash: str  # the driver's backend.describe(), hashed: workers must match it
    lines: dict[str, Any] = field(default_factory=dict)  # voiced lines (LineAudio, WAVs in the shared cache):
    # a backend that wants_speech generates shots around them, and their audio is in the shots' keys
    keyframes: dict[str, Any] = field(default_factory=dict)  # keyframe-first: each shot's selected keyframe


@dataclass
class WorkerResult:
    """A shot produced by a worker, and what the driver should know about the worker."""

    outcome: ShotOutcome
    pid: int
    host: str
    started: float  # wall-clock seconds (time.time()) when the worker began the shot
    finished: float
    corrupt: list[str] = field(default_factory=list)  # cache keys found corrupt (and removed)
    encoder_peak_kb: int = 0


class ShotWorker:
    """One per GPU (or CPU): the backend, loaded once, and a ShotStore on the shared cache.
    Ray makes it an actor (see :class:`_Pool`); it is a plain class so this module never
    imports Ray unless the Ray executor runs."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.error: StudioError | None = None  # a worker that cannot start says why in ready()
        store = ShotStore(spec.cache_dir)
        try:
            backend = load_backend(spec.backend, spec.options, models=spec.models, base_dir=spec.base_dir)
            if canonical_hash(backend.describe()) != spec.backend_hash:
                raise StudioError(
                    f"the {spec.backend} backend on worker {socket.gethostname()} is not the driver's "
                    f"({backend.describe()})",
                    hint="install the same studio, backend packages and models on every node of the cluster",
                )
            if callable(getattr(backend, "use_identities", None)):  # character LoRAs load with the pipelines
                backend.use_identities(spec.cast.identities)
        except StudioError as exc:
            self.error = exc
            return
        # a worker produces shots only: no voices, graph or lockfile
        self.job = FilmJob(
            screenplay=spec.screenplay, output_dir=spec.cache_dir, name=spec.film_id, cache_dir=spec.cache_dir,
            store=store, backend=backend, video=spec.video, film_id=spec.film_id, lock=None, lines=dict(spec.lines),
            graph=None, plans=[None] * spec.shots, takes=dict(spec.takes), cast=spec.cast,  # type: ignore[arg-type]
            progress=QuietProgress(), audio=False, verify=spec.verify, qa=spec.qa, keyframes=dict(spec.keyframes),
        )
        self._corrupt_seen = 0

    def produce(self, index: int, plan: ShotPlan, previous: Clip | None,
                previous_plan: ShotPlan | None, head: tuple[int, ShotPlan] | None = None) -> WorkerResult:
        """Shot ``index`` planned as ``plan``: from the cache or rendered, with its take and
        QA. For a continuous shot, ``previous``/``previous_plan`` are the clip and plan
        (after any re-take) of the shot it continues, already in the cache; ``head`` the
        index and plan of its chain's first shot when that is further back (the chain's
        colour anchor is read from that shot's clip)."""
        if self.error is not None:
            raise self.error
        started = time.time()
        self.job.plans[index] = plan
        if previous_plan is not None:
            self.job.plans[index - 1] = previous_plan
        if head is not None:
            self.job.plans[head[0]] = head[1]
        outcome = produce_shot(self.job, index, previous)
        self.job.plans[index] = outcome.plan
        corrupt = self.job.store.corrupt[self._corrupt_seen:]
        self._corrupt_seen = len(self.job.store.corrupt)
        return WorkerResult(outcome, os.getpid(), socket.gethostname(), started, time.time(), list(corrupt),
                            local._ENCODER_PEAK_KB[0])

    def ready(self) -> tuple[int, str, StudioError | None]:
        """(pid, host, why this worker cannot render, if it cannot)."""
        return os.getpid(), socket.gethostname(), self.error


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


def _spec(job: FilmJob, options: dict[str, Any]) -> WorkerSpec:
    """The worker's recipe for ``job``. The backend is named and configured exactly as
    :func:`prepare_film` did it (screenplay settings, then the command line's)."""
    sp = job.screenplay
    backend_options = {k: v for k, v in sp.film.render.options.items() if k != "models"}
    backend_options.update(options.get("backend_options") or {})
    film_only = sp.model_copy(update={"scenes": [], "characters": [], "locations": []})
    return WorkerSpec(
        screenplay=film_only, backend=options.get("backend_name") or sp.film.render.backend, options=backend_options,
        models=sp.film.render.options.get("models"), base_dir=sp.base_dir, video=job.video,
        cache_dir=job.cache_dir, film_id=job.film_id, shots=len(job.plans), takes=dict(job.takes), cast=job.cast,
        verify=job.verify, qa=job.qa, backend_hash=canonical_hash(job.backend.describe()),
        lines=dict(job.lines) if getattr(job.backend, "wants_speech", False) else {},
        keyframes=dict(job.keyframes),
    )


def _produce_shots(job: FilmJob, pool: _Pool, retries: int) -> list[ShotOutcome]:
    """Step 3 over the pool, in the scene graph's render order; outcomes in story order."""
    plans = job.plans
    index_of = {p.shot_id: i for i, p in enumerate(plans)}
    chains = [[index_of[sid] for sid in chain] for chain in job.graph.render_order()]
    ready = ReadyQueue(chains, [p.frames for p in plans])
    outcomes: list[ShotOutcome | None] = [None] * len(plans)
    failures: Counter[int] = Counter()

    def previous_of(index: int) -> ShotOutcome | None:
        """The outcome of the shot ``index`` continues (None for a chain's first shot)."""
        return outcomes[index - 1] if plans[index].continues is not None and index else None

    def accept(index: int, outcome: ShotOutcome) -> None:
        """Shot ``index`` is done; the shots after it in its chain that are in the cache
        are taken here (no worker needed); the first that is not becomes ready."""
        while True:
            job.plans[index] = outcome.plan
            outcomes[index] = outcome
            after = ready.next_of(index)
            if after is None:
                return
            if not make_ready(after):
                return
            index = after
            before = previous_of(index)
            outcome = produce_shot(job, index, before.clip if before else None)

    def make_ready(index: int) -> bool:
        """Queue shot ``index`` for a worker, unless it is in the cache (then say so)."""
        before = previous_of(index)
        if _cached(job, index, before.clip if before else None):
            return True
        ready.push(index)
        return False

    for start in ready.starts:
        if make_ready(start):
            accept(start, produce_shot(job, start, None))
    while len(ready) or pool.running:
        while len(ready) and pool.has_idle():
            index = ready.pop()
            before = previous_of(index)
            previous_clip, previous_plan = (before.clip, before.plan) if before else (None, None)
            head = local.chain_head(plans, index)
            if head < index - 1 and getattr(job.backend, "wants_chain_anchor", False):
                # the worker reads the chain's colour from its first shot's clip (local.chain_anchor)
                pool.submit(index, plans[index], previous_clip, previous_plan, (head, plans[head]))
            else:
                pool.submit(index, plans[index], previous_clip, previous_plan)
        index, result, error = pool.next_done()
        if error is not None:
            failures[index] += 1
            if failures[index] > retries:
                raise RenderError(
                    f"shot {plans[index].shot_id} failed on {failures[index]} Ray worker"
                    f"{'s' if failures[index] != 1 else ''}: {error}",
                    hint="see the worker logs in the Ray session folder (/tmp/ray/session_latest/logs)",
                ) from None
            ready.push(index)  # renders are idempotent: hand it out again
            continue
        assert result is not None
        job.store.corrupt.extend(result.corrupt)
        local._ENCODER_PEAK_KB[0] = max(local._ENCODER_PEAK_KB[0], result.encoder_peak_kb)
        outcome = result.outcome
        job.progress.shot_started(outcome.plan, not outcome.rendered)
        job.progress.frames_done(outcome.frames_rendered if outcome.rendered else 0)
        job.progress.shot_finished(outcome.plan, outcome.rendered)
        accept(index, outcome)
    missing = [plans[i].shot_id for i, o in enumerate(outcomes) if o is None]
    if missing:  # every shot is in exactly one chain: this is a bug
        raise RenderError(f"shots never scheduled: {', '.join(missing)}", hint="this is a studio bug: report it")
    return [o for o in outcomes if o is not None]


def _cached(job: FilmJob, index: int, previous: Clip | None) -> bool:
    """Is shot ``index`` already in the cache? Mirrors the start of :func:`produce_shot`
    (a copy: were it ever to differ, a cached shot would go to a worker, which finds it
    in the cache all the same)."""
    plan = job.plans[index]
    if plan.continues is not None and index and plan.continues.seed != job.plans[index - 1].seed:
        plan = replace(plan, continues=replace(plan.continues, seed=job.plans[index - 1].seed))
    _cond, key = shot_conditioning(job, plan, previous)
    return job.store.get(key, verify=job.verify) is not None


class _Pool:
    """The Ray side, started on first need: the connection (or a private loopback
    instance) and one :class:`ShotWorker` actor per GPU, else per CPU."""

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
