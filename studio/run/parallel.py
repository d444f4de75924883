"""``studio render -j N``: the local executor's shots in N worker processes.

Each worker is a process of its own (started with ``spawn``: torch and ffmpeg pipes do
not survive ``fork`` with threads) running a :class:`ShotWorker`, the Ray executor's
worker: the backend loaded once, the shared content-addressed cache, and the local
executor's own :func:`~studio.run.local.produce_shot`, so a clip made by a worker is
byte for byte the clip ``-j 1`` makes. The parent drives them with the Ray executor's
loop (:func:`~studio.run.distributed.dispatch.produce_shots`): a continuous shot is
handed out only once the clip it continues is stored, free workers take the ready shot
with the longest chain behind it, cached shots are taken by the parent. The parent alone
writes the lockfile and the report; workers write clips (atomic renames) and manifest
rows (SQLite, one transaction a row) and send back a :class:`WorkerResult`.

Meanwhile the film's sound is made in a process of its own (:mod:`studio.run.sound_ahead`);
while it is, the last worker is held back (the sound takes its core, and its memory),
and starts at the first hand-out after. Under
``--approved-only`` the held shots (keyframes encoded as stills) are taken by the
parent, the approved ones go to the workers.

Frames stream inside each worker from the backend into its own ffmpeg encoder, as in
the studio process at ``-j 1``; progress comes back over the worker's pipe as it
happens (``worker_shot_started`` / ``worker_frames_done`` when the progress has them).

Failures: a worker that dies (killed, out of memory) is replaced and its shot handed
out again (renders are idempotent); a :class:`StudioError` from a worker ends the
render with its message. When the studio process is killed, its workers die with it
(Linux: ``PR_SET_PDEATHSIG``; elsewhere at their next message), like the ffmpeg child of
a ``-j 1`` render; Ctrl-C stops every worker, which removes its unfinished clip.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from studio.cache.store import Clip
from studio.errors import StudioError
from studio.render.plan import ShotPlan
from studio.run import local
from studio.run.children import die_with_parent, survives_pickling
from studio.run.distributed.dispatch import produce_shots
from studio.run.distributed.worker import ShotWorker, WorkerResult, WorkerSpec, worker_spec
from studio.run.job import FilmJob, Progress, ShotOutcome
from studio.run.local import RenderResult
from studio.screenplay.model import Screenplay

RETRIES = 2  # times a shot is handed out again after its worker died


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity, which containers and ``taskset``
    narrow), else the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def render_film(screenplay: Screenplay, output_dir: Path, *, jobs: int = 1, **options: Any) -> RenderResult:
    """:func:`studio.run.local.render_film` with its shots in ``jobs`` worker processes
    (1: in this process, as the local executor does). Same arguments, same film."""
    if jobs < 1:
        raise StudioError(f"-j must be at least 1, not {jobs}")
    if jobs == 1:
        return local.render_film(screenplay, output_dir, **options)
    return local.render_film(screenplay, output_dir, **options, voice_jobs=jobs,
                             produce_shots=lambda job, opts: produce_in_workers(job, jobs, opts))


def produce_in_workers(job: FilmJob, jobs: int, options: dict[str, Any]) -> list[ShotOutcome]:
    """Step 3 of :func:`~studio.run.local.render_film` on ``jobs`` worker processes;
    outcomes in story order. Records what ran where in ``job.executor``."""
    events: list[dict[str, Any]] = []
    ahead = job.sound_ahead  # the sound being made meanwhile (studio.run.sound_ahead) holds one core
    pool = ProcessPool(lambda: worker_spec(job, options), jobs, job.progress,
                       held_back=(lambda: ahead.running()) if ahead is not None else None)
    started = time.perf_counter()
    try:
        outcomes = produce_shots(job, pool, RETRIES, events)
    finally:
        pool.close()
    job.executor = {
        "name": "local", "jobs": jobs, "workers_started": pool.started_workers,
        "shots_on_workers": len(events), "shots_seconds": round(time.perf_counter() - started, 3),
        "startup_seconds": round(pool.startup_seconds, 3),
        # a worker started only once the sound made beside the shots was done (seconds into the shots stage)
        "worker_held_for_sound": pool.held_at_start,
        **({"held_worker_started": round(pool.held_until - started, 3)} if pool.held_until is not None else {}),
        "busy_seconds": round(sum(e["finished"] - e["started"] for e in events), 3),
        "retried": {job.plans[i].shot_id: n for i, n in sorted(pool.retried.items())},
        "peak_rss_mb_workers": round(sum(pool.peak_kb.values()) / 1024, 1),  # each worker and its encoder
        "shots": [{**e, "started": round(e["started"], 4), "finished": round(e["finished"], 4)} for e in events],
    }
    return outcomes


class ProcessPool:
    """``size`` worker processes, started when the first shot needs one (a film whose
    shots are all cached starts none). Implements the pool the dispatch loop drives.

    ``held_back``: while it says True (the film's sound is being made in its own
    process, :mod:`studio.run.sound_ahead`), the last worker is not started: the sound
    takes that core, and the memory of a worker and its encoder, instead; the worker
    starts at the first hand-out after it says False."""

    kind = "local"
    hint = "run the same command again (finished shots are kept); with -j 1 the error shows in this process"
    live_progress = True

    def __init__(self, spec: Callable[[], WorkerSpec], size: int, progress: Progress,
                 held_back: Callable[[], bool] | None = None) -> None:
        if size < 1:
            raise StudioError(f"-j must be at least 1, not {size}")
        self._make_spec = spec
        self._spec: WorkerSpec | None = None
        self.size = size
        self._progress = progress
        self._ctx = multiprocessing.get_context("spawn")
        self._procs: dict[int, Any] = {}  # slot -> process
        self._conns: dict[int, Connection] = {}
        self._idle: list[int] = []
        self.running: dict[int, int] = {}  # slot -> shot index
        self.started_workers = 0
        self.startup_seconds = 0.0
        self.retried: dict[int, int] = {}
        self.peak_kb: dict[int, int] = {}  # worker pid -> its peak plus its largest encoder's
        self._held_back = held_back
        self._held: list[int] = []  # slots not started while held back
        self.held_until: float | None = None  # when the held worker started (perf_counter)
        self.held_at_start = False  # the last worker was held back when the others started

    # -- starting and stopping ---------------------------------------------------------
    def _start(self) -> None:
        began = time.perf_counter()
        self._progress.stage(f"starting {self.size} shot workers")
        self._spec = self._make_spec()
        held = self.size > 1 and self._held_back is not None and self._held_back()
        self._held = [self.size - 1] if held else []
        self.held_at_start = held
        slots = [slot for slot in range(self.size) if slot not in self._held]
        for slot in slots:
            self._launch(slot)
        for slot in slots:
            self._await_ready(slot)
        self._idle = list(reversed(slots))
        self.startup_seconds = time.perf_counter() - began

    def _release_held(self) -> None:
        """Start the held worker once nothing holds it back."""
        if self._held and self._held_back is not None and not self._held_back():
            slot = self._held.pop()
            self._launch(slot)
            self._await_ready(slot)
            self._idle.append(slot)
            self.held_until = time.perf_counter()

    def _launch(self, slot: int) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker_main, args=(child, self._spec, os.getpid()),
                                 name=f"studio-shot-worker-{slot + 1}", daemon=True)
        proc.start()
        child.close()
        self._procs[slot], self._conns[slot] = proc, parent
        self.started_workers += 1

    def _await_ready(self, slot: int) -> None:
        try:
            kind, error = self._conns[slot].recv()
        except EOFError:
            raise StudioError(f"shot worker {slot + 1} exited while starting (exit code "
                              f"{self._procs[slot].exitcode})", hint="run with -j 1 to see why") from None
        if error is not None:
            raise error

    def close(self) -> None:
        """Stop every worker: idle ones are told to leave, busy ones (an interrupted or
        failed render) are interrupted so they remove their unfinished clip."""
        for slot, proc in self._procs.items():
            if not proc.is_alive():
                continue
            if slot in self.running:
                with contextlib.suppress(OSError):
                    os.kill(proc.pid, signal.SIGINT)
            else:
                with contextlib.suppress(OSError):
                    self._conns[slot].send(None)
        deadline = time.monotonic() + 10
        for proc in self._procs.values():
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for conn in self._conns.values():
            conn.close()
        self._procs, self._conns, self._idle, self.running = {}, {}, [], {}

    # -- shots ----------------------------------------------------------------------
    def has_idle(self) -> bool:
        if not self._procs:
            self._start()
        self._release_held()
        return bool(self._idle)

    def submit(self, index: int, plan: ShotPlan, previous: Clip | None, previous_plan: ShotPlan | None,
               head: tuple[int, ShotPlan] | None = None) -> None:
        slot = self._idle.pop()
        self._conns[slot].send((index, plan, previous, previous_plan, head))
        self.running[slot] = index

    def next_done(self) -> tuple[int, WorkerResult | None, str | None]:
        """Wait for a shot to finish: (index, result, None), or (index, None, why) when its
        worker died (it is replaced; the caller hands the shot out again). Progress
        messages are passed on while waiting; a worker's :class:`StudioError` is raised."""
        while True:
            conns = {self._conns[slot]: slot for slot in self.running}
            sentinels = {self._procs[slot].sentinel: slot for slot in self.running}
            for ready in wait([*conns, *sentinels]):
                slot = conns.get(ready)  # type: ignore[call-overload]
                if slot is None:
                    slot = sentinels[ready]  # type: ignore[index]
                    if self._conns[slot].poll():
                        continue  # read what it said before it died first
                    return self._died(slot)
                try:
                    message = self._conns[slot].recv()
                except (EOFError, OSError):
                    return self._died(slot)
                done = self._handle(slot, message)
                if done is not None:
                    return done

    def _handle(self, slot: int, message: tuple[Any, ...]) -> tuple[int, WorkerResult | None, str | None] | None:
        kind = message[0]
        if kind == "started":
            _tell(self._progress, "worker_shot_started", slot, message[1], message[2],
                  fallback=lambda: self._progress.shot_started(message[1], message[2]))
        elif kind == "frames":
            _tell(self._progress, "worker_frames_done", slot, message[1],
                  fallback=lambda: self._progress.frames_done(message[1]))
        elif kind == "done":
            result: WorkerResult = message[1]
            index = self.running.pop(slot)
            self._idle.append(slot)
            self.peak_kb[result.pid] = max(self.peak_kb.get(result.pid, 0),
                                           result.worker_peak_kb + result.encoder_peak_kb)
            _tell(self._progress, "worker_idle", slot, fallback=lambda: None)
            return index, result, None
        elif kind == "error":
            self.running.pop(slot)
            self._idle.append(slot)
            raise message[1]
        return None

    def _died(self, slot: int) -> tuple[int, None, str]:
        index = self.running.pop(slot)
        proc = self._procs[slot]
        proc.join(5)
        why = f"worker {slot + 1} exited with code {proc.exitcode}"
        self._conns[slot].close()
        self._launch(slot)
        self._await_ready(slot)
        self._idle.append(slot)
        self.retried[index] = self.retried.get(index, 0) + 1
        return index, None, why


