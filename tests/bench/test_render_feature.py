"""bench/render_feature.py --jobs: what its targets hold the ceiling against and what its
table says, from a run's numbers (here made up: rendering a feature is the bench's job)."""

from __future__ import annotations

import sys
from typing import Any

from tests.bench.scripts import load_bench

bench = load_bench("render_feature")


def _row(jobs: int, *, wall: float, shots_fps: float, audio: bool = True, sha: str = "ab" * 32) -> dict[str, Any]:
    return {"jobs": jobs, "audio": audio, "resolution": "854x480", "film_minutes": 76.0, "shots": 958,
            "frames": 109_000, "lines": 597 if audio else 0, "wall_seconds": wall, "rtf": wall / 4560,
            "fps": 109_000 / wall, "shots_seconds": 109_000 / shots_fps, "shots_fps": shots_fps,
            "stages": {"voices": 140.0 if audio else 0.0}, "estimate_seconds": wall * 0.9,
            "voice_workers": 2 if jobs > 1 and audio else 0, "workers_started": jobs if jobs > 1 else 0,
            "sound_seconds": 440.0 if audio else 0.0, "sound_overlapped": audio and jobs > 1,
            "tree_peak_mb": 800.0, "tree_processes": 8, "tree_pss_peak_mb": 650.0, "film_sha256": sha,
            "own_cores": 1.9, "other_cores": 0.02}


def _results(with_pictures: bool, bracketed: bool = False) -> dict[str, Any]:
    ceiling = {"per_shot_fps": 200.0, "other_cores": 0.01}
    entry: dict[str, Any] = {"resolution": "854x480", "ceiling_1": {"per_shot_fps": 110.0, "other_cores": 0.01},
                             "ceiling_2": ceiling, "j1": _row(1, wall=1700.0, shots_fps=110.0),
                             "j2": _row(2, wall=1050.0, shots_fps=140.0)}
    if with_pictures:
        entry["j2_pictures"] = _row(2, wall=600.0, shots_fps=190.0, audio=False, sha="cd" * 32)
    if bracketed:  # the host slowed down during the run: the second -j 2 render and ceiling are slower
        entry["ceiling_2_after"] = {"per_shot_fps": 180.0, "other_cores": 0.02}
        entry["j2_again"] = {**_row(2, wall=1190.0, shots_fps=125.0), "probe": [0.33, 0.36]}
        entry["j1"]["probe"] = [0.30, 0.33]
    results = {"date": "2026-12-03 08:46 UTC", "command": "python bench/render_feature.py --jobs",
               "machine": {"cores": 2, "usable_cores": 2, "cpu": "a CPU", "ram_gib": 23.5},
               "versions": {"studio": "0.1.0", "commit": "abc1234", "ffmpeg": "5.1"}, "minutes": 90,
               "resolutions": [entry], "bench_seconds": 4800.0, "other_cores": 0.03,
               "loadavg_start": [1.0, 1.0, 1.0], "loadavg_end": [1.0, 1.0, 1.0]}
    results["targets"] = bench.jobs_targets(results)
    return results


def _target(results: dict[str, Any], start: str) -> dict[str, Any]:
    return next(t for t in results["targets"] if t["target"].startswith(start))


def test_the_ceiling_is_held_against_the_pictures_only_render() -> None:
    results = _results(with_pictures=True)
    ceiling = _target(results, "-j 2 shots within")
    assert ceiling["measured"].startswith("200 / 190 = 1.05")  # the pictures-only render's shots
    assert "1.43" in ceiling["measured"]  # the render with sound, beside it (200 / 140)
    assert ceiling["met"] is True
    # the ratio and the films' bytes come from the renders with sound, never the pictures-only one
    assert _target(results, "-j 2 vs -j 1")["measured"].startswith("1050.0 / 1700.0 s = 0.62x")
    assert _target(results, "films byte-identical")["met"] is True


def test_without_a_pictures_only_render_the_one_with_sound_counts() -> None:
    ceiling = _target(_results(with_pictures=False), "-j 2 shots within")
    assert ceiling["measured"].startswith("200 / 140 = 1.43")
    assert ceiling["met"] is False


def test_the_table_shows_each_render() -> None:
    text = bench.jobs_markdown(_results(with_pictures=True))
    rows = [line for line in text.splitlines() if line.startswith("| 854x480 |")]
    assert [r.split(" | ")[1] for r in rows[:3]] == ["1", "2", "2, pictures only"]
    ceiling_row = rows[3].split(" | ")
    assert ceiling_row[3:7] == ["190.0", "1.05", "140.0", "1.43"]
    assert text.startswith(f"<!-- {bench.JOBS_MARK} -->") and text.endswith(f"<!-- /{bench.JOBS_MARK} -->")


def test_a_run_at_1280x720_only_writes_a_section_of_its_own() -> None:
    results = _results(with_pictures=True)
    assert bench.jobs_mark(results) == bench.JOBS_MARK
    results["resolutions"][0]["resolution"] = bench.HD
    assert bench.jobs_mark(results) == f"{bench.JOBS_MARK}_720"
    text = bench.jobs_markdown(results)
    assert text.startswith(f"<!-- {bench.JOBS_MARK}_720 -->") and text.endswith(f"<!-- /{bench.JOBS_MARK}_720 -->")


