"""Fixtures for the web studio: the example film rendered small into a folder of its
own, and the studio serving it from a background thread on a free loopback port."""

from __future__ import annotations

import http.client
import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import EXAMPLE, small


def make_film(root: Path, text: str | None = None, name: str = "lamp") -> Path:
    """The example screenplay (or ``text``) copied into ``root``, rendered small and
    silent, with its lockfile beside it. Returns the screenplay's path."""
    from studio.cache.lockfile import Lockfile
    from studio.run.local import render_film
    from studio.screenplay import load_screenplay

    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.yaml"
    if text is None:
        shutil.copy(EXAMPLE, path)
    else:
        path.write_text(text, encoding="utf-8")
    render_film(small(load_screenplay(path)), root / "out", cache_dir=root / "cache", name=name, audio=False,
                lockfile=Lockfile.beside(path))
    return path


def studio_for(path: Path):
    """A Studio serving ``path`` as `studio serve --resolution 160x96 --fps 12 --silent` would."""
    from studio.screenplay import load_screenplay
    from studio.web.session import FilmConfig, Studio

    root = path.parent
    return Studio(FilmConfig(file=path, load=lambda: small(load_screenplay(path)), output_dir=root / "out",
                             cache_dir=root / "cache", name=path.stem, audio=False))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(Running, screenplay path): the example film, rendered, served on loopback."""
    from studio.web.server import start_background

    path = make_film(tmp_path_factory.mktemp("web"))
    running = start_background(studio_for(path))
    yield running, path
    running.stop()


@pytest.fixture(scope="module")
def served_keyframes(tmp_path_factory):
    """(Running, screenplay path): a film of its own for the keyframe-first tests
    (drawing keyframes puts them in every shot's key: the shots go stale)."""
    from studio.web.server import start_background

    path = make_film(tmp_path_factory.mktemp("web-keyframes"))
    running = start_background(studio_for(path))
    yield running, path
    running.stop()


def request(url: str, path: str, *, method: str = "GET", body: object = None, headers: dict | None = None,
            raw_path: bool = True) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with the path sent exactly as given (no client-side
    normalisation of ``..``): (status, headers, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    all_headers = {"Content-Type": "application/json"} if data is not None else {}
    all_headers.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()
