"""Takes, the lockfile, and garbage collection, through the real command."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from studio.cache.gc import gc, stats
from studio.cache.lockfile import Lockfile
from studio.cache.manifest import Manifest
from tests.conftest import run_studio
from tests.run.test_invalidation import FILM

ARGS = ["--resolution", "160x96", "--fps", "12", "--quiet"]


def project(tmp_path: Path) -> Path:
    (tmp_path / "film.yaml").write_text(FILM)
    return tmp_path


def studio(folder: Path, *args: str):
    result = run_studio(*args, cwd=folder)
    assert result.returncode == 0, result.stderr
    return result


def test_new_takes_selection_and_the_lockfile(tmp_path):
    folder = project(tmp_path)
    studio(folder, "render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS)
    lock = Lockfile.load(folder / "film.lock")
    assert set(lock.shots) == {"a1", "a2", "a3", "a4", "s2-01", "s2-02"}
    assert all(s.take == 1 and s.key and s.sha256 for s in lock.shots.values())
    assert lock.backend["name"] == "animatic" and lock.versions["studio"]
    first = (folder / "out" / "film.mp4").read_bytes()

    again = studio(folder, "render", "film.yaml", "-o", "out", "--cache", "cache", "--shot", "a2", *ARGS)
    assert "rendered shots: a2, a3" in again.stdout  # a3 continues a2
    lock = Lockfile.load(folder / "film.lock")
    assert lock.shots["a2"].take == 2 and lock.shots["a2"].seed != lock.shots["a1"].seed
    assert (folder / "out" / "film.mp4").read_bytes() != first

    listing = studio(folder, "takes", "film.yaml", "a2", "--cache", "cache").stdout
    assert "│ a2   │ 1    │" in listing and "│ a2   │ 2    │" in listing

    back = studio(folder, "take", "film.yaml", "a2", "1", "-o", "out", "--cache", "cache", *ARGS[:-1])
    assert "0 shots rendered" in back.stdout  # both takes are in the cache: only the cut is rebuilt
    assert (folder / "out" / "film.mp4").read_bytes() == first
    assert Lockfile.load(folder / "film.lock").shots["a2"].take == 1

    chosen = studio(folder, "render", "film.yaml", "-o", "out", "--cache", "cache", "--shot", "a4", "--seed", "99",
                    *ARGS)
    assert "rendered shots: a4" in chosen.stdout
    assert Lockfile.load(folder / "film.lock").shots["a4"].seed == 99


def test_take_errors(tmp_path):
    folder = project(tmp_path)
    studio(folder, "render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS)
    missing = run_studio("take", "film.yaml", "a2", "7", "--cache", "cache", cwd=folder)
    assert missing.returncode == 1 and "has no take 7" in missing.stderr
    unknown = run_studio("render", "film.yaml", "--cache", "cache", "--shot", "a9", *ARGS, cwd=folder)
    assert unknown.returncode == 1 and "no shot 'a9'" in unknown.stderr and "Traceback" not in unknown.stderr
    seed_alone = run_studio("render", "film.yaml", "--seed", "3", cwd=folder)
    assert seed_alone.returncode == 2


def test_gc_keeps_what_the_lockfile_references(tmp_path):
    folder = project(tmp_path)
    studio(folder, "render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS)
    # an edit leaves the old line, shot, cue and mix unreferenced
    (folder / "film.yaml").write_text(FILM.replace("You waited up.", "You stayed up."))
    studio(folder, "render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS)
    before = stats(folder / "cache")
    lock = Lockfile.load(folder / "film.lock")
    dry = gc(folder / "cache", dry_run=True)
    assert dry.removed >= 4 and stats(folder / "cache").total_bytes == before.total_bytes
    result = studio(folder, "cache", "gc", "--cache", "cache").stdout
    assert "removed" in result
    after = stats(folder / "cache")
    assert after.total_bytes < before.total_bytes
    assert after.kinds["clips"].entries == len(lock.shots)
    # what the lockfile uses is all still there: an unchanged render renders nothing
    rerun = studio(folder, "render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS).stdout
    assert "0 shots rendered" in rerun
    assert set(Manifest(folder / "cache").render_counts().values()) == {1}


def test_gc_removes_stale_temporaries_and_stats_counts_them(tmp_path):
    folder = project(tmp_path)
    studio(folder, "render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS)
    stale = folder / "cache" / "clips" / "ab" / ".abc.123.part.mp4"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half a clip")
    old = stale.stat().st_mtime - 3600
    os.utime(stale, (old, old))
    fresh = stale.with_name(".def.456.part.mp4")
    fresh.write_bytes(b"a clip being written right now")
    assert stats(folder / "cache").temp_files == 2
    gc(folder / "cache")
    assert not stale.exists() and fresh.exists()


def test_stats_command(tmp_path):
    folder = project(tmp_path)
    studio(folder, "render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS)
    out = studio(folder, "cache", "stats", "--cache", "cache").stdout
    assert "clips" in out and "speech" in out and "1 films with lockfiles" in out
    assert yaml.safe_load((folder / "film.lock").read_text())["version"] == 1
