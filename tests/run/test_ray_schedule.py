"""The Ray executor's scheduling, without Ray: the policy (ready queue, simulated
makespans and their bounds) and the driver loop over an in-process worker pool that
finishes shots in a random order and fails some of them."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from studio.errors import RenderError
from studio.run.distributed.schedule import ReadyQueue, lower_bound, simulate
from studio.run.local import render_film
from studio.screenplay import parse_screenplay
from tests.conftest import small

CHAINS = """\
version: 1
film: {title: Chains, seed: 11}
characters:
  - {id: ana, name: Ana, description: a woman in a green coat}
  - {id: ben, name: Ben, description: a man in a brown cardigan}
locations:
  - {id: hall, name: Hall, description: a long hall with tall windows, interior: true}
  - {id: yard, name: Yard, description: a yard with a wooden fence, interior: false}
scenes:
  - id: s1
    location: hall
    characters: [ana, ben]
    shots:
      - {id: a1, size: wide, subjects: [ana, ben], duration: 2, description: Ana walks the hall.}
      - {id: a2, size: medium, subjects: [ana], continuity: continuous, duration: 1.5, description: She slows.}
      - {id: a3, size: close-up, subjects: [ana], continuity: continuous, duration: 1.5, description: She stops.}
      - {id: a4, size: medium, subjects: [ben], duration: 1.5, description: Ben looks up.}
      - {id: a5, size: close-up, subjects: [ben], continuity: continuous, duration: 1.5, description: He frowns.}
    beats:
      - action: Ana walks the hall towards Ben.
  - id: s2
    location: yard
    characters: [ana]
    shots:
      - {id: b1, size: wide, subjects: [ana], duration: 1.5, description: The yard at dusk.}
      - {id: b2, size: medium, subjects: [ana], continuity: continuous, duration: 1.5, description: At the fence.}
      - {id: b3, size: close-up, subjects: [ana], continuity: continuous, duration: 1.5, description: Her hand.}
      - {id: b4, size: wide, subjects: [ana], duration: 1.5, description: The yard again.}
      - {id: b5, size: medium, subjects: [ana], duration: 1.5, description: Ana turns.}
    beats:
      - action: Ana waits at the fence.
