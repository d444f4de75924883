"""The screenplay editor's server side (studio.web.editor and its routes): checking
unsaved text, completion words, and saving only with the token over the version loaded."""

from __future__ import annotations

import hashlib
import os
import re
import time

import pytest

from studio.web.editor import check_text, digest, save_text, schema_keys
from studio.web.safety import BASE_HEADER, TOKEN_HEADER, WebError
from tests.conftest import EXAMPLE
from tests.web.conftest import request


def _post_text(running, path, text, headers):
    return request(running.url, path, method="POST", body=text.encode(), headers={"Content-Type": "text/plain",
                                                                                  **headers})


def test_check_text_reports_an_unknown_key_at_its_line_and_writes_nothing(tmp_path):
    path = tmp_path / "lamp.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines) if line.strip().startswith("look:")) + 1
    lines[number - 1] = lines[number - 1].replace("look:", "lok:")
    result = check_text("\n".join(lines) + "\n", path)
    assert not result["ok"]
    problem = next(p for p in result["problems"] if "lok" in p["message"])
    assert problem["line"] == number and problem["column"] == 3 and "look" in problem["hint"]
    assert not path.exists()  # a check writes nothing
    good = check_text(text, path)
    assert good["ok"] and good["problems"] == []
    assert [s["id"] for s in good["scenes"]] == ["storm", "climb", "standoff", "dawn"]
    assert good["ids"]["characters"] == ["mara", "theo", "inspector"]
    storm = next(s for s in good["scenes"] if s["id"] == "storm")
    assert text.splitlines()[storm["line"] - 1].strip() == "- id: storm"
    assert all(s["line"] > storm["line"] for s in good["shots"])


def test_check_text_reads_fountain_through_the_importer(tmp_path):
    script = "INT. KITCHEN - NIGHT\n\nAna opens the door.\n\nANA\nHello?\n\n[[unclosed\n"
    result = check_text(script, tmp_path / "draft.fountain")
    assert result["scenes"] and result["shots"]
    assert result["ids"]["characters"] == ["ana"]


def test_schema_keys_follow_the_json_schema():
    keys = schema_keys()
    assert keys[""] == ["version", "film", "characters", "locations", "scenes"]
    assert {"speaker", "line", "action", "parenthetical"} <= set(keys["beats"])
    assert {"heading", "location", "beats"} <= set(keys["scenes"])


def test_saving_needs_the_token_and_the_loaded_version(served):
    running, path = served
    before = path.read_bytes()
    status, _h, payload = request(running.url, "/api/source")
    assert status == 200
    import json

    source = json.loads(payload)
    assert source["text"] == before.decode() and source["digest"] == hashlib.sha256(before).hexdigest()
    edited = source["text"].replace("Then ours will.", "Then ours will, tonight.")
    # no token, a wrong token, a foreign Origin: 403, nothing written
    for headers in ({}, {TOKEN_HEADER: "nope"},
                    {TOKEN_HEADER: running.studio.token, "Origin": "http://attacker.example"}):
        status, _h, payload = _post_text(running, "/api/source", edited, {BASE_HEADER: source["digest"], **headers})
        assert status == 403, payload
        assert path.read_bytes() == before
    # a stale digest: 409 with the digest on disk, nothing written
    status, _h, payload = _post_text(running, "/api/source", edited,
                                     {TOKEN_HEADER: running.studio.token, BASE_HEADER: "0" * 64})
    assert status == 409 and json.loads(payload)["digest"] == source["digest"]
    assert path.read_bytes() == before
    try:
        status, _h, payload = _post_text(running, "/api/source", edited,
                                         {TOKEN_HEADER: running.studio.token, BASE_HEADER: source["digest"]})
        assert status == 200, payload
        assert path.read_text(encoding="utf-8") == edited
        saved = json.loads(payload)
        assert saved["digest"] == hashlib.sha256(edited.encode()).hexdigest()
        assert saved["stale"] == ["standoff-05"]  # the one shot whose line changed, at once
        assert not list(path.parent.glob(".*lamp*"))  # no temporary file left beside it
    finally:
        path.write_bytes(before)
        running.studio.refresh()
    deadline = time.monotonic() + 10
    while running.studio.status().stale and time.monotonic() < deadline:
        time.sleep(0.05)


