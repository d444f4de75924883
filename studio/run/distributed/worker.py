"""A shot worker: the backend loaded once and the shared cache, producing any shot of a
film it is handed (:func:`studio.run.local.produce_shot`, so its clip is the clip the
local executor would make). The Ray executor runs it as an actor; the local executor's
``-j N`` runs it in worker processes (:mod:`studio.run.parallel`). Plain classes: this
module imports neither Ray nor multiprocessing."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.assemble.encode import VideoSettings, process_peak_kb
from studio.cache.store import Clip, ShotStore
from studio.errors import StudioError
from studio.render.backend import load_backend
from studio.render.plan import ShotPlan, canonical_hash
from studio.run import local
from studio.run.identity import QASettings
from studio.run.job import FilmJob, QuietProgress, ShotOutcome
from studio.run.local import produce_shot
from studio.screenplay.model import Screenplay


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
    worker_peak_kb: int = 0  # the worker process's own peak resident memory (VmHWM)


class ShotWorker:
    """One per GPU (or CPU): the backend, loaded once, and a ShotStore on the shared cache.
    Ray makes it an actor (see :class:`studio.run.ray_executor._Pool`); it is a plain class so this module never
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
                            local._ENCODER_PEAK_KB[0], process_peak_kb())

    def ready(self) -> tuple[int, str, StudioError | None]:
        """(pid, host, why this worker cannot render, if it cannot)."""
        return os.getpid(), socket.gethostname(), self.error


def worker_spec(job: FilmJob, options: dict[str, Any]) -> WorkerSpec:
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
