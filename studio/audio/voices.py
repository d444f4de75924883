"""Voices: how a character's voice is resolved and checked, and how a parenthetical
changes the delivery of a line (the engines and the types they share are in
:mod:`studio.audio.tts`).

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
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from studio.audio.tts import ESPEAK_DEFAULT_VOICES, PIPER_VOICE, VoiceSettings, get_engine
from studio.errors import MissingToolError, Problem, StudioError

# -- who sounds like what -----------------------------------------------------------

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
