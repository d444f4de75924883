"""Every line of a film spoken, cached by content, feeding the shot planner."""

from __future__ import annotations

import numpy as np
import pytest

from studio.audio.speech import (
    SAMPLE_RATE,
    cache_path,
    read_wav,
    speech_key,
    speech_seconds,
    synthesize_lines,
)
from studio.audio.tts import Delivery, VoiceSettings, get_engine
from studio.errors import ScreenplayError
from studio.graph.coverage import plan_shots
from tests.audio.helpers import needs_espeak, screenplay

CHARACTERS = """
- {id: mara, name: Mara, voice: {engine: piper, rate: 0.95, pitch: -1, seed: 11}}
- {id: hale, name: Hale, voice: {engine: espeak-ng, voice: en-gb+m3}}
"""

BEATS = """
- {action: The lamp flickers.}
- {speaker: mara, line: Not tonight.}
- {speaker: hale, line: The harbour board has decided., id: verdict}
- {speaker: mara, line: Then the board can climb the stairs., parenthetical: beat}
"""


class Counting:
    """Wraps an engine and counts what it is asked to speak."""

    def __init__(self, engine):
        self.engine = engine
        self.name = engine.name
        self.spoken: list[str] = []

    @property
    def version(self):
        return self.engine.version

    @property
    def default_voice(self):
        return self.engine.default_voice

    def voices(self):
        return self.engine.voices()

    def has_voice(self, voice):
        return self.engine.has_voice(voice)

    def synthesize(self, text, voice, delivery):
        self.spoken.append(text)
        return self.engine.synthesize(text, voice, delivery)


def counting_engines() -> dict[str, Counting]:
    return {name: Counting(get_engine(name)) for name in ("piper", "espeak-ng")}


@needs_espeak
def test_lines_are_spoken_and_cached(tmp_path):
    sp = screenplay(CHARACTERS, BEATS)
    engines = counting_engines()
    first = synthesize_lines(sp, tmp_path, engines=engines)
    assert list(first) == ["s1.2", "verdict", "s1.4"]
    assert all(a.synthesized for a in first.values())
    assert sorted(engines["piper"].spoken + engines["espeak-ng"].spoken) == sorted(
        ["Not tonight.", "The harbour board has decided.", "Then the board can climb the stairs."])
    for lid, audio in first.items():
        assert audio.path == cache_path(tmp_path, audio.key)
        assert audio.path.parent.name == audio.key[:2] and audio.path.parent.parent.name == "speech"
        speech = read_wav(audio.path)
        assert speech.sample_rate == SAMPLE_RATE
        assert abs(audio.seconds - speech.seconds) < 1e-6
        assert np.abs(speech.samples).max() > 0.1
    assert first["s1.4"].seconds > 1.8  # a (beat) before the line
    mtimes = {lid: a.path.stat().st_mtime_ns for lid, a in first.items()}

    # unchanged: nothing is spoken again, no file is touched
    engines = counting_engines()
    second = synthesize_lines(sp, tmp_path, engines=engines)
    assert engines["piper"].spoken == [] and engines["espeak-ng"].spoken == []
    assert not any(a.synthesized for a in second.values())
    assert {lid: a.path.stat().st_mtime_ns for lid, a in second.items()} == mtimes
    assert speech_seconds(second) == speech_seconds(first)

    # one line edited: only that line is spoken
    edited = screenplay(CHARACTERS, BEATS.replace("has decided.", "has decided today."))
    engines = counting_engines()
    third = synthesize_lines(edited, tmp_path, engines=engines)
    assert engines["piper"].spoken == []
    assert engines["espeak-ng"].spoken == ["The harbour board has decided today."]
    assert [lid for lid, a in third.items() if a.synthesized] == ["verdict"]
    assert third["verdict"].key != first["verdict"].key
    assert third["s1.2"].path == first["s1.2"].path

    # a changed voice re-speaks that character's lines only
    revoiced = screenplay(CHARACTERS.replace("pitch: -1", "pitch: 2"), BEATS)
    engines = counting_engines()
    fourth = synthesize_lines(revoiced, tmp_path, engines=engines)
    assert sorted(engines["piper"].spoken) == ["Not tonight.", "Then the board can climb the stairs."]
    assert engines["espeak-ng"].spoken == []
    assert not fourth["verdict"].synthesized


def test_cache_key_covers_everything_that_changes_the_sound():
    voice = VoiceSettings("piper", "en_US-joe-medium", 1.0, 0.0, 1)
    key = speech_key("piper", "v1", voice, Delivery(), "Hello.")
    assert len(key) == 64
    assert key == speech_key("piper", "v1", voice, Delivery(), "Hello.")
    others = {
        speech_key("piper", "v2", voice, Delivery(), "Hello."),
        speech_key("espeak-ng", "v1", voice, Delivery(), "Hello."),
        speech_key("piper", "v1", VoiceSettings("piper", "en_US-joe-medium", 1.0, 0.5, 1), Delivery(), "Hello."),
        speech_key("piper", "v1", VoiceSettings("piper", "en_US-joe-medium", 1.0, 0.0, 2), Delivery(), "Hello."),
        speech_key("piper", "v1", voice, Delivery.from_parenthetical("beat"), "Hello."),
        speech_key("piper", "v1", voice, Delivery(), "Hello!"),
    }
    assert key not in others and len(others) == 6
    # the matched words are for people; the same sound has the same key
    assert speech_key("piper", "v1", voice, Delivery.from_parenthetical("pause"), "Hi") == speech_key(
        "piper", "v1", voice, Delivery.from_parenthetical("beat"), "Hi")


def test_measured_speech_sizes_the_shots(tmp_path):
    sp = screenplay(
        "- {id: mara, name: Mara, voice: {engine: piper, seed: 3}}",
        """
        - {speaker: mara, line: "Forty years I have climbed these stairs, and forty years the lamp has answered."}
        - {speaker: mara, line: Go home., parenthetical: whispering}
        """,
    )
    result = synthesize_lines(sp, tmp_path)
    speech = speech_seconds(result)
    assert set(speech) == {"s1.1", "s1.2"}
    shots = plan_shots(sp, speech=speech)
    lines = {line.id: line for shot in shots for line in shot.lines}
    for lid, seconds in speech.items():
        assert lines[lid].seconds == seconds
        assert lines[lid].end - lines[lid].start == pytest.approx(seconds, abs=1e-3)
    for shot in shots:
        if shot.lines:
            assert shot.duration >= shot.lines[-1].end


def test_unknown_voice_stops_before_speaking(tmp_path):
    sp = screenplay(
        "- {id: mara, name: Mara, voice: {engine: piper, voice: en_US-amy-low}}",
        "- {speaker: mara, line: Hello.}",
    )
    with pytest.raises(ScreenplayError) as info:
        synthesize_lines(sp, tmp_path)
    assert "mara" in str(info.value) and "en_US-joe-medium" in str(info.value)
    assert not (tmp_path / "speech").exists()


def test_hostile_lines_are_spoken_and_cached_safely(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sp = screenplay(
        "- {id: mara, name: Mara, voice: {engine: piper, seed: 3}}",
        """
        - speaker: mara
          line: '"--help"; $(rm -rf /) %{x} [b] `touch CANARY` ../../etc/passwd'
        """,
    )
    result = synthesize_lines(sp, tmp_path / "cache")
    audio = result["s1.1"]
    assert audio.path.is_relative_to(tmp_path / "cache" / "speech")
    assert audio.seconds > 2.0
    assert not (tmp_path / "CANARY").exists()
