"""The web studio's guards: the session token on every mutating request, files only
from the film's output and cache folders, loopback only unless asked, user text
escaped in every page."""

from __future__ import annotations

import os
import time

import pytest

from studio.web.safety import TOKEN_HEADER, WebError, cache_file, check_bind, is_loopback, safe_path, token_ok
from tests.conftest import run_studio
from tests.web.conftest import request


def _wait_jobs_idle(studio, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while any(j.state in ("queued", "running") for j in studio.jobs):
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.05)


# -- the token ----------------------------------------------------------------------------


def test_token_comparison():
    assert token_ok("abc", "abc")
    assert not token_ok("abc", "abd")
    assert not token_ok("abc", "")
    assert not token_ok("abc", None)


@pytest.mark.parametrize("endpoint, body", [
    ("/api/render", {"shots": []}),
    ("/api/take", {"shot": "storm-01", "take": 1}),
    ("/api/cast", {"character": "mara", "likeness": None}),
    ("/api/likeness/remove", {"name": "someone"}),
])
def test_a_mutating_request_without_the_token_is_refused(served, endpoint, body):
    running, _path = served
    jobs_before = len(running.studio.jobs)
    for headers in ({}, {TOKEN_HEADER: "not-the-token"}, {TOKEN_HEADER: running.studio.token[:-1]}):
        status, _headers, payload = request(running.url, endpoint, method="POST", body=body, headers=headers)
        assert status == 403, (endpoint, headers, payload)
        assert b"token" in payload
    assert len(running.studio.jobs) == jobs_before  # nothing was queued


def test_the_page_carries_the_token_and_a_request_with_it_is_accepted(served):
    running, _path = served
    status, headers, page = request(running.url, "/")
    assert status == 200
    assert f'<meta name="studio-token" content="{running.studio.token}">'.encode() in page
    assert "script-src 'self'" in headers["content-security-policy"]  # no inline script can run
    status, _h, payload = request(running.url, "/api/render", method="POST", body={"shots": []},
                                  headers={TOKEN_HEADER: running.studio.token})
    assert status == 202, payload
    _wait_jobs_idle(running.studio)


def test_bad_requests_are_clear_errors(served):
    running, _path = served
    token = {TOKEN_HEADER: running.studio.token}
    status, _h, payload = request(running.url, "/api/render", method="POST", body={"shots": ["nope-1"]}, headers=token)
    assert status == 400 and b"no shot 'nope-1'" in payload
    status, _h, payload = request(running.url, "/api/render", method="POST", body=b"{not json", headers=token)
    assert status == 400 and b"not JSON" in payload
    status, _h, payload = request(running.url, "/api/take", method="POST", body={"shot": "storm-01", "take": 99},
                                  headers=token)
    assert status == 400 and b"no take 99" in payload
    status, _h, _p = request(running.url, "/api/render")  # GET cannot start a render
    assert status == 405


# -- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/out/../../../../etc/passwd",
    "/out/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/out/..%2f..%2f..%2fetc%2fpasswd",
    "/out//etc/passwd",
    "/out/../cache/manifest.sqlite3",
    "/out/.lamp.mp4.part",
    "/static/../../cli.py",
    "/clip/../../../etc/passwd.mp4",
    "/thumb/%2e%2e%2f%2e%2e%2fmanifest.jpg",
])
def test_paths_leaving_the_film_folders_are_refused(served, path):
    running, _path = served
    status, _headers, body = request(running.url, path)
    assert status in (403, 404), (path, status)
    assert b"root:" not in body and b"SQLite" not in body and b"import" not in body


def test_a_symlink_out_of_the_output_folder_is_refused(served, tmp_path):
    running, path = served
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    link = path.parent / "out" / "leak.txt"
    os.symlink(secret, link)
    try:
        status, _h, body = request(running.url, "/out/leak.txt")
        assert status == 403 and b"top secret" not in body
    finally:
        link.unlink()


def test_the_film_outputs_and_clips_are_served(served):
    running, _path = served
    status, headers, body = request(running.url, "/out/lamp.mp4")
    assert status == 200 and headers["content-type"] == "video/mp4" and body[4:8] == b"ftyp"
    shot = running.studio.status().shots[0]
    status, headers, body = request(running.url, f"/clip/{shot.key}.mp4", headers={"Range": "bytes=0-99"})
    assert status == 206 and len(body) == 100  # seeking in a <video> needs ranges
    status, headers, body = request(running.url, f"/thumb/{shot.key}.jpg")
    assert status == 200 and body[:2] == b"\xff\xd8"
    status, _h, _b = request(running.url, "/clip/" + "0" * 64 + ".mp4")
    assert status == 404


