"""The web studio's JSON side and the likeness page: status, casting a character as
an enrolled likeness (its shots go stale), and removing the likeness (with its consent
record shown first)."""

from __future__ import annotations

import json
import time

from studio.web.safety import TOKEN_HEADER
from tests.web.conftest import request


def _status(running) -> dict:
    status, _h, body = request(running.url, "/api/status")
    assert status == 200
    return json.loads(body)


def _wait_idle(running, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while any(j.state in ("queued", "running") for j in running.studio.jobs):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_status_lists_every_shot_with_its_key_and_the_cut(served):
    running, _path = served
    data = _status(running)
    assert data["title"] == "The Last Lamp"
    assert len(data["shots"]) == 31 and data["stale"] == []
    assert all(len(s["key"]) == 64 and s["take"] == 1 for s in data["shots"])
    assert data["cut"]["url"] == "/out/lamp.mp4" and data["cut"]["key"]


def test_casting_and_removing_a_likeness(served, tmp_path, monkeypatch):
    from skimage import data as samples

    from studio.consistency.likeness import LikenessStore
    from tests.consistency.conftest import save

    running, _path = served
    token = {TOKEN_HEADER: running.studio.token}
    monkeypatch.setenv("STUDIO_LIKENESSES", str(tmp_path / "likenesses"))
    photo = save(samples.astronaut(), tmp_path / "astronaut.jpg", quality=92)
    consent = "I agree that my face may play Mara <in> \"The Last Lamp\"."
    LikenessStore().add("eileen", [photo], consent, person="Eileen Collins")

    status, _h, page = request(running.url, "/likeness")
    assert status == 200
    text = page.decode()
    assert "eileen" in text and "Eileen Collins" in text and "consent-" in text
    assert "Mara &lt;in&gt; &#34;The Last Lamp&#34;" in text  # the statement, escaped

    # casting Mara makes exactly the shots she is in stale
    status, _h, body = request(running.url, "/api/cast", method="POST",
                               body={"character": "mara", "likeness": "eileen"}, headers=token)
    assert status == 200, body
    shots = running.studio.status().shots
    with_mara = {s.shot_id for s in shots
                 if "mara" in {m.id for m in s.plan.present} | set(s.plan.subjects) | {ln.speaker for ln in s.plan.lines}}
    assert set(_status(running)["stale"]) == with_mara and with_mara
    assert _status(running)["casting"] == {"mara": "eileen"}

    status, _h, body = request(running.url, "/api/cast", method="POST",
                               body={"character": "mara", "likeness": "nobody"}, headers=token)
    assert status == 400 and b"eileen" in body  # the error lists the enrolled likenesses
    status, _h, body = request(running.url, "/api/cast", method="POST",
                               body={"character": "ghost", "likeness": "eileen"}, headers=token)
    assert status == 400 and b"no character 'ghost'" in body

    # removal: the likeness goes, and with it the casting
    status, _h, body = request(running.url, "/api/likeness/remove", method="POST", body={"name": "eileen"},
                               headers=token)
    assert status == 202, body
    _wait_idle(running)
    assert [j.state for j in running.studio.jobs if j.kind == "remove-likeness"] == ["done"]
    assert LikenessStore().names() == []
    assert _status(running)["casting"] == {} and _status(running)["stale"] == []
