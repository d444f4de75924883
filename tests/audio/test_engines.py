"""The real engines: Piper and espeak-ng speak, characters sound different,
deliveries change level, pitch and timing, and hostile text is only ever spoken."""

from __future__ import annotations

import numpy as np
import pytest

from studio.audio import dsp
from studio.audio.tts import PIPER_VOICE, Delivery, Speech, TTSEngine, VoiceSettings

SHORT = "Not tonight, Theo."  # 3 words
LONG = "The lamp has burned every night for forty years and it will burn tonight."  # 14 words
HOSTILE = '"--help"; $(rm -rf /) %{x} [b] `touch CANARY` [[ haha ]] -v --stdout'
NEUTRAL = Delivery()


def piper_voice(pitch: float = 0.0, rate: float = 1.0, seed: int = 11) -> VoiceSettings:
    return VoiceSettings("piper", PIPER_VOICE, rate, pitch, seed)


def spoken(speech: Speech) -> float:
    """Seconds of the speech that are not leading silence."""
    return speech.seconds - dsp.leading_silence(speech.samples, speech.sample_rate)


def check_speech(speech: Speech) -> None:
    assert speech.sample_rate == dsp.OUTPUT_RATE
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert np.all(np.abs(speech.samples) <= 1.0)
    assert dsp.active_rms(speech.samples, speech.sample_rate) > 0.03  # not silent


# -- piper --------------------------------------------------------------------------------


def test_piper_speaks_a_real_line_and_length_follows_the_text(piper):
    assert isinstance(piper, TTSEngine)
    short = piper.synthesize(SHORT, piper_voice(), NEUTRAL)
    long = piper.synthesize(LONG, piper_voice(), NEUTRAL)
    check_speech(short)
    check_speech(long)
    assert 0.6 < short.seconds < 2.5
    assert 2.5 < long.seconds < 7.0
    assert long.seconds > 2.2 * short.seconds
    # voiced speech in a man's range, not noise
    assert 70 < dsp.estimate_f0(long.samples, long.sample_rate) < 160


def test_piper_is_deterministic_and_the_seed_matters(piper):
    a = piper.synthesize(SHORT, piper_voice(seed=5), NEUTRAL)
    loads = piper.loads
    b = piper.synthesize(SHORT, piper_voice(seed=5), NEUTRAL)
    c = piper.synthesize(SHORT, piper_voice(seed=6), NEUTRAL)
    assert np.array_equal(a.samples, b.samples)
    assert len(a.samples) != len(c.samples) or not np.array_equal(a.samples, c.samples)
    assert piper.loads == loads >= 1  # the model is read (and its session made) once, not per line


def test_two_piper_characters_sound_different(piper):
    low = piper.synthesize(LONG, piper_voice(pitch=-4, rate=0.95, seed=1), NEUTRAL)
    high = piper.synthesize(LONG, piper_voice(pitch=4, rate=1.05, seed=2), NEUTRAL)
    f_low = dsp.estimate_f0(low.samples, low.sample_rate)
    f_high = dsp.estimate_f0(high.samples, high.sample_rate)
    # 8 semitones apart: a ratio of 1.59 (allow for the estimator)
    assert 1.4 < f_high / f_low < 1.8, (f_low, f_high)
    assert dsp.spectral_centroid(high.samples, 48_000) > 1.15 * dsp.spectral_centroid(low.samples, 48_000)
    # rate: the faster voice takes less time for the same words
    assert spoken(high) < spoken(low)


def test_piper_rate_changes_duration(piper):
    slow = piper.synthesize(LONG, piper_voice(rate=0.7), NEUTRAL)
    fast = piper.synthesize(LONG, piper_voice(rate=1.4), NEUTRAL)
    assert 1.5 < slow.seconds / fast.seconds < 2.4