def test_safe_path(tmp_path):
    root = tmp_path / "out"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "film.mp4").write_bytes(b"x")
    (tmp_path / "outside.txt").write_text("no")
    assert safe_path(root, "sub/film.mp4") == (root / "sub" / "film.mp4").resolve()
    for bad in ("../outside.txt", "sub/../../outside.txt", "/etc/passwd", str(tmp_path / "outside.txt"),
                "sub/.hidden", ".."):
        with pytest.raises(WebError) as caught:
            safe_path(root, bad)
        assert caught.value.status in (403, 404)
    with pytest.raises(WebError):
        safe_path(root, "sub/missing.mp4")
    with pytest.raises(WebError):
        cache_file(tmp_path, "../" + "a" * 61, ".mp4")


# -- where the server listens --------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "example.invalid.", ""])
def test_a_non_loopback_address_is_refused_without_allow_remote(host):
    with pytest.raises(WebError) as caught:
        check_bind(host, allow_remote=False)
    assert "--allow-remote" in (caught.value.hint or "") or "host" in str(caught.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_addresses_are_served(host):
    assert is_loopback(host)
    check_bind(host, allow_remote=False)


def test_allow_remote_lets_any_address_bind():
    check_bind("0.0.0.0", allow_remote=True)


def test_studio_serve_refuses_a_public_address(example_path):
    result = run_studio("serve", str(example_path), "--host", "0.0.0.0", "--port", "0", timeout=60)
    assert result.returncode == 1
    assert "refusing to serve on 0.0.0.0" in result.stderr and "--allow-remote" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_foreign_host_header_is_refused(served):
    """A DNS name rebound to 127.0.0.1 must not read the pages (and their token)."""
    running, _path = served
    status, _h, body = request(running.url, "/", headers={"Host": "attacker.example"})
    assert status == 400 and b"studio-token" not in body


# -- user text in pages --------------------------------------------------------------------------

EVIL = """\
version: 1
film: {title: "<script>alert('title')</script>"}
characters:
  - {id: ana, name: "<img src=x onerror=alert(1)>", description: a woman in a green coat}
locations:
  - {id: kitchen, name: "Kitchen</svg><script>alert(2)</script>", description: a small kitchen, interior: true}
scenes:
  - id: s1
    location: kitchen
    characters: [ana]
    beats:
      - action: "<b>bold</b> & <script>alert(3)</script>"
      - speaker: ana
        line: "\\"><script>alert(4)</script>"
"""


def test_user_text_is_escaped_in_every_page(tmp_path):
    from studio.web.server import start_background
    from tests.web.conftest import studio_for

    path = tmp_path / "evil.yaml"
    path.write_text(EVIL, encoding="utf-8")
    running = start_background(studio_for(path), watch=False)
    try:
        for page in ("/", "/player", "/graph", "/likeness", "/estimate", "/fragment/board"):
            status, _h, body = request(running.url, page)
            assert status == 200, page
            text = body.decode()
            assert "<script>alert" not in text and "<img src=x" not in text, page
            assert "onerror=alert" not in text or "&lt;img src=x onerror=alert(1)&gt;" in text, page
        _s, _h, body = request(running.url, "/")
        assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in body.decode()
    finally:
        running.stop()


# -- bounded bodies, Origin -----------------------------------------------------------------------


def test_a_deeply_nested_body_is_a_400_not_a_recursion_error(served):
    running, _path = served
    token = {TOKEN_HEADER: running.studio.token}
    jobs_before = len(running.studio.jobs)
    for deep in (b"[" * 30_000 + b"]" * 30_000, b'{"shots":' + b"[" * 30_000 + b"]" * 30_000 + b"}",
                 b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
        status, _h, payload = request(running.url, "/api/render", method="POST", body=deep, headers=token)
        assert status == 400, payload
        assert b"deeper than" in payload
    # brackets inside strings are text, not depth
    status, _h, payload = request(running.url, "/api/render", method="POST",
                                  body=b'{"shots": ["' + b"[" * 100 + b'"]}', headers=token)
    assert status == 400 and b"no shot" in payload
    assert len(running.studio.jobs) == jobs_before


def test_json_depth_is_counted_outside_strings():
    from studio.web.safety import json_too_deep

    assert not json_too_deep(b'{"a": [[1]]}', limit=3)
    assert json_too_deep(b'{"a": [[[1]]]}', limit=3)
    assert not json_too_deep(b'{"a": "[[[[\\"[[[["}', limit=1)


def test_a_request_from_another_origin_is_refused_even_with_the_token(served):
    running, _path = served
    token = running.studio.token
    host = running.url.split("//")[1].rstrip("/")
    jobs_before = len(running.studio.jobs)
    for origin in ("http://attacker.example", "null", f"https://{host}", "http://127.0.0.1:1"):
        status, _h, payload = request(running.url, "/api/render", method="POST", body={"shots": ["storm-01"]},
                                      headers={TOKEN_HEADER: token, "Origin": origin})
        assert status == 403 and b"Origin" in payload, origin
    assert len(running.studio.jobs) == jobs_before
    status, _h, payload = request(running.url, "/api/render", method="POST", body={"shots": []},
                                  headers={TOKEN_HEADER: token, "Origin": f"http://{host}"})
    assert status == 202, payload
    _wait_jobs_idle(running.studio)
