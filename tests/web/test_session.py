"""The web studio's job queue (studio.web.session): a request for what is already
waiting is that job, and the queue has a cap."""

from __future__ import annotations

import shutil

import pytest

from studio.web.safety import WebError
from studio.web.session import MAX_QUEUED
from tests.conftest import EXAMPLE
from tests.web.conftest import studio_for


@pytest.fixture
def idle_studio(tmp_path):
    """A studio whose worker is not running: every job it is given stays queued."""
    path = tmp_path / "lamp.yaml"
    shutil.copy(EXAMPLE, path)
    studio = studio_for(path)
    studio.refresh(raise_errors=True)
    return studio


def test_the_same_rerender_asked_for_again_is_the_waiting_job(idle_studio):
    first = idle_studio.render(["storm-02"])
    again = [idle_studio.render(["storm-02"]) for _ in range(200)]
    assert {j.id for j in again} == {first.id}
    assert [j.id for j in idle_studio.jobs] == [first.id]
    other = idle_studio.render(["storm-01"])  # another shot is another job
    assert other.id != first.id and len(idle_studio.jobs) == 2
    first.state = "running"  # once it runs, a new request is a new take: a new job
    assert idle_studio.render(["storm-02"]).id not in (first.id, other.id)


def test_the_queue_is_capped(idle_studio):
    shots = [s.shot_id for s in idle_studio.status().shots]
    asks = [[a, b] for a in shots for b in shots if a != b]
    assert len(asks) > MAX_QUEUED
    for ask in asks[:MAX_QUEUED]:
        idle_studio.render(ask)
    with pytest.raises(WebError) as refused:
        idle_studio.render(asks[MAX_QUEUED])
    assert refused.value.status == 429 and "already waiting" in str(refused.value)
    assert len(idle_studio.jobs) == MAX_QUEUED
