"""The effects stem: the video model's sound for each shot, placed on the film's clock,
ducked under the lines, levelled like the ambience bed, and keyed into the mix."""

from __future__ import annotations

import hashlib
import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest

from studio.assemble.ffmpeg import ffmpeg_exe
from studio.audio.effects import ShotSoundAt
from studio.audio.film import FilmSound, make_film_sound
from studio.audio.mix import measure_ebur128
from studio.audio.speech import LineAudio, speech_seconds, synthesize_lines
from studio.audio.wav import SAMPLE_RATE
from studio.cache.store import write_shot_sound
from studio.graph.scene_graph import SceneGraph
from studio.render.backend import ShotSound
from studio.render.plan import ShotPlan, plan_film
from studio.screenplay import parse_screenplay
from tests.conftest import MINIMAL, small

MODEL = MINIMAL.replace("  title: Two Rooms", "  title: Two Rooms\n  sound: {effects: model}")


def decode(path: Path) -> np.ndarray:
    """A stem as stereo float32 at 48 kHz."""
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2",
                          "-ar", str(SAMPLE_RATE), "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, "<f4").reshape(-1, 2)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def start_sample(plan: ShotPlan) -> int:
    """Where the cut puts the shot's first frame, in samples."""
    assert plan.start_frame * SAMPLE_RATE % plan.fps == 0
    return plan.start_frame * SAMPLE_RATE // plan.fps


def burst(plan: ShotPlan, amplitude: float, seed: int, rate: int = 24_000) -> ShotSound:
    """Stereo noise the shot's length, never near zero (so the first sample is heard)."""
    rng = np.random.default_rng(seed)
    n = plan.frames * rate // plan.fps
    signs = rng.choice([-1.0, 1.0], (n, 2))
    return ShotSound((signs * amplitude * rng.uniform(0.5, 1.0, (n, 2))).astype(np.float32), rate)


@pytest.fixture(scope="module")
def film(tmp_path_factory) -> tuple[Path, list[ShotPlan], dict[str, LineAudio]]:
    """The two-room film planned around its spoken lines: (folder, plans, lines)."""
    root = tmp_path_factory.mktemp("effects")
    screenplay = small(parse_screenplay(MODEL, str(root / "film.yaml")))
    lines = synthesize_lines(screenplay, root / "cache")
    plans = plan_film(SceneGraph.from_screenplay(screenplay, speech_seconds(lines)))
    assert len(plans) == 3 and not plans[0].lines and plans[1].lines
    return root, plans, lines


def film_sound(film, sounds: dict[str, ShotSound], *, effects: str = "model", out: str = "out") -> FilmSound:
    """What finish_film does: every line and every shot's sound at its place on the film's clock."""
    root, plans, lines = film
    text = MODEL if effects == "model" else MINIMAL
    screenplay = small(parse_screenplay(text, str(root / "film.yaml")))
    placed = []
    for plan in plans:
        if plan.shot_id in sounds:
            path = write_shot_sound(root / "sounds" / f"{out}-{plan.shot_id}.sound.wav", sounds[plan.shot_id])
            placed.append(ShotSoundAt(plan.shot_id, path, plan.start_frame / plan.fps, plan.frames / plan.fps))
    scenes: dict[str, float] = {}
    for plan in plans:
        scenes[plan.scene_id] = scenes.get(plan.scene_id, 0.0) + plan.frames / plan.fps
    return make_film_sound(
        screenplay, scene_seconds=scenes,
        line_starts={line.id: p.start_frame / p.fps + line.start for p in plans for line in p.lines},
        lines=lines, film_seconds=sum(p.frames for p in plans) / plans[0].fps, cache_dir=root / "cache",
        out_dir=root / out, name="film", shot_sounds=placed,
    )


def test_each_shot_sound_sits_at_its_shot_and_nowhere_else(film):
    _, plans, _ = film
    first, middle, last = plans
    sound = film_sound(film, {first.shot_id: burst(first, 0.3, 1), last.shot_id: burst(last, 0.3, 2)})
    assert set(sound.stems) == {"dialogue", "music", "ambience", "effects"}
    assert sound.report()["stems"]["effects"] == str(sound.stems["effects"]) and sound.shot_sounds_placed == 2
    stem = decode(sound.stems["effects"])
    assert len(stem) == sum(p.frames for p in plans) * SAMPLE_RATE // first.fps
    heard = np.any(stem != 0, axis=1)
    # the first shot's sound from its first sample to its last, sample-exact
    a, b = start_sample(first), start_sample(middle)
    assert heard[a] and heard[b - 1] and heard[a:b].mean() > 0.99
    # the middle shot made no sound: silence to the last sample before the third shot
    c = start_sample(last)
    assert not heard[b:c].any()
    assert heard[c] and heard[-1] and heard[c:].mean() > 0.99