def test_piper_deliveries(piper):
    voice = piper_voice()
    neutral = piper.synthesize(SHORT, voice, NEUTRAL)
    whisper = piper.synthesize(SHORT, voice, Delivery.from_parenthetical("whispering"))
    shout = piper.synthesize(SHORT, voice, Delivery.from_parenthetical("shouting"))
    beat = piper.synthesize(SHORT, voice, Delivery.from_parenthetical("beat"))
    level = {k: dsp.active_rms(s.samples, 48_000) for k, s in
             {"neutral": neutral, "whisper": whisper, "shout": shout}.items()}
    assert level["whisper"] < 0.5 * level["neutral"] < 0.5 * level["shout"], level
    # a whisper has no steady pitch left; a shout is higher than the neutral voice
    f_neutral = dsp.estimate_f0(neutral.samples, 48_000)
    assert dsp.estimate_f0(shout.samples, 48_000) > 1.1 * f_neutral
    assert dsp.estimate_f0(whisper.samples, 48_000) == 0.0 or dsp.spectral_centroid(
        whisper.samples, 48_000) > dsp.spectral_centroid(neutral.samples, 48_000)
    assert spoken(shout) < spoken(neutral) < spoken(whisper)
    # (beat): a second of silence, then the line
    assert dsp.leading_silence(beat.samples, 48_000) >= 0.8
    assert np.all(beat.samples[: int(0.8 * 48_000)] == 0)
    assert abs(spoken(beat) - spoken(neutral)) < 0.1


