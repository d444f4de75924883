"""Delivery from parentheticals, voice resolution, and check-time voice problems."""

from __future__ import annotations

import pytest

from studio.audio import tts
from studio.audio.tts import PIPER_VOICE, Delivery, get_engine
from studio.audio.voices import check_voices, resolve_voices
from studio.errors import MissingToolError, StudioError
from tests.audio.helpers import needs_espeak, screenplay


@pytest.mark.parametrize(
    "text, check",
    [
        ("whispering", lambda d: d.gain_db < -6 and d.breath >= 0.6 and d.rate < 1),
        ("(whispers)", lambda d: d.breath >= 0.6),
        ("under her breath", lambda d: d.breath >= 0.6),
        ("quietly", lambda d: d.gain_db < 0 and 0 < d.breath < 0.6 and d.rate < 1),
        ("softly", lambda d: d.gain_db < 0 and d.rate < 1),
        ("shouting", lambda d: d.gain_db > 3 and d.rate > 1 and d.pitch > 0),
        ("YELLING", lambda d: d.gain_db > 3 and d.rate > 1 and d.pitch > 0),
        ("angry", lambda d: d.gain_db > 0 and d.rate > 1 and d.pitch > 0),
        ("sad", lambda d: d.rate < 1 and d.pitch < 0),
        ("tearful", lambda d: d.rate < 1 and d.pitch < 0),
        ("excited", lambda d: d.rate > 1 and d.pitch > 0),
        ("beat", lambda d: d.pause == 1.0 and d.rate == 1),
        ("(pause)", lambda d: d.pause == 1.0),
        ("a beat", lambda d: d.pause == 1.0),
        ("long pause", lambda d: d.pause == 2.0),
        ("beat, then quietly", lambda d: d.pause == 1.0 and d.gain_db < 0),
    ],
)
def test_parentheticals_change_delivery(text, check):
    d = Delivery.from_parenthetical(text)
    assert check(d), d
    assert not d.neutral


@pytest.mark.parametrize("text", [None, "", "defiant", "grinning", "into the radio", "upbeat", "to Mara"])
def test_unknown_parentheticals_are_neutral(text):
    d = Delivery.from_parenthetical(text)
    assert d.to_dict() == Delivery().to_dict()
    assert d.neutral


def test_characters_without_settings_get_distinct_deterministic_voices():
    sp = screenplay(
        """
        - {id: ana, name: Ana}
        - {id: ben, name: Ben}
        - {id: cy, name: Cy}
        - {id: dee, name: Dee, voice: {engine: espeak-ng}}
        - {id: eve, name: Eve, voice: {engine: espeak-ng}}
        """,
        "- {speaker: ana, line: Hello.}",
    )
    a, b = resolve_voices(sp), resolve_voices(sp)
    assert a == b  # deterministic
    piper = [(v.voice, v.pitch, v.rate) for k, v in a.items() if k in {"ana", "ben", "cy"}]
    assert len(set(piper)) == 3 and all(v[0] == PIPER_VOICE for v in piper)
    assert a["dee"].voice != a["eve"].voice
    assert a["dee"].engine == "espeak-ng"
    assert len({v.seed for v in a.values()}) == 5  # seeds come from the film seed and the id


def test_explicit_settings_win_over_personas():
    sp = screenplay(
        """
        - {id: ana, name: Ana, voice: {engine: piper, pitch: 0, seed: 3}}
        - {id: ben, name: Ben, voice: {engine: piper, rate: 1.2}}
        """,
        "- {speaker: ana, line: Hello.}",
    )
    v = resolve_voices(sp)
    assert v["ana"].pitch == 0 and v["ana"].seed == 3
    assert v["ben"].rate == 1.2


def test_unknown_piper_voice_names_the_character_and_lists_voices():
    sp = screenplay(
        """
        - {id: ana, name: Ana}
        - id: ben
          name: Ben Marsh
          voice: {engine: piper, voice: en_GB-nobody-low}
        """,
        "- {speaker: ben, line: Hello.}",
    )
    problems = check_voices(sp)
    assert len(problems) == 1
    p = problems[0]
    assert "ben" in p.message and "Ben Marsh" in p.message and "en_GB-nobody-low" in p.message
    assert PIPER_VOICE in p.hint
    assert p.file == "film.yaml" and p.line == 7  # the `voice:` line of ben
    assert p.field == "characters[1].voice.voice"


@needs_espeak
def test_unknown_espeak_voice_and_variant_are_problems():
    sp = screenplay(
        """
        - {id: ana, name: Ana, voice: {engine: espeak-ng, voice: en-us+m3}}
        - {id: ben, name: Ben, voice: {engine: espeak-ng, voice: en-us+nobody}}
        - {id: cy, name: Cy, voice: {engine: espeak-ng, voice: klingon}}
        - {id: dee, name: Dee, voice: {engine: espeak-ng, voice: en-gb+f2}}
        """,
        "- {speaker: ana, line: Hello.}",
    )
    problems = check_voices(sp)
    assert [p.field for p in problems] == ["characters[1].voice.voice", "characters[2].voice.voice"]
    assert "'ben'" in problems[0].message and "en-us+nobody" in problems[0].message
    assert "'cy'" in problems[1].message
    for p in problems:
        assert "en-us+m3" in p.hint and "en-gb" in p.hint  # lists voices
        assert p.line > 0


def test_transformers_voices_are_registry_models(tmp_path, monkeypatch):
    import huggingface_hub.constants

    from studio.audio.tts import Delivery, VoiceSettings

    monkeypatch.setenv("STUDIO_MODELS", str(tmp_path / "models.yaml"))  # no user file
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delitem(tts._ENGINES, "transformers", raising=False)
    try:
        engine = get_engine("transformers")
        assert engine.voices() == ["mms-tts-eng"] and engine.default_voice == "mms-tts-eng"
        with pytest.raises(StudioError, match="not on this machine"):
            engine.synthesize("Hi.", VoiceSettings("transformers", "default"), Delivery())
        sp = screenplay("- {id: ana, name: Ana, voice: {engine: transformers, voice: nobody}}",
                        "- {speaker: ana, line: Hi.}")
        problems = check_voices(sp)
        assert len(problems) == 1 and problems[0].field == "characters[0].voice.voice"
        assert "unknown transformers voice 'nobody'" in problems[0].message
        assert "mms-tts-eng" in problems[0].hint and "registry" in problems[0].hint
    finally:
        tts._ENGINES.pop("transformers", None)

def test_missing_espeak_raises_with_install_hint(monkeypatch):
    import studio.audio.tts_espeak as tts_espeak

    monkeypatch.setattr(tts_espeak.shutil, "which", lambda name: None)
    monkeypatch.delitem(tts._ENGINES, "espeak-ng", raising=False)
    with pytest.raises(MissingToolError, match="apt-get install espeak-ng"):
        get_engine("espeak-ng")
    sp = screenplay("- {id: hale, name: Hale, voice: {engine: espeak-ng}}", "- {speaker: hale, line: Hi.}")
    with pytest.raises(MissingToolError) as info:
        check_voices(sp)
    assert "hale" in str(info.value) and "apt-get install espeak-ng" in str(info.value)
    assert "espeak-ng" not in tts._ENGINES  # a failure is not cached


def test_unknown_engine_name():
    with pytest.raises(StudioError, match="unknown speech engine"):
        get_engine("festival")
