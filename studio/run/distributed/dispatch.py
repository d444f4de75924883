"""The driver's loop when many workers render one film's shots (the Ray executor's
actors, the local executor's ``-j N`` processes): the scene graph's render order
through :class:`~studio.run.distributed.schedule.ReadyQueue`. A chain's first shot is
ready at once; a continuous shot is handed out only once the clip it continues is
stored; free workers take ready shots longest remaining chain first. Shots already in
the cache are taken by the driver itself, so a cached film starts no worker, and so
are the shots ``--approved-only`` holds (their keyframe encoded as a still).

A pool is anything with ``running`` (shots out on workers), ``has_idle()``,
``submit(index, plan, previous, previous_plan, head)`` and ``next_done()`` (see
:class:`ShotPool`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sized
from dataclasses import replace
from typing import Any, Protocol

from studio.cache.store import Clip
from studio.errors import RenderError
from studio.render.plan import ShotPlan
from studio.run import local
from studio.run.distributed.schedule import ReadyQueue
from studio.run.distributed.worker import WorkerResult
from studio.run.job import FilmJob, ShotOutcome
from studio.run.local import held, produce_here, shot_conditioning


class ShotPool(Protocol):
    running: Sized
    kind: str  # "Ray", "local": how a failure names the workers
    hint: str  # where to look when a shot keeps failing

    def has_idle(self) -> bool: ...
    def submit(self, index: int, plan: ShotPlan, previous: Clip | None, previous_plan: ShotPlan | None,
               head: tuple[int, ShotPlan] | None = None) -> None: ...
    def next_done(self) -> tuple[int, WorkerResult | None, str | None]: ...


def produce_shots(job: FilmJob, pool: ShotPool, retries: int,
                  events: list[dict[str, Any]] | None = None) -> list[ShotOutcome]:
    """Step 3 over the pool, in the scene graph's render order; outcomes in story order.
    ``events``: when given, one ``{"shot", "worker", "host", "started", "finished",
    "rendered"}`` is appended per shot a worker produced (wall-clock seconds, in the
    order they finished)."""
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
            outcome = produce_here(job, index, before.clip if before else None)

    def make_ready(index: int) -> bool:
        """Queue shot ``index`` for a worker, unless it is held or in the cache (then say so)."""
        before = previous_of(index)
        if held(job, index) or cached(job, index, before.clip if before else None):
            return True
        ready.push(index)
        return False

    for start in ready.starts:
        if make_ready(start):
            accept(start, produce_here(job, start, None))
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
                    f"shot {plans[index].shot_id} failed on {failures[index]} {getattr(pool, 'kind', 'Ray')} worker"
                    f"{'s' if failures[index] != 1 else ''}: {error}",
                    hint=getattr(pool, "hint", ""),
                ) from None
            ready.push(index)  # renders are idempotent: hand it out again
            continue
        assert result is not None
        job.store.corrupt.extend(result.corrupt)
        local._ENCODER_PEAK_KB[0] = max(local._ENCODER_PEAK_KB[0], result.encoder_peak_kb)
        outcome = result.outcome
        if events is not None:
            events.append({"shot": outcome.plan.shot_id, "worker": result.pid, "host": result.host,
                           "started": result.started, "finished": result.finished, "rendered": outcome.rendered})
        if not getattr(pool, "live_progress", False):  # a pool that reports frames as they come did so already
            job.progress.shot_started(outcome.plan, not outcome.rendered)
            job.progress.frames_done(outcome.frames_rendered if outcome.rendered else 0)
        job.progress.shot_finished(outcome.plan, outcome.rendered)
        accept(index, outcome)
    missing = [plans[i].shot_id for i, o in enumerate(outcomes) if o is None]
    if missing:  # every shot is in exactly one chain: this is a bug
        raise RenderError(f"shots never scheduled: {', '.join(missing)}", hint="this is a studio bug: report it")
    return [o for o in outcomes if o is not None]


def cached(job: FilmJob, index: int, previous: Clip | None) -> bool:
    """Is shot ``index`` already in the cache? Mirrors the start of :func:`produce_shot`
    (a copy: were it ever to differ, a cached shot would go to a worker, which finds it
    in the cache all the same)."""
    plan = job.plans[index]
    if plan.continues is not None and index and plan.continues.seed != job.plans[index - 1].seed:
        plan = replace(plan, continues=replace(plan.continues, seed=job.plans[index - 1].seed))
    _cond, key = shot_conditioning(job, plan, previous)
    return job.store.get(key, verify=job.verify) is not None