"""


def test_the_ready_queue_serves_the_longest_remaining_chain_first():
    chains = [[0], [1, 2, 3], [4, 5]]
    costs = [5, 1, 1, 1, 2, 2]  # remaining work: 5, 3, 4
    queue = ReadyQueue(chains, costs)
    assert queue.starts == [0, 1, 4]
    for index in queue.starts:
        queue.push(index)
    assert [queue.pop(), queue.pop(), queue.pop()] == [0, 4, 1]
    assert queue.next_of(1) == 2 and queue.next_of(3) is None and queue.next_of(0) is None
    assert len(queue) == 0


@pytest.mark.parametrize("seed", range(20))
def test_simulated_makespans_respect_their_bounds(seed):
    rng = random.Random(seed)
    chains, costs, index = [], [], 0
    for _ in range(rng.randint(1, 40)):
        length = rng.choice([1, 1, 1, 2, 3, 6])
        chains.append(list(range(index, index + length)))
        costs += [rng.uniform(0.5, 10) for _ in range(length)]
        index += length
    total = sum(costs)
    longest, _ = lower_bound(chains, costs, 1)
    assert simulate(chains, costs, 1).makespan == pytest.approx(total)
    assert simulate(chains, costs, len(chains)).makespan == pytest.approx(longest)  # a worker per chain
    previous = total
    for workers in (1, 2, 3, 8, 64):
        schedule = simulate(chains, costs, workers)
        assert schedule.makespan >= schedule.lower_bound - 1e-9
        assert schedule.makespan <= total / workers + longest + 1e-9  # list scheduling's guarantee
        assert schedule.makespan <= previous + 1e-9  # more workers never hurt this film
        assert 0 < schedule.utilisation <= 1 + 1e-9
        previous = schedule.makespan


def test_dispatch_overhead_adds_per_shot():
    chains = [[0, 1], [2]]
    assert simulate(chains, [1, 1, 1], 2, dispatch=0.5).makespan == pytest.approx(3.0)


# --------------------------------------------------------------------------- the driver loop


class InlinePool:
    """The executor's worker pool, in this process: ``size`` workers (each a ShotWorker
    with its own store), shots finishing in a random order, the first attempt of the
    shots in ``fail`` reported as a dead worker. Records what it was handed."""

    def __init__(self, spec: Any, size: int = 3, fail: tuple[str, ...] = (), seed: int = 0) -> None:
        self._spec = spec
        self.size = size
        self.fail = set(fail)
        self.rng = random.Random(seed)
        self.running: dict[int, tuple[int, Any, Any, Any]] = {}
        self.handed: list[str] = []
        self.worker: Any = None
        self._next = 0

    def has_idle(self) -> bool:
        return len(self.running) < self.size

    def submit(self, index: int, plan: Any, previous: Any, previous_plan: Any, head: Any = None) -> None:
        if plan.continuity == "continuous":
            # what the rule is for: the clip it continues is stored before it is handed out
            assert previous is not None and previous.path.is_file() and previous_plan is not None
        self.handed.append(plan.shot_id)
        self.running[self._next] = (index, plan, previous, previous_plan, head)
        self._next += 1

    def next_done(self) -> tuple[int, Any, str | None]:
        from studio.run.ray_executor import ShotWorker

        ref = self.rng.choice(sorted(self.running))
        index, plan, previous, previous_plan, head = self.running.pop(ref)
        if plan.shot_id in self.fail:
            self.fail.discard(plan.shot_id)
            return index, None, "ActorDiedError: the worker died"
        if self.worker is None:
            self.worker = ShotWorker(self._spec())
        return index, self.worker.produce(index, plan, previous, previous_plan, head), None


@pytest.fixture
def chains_film(tmp_path):
    screenplay = small(parse_screenplay(CHAINS, str(tmp_path / "chains.yaml"), base_dir=tmp_path))
    reference = render_film(screenplay, tmp_path / "local", cache_dir=tmp_path / "local-cache", name="chains",
                            audio=False)
    return screenplay, reference


def drive(screenplay, root: Path, retries: int = 3, **pool_kw: Any):
    from studio.cache.store import ShotStore
    from studio.run.local import finish_film, prepare_film
    from studio.run.ray_executor import _produce_shots, _spec

    store = ShotStore(root / "cache")
    try:
        job = prepare_film(screenplay, root / "out", store=store, cache_dir=root / "cache", name="chains",
                           audio=False)
        pool = InlinePool(lambda: _spec(job, {}), **pool_kw)
        outcomes = _produce_shots(job, pool, retries)
        if pool.worker is not None:
            pool.worker.job.store.manifest.close()
        return finish_film(job, outcomes), pool
    finally:
        store.manifest.close()


@pytest.mark.parametrize("seed", [0, 1])
def test_shots_finishing_in_any_order_make_the_local_executors_film(chains_film, tmp_path, seed):
    screenplay, reference = chains_film
    result, pool = drive(screenplay, tmp_path, seed=seed)
    assert sorted(pool.handed) == sorted(p.shot_id for p in reference.plans)
    assert [c.sha256 for c in result.clips] == [c.sha256 for c in reference.clips]
    assert result.film.read_bytes() == reference.film.read_bytes()

    again, pool = drive(screenplay, tmp_path, seed=seed)  # all cached: the driver takes every shot itself
    assert pool.handed == [] and again.report["shots_rendered"] == 0


def test_a_shot_whose_worker_died_is_handed_out_again(chains_film, tmp_path):
    screenplay, reference = chains_film
    result, pool = drive(screenplay, tmp_path, fail=("a2", "b1"))
    assert pool.handed.count("a2") == 2 and pool.handed.count("b1") == 2
    assert [c.sha256 for c in result.clips] == [c.sha256 for c in reference.clips]


def test_a_shot_that_keeps_failing_ends_the_render(chains_film, tmp_path):
    screenplay, _ = chains_film
    with pytest.raises(RenderError, match="shot a2 failed on 1 Ray worker:"):
        drive(screenplay, tmp_path, retries=0, fail=("a2",))