def test_the_memory_sampler_counts_a_child_once_it_runs_its_own_program(tmp_path):
    """A child between fork and exec shares its parent's pages (/proc shows the parent's
    size for it): the tree's peak leaves it out; a child running its own program counts."""
    import subprocess
    import time

    script = (
        "import os, subprocess, sys, time\n"
        "ballast = bytearray(os.urandom(64 << 20))\n"  # 64 MiB resident in the parent, so in its fork
        "if os.fork() == 0:\n"
        "    time.sleep(3); os._exit(0)\n"  # a fork that never execs
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3)'])\n"
        "open(sys.argv[1], 'w').close(); time.sleep(3)\n"
    )
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", script, str(ready)])
    sampler = bench.MemorySampler(proc.pid)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(10):
            sampler.sample()
            time.sleep(0.05)
    finally:
        proc.wait(timeout=30)
    names = [name for name, _kb in sampler.tree_peak_parts]
    assert sampler.tree_processes == 3  # the parent, its fork and the child it started
    assert names.count("python") + names.count("python3") == 2, names  # the parent and the exec'd child
    biggest = sampler.tree_peak_parts[0][1] / 1024
    assert 64 <= biggest and sampler.tree_peak / 1024 < biggest + 40  # the fork's 64+ MiB left out
    assert "at " in sampler.peak_where() and "python" in sampler.peak_where()


def test_a_bracketed_run_takes_the_means_of_what_brackets_the_drift() -> None:
    results = _results(with_pictures=True, bracketed=True)
    wall = _target(results, "-j 2 vs -j 1")
    # (1050 + 1190) / 2 = 1120 against 1700: 0.66, though the first -j 2 render alone gives 0.62
    assert wall["measured"].startswith("1120.0 / 1700.0 s = 0.66x")
    assert "before the -j 1 one 1050.0 s = 0.62x, after it 1190.0 s = 0.70x" in wall["measured"]
    assert wall["met"] is False
    ceiling = _target(results, "-j 2 shots within")
    assert ceiling["measured"].startswith("190 / 190 = 1.00")  # (200 + 180) / 2 against the pictures-only render
    assert "the mean of 200 before and 180 after" in ceiling["measured"]
    # every -j 2 render counts for the bytes, the memory and the real-time factor
    assert [t["target"] for t in results["targets"] if t["target"].startswith("peak memory")] == [
        "peak memory, -j 1 at 854x480 (the whole process tree)",
        "peak memory, -j 2 at 854x480 (the whole process tree)",
        "peak memory, -j 2, again at 854x480 (the whole process tree)"]
    results["resolutions"][0]["j2_again"]["film_sha256"] = "ef" * 32
    assert _target({**results, "targets": bench.jobs_targets(results)}, "films byte-identical")["met"] is False


def test_a_bracketed_table_lists_the_renders_in_the_order_they_ran() -> None:
    text = bench.jobs_markdown(_results(with_pictures=True, bracketed=True))
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| 854x480 |")]
    assert [r[1] for r in rows[:4]] == ["2, pictures only", "2", "1", "2, again"]
    assert rows[2][-1] == "0.300 / 0.330 |" and rows[3][-1] == "0.330 / 0.360 |"  # the speed probes
    assert rows[4][2] == "200.0 / 180.0: 190.0" and rows[4][3:5] == ["190.0", "1.00"]  # the ceilings around it


def test_the_ceiling_replays_the_films_own_frames_as_the_render_writes_them(write, tmp_path) -> None:
    """The ceiling's frames are the film's own: replayed, each shot is what the backend draws, and a
    held picture comes back as the very same read-only array, as ClipWriter sees it in a render."""
    import numpy as np

    from studio.consistency.cast import build_identities
    from studio.graph.scene_graph import SceneGraph
    from studio.render.backend import Conditioning, load_backend
    from studio.render.plan import plan_film
    from studio.run.local import _identities_for
    from tests.conftest import MINIMAL

    sp = bench.load_at(write(MINIMAL), "160x96")
    plans = plan_film(SceneGraph.from_screenplay(sp))[:2]
    shots, frames = bench.record_film_frames(sp, "animatic", plans, tmp_path / "frames.npy")
    assert [len(s) for s in shots] == [p.frames for p in plans]
    assert len(frames) < sum(p.frames for p in plans)  # held pictures are recorded once
    assert not frames.flags.writeable
    source = bench.recorded_source(shots, frames)
    backend = load_backend("animatic", dict(sp.film.render.options))
    identities = build_identities(sp)
    written_again = 0
    for n, plan in enumerate(plans):
        replayed = list(source(n))
        cond = Conditioning(identities=_identities_for(plan, identities))
        drawn = [np.array(f) for f in backend.render(plan, cond)]
        assert len(replayed) == len(drawn)
        assert all(np.array_equal(a, b) for a, b in zip(replayed, drawn))
        first: dict[int, np.ndarray] = {}
        for index, frame in zip(shots[n], replayed):
            assert first.setdefault(index, frame) is frame  # the same index: the same array object
        written_again += len(replayed) - len(first)
    assert written_again > 0
    from studio.assemble.encode import VideoSettings

    result = bench.encode_streams(source, [p.frames for p in plans], VideoSettings(160, 96, sp.film.fps),
                                  tmp_path / "work", 2)
    assert result["frames"] == sum(p.frames for p in plans) and result["per_shot_fps"] > 0
