"""A backend that makes sound with its pictures: the executor stores each shot's sound
beside its clip, the film's effects stem carries it, and an unchanged film reuses both."""

from __future__ import annotations

import logging
import subprocess
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from studio.assemble.ffmpeg import ffmpeg_exe
from studio.audio.mix import measure_ebur128
from studio.audio.wav import SAMPLE_RATE, wav_info
from studio.render.animatic import AnimaticBackend
from studio.render.backend import BACKENDS, Conditioning, ShotSound
from studio.render.plan import ShotPlan
from studio.run.local import render_film
from studio.screenplay import parse_screenplay
from tests.conftest import MINIMAL, small

MODEL = MINIMAL.replace("  title: Two Rooms", "  title: Two Rooms\n  sound: {effects: model}")
RATE = 24_000  # the sound is made at another rate than the film's, as a model's may be


def decode(path: str) -> np.ndarray:
    """A stem as stereo float32 at 48 kHz."""
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", path, "-f", "f32le", "-ac", "2", "-ar", str(SAMPLE_RATE),
                          "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, "<f4").reshape(-1, 2)


class Foley:
    """The animatic's pictures, with a sound of its own made alongside: a tone per shot
    (its pitch from the shot id), silent where the shot's lines are spoken, handed
    over through ``take_sound`` once the frames are out (as LTX-2 does)."""

    name = "foley-test"
    varies = False
    wants_speech = True

    def __init__(self, options: dict[str, Any]) -> None:
        self.inner = AnimaticBackend(options)
        self._made: dict[str, ShotSound] = {}

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "name": self.name}

    def render(self, plan: ShotPlan, cond: Conditioning) -> Iterator[np.ndarray]:
        self._made[plan.shot_id] = tone(plan, cond.speech.spans if cond.speech else ())
        return self.inner.render(plan, cond)

    def take_sound(self, shot_id: str) -> ShotSound | None:
        return self._made.pop(shot_id, None)


def tone(plan: ShotPlan, spans) -> ShotSound:
    n = plan.frames * RATE // plan.fps
    pitch = 200 + zlib.crc32(plan.shot_id.encode()) % 400
    x = 0.3 * np.sin(2 * np.pi * pitch * np.arange(n) / RATE)
    for start, end in spans:
        x[round(start * RATE):round(end * RATE)] = 0.0
    return ShotSound(np.stack([x, 0.5 * x], axis=1).astype(np.float32), RATE)


def test_a_film_from_a_backend_with_sound_has_its_effects_stem(tmp_path, monkeypatch):
    monkeypatch.setitem(BACKENDS, Foley.name, Foley)
    screenplay = small(parse_screenplay(MODEL, str(tmp_path / "film.yaml")))
    first = render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="film",
                        backend_name=Foley.name)
    # every shot's sound is in the cache beside its clip, at 48 kHz, the shot's length
    for plan, clip in zip(first.plans, first.clips):
        assert clip.sound == clip.path.with_name(f"{clip.key}.sound.wav")
        info = wav_info(clip.sound)
        assert (info.rate, info.channels, info.frames) == (SAMPLE_RATE, 2, plan.frames * SAMPLE_RATE // plan.fps)
    audio = first.report["audio"]
    assert audio["shot_sounds"] == len(first.plans) == 3
    assert set(audio["stems"]) == {"dialogue", "music", "ambience", "effects"}
    # the stem holds every shot's tone, and silence where the lines are spoken
    stem = decode(audio["stems"]["effects"])
    margin = SAMPLE_RATE // 100  # 10 ms: the resampler's ringing at the edges of a silenced span
    for plan in first.plans:
        start = plan.start_frame * SAMPLE_RATE // plan.fps
        shot = stem[start:start + plan.frames * SAMPLE_RATE // plan.fps]
        assert np.abs(shot[:SAMPLE_RATE // 10, 0]).max() > 0.005, plan.shot_id  # heard from the shot's start
        for line in plan.lines:
            s, e = round(line.start * SAMPLE_RATE), round(line.end * SAMPLE_RATE)
            assert not shot[s + margin:e - margin].any(), line.id
    loudness = measure_ebur128(first.film)  # the delivered film
    assert abs(loudness["integrated_lufs"] - (-23.0)) <= 1.0 and loudness["true_peak_dbtp"] <= -1.0
    # again: every clip and its sound from the cache, and the mix reused
    again = render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="film",
                        backend_name=Foley.name)
    assert again.report["shots_rendered"] == 0 and not again.report["cut_rebuilt"]
    assert [c.sound for c in again.clips] == [c.sound for c in first.clips]
    assert not again.report["audio"]["mixed"] and again.report["audio"]["key"] == audio["key"]


def test_a_backend_without_sound_leaves_the_effects_stem_silent(tmp_path, caplog):
    screenplay = small(parse_screenplay(MODEL, str(tmp_path / "film.yaml")))
    with caplog.at_level(logging.WARNING, logger="studio.audio"):
        result = render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="film")
    assert [r.getMessage() for r in caplog.records if "made no sound" in r.getMessage()] == [
        "film.sound.effects is 'model', but the backend made no sound with any shot: the effects stem is silent"]
    assert all(c.sound is None for c in result.clips)
    assert not decode(result.report["audio"]["stems"]["effects"]).any()
    assert result.report["audio"]["loudness"]["integrated_lufs"] == pytest.approx(-23.0, abs=1.0)
