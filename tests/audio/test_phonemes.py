"""A spoken line's phoneme timing: from the engine that spoke it, aligned to its WAV."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from studio.audio.phonemes import line_timing, read_timing, timing_path
from studio.audio.speech import DialogueLine, LineAudio, read_wav, shot_speech, speak_line
from studio.audio.tts import Delivery, VoiceSettings, get_engine
from studio.render.plan import PlannedLine
from tests.audio.helpers import needs_espeak

TEXT = "Pip put a cap on the pipe, Pop."


def _line(voice: VoiceSettings, delivery: Delivery, text: str = TEXT) -> DialogueLine:
    return DialogueLine("s1.2", "s1", 2, "pim", text, None, voice, delivery)


def _level_db(x: np.ndarray, rate: int, t0: float, t1: float) -> float:
    seg = np.asarray(x[int(t0 * rate):int(t1 * rate)], float)
    return 10 * np.log10(float(np.mean(seg * seg)) + 1e-12)


@needs_espeak
@pytest.mark.parametrize("voice,delivery", [
    (VoiceSettings("espeak-ng", "en-gb+m3"), Delivery(pause=0.8)),
    # rate and a pitch beyond -p's reach (the rest made by resampling): the timing follows both
    (VoiceSettings("espeak-ng", "en-us+f2", rate=1.3, pitch=11.0), Delivery()),
])
def test_espeak_lines_are_timed_by_their_own_voice_at_their_wav(tmp_path, voice, delivery) -> None:
    engine = get_engine("espeak-ng")
    wav = tmp_path / "line.wav"
    speak_line(engine, _line(voice, delivery), wav)
    timing = read_timing(wav)
    assert timing is not None and timing.source == "espeak-ng events, aligned"
    speech = read_wav(wav)
    x, rate = speech.samples, speech.sample_rate
    loud = float(np.percentile([_level_db(x, rate, t, t + 0.02) for t in np.arange(0, speech.seconds - 0.02, 0.01)],
                               95))
    stops = [t for t, p in timing.phonemes if p == "p"]
    assert len(stops) >= 5
    # the lips are shut at the start of every p: its closure is a near-silence in the WAV
    # (checked against the audio itself, not against espeak-ng)
    for t in stops:
        assert _level_db(x, rate, t + 0.003, t + 0.023) < loud - 15, (t, loud)
    # nothing is timed inside the delivery's leading pause; the line starts just after it
    assert delivery.pause <= timing.phonemes[0][0] < delivery.pause + 0.1
    assert timing.words and timing.words[0][1] == 0


@needs_espeak
def test_timing_is_the_same_bytes_when_made_again_for_an_old_cache_entry(tmp_path) -> None:
    engine = get_engine("espeak-ng")
    line = _line(VoiceSettings("espeak-ng", "en-gb+m3", rate=0.9), Delivery())
    wav = tmp_path / "line.wav"
    speak_line(engine, line, wav)
    made = timing_path(wav).read_bytes()
    timing_path(wav).unlink()  # a line cached before sidecars were kept
    assert read_timing(wav) is None
    again = line_timing(engine, line.text, line.voice, line.delivery, wav)
    assert again is not None and timing_path(wav).read_bytes() == made


def _piper():
    try:
        return get_engine("piper")
    except Exception as e:  # noqa: BLE001 - an engine that is not installed here
        pytest.skip(f"piper: {e}")


def test_piper_lines_are_timed_by_the_model_s_own_durations(tmp_path) -> None:
    engine = _piper()
    wav = tmp_path / "line.wav"
    line = _line(VoiceSettings("piper", "en_US-joe-medium", pitch=2.0), Delivery(pause=0.5), "Bob. Pop the bubble.")
    speak_line(engine, line, wav)
    timing = read_timing(wav)
    assert timing is not None and timing.source == "the engine's own durations; words: espeak-ng en-us, stretched"
    assert [p for _, p in timing.phonemes if p in "bp"] == ["b", "b", "p", "p", "b", "b"]
    assert 0.5 <= timing.phonemes[0][0] and timing.phonemes == tuple(sorted(timing.phonemes))
    assert len(timing.words) == 4  # the words, for gestures, still by espeak-ng
    # a sidecar made again later (it was lost) is the same: the line is spoken again for its timing
    made = timing_path(wav).read_bytes()
    timing_path(wav).unlink()
    again = line_timing(engine, line.text, line.voice, line.delivery, wav)
    assert again is not None and timing_path(wav).read_bytes() == made


def _closure_db(x: np.ndarray, rate: int, t: float) -> float:
    """How much quieter the 30 ms from ``t`` are than the louder of the stretches around it."""
    return _level_db(x, rate, t, t + 0.03) - max(_level_db(x, rate, t - 0.1, t - 0.04),
                                                   _level_db(x, rate, t + 0.06, t + 0.12))


def test_piper_s_own_timing_closes_the_lips_where_the_voice_closes_them() -> None:
    from studio.audio.phonemes import time_line

    engine = _piper()
    own, stretched = [], []
    for text, voice in (("Maybe Bob will paint the barn purple by May.", VoiceSettings("piper", "joe", 0.9, 3.0, 4)),
                        ("Keep the map, Molly. I promise to come back.", VoiceSettings("piper", "joe", 1.2, -4.0, 7))):
        speech, timed = engine.synthesize_timed(text, voice, Delivery())
        x = speech.samples
        guessed = time_line(engine, text, voice, Delivery(), x, speech.sample_rate).phonemes  # espeak-ng, stretched
        own += [_closure_db(x, speech.sample_rate, t) for t, p in timed if p in ("m", "b", "p")]
        stretched += [_closure_db(x, speech.sample_rate, t) for t, p in guessed if p in ("m", "b", "p")]
    assert len(own) >= 15
    # measured: 96% of m, b, p in a closure by the model's timing, 76% by the stretched en-us timing
    assert np.mean(np.array(own) < -3.0) >= 0.85
    assert np.median(own) < np.median(stretched) - 3.0


@needs_espeak
def test_a_shots_speech_carries_each_lines_phonemes_in_shot_seconds(tmp_path) -> None:
    engine = get_engine("espeak-ng")
    line = _line(VoiceSettings("espeak-ng", "en-gb+m3"), Delivery())
    wav = tmp_path / "line.wav"
    seconds = speak_line(engine, line, wav)
    planned = PlannedLine("s1.2", "pim", "Pim", TEXT, None, False, 0.5, 0.5 + seconds)
    plan = SimpleNamespace(frames=int((seconds + 1) * 24), fps=24, lines=[planned])
    audio = {"s1.2": LineAudio("s1.2", "pim", wav, seconds, "k", True)}
    speech = shot_speech(plan, audio)
    own = read_timing(wav)
    end = speech.spans[0][1]
    # seconds of the shot; espeak-ng's closing silence past the WAV's end is left out
    assert speech.phonemes[0] == tuple((round(0.5 + t, 4), p) for t, p in own.phonemes if 0.5 + t < end)
    assert [p for _, p in speech.phonemes[0] if p == "p"] == [p for _, p in own.phonemes if p == "p"]
    assert speech.words[0][0] == (round(0.5 + own.words[0][0], 4), 0)
    timing_path(wav).unlink()  # without its timing the shot's speech says so, and is named otherwise
    bare = shot_speech(plan, audio)
    assert bare.phonemes == (None,) and bare.digest != speech.digest
