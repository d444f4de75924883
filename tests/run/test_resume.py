"""Crashes cost nothing: a render killed at any moment continues where it stopped and
ends byte-identical to an uninterrupted one; Ctrl-C stops cleanly; a full disk is a
clear error that leaves nothing corrupt behind."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.cache.manifest import Manifest
from studio.cache.store import ShotStore
from studio.errors import RenderError
from studio.run.local import render_film
from studio.screenplay import parse_screenplay
from tests.conftest import ROOT, small
from tests.run.test_invalidation import FILM

ARGS = ["--resolution", "640x360", "--fps", "24", "--quiet"]
COMPARED = ["film.mp4", "film.srt", "film.vtt", "film.mix.flac", "film.dialogue.flac", "film.music.flac",
            "film.ambience.flac", "storyboard.png", "film.lock"]


def _default_sigint() -> None:
    # a background job (CI's runner, `cmd &`) starts with SIGINT ignored, and Python
    # keeps an inherited SIG_IGN; a user pressing Ctrl-C has the default disposition
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def studio(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "studio", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            preexec_fn=_default_sigint)


def project(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "film.yaml").write_text(FILM)
    return folder


def outputs(folder: Path) -> dict[str, bytes]:
    found = {}
    for name in COMPARED:
        path = folder / "out" / name if name != "film.lock" else folder / name
        found[name] = path.read_bytes()
    return found


@pytest.mark.slow
def test_sigkill_at_many_moments_then_resume_is_byte_identical(tmp_path):
    reference = project(tmp_path, "reference")
    began = time.perf_counter()
    done = studio("render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS, cwd=reference)
    assert done.wait(timeout=300) == 0, done.stderr.read()
    whole = time.perf_counter() - began

    crashed = project(tmp_path, "crashed")
    kills = 0
    # kills land in every phase (start-up, voices, shots, mix, the cut), spread over
    # the time a whole render takes on this machine; each resumed run gets a little
    # further before the next kill. Small steps: a resumed run has less left to do, so
    # large ones let the later runs finish before their kill
    for fraction in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9):
        delay = fraction * whole
        proc = studio("render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS, cwd=crashed)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    final = studio("render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS, cwd=crashed)
    assert final.wait(timeout=300) == 0, final.stderr.read()
    assert kills >= 5

    assert outputs(crashed) == outputs(reference)
    manifest = Manifest(crashed / "cache")
    counts = manifest.render_counts()
    assert counts and set(counts.values()) == {1}, counts  # no finished shot was rendered twice
    store = ShotStore(crashed / "cache", manifest)
    assert all(store.get(r.key, verify=True) for r in manifest.all_renders())


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_says_how_to_continue(tmp_path):
    folder = project(tmp_path, "film")
    proc = studio("render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS, cwd=folder)
    clips = folder / "cache" / "clips"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:  # interrupt once shots are being made
        if clips.is_dir() and any(clips.rglob("*.mp4")):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the render ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "run the same command again to continue" in stderr
    resumed = studio("render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS, cwd=folder)
    assert resumed.wait(timeout=300) == 0
    assert not list((folder / "cache").rglob("*.part*"))  # the interrupted clip's temporary was removed


def _nothing_corrupt(cache: Path, out: Path) -> None:
    manifest = Manifest(cache)
    try:
        store = ShotStore(cache, manifest)
        for record in manifest.all_renders():
            assert store.get(record.key, verify=True) is not None, record.shot_id
    finally:
        manifest.close()
    assert not (out / "film.mp4").exists() or (out / "render-report.json").exists()


def test_a_full_disk_is_a_clear_error_and_leaves_nothing_corrupt(tmp_path, monkeypatch):
    import studio.atomic as atomic

    screenplay = small(parse_screenplay(FILM, str(tmp_path / "film.yaml"), base_dir=tmp_path))
    real = atomic.publish
    calls = {"n": 0}

    def publish(tmp, path):
        calls["n"] += 1
        if calls["n"] == 12:  # somewhere in the middle of the render
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(tmp, path)

    monkeypatch.setattr(atomic, "publish", publish)
    with pytest.raises(RenderError, match="disk is full") as info:
        render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="film")
    assert "studio cache gc" in str(info.value)
    _nothing_corrupt(tmp_path / "cache", tmp_path / "out")
    monkeypatch.setattr(atomic, "publish", real)
    result = render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="film")
    assert result.film.is_file()


def test_a_really_full_disk(tmp_path):
    """A small tmpfs as the cache: ffmpeg itself runs out of space."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        screenplay = small(parse_screenplay(FILM, str(tmp_path / "film.yaml"), base_dir=tmp_path))
        with pytest.raises(RenderError, match="disk is full"):
            render_film(screenplay, tmp_path / "out", cache_dir=mount / "cache", name="film")
        _nothing_corrupt(mount / "cache", tmp_path / "out")
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)
