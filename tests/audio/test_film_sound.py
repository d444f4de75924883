"""The example film's sound: broadcast loudness, ducking, distinct voices, and audio
as the timing master."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from studio.assemble.ffmpeg import ffmpeg_exe
from studio.audio.dsp import estimate_f0
from studio.audio.mix import measure_ebur128
from studio.audio.wav import SAMPLE_RATE, to_float, wav_frames
from studio.run.local import render_film


def decode(path, channels=1) -> np.ndarray:
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", str(channels),
                          "-ar", str(SAMPLE_RATE), "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, "<f4")


def db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20)


def test_loudness_meets_ebu_r128(lamp_render):
    _, result, _ = lamp_render
    loudness = measure_ebur128(result.film)  # the delivered MP4 (AAC), not just the mix
    assert abs(loudness["integrated_lufs"] - (-23.0)) <= 1.0
    assert loudness["true_peak_dbtp"] <= -1.0
    assert result.report["audio"]["loudness"]["integrated_lufs"] == pytest.approx(-23.0, abs=1.0)


def test_music_ducks_under_every_line(lamp_render):
    _, result, _ = lamp_render
    music = decode(result.report["audio"]["stems"]["music"])
    inside, outside = np.zeros(len(music), bool), np.ones(len(music), bool)
    for plan in result.plans:
        for line in plan.lines:
            s = round((plan.start_frame / plan.fps + line.start) * SAMPLE_RATE)
            e = round((plan.start_frame / plan.fps + line.end) * SAMPLE_RATE)
            inside[s:e] = True
            outside[max(0, s - SAMPLE_RATE):e + SAMPLE_RATE] = False  # keep clear of the ramps
    assert inside.sum() > 10 * SAMPLE_RATE and outside.sum() > 10 * SAMPLE_RATE
    assert db(music[outside]) - db(music[inside]) >= 10.0


def test_dialogue_score_and_ambience_are_audible(lamp_render):
    _, result, _ = lamp_render
    stems = result.report["audio"]["stems"]
    levels = {name: db(decode(path)) for name, path in stems.items()}
    assert levels["dialogue"] > -40 and levels["music"] > -50 and levels["ambience"] > -60, levels
    assert levels["dialogue"] > levels["music"] > levels["ambience"], levels
    assert len(result.report["audio"]["midi"]) == 4


def median_pitch(paths) -> float:
    """Median fundamental frequency (Hz, YIN) of a speaker's lines put together."""
    speech = np.concatenate([to_float(np.asarray(wav_frames(p)))[:, 0] for p in paths])
    return estimate_f0(speech, SAMPLE_RATE)


def test_characters_sound_different(lamp_render):
    screenplay, result, root = lamp_render
    from studio.audio.speech import synthesize_lines

    lines = synthesize_lines(screenplay, root / "cache")
    by_speaker: dict[str, list] = {}
    for audio in lines.values():
        by_speaker.setdefault(audio.speaker, []).append(audio.path)
    mara, theo = median_pitch(by_speaker["mara"]), median_pitch(by_speaker["theo"])
    assert mara > 0 and theo > 0
    assert abs(theo - mara) / min(theo, mara) >= 0.15, (mara, theo)


def test_no_shot_ends_before_its_last_line(lamp_render):
    screenplay, result, root = lamp_render
    from studio.audio.speech import synthesize_lines

    lines = synthesize_lines(screenplay, root / "cache")
    for plan in result.plans:
        for line in plan.lines:
            assert line.end - line.start == pytest.approx(lines[line.id].seconds, abs=1e-3)
            assert line.end <= plan.frames / plan.fps, plan.shot_id


def test_unchanged_film_reuses_every_line(lamp_render, tmp_path):
    screenplay, first, root = lamp_render
    assert len(first.report["lines_synthesized"]) == first.report["lines_total"] == 18
    again = render_film(screenplay, tmp_path / "out", cache_dir=root / "cache", name="the-last-lamp")
    assert again.report["lines_synthesized"] == []
    assert again.report["shots_rendered"] == 0 and again.report["audio"]["score_cues_rendered"] == []
    report = json.loads((tmp_path / "out" / "render-report.json").read_text())
    assert report["lines_total"] == 18


def test_web_loudness_target(tmp_path):
    from studio.screenplay import parse_screenplay
    from tests.conftest import MINIMAL, small

    screenplay = small(parse_screenplay(MINIMAL.replace("  title: Two Rooms", "  title: Two Rooms\n  sound: {loudness: -14}"),
                                        str(tmp_path / "f.yaml")))
    result = render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="f")
    loudness = measure_ebur128(result.film)
    assert abs(loudness["integrated_lufs"] - (-14.0)) <= 1.0
    assert loudness["true_peak_dbtp"] <= -1.0