def level(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)))


def test_the_effects_stem_ducks_under_the_lines_and_keeps_the_shots_relative_level(film):
    _, plans, _ = film
    first, _, last = plans
    stem = decode(film_sound(film, {first.shot_id: burst(first, 0.05, 1), last.shot_id: burst(last, 0.4, 2)})
                  .stems["effects"])
    first_level = level(stem[start_sample(first):start_sample(plans[1])])  # no line near: not ducked
    # the last shot's line ducks its sound by the music's depth (12 dB) while it is spoken
    line, c = last.lines[0], start_sample(last)
    clear = stem[c:c + round(0.1 * SAMPLE_RATE)]  # before the attack (the line starts 0.35 s in)
    ducked = stem[c + round(line.start * SAMPLE_RATE):c + round(line.end * SAMPLE_RATE)]
    assert level(clear) - level(ducked) == pytest.approx(12.0, abs=0.5)
    # one gain for the whole stem: the loud shot stays 18 dB over the quiet one
    assert level(clear) - first_level == pytest.approx(20 * np.log10(0.4 / 0.05), abs=0.5)


def test_the_effects_stem_is_levelled_like_the_ambience_bed(film):
    """Whatever level the model made its sound at, the stem sits at the effects level
    (-30 LUFS) less its stem gain (-4 dB), as the ambience bed sits at its own."""
    _, plans, _ = film
    first = plans[0]  # no line in or near it: nothing ducked
    measured = []
    for amplitude, out in ((0.3, "hot"), (0.01, "faint")):
        sound = film_sound(film, {first.shot_id: burst(first, amplitude, 1)}, out=out)
        measured.append(measure_ebur128(sound.stems["effects"])["integrated_lufs"])
    assert measured[0] == pytest.approx(-34.0, abs=0.5)
    assert measured[1] == pytest.approx(measured[0], abs=0.2)


def test_the_mix_with_effects_meets_the_loudness_target(film):
    _, plans, _ = film
    sound = film_sound(film, {p.shot_id: burst(p, 0.5, i) for i, p in enumerate(plans)})
    for path in (sound.mix, sound.aac):  # the FLAC mix and the AAC the cut muxes
        loudness = measure_ebur128(path)
        assert abs(loudness["integrated_lufs"] - (-23.0)) <= 1.0, path.name
        assert loudness["true_peak_dbtp"] <= -1.0, path.name


def test_the_dialogue_stem_is_the_same_with_and_without_effects(film):
    _, plans, _ = film
    sounds = {p.shot_id: burst(p, 0.3, i) for i, p in enumerate(plans)}
    with_effects = film_sound(film, sounds, out="with")
    without = film_sound(film, sounds, effects="ambience", out="without")
    assert "effects" not in without.stems and without.report()["shot_sounds"] is None
    assert not (without.mix.parent / "film.effects.flac").exists()
    assert sha256(with_effects.stems["dialogue"]) == sha256(without.stems["dialogue"])
    assert sha256(with_effects.stems["ambience"]) == sha256(without.stems["ambience"])
    assert with_effects.key != without.key


def test_a_changed_shot_sound_remixes_and_an_unchanged_film_reuses_the_mix(film):
    _, plans, _ = film
    sounds = {p.shot_id: burst(p, 0.3, 10 + i) for i, p in enumerate(plans)}
    first = film_sound(film, sounds, out="keyed")
    again = film_sound(film, sounds, out="keyed")
    assert first.mixed and not again.mixed and again.key == first.key
    changed = film_sound(film, {**sounds, plans[2].shot_id: burst(plans[2], 0.3, 99)}, out="keyed")
    assert changed.mixed and changed.key != first.key
    fewer = film_sound(film, {plans[0].shot_id: sounds[plans[0].shot_id]}, out="keyed")  # two shots fell silent
    assert fewer.mixed and fewer.key not in (first.key, changed.key)
    assert not film_sound(film, sounds, out="keyed").mixed  # the first mix is still in the cache


def test_no_shot_sound_at_all_warns_once_and_leaves_the_stem_silent(film, caplog):
    with caplog.at_level(logging.WARNING, logger="studio.audio"):
        sound = film_sound(film, {}, out="mute")
    warnings = [r for r in caplog.records if "made no sound" in r.getMessage()]
    assert len(warnings) == 1 and "effects stem is silent" in warnings[0].getMessage()
    assert not decode(sound.stems["effects"]).any() and sound.shot_sounds_placed == 0
    loudness = measure_ebur128(sound.mix)
    assert abs(loudness["integrated_lufs"] - (-23.0)) <= 1.0
