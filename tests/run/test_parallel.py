"""``render -j N``: shots in worker processes make the film ``-j 1`` makes, byte for
byte; a continuous shot never starts before the clip it continues is stored; a render
killed mid-way (SIGKILL of the studio process) resumes to the same film without
rendering a finished shot again."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from studio.cache.manifest import Manifest
from studio.run.parallel import render_film, usable_cores
from studio.run.voicing import pooled
from tests.run.test_resume import ARGS, outputs, project, studio

SIDE_OUTPUTS = ["srt", "vtt", "mix", "storyboard"]


@pytest.fixture(scope="module")
def lamp_in_two(lamp_render, tmp_path_factory):
    """The example film (small, with sound) rendered with -j 3 on a fresh cache: two shot
    workers side by side while the sound is made (it holds the third worker back)."""
    screenplay, _reference, _root = lamp_render
    root = tmp_path_factory.mktemp("lamp-j2")
    result = render_film(screenplay, root / "out", cache_dir=root / "cache", name="the-last-lamp", jobs=3)
    return result


@pytest.mark.slow
def test_two_workers_make_the_example_film_byte_for_byte(lamp_render, lamp_in_two):
    _screenplay, reference, _root = lamp_render
    result = lamp_in_two
    executor = result.report["executor"]
    assert executor["jobs"] == 3 and executor["worker_held_for_sound"]
    # the third worker starts once the sound is made, if shots are left for it
    assert executor["workers_started"] == 2 + ("held_worker_started" in executor)
    assert executor["shots_on_workers"] == len(result.plans) == result.report["shots_rendered"]
    assert len({e["worker"] for e in executor["shots"]}) >= 2  # the workers rendered shots side by side
    assert result.report["sound_overlapped"] and not reference.report["sound_overlapped"]
    assert result.report["stages"]["sound"]["actual"] > 0 and result.report["estimate"]["sound_overlapped"]
    assert result.film.read_bytes() == reference.film.read_bytes()
    assert [c.sha256 for c in result.clips] == [c.sha256 for c in reference.clips]
    for key in SIDE_OUTPUTS:
        mine, theirs = result.report["outputs"][key], reference.report["outputs"][key]
        if isinstance(mine, list):
            assert [Path(p).read_bytes() for p in mine] == [Path(p).read_bytes() for p in theirs]
        else:
            assert Path(mine).read_bytes() == Path(theirs).read_bytes(), key


@pytest.mark.slow
def test_two_workers_voice_the_lines_into_the_same_wavs(lamp_render, lamp_in_two):
    _screenplay, reference, root = lamp_render
    result = lamp_in_two
    # espeak-ng's and piper's lines on three one-core workers (piper's session runs on one thread)
    assert result.report["voice_workers"] == 3 and reference.report["voice_workers"] == 0
    assert result.report["lines_synthesized"] == reference.report["lines_synthesized"]  # all spoken anew
    mine = {p.name: p.read_bytes() for p in (Path(result.report["outputs"]["film"]).parents[1] / "cache" / "speech")
            .rglob("*.wav")}
    theirs = {p.name: p.read_bytes() for p in (root / "cache" / "speech").rglob("*.wav")}
    assert len(mine) == reference.report["lines_total"] > 1
    assert mine == theirs
    # each line's phoneme timing (the animatic's mouths) too: the same bytes from a worker
    mine = {p.name: p.read_bytes() for p in (Path(result.report["outputs"]["film"]).parents[1] / "cache" / "speech")
            .rglob("*.phonemes.json")}
    theirs = {p.name: p.read_bytes() for p in (root / "cache" / "speech").rglob("*.phonemes.json")}
    assert len(mine) == reference.report["lines_total"] and mine == theirs


def test_voice_workers_take_the_one_core_engines_lines_only():
    # piper's session runs on one thread: its lines are split over the workers as espeak-ng's;
    # transformers' models use every core already: one process speaks them
    assert pooled("espeak-ng") and pooled("piper") and not pooled("transformers")


@pytest.mark.slow
def test_a_continuous_shot_starts_only_once_the_clip_it_continues_is_stored(lamp_in_two):
    result = lamp_in_two
    events = {e["shot"]: e for e in result.report["executor"]["shots"]}
    continuous = [(before, after) for before, after in zip(result.plans, result.plans[1:])
                  if after.continuity == "continuous"]
    assert continuous, "the example film has continuous shots"
    for before, after in continuous:
        # the worker stores the clip (atomic rename, manifest row) before it reports the shot finished
        assert events[after.shot_id]["started"] >= events[before.shot_id]["finished"], (before.shot_id,
                                                                                        after.shot_id)
    # and the chains did overlap: some shot started before another had finished
    spans = sorted((e["started"], e["finished"]) for e in events.values())
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:]))


def _children(pid: int) -> set[int]:
    """The processes ``pid`` started (its shot workers), as /proc lists them."""
    found: set[int] = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.update(int(t) for t in (task / "children").read_text().split())
    except OSError:  # it ended meanwhile
        pass
    return found


def _stored(cache: Path) -> int:
    """How many shots the manifest records as stored (0 while it does not exist yet)."""
    try:
        with closing(sqlite3.connect(f"file:{cache / 'manifest.sqlite3'}?mode=ro", uri=True, timeout=1)) as db:
            return int(db.execute("SELECT COUNT(*) FROM renders").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads worker processes from /proc")
def test_sigkill_during_two_workers_then_resume_is_the_same_film(tmp_path):
    reference = project(tmp_path, "reference")
    done = studio("render", "film.yaml", "-o", "out", "--cache", "cache", "-j", "1", *ARGS, cwd=reference)
    assert done.wait(timeout=300) == 0, done.stderr.read()

    crashed = project(tmp_path, "crashed")
    proc = studio("render", "film.yaml", "-o", "out", "--cache", "cache", "-j", "2", *ARGS, cwd=crashed)
    deadline = time.monotonic() + 240
    workers: set[int] = set()
    while proc.poll() is None and time.monotonic() < deadline:  # kill once a shot is stored, others under way
        workers |= _children(proc.pid)
        if _stored(crashed / "cache") >= 1:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the render ended before it could be killed"
    workers |= _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    manifest = Manifest(crashed / "cache")
    finished = {r.key for r in manifest.all_renders()}
    manifest.close()
    assert finished, "no shot was finished before the kill"
    deadline = time.monotonic() + 20  # the workers die with the studio process
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.05)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()
             and "zombie" not in Path(f"/proc/{pid}/status").read_text()]
    assert not alive

    # resumed without -j: every usable core
    final = studio("render", "film.yaml", "-o", "out", "--cache", "cache", *ARGS, cwd=crashed)
    assert final.wait(timeout=300) == 0, final.stderr.read()
    report = json.loads((crashed / "out" / "render-report.json").read_text())
    assert report["executor"]["jobs"] == usable_cores()
    assert report["shots_rendered"] == report["shots_total"] - len(finished)
    assert outputs(crashed) == outputs(reference)
    manifest = Manifest(crashed / "cache")
    counts = manifest.render_counts()
    manifest.close()
    assert counts and set(counts.values()) == {1}, counts  # no finished shot was rendered twice