def test_the_check_route_needs_the_token_and_bounds_the_body(served):
    running, path = served
    text = path.read_text(encoding="utf-8")
    status, _h, _p = _post_text(running, "/api/check", text, {})
    assert status == 403
    status, _h, payload = _post_text(running, "/api/check", text.replace("  look:", "  lok:"),
                                     {TOKEN_HEADER: running.studio.token})
    assert status == 200 and b"unknown key 'lok'" in payload
    from studio.screenplay.safe_yaml import MAX_BYTES

    status, _h, payload = request(running.url, "/api/check", method="POST", body=b"#" * (MAX_BYTES + 10),
                                  headers={TOKEN_HEADER: running.studio.token, "Content-Type": "text/plain"})
    assert status == 413


def test_the_editor_page_loads_only_the_studios_own_assets(served):
    """Offline: every script, style and picture the page names is under /static (or a data:
    URI), and no asset it loads names another host."""
    running, _path = served
    status, _h, page = request(running.url, "/editor")
    assert status == 200
    html = page.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/vendor/codemirror/codemirror.min.js" in assets and "/static/editor.js" in assets
    loaded = [a for a in assets if not a.startswith(("/editor", "/player", "/graph", "/likeness", "/estimate"))
              and a != "/"]
    assert all(a.startswith("/static/") or a.startswith("data:") for a in loaded), loaded
    external = re.compile(rb"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[/:\"')]", re.I)
    for asset in loaded:
        if asset.startswith("data:"):
            continue
        status, _h, body = request(running.url, asset)
        assert status == 200, asset
        assert not external.findall(body), (asset, external.findall(body)[:3])
    assert not external.findall(page)


def test_the_scene_fragment_shows_that_scenes_cards(served):
    running, _path = served
    status, _h, body = request(running.url, "/fragment/scene/climb")
    assert status == 200
    shots = re.findall(rb'data-shot="([^"]+)" data-version', body)
    assert [s.decode() for s in shots] == [s.shot_id for s in running.studio.status().shots
                                           if s.plan.scene_id == "climb"]
    assert request(running.url, "/fragment/scene/nope")[0] == 404


def test_saving_a_linked_screenplay_writes_through_the_link_inside_the_folder(tmp_path):
    real = tmp_path / "drafts" / "lamp-v2.yaml"
    real.parent.mkdir()
    real.write_text("version: 1\n", encoding="utf-8")
    link = tmp_path / "lamp.yaml"
    os.symlink(os.path.relpath(real, tmp_path), link)
    new = save_text(link, "version: 1\n# edited\n", digest(b"version: 1\n"))
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "version: 1\n# edited\n"
    assert new == digest(real.read_bytes())


def test_saving_a_link_out_of_the_folder_is_refused_and_writes_nothing(tmp_path):
    folder, outside = tmp_path / "film", tmp_path / "elsewhere.yaml"
    folder.mkdir()
    outside.write_text("version: 1\n", encoding="utf-8")
    link = folder / "lamp.yaml"
    os.symlink(outside, link)
    with pytest.raises(WebError, match="outside the film's folder") as refused:
        save_text(link, "version: 1\n# edited\n", digest(b"version: 1\n"))
    assert refused.value.status == 409
    assert link.is_symlink() and outside.read_text(encoding="utf-8") == "version: 1\n"
    dangling = folder / "gone.yaml"
    os.symlink(folder / "nothing.yaml", dangling)
    with pytest.raises(WebError, match="not a plain file"):
        save_text(dangling, "version: 1\n", None)
    assert dangling.is_symlink() and not (folder / "nothing.yaml").exists()
