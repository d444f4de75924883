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


# --------------------------------------------------------------------------- keyframes first


def _post(running, path: str, body: object, token: bool = True) -> tuple[int, dict]:
    headers = {TOKEN_HEADER: running.studio.token} if token else {}
    status, _h, raw = request(running.url, path, method="POST", body=body, headers=headers)
    return status, json.loads(raw)


def _job(running, path: str, body: object) -> dict:
    status, data = _post(running, path, body)
    assert status == 202, data
    _wait_idle(running)
    job = next(j for j in running.studio.jobs if j.id == data["job"]["id"])
    assert job.state == "done", job.error
    return job.to_dict()


def _locked(path):
    from studio.cache.lockfile import Lockfile

    return Lockfile.load(Lockfile.beside(path)).keyframes


def test_keyframe_actions_are_refused_before_any_keyframe_and_without_the_token(served):
    running, path = served
    status, data = _post(running, "/api/approve", {"shots": ["storm-01"]})
    assert status == 409 and data["error"] == "shot storm-01 has no keyframe yet" and "draw keyframes" in data["hint"]
    status, data = _post(running, "/api/keyframes", {"shots": []}, token=False)
    assert status == 403
    status, _h, _b = request(running.url, "/keyframe/storm-01.png")
    assert status == 404
    assert _locked(path) == {}
    assert not [j for j in running.studio.jobs if j.kind in ("keyframes", "approve", "keyframe-take")]


def test_drawing_keyframes_selects_take_one_of_every_shot_and_serves_them(served_keyframes):
    running, path = served_keyframes
    job = _job(running, "/api/keyframes", {"shots": []})
    assert job["kind"] == "keyframes" and job["result"]["keyframes_drawn"] == 31
    locked = _locked(path)
    shots = [s["shot"] for s in _status(running)["shots"]]
    assert sorted(locked) == sorted(shots) and {k.take for k in locked.values()} == {1}
    assert not any(k.approved for k in locked.values())
    # the status event carries each card's keyframe; the card shows it
    event = running.studio.status_event()
    assert event["shots"][0]["keyframe"]["take"] == 1 and event["shots"][0]["keyframe"]["approved"] is False
    status, headers, body = request(running.url, "/keyframe/storm-01.png")
    assert status == 200 and headers["content-type"] == "image/png" and body[:8] == b"\x89PNG\r\n\x1a\n"
    from studio.cache.keyframes import KeyframeStore

    assert body == KeyframeStore(path.parent / "cache").path(locked["storm-01"].key).read_bytes()
    status, _h, card = request(running.url, "/fragment/card/storm-01")
    assert status == 200 and b"keyframe take 1" in card and b"not approved" in card and b"New keyframe" in card
    # never a path: an unknown shot or one that tries to climb out is not found
    for bad in ("/keyframe/nope.png", "/keyframe/..%2F..%2Fetc%2Fpasswd.png", "/keyframe/%2e%2e.png"):
        assert request(running.url, bad)[0] == 404, bad


def test_approve_writes_the_lockfile_and_undo_withdraws_it(served_keyframes):
    running, path = served_keyframes
    job = _job(running, "/api/approve", {"shots": ["storm-01", "storm-02"]})
    assert job["result"]["changed"] == ["storm-01", "storm-02"]
    locked = _locked(path)
    assert locked["storm-01"].approved and locked["storm-02"].approved and not locked["storm-03"].approved
    status, _h, card = request(running.url, "/fragment/card/storm-01")
    assert b'data-approved="true"' in card and b"Undo approval" in card
    _job(running, "/api/approve", {"shots": ["storm-02"], "undo": True})
    locked = _locked(path)
    assert locked["storm-01"].approved and not locked["storm-02"].approved


def test_a_new_keyframe_makes_take_two_and_selects_it(served_keyframes):
    running, path = served_keyframes
    before = _locked(path)["storm-01"]
    assert before.approved and before.take == 1
    job = _job(running, "/api/keyframes", {"shots": ["storm-01"]})
    assert job["result"]["takes"] == {"storm-01": 2} and job["result"]["keyframes_drawn"] == 1
    after = _locked(path)
    assert after["storm-01"].take == 2 and after["storm-01"].key != before.key
    assert not after["storm-01"].approved  # a new picture is approved anew
    assert all(after[s] == k for s, k in _locked(path).items() if s != "storm-01")
    assert running.studio.keyframe("storm-01")["takes"] == [1, 2]
    status, _h, card = request(running.url, "/fragment/card/storm-01")
    assert b"keyframe take 2" in card and b'class="keyframe-take-pick"' in card
    # picking take 1 again (the stage keeps every take in the store)
    _job(running, "/api/keyframe/take", {"shot": "storm-01", "take": 1})
    assert _locked(path)["storm-01"].take == 1 and _locked(path)["storm-01"].key == before.key
    status, data = _post(running, "/api/keyframe/take", {"shot": "storm-01", "take": 7})
    assert status == 400 and data["error"] == "shot storm-01 has no keyframe take 7" and data["hint"] == "keyframe takes: 1, 2"


def test_a_bad_shot_id_is_a_clear_error(served_keyframes):
    running, path = served_keyframes
    before = _locked(path)
    jobs = len(running.studio.jobs)
    for route, body in (("/api/approve", {"shots": ["storm-99"]}), ("/api/keyframes", {"shots": ["storm-99"]}),
                        ("/api/keyframe/take", {"shot": "storm-99", "take": 1})):
        status, data = _post(running, route, body)
        assert status == 404 and data["error"] == "no shot 'storm-99' in the film", (route, data)
    for route, body in (("/api/approve", {"shots": []}), ("/api/approve", {"shots": "storm-01"}),
                        ("/api/approve", {"shots": ["storm-01"], "undo": "yes"}), ("/api/keyframes", {"shots": [1]}),
                        ("/api/keyframe/take", {"shot": "storm-01", "take": "2"})):
        status, data = _post(running, route, body)
        assert status == 400 and data["error"], (route, body, data)
    assert len(running.studio.jobs) == jobs and _locked(path) == before  # nothing queued, nothing written