def _tell(progress: Progress, method: str, *args: Any, fallback: Callable[[], None]) -> None:
    """Per-worker progress where the progress draws it, else the single shot bar."""
    call = getattr(progress, method, None)
    if callable(call):
        call(*args)
    else:
        fallback()


# --------------------------------------------------------------------------- in the worker


class _PipeProgress:
    """A worker's progress, sent to the parent as it happens."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def film_started(self, shots: int, frames: int) -> None: ...

    def shot_started(self, plan: ShotPlan, cached: bool) -> None:
        self._conn.send(("started", plan, cached))

    def frames_done(self, count: int) -> None:
        if count:
            self._conn.send(("frames", count))

    def shot_finished(self, plan: ShotPlan, cached: bool) -> None: ...

    def stage(self, name: str) -> None: ...


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a :class:`StudioError` with its words."""
    if survives_pickling(exc):
        return exc
    return StudioError(str(exc), hint=getattr(exc, "hint", "") or "run with -j 1 to see where it fails")


def _worker_main(conn: Connection, spec: WorkerSpec, parent: int) -> None:
    """A worker process: start the backend, say ready, then produce the shots the
    parent sends until it sends None (or goes away)."""
    die_with_parent(parent)
    worker: ShotWorker | None = None
    try:
        worker = ShotWorker(spec)
        if worker.error is None:
            worker.job.progress = _PipeProgress(conn)
        conn.send(("ready", _portable(worker.error) if worker.error is not None else None))
        while True:
            shot = conn.recv()
            if shot is None:
                return
            try:
                result = worker.produce(*shot)
            except StudioError as exc:
                conn.send(("error", _portable(exc)))
                continue
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                conn.send(("error", _portable(exc)))
                continue
            conn.send(("done", result))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return  # interrupted, or the studio process went away: nothing to report to
    finally:
        if worker is not None and worker.error is None:
            worker.job.store.manifest.close()
