"""Which shot renders next when many workers render one film.

A film's shots form continuity chains (:meth:`SceneGraph.render_order`): inside a
chain a shot waits for the clip it continues; different chains are independent. The
policy is list scheduling, critical path first: whenever a worker is free it takes
the ready shot whose chain has the most work left (that shot plus the rest of its
chain), ties in story order. A chain's first shot is ready at once; every other shot
is ready when the shot it continues is done.

:class:`ReadyQueue` is the policy as the Ray executor uses it; :func:`simulate` runs
the same policy on per-shot costs (``bench/schedule.py``) and :func:`lower_bound`
says how well any schedule could do.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise


class ReadyQueue:
    """Shots (story-order indices) ready to render, most remaining chain work first.

    ``chains``: indices in render order, each chain in the order its shots must run;
    every index in exactly one chain. ``costs``: a cost per index (seconds, frames:
    any unit), used only to rank. The queue starts empty: push :attr:`starts`, and
    after each shot the one that continues it (:meth:`next_of`)."""

    def __init__(self, chains: Sequence[Sequence[int]], costs: Sequence[float]) -> None:
        self._rest: dict[int, float] = {}  # index -> its cost plus the rest of its chain
        self._next: dict[int, int] = {}  # index -> the index that continues it
        for chain in chains:
            total = 0.0
            for index in reversed(chain):
                total += costs[index]
                self._rest[index] = total
            for before, after in pairwise(chain):
                self._next[before] = after
        self.starts = [chain[0] for chain in chains if chain]  # ready from the start
        self._heap: list[tuple[float, int]] = []

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, index: int) -> None:
        """Make ``index`` ready (again, after a failed attempt)."""
        heapq.heappush(self._heap, (-self._rest[index], index))

    def pop(self) -> int:
        """The ready shot to render next."""
        return heapq.heappop(self._heap)[1]

    def next_of(self, index: int) -> int | None:
        """The shot that continues ``index`` (ready once ``index`` is done), if any."""
        return self._next.get(index)

    def rest(self, index: int) -> float:
        return self._rest[index]


@dataclass(frozen=True)
class Schedule:
    """A simulated render of a film's shots on ``workers`` workers, in seconds."""

    workers: int
    makespan: float  # from the first shot's start to the last shot's end
    busy: float  # the sum of every shot's cost
    chain_bound: float  # the longest chain: no schedule finishes sooner
    work_bound: float  # busy / workers: no schedule finishes sooner either

    @property
    def lower_bound(self) -> float:
        return max(self.chain_bound, self.work_bound)

    @property
    def utilisation(self) -> float:
        """Share of the workers' time spent rendering."""
        return self.busy / (self.makespan * self.workers) if self.makespan else 1.0


def lower_bound(chains: Sequence[Sequence[int]], costs: Sequence[float], workers: int) -> tuple[float, float]:
    """(longest chain, total / workers): every schedule takes at least the larger."""
    longest = max((sum(costs[i] for i in chain) for chain in chains), default=0.0)
    return longest, sum(costs) / workers


def simulate(chains: Sequence[Sequence[int]], costs: Sequence[float], workers: int,
             dispatch: float = 0.0) -> Schedule:
    """The makespan of the policy on ``workers`` identical workers when shot ``i`` takes
    ``costs[i]`` seconds, plus ``dispatch`` seconds per shot (handing it out, the result
    coming back)."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    ready = ReadyQueue(chains, costs)
    for index in ready.starts:
        ready.push(index)
    running: list[tuple[float, int]] = []  # (finish time, index)
    idle, now = workers, 0.0
    while ready or running:
        while idle and ready:
            index = ready.pop()
            heapq.heappush(running, (now + costs[index] + dispatch, index))
            idle -= 1
        now, index = heapq.heappop(running)
        idle += 1
        after = ready.next_of(index)
        if after is not None:
            ready.push(after)
    chain_bound, work_bound = lower_bound(chains, costs, workers)
    return Schedule(workers, now, float(sum(costs)), chain_bound, work_bound)
