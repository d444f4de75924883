"""Shared fixtures: the example film, small screenplays, and a runner for the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "screenplays" / "the-last-lamp.yaml"

# one torch thread: deterministic tensors, and no oversubscription on 2 cores
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MINIMAL = """\
version: 1
film:
  title: Two Rooms
characters:
  - {id: ana, name: Ana, description: a woman in a green coat}
  - {id: ben, name: Ben, description: a man in a brown cardigan}
locations:
  - {id: kitchen, name: Kitchen, description: a small kitchen, interior: true}
scenes:
  - id: s1
    location: kitchen
    characters: [ana, ben]
    beats:
      - action: Ana waits at the table.
      - speaker: ben
        line: You waited up.
      - speaker: ana
        line: Somebody had to.
"""


@pytest.fixture
def example_path() -> Path:
    return EXAMPLE


@pytest.fixture
def write(tmp_path: Path):
    """Write a screenplay text (dedented) into a fresh folder and return its path."""

    def _write(text: str, name: str = "film.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


def run_studio(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real `studio` command in a child process (what a user runs)."""
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


SMALL = {"resolution": "160x96", "fps": 12}


def small(screenplay):
    """The same screenplay at a tiny size and frame rate: fast renders for tests."""
    return screenplay.model_copy(update={"film": screenplay.film.model_copy(update=SMALL)})


@pytest.fixture(scope="session")
def lamp_render(tmp_path_factory):
    """The example film rendered once for the whole session (small), with sound:
    (screenplay, RenderResult, folder holding out/ and cache/)."""
    from studio.run.local import render_film
    from studio.screenplay import load_screenplay

    root = tmp_path_factory.mktemp("lamp")
    screenplay = small(load_screenplay(EXAMPLE))
    result = render_film(screenplay, root / "out", cache_dir=root / "cache", name="the-last-lamp")
    return screenplay, result, root
