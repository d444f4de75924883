"""``render -j N`` makes the sound while the shots render (:mod:`studio.run.sound_ahead`):
from the plans' timing, to the sound ``-j 1`` makes after the shots; a changed timing
makes it again; its error is the error ``-j 1`` raises; it is made in a process of its own,
which a stop or a death ends cleanly."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace

import pytest

from studio.audio.film import make_film_sound
from studio.cache.store import ShotStore
from studio.run.local import prepare_film
from studio.run.sound_ahead import SoundAhead, can_go_ahead, sound_timing


@pytest.fixture()
def planned(lamp_render, tmp_path):
    """The example film prepared again on the session's cache (its lines already spoken)."""
    screenplay, _reference, root = lamp_render
    store = ShotStore(root / "cache")
    job = prepare_film(screenplay, tmp_path / "out", store=store, cache_dir=root / "cache", name="ahead")
    yield job
    store.manifest.close()


def test_the_sound_made_ahead_is_the_sound_made_after(planned, lamp_render):
    _screenplay, reference, _root = lamp_render
    job = planned
    assert can_go_ahead(job)
    ahead = SoundAhead.start(job)
    sound = ahead.join(job.plans, job.screenplay.film.fps)
    assert sound is not None and ahead.seconds > 0
    assert sound.mix.read_bytes() == open(reference.report["outputs"]["mix"], "rb").read()


def test_a_changed_timing_drops_the_sound_made_ahead(planned):
    job = planned
    ahead = SoundAhead.start(job)
    longer = [replace(job.plans[0], frames=job.plans[0].frames + 1), *job.plans[1:]]
    assert sound_timing(longer, job.screenplay.film.fps) != ahead.timing
    assert ahead.join(longer, job.screenplay.film.fps) is None  # the caller makes it again, as -j 1 does
    reseeded = [replace(p, seed=p.seed + 1) for p in job.plans]  # a re-take: another seed, the same clock
    assert ahead.join(reseeded, job.screenplay.film.fps) is not None


def test_an_error_in_the_sound_is_the_error_made_after(planned):
    job = planned
    job.lines = {}  # a line missing from the voiced lines: the mix cannot place it
    timing = sound_timing(job.plans, job.screenplay.film.fps)
    with pytest.raises(Exception) as after:
        make_film_sound(job.screenplay, scene_seconds=timing.scene_seconds, line_starts=timing.line_starts,
                        lines={}, film_seconds=timing.film_seconds, cache_dir=job.cache_dir,
                        out_dir=job.output_dir, name=job.name)
    ahead = SoundAhead.start(job)
    with pytest.raises(type(after.value)) as raised:
        ahead.join(job.plans, job.screenplay.film.fps)
    assert str(raised.value) == str(after.value)


def test_a_film_without_sound_has_its_silent_track_encoded_while_the_shots_render(tmp_path, monkeypatch):
    """The silent track is asked for first from the thread, before the last shot is stored, and
    the cut finds it in the cache: one encode, and the film is the same as without the thread."""
    import threading

    from studio.assemble import cut
    from studio.run import local
    from studio.screenplay import parse_screenplay
    from tests.conftest import MINIMAL, small

    calls: list[tuple[str, bool, int]] = []  # (thread, the track was already there, clips stored by then)
    real = cut.silent_track

    def watched(cache_root, seconds):
        there = (cache_root / "silence" / f"silence-{round(seconds * 1000)}ms.m4a").is_file()
        calls.append((threading.current_thread().name, there, len(list(cache_root.glob("clips/*/*.mp4")))))
        return real(cache_root, seconds)

    monkeypatch.setattr(cut, "silent_track", watched)
    screenplay = small(parse_screenplay(MINIMAL, str(tmp_path / "film.yaml"), base_dir=tmp_path))
    result = local.render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="film", audio=False)
    ahead = [c for c in calls if c[0] == "studio-silence-ahead"]
    assert len(ahead) == 1 and not ahead[0][1]  # encoded by the thread
    assert ahead[0][2] < result.report["shots_total"]  # while shots were still to be stored
    assert all(there for name, there, _ in calls if name != "studio-silence-ahead")  # the cut found it
    assert len(list((tmp_path / "cache" / "silence").glob("*.m4a"))) == 1

    monkeypatch.setattr(local, "silence_ahead", lambda job: None)  # the same film without the thread
    again = local.render_film(screenplay, tmp_path / "out2", cache_dir=tmp_path / "cache2", name="film", audio=False)
    assert again.film.read_bytes() == result.film.read_bytes()


def test_the_sound_is_made_in_a_process_that_gives_its_memory_back(planned, tmp_path):
    """Made in a child process (the studio process keeps none of its memory); its CPU
    comes back with it, for the report's cores."""
    job = planned
    job.cache_dir = tmp_path / "cache"  # nothing of the score or the mix made yet (the lines are where they are)
    ahead = SoundAhead.start(job)
    assert ahead._process.pid != os.getpid()
    sound = ahead.join(job.plans, job.screenplay.film.fps)
    assert sound is not None and sound.mixed and not ahead.running() and not ahead._process.is_alive()
    assert ahead.cpu is not None and ahead.cpu > 0 and ahead.seconds > 0


def test_a_stopped_sound_leaves_no_temporary_files(planned, tmp_path):
    job = planned
    job.cache_dir = tmp_path / "cache"
    ahead = SoundAhead.start(job)
    deadline = time.monotonic() + 60
    while not list(job.cache_dir.rglob("*.wav")) and ahead.running() and time.monotonic() < deadline:
        time.sleep(0.05)  # the score's first cue is being made
    was_running = ahead.running()
    ahead.stop()
    assert not ahead._process.is_alive() and not ahead.running()
    assert not [p for p in job.cache_dir.rglob("*") if ".part" in p.name]
    if was_running:  # stopped mid-way: no sound, no error (a render run again makes it)
        assert ahead.join(job.plans, job.screenplay.film.fps) is None and ahead.error is None


def test_a_sound_process_that_dies_has_the_sound_made_again(planned, tmp_path):
    job = planned
    job.cache_dir = tmp_path / "cache"
    ahead = SoundAhead.start(job)
    os.kill(ahead._process.pid, signal.SIGKILL)
    assert ahead.join(job.plans, job.screenplay.film.fps) is None  # the caller makes it, as -j 1 does
    assert ahead.error is None and not ahead.running()
