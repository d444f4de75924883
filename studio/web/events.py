"""Live events for the pages: Server-Sent Events fed from any thread.

The render worker and the file watcher run in threads of their own; each page holds
one ``EventSource`` on ``/api/events``. :class:`EventHub` hands every event to every
open page's queue on that page's event loop, and never blocks the publisher: a page
that stops reading loses its oldest events, not the render its progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from studio.render.plan import ShotPlan

KEEPALIVE_SECONDS = 15.0
QUEUE_SIZE = 500


class EventHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str | None]]] = set()
        self._closed = False

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, event: str, data: Any) -> None:
        """Send ``data`` (JSON-able) as an event named ``event`` to every page."""
        message = f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
        self._send(message)

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        with self._lock:
            self._closed = True
        self._send(None)

    def _send(self, message: str | None) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            with contextlib.suppress(RuntimeError):  # that page's loop is gone
                loop.call_soon_threadsafe(_offer, queue, message)

    async def stream(self) -> AsyncIterator[str]:
        """One page's events, as SSE text; a comment every few seconds keeps proxies
        and the browser from timing out, and lets the server notice a closed page."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
        entry = (loop, queue)
        with self._lock:
            if self._closed:
                return
            self._subscribers.add(entry)
        try:
            yield "retry: 1000\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if message is None:
                    return
                yield message
        finally:
            with self._lock:
                self._subscribers.discard(entry)


def _offer(queue: asyncio.Queue[str | None], message: str | None) -> None:
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(message)


class WebProgress:
    """The executor's :class:`~studio.run.local.Progress`, as ``progress`` events of
    one job: the shot being rendered and its frames (at most ten events a second)."""

    def __init__(self, hub: EventHub, job: int, interval: float = 0.1) -> None:
        self.hub = hub
        self.job = job
        self.interval = interval
        self.shot: str | None = None
        self.done = 0
        self.total = 0
        self.shots = 0
        self.finished = 0
        self._last = 0.0

    def _publish(self, force: bool = False, **extra: Any) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        self.hub.publish("progress", {"job": self.job, "shot": self.shot, "done": self.done, "total": self.total,
                                      "shots_done": self.finished, "shots": self.shots, **extra})

    def film_started(self, shots: int, frames: int) -> None:
        self.shots = shots
        self._publish(force=True, stage="rendering")

    def shot_started(self, plan: ShotPlan, cached: bool) -> None:
        if cached:
            return
        self.shot, self.done, self.total = plan.shot_id, 0, plan.frames
        self._publish(force=True, stage="rendering")

    def frames_done(self, count: int) -> None:
        self.done = min(self.total, self.done + count)
        self._publish(stage="rendering")

    def shot_finished(self, plan: ShotPlan, cached: bool) -> None:
        self.finished += 1
        if plan.shot_id == self.shot:
            self.done = self.total
            self._publish(force=True, stage="rendering", shot_finished=True)
            self.shot = None

    def stage(self, name: str) -> None:
        self.shot = None
        self._publish(force=True, stage=name)