def test_piper_speaks_hostile_text_as_words(piper, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    speech = piper.synthesize(HOSTILE, piper_voice(), NEUTRAL)
    check_speech(speech)
    assert speech.seconds > 2.0  # it read the words out
    assert not (tmp_path / "CANARY").exists()


def test_piper_empty_text_is_short_silence(piper):
    speech = piper.synthesize("...", piper_voice(), NEUTRAL)
    assert speech.seconds < 1.0


# -- espeak-ng ------------------------------------------------------------------------------


def espeak_voice(name: str, pitch: float = 0.0, rate: float = 1.0) -> VoiceSettings:
    return VoiceSettings("espeak-ng", name, rate, pitch, 5)


def test_espeak_voices_differ(espeak):
    assert isinstance(espeak, TTSEngine)
    assert espeak.version.startswith("espeak-ng ")
    m3 = espeak.synthesize(LONG, espeak_voice("en-us+m3"), NEUTRAL)
    f3 = espeak.synthesize(LONG, espeak_voice("en-us+f3"), NEUTRAL)
    klatt = espeak.synthesize(LONG, espeak_voice("en-us+klatt4"), NEUTRAL)
    for s in (m3, f3, klatt):
        check_speech(s)
    assert dsp.estimate_f0(f3.samples, 48_000) > 1.5 * dsp.estimate_f0(m3.samples, 48_000)
    c_m3, c_klatt = (dsp.spectral_centroid(s.samples, 48_000) for s in (m3, klatt))
    assert abs(c_m3 - c_klatt) > 0.1 * c_m3


def test_espeak_variant_after_a_language_alias_is_applied(espeak):
    """espeak-ng 1.51 ignores "+f2" after "en-gb" unless the voice file is named."""
    plain = espeak.synthesize(SHORT, espeak_voice("en-gb"), NEUTRAL)
    f2 = espeak.synthesize(SHORT, espeak_voice("en-gb+f2"), NEUTRAL)
    assert dsp.estimate_f0(f2.samples, 48_000) > 1.5 * dsp.estimate_f0(plain.samples, 48_000)


def test_espeak_pitch_and_rate(espeak):
    base = espeak.synthesize(LONG, espeak_voice("en-us+m3"), NEUTRAL)
    up = espeak.synthesize(LONG, espeak_voice("en-us+m3", pitch=5), NEUTRAL)
    way_up = espeak.synthesize(LONG, espeak_voice("en-us+m3", pitch=12), NEUTRAL)  # past -p 99
    fast = espeak.synthesize(LONG, espeak_voice("en-us+m3", rate=1.5), NEUTRAL)
    f0 = dsp.estimate_f0(base.samples, 48_000)
    assert 1.2 < dsp.estimate_f0(up.samples, 48_000) / f0 < 1.45  # 5 st = 1.33
    assert 1.8 < dsp.estimate_f0(way_up.samples, 48_000) / f0 < 2.2  # 12 st = 2
    assert abs(way_up.seconds - base.seconds) < 0.15 * base.seconds  # duration kept
    assert fast.seconds < 0.8 * base.seconds


def test_espeak_deliveries(espeak):
    voice = espeak_voice("en-us+m3")
    neutral = espeak.synthesize(SHORT, voice, NEUTRAL)
    whisper = espeak.synthesize(SHORT, voice, Delivery.from_parenthetical("whispering"))
    shout = espeak.synthesize(SHORT, voice, Delivery.from_parenthetical("shouting"))
    beat = espeak.synthesize(SHORT, voice, Delivery.from_parenthetical("(beat)"))
    assert "+whisper" in espeak.options(voice, Delivery.from_parenthetical("whispering"))[0][1]
    rms = {k: dsp.active_rms(s.samples, 48_000) for k, s in {"n": neutral, "w": whisper, "s": shout}.items()}
    assert rms["w"] < 0.5 * rms["n"] < 0.5 * rms["s"], rms
    assert dsp.leading_silence(beat.samples, 48_000) >= 0.8
    a = espeak.synthesize(SHORT, voice, Delivery.from_parenthetical("whispering"))
    assert np.array_equal(a.samples, whisper.samples)  # deterministic, noise and all


def test_espeak_speaks_hostile_text_as_words(espeak, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in (HOSTILE, "--help", "-v"):
        speech = espeak.synthesize(text, espeak_voice("en-us"), NEUTRAL)
        check_speech(speech)
    assert espeak.synthesize(HOSTILE, espeak_voice("en-us"), NEUTRAL).seconds > 2.0
    assert not (tmp_path / "CANARY").exists()


def test_espeak_refuses_an_unknown_voice_at_synthesis(espeak):
    from studio.errors import StudioError

    with pytest.raises(StudioError, match="unknown espeak-ng voice"):
        espeak.synthesize("Hi.", espeak_voice("--help"), NEUTRAL)


# -- the signal processing ----------------------------------------------------------------


def test_resampler_keeps_frequency_and_is_clean():
    rate = 22_050
    t = np.arange(rate) / rate
    x = 0.5 * np.sin(2 * np.pi * 1000 * t)
    y = dsp.resample(x, rate, 48_000)
    assert abs(len(y) - 48_000) <= 1
    spec = np.abs(np.fft.rfft(y[4800:-4800] * np.hanning(len(y) - 9600)))
    freqs = np.fft.rfftfreq(len(y) - 9600, 1 / 48_000)
    assert abs(freqs[np.argmax(spec)] - 1000) < 2
    spur = spec[np.abs(freqs - 1000) > 50].max() / spec.max()
    assert spur < 1e-3  # images and aliases below -60 dB


def test_whisperize_keeps_the_envelope_and_removes_the_pitch(piper):
    voiced = piper.synthesize(LONG, piper_voice(), NEUTRAL)
    x = voiced.samples
    assert np.allclose(dsp.whisperize(x, 48_000, 1e-9, seed=1), x, atol=1e-3)  # amount 0 = the input
    w = dsp.whisperize(x, 48_000, 1.0, seed=1)
    assert dsp.estimate_f0(w, 48_000) == 0.0 or dsp.estimate_f0(w, 48_000) > 150
    assert 0.5 < dsp.active_rms(w, 48_000) / dsp.active_rms(x, 48_000) < 2.0
    assert np.array_equal(w, dsp.whisperize(x, 48_000, 1.0, seed=1))
