"""Dialogue to audio: every line of the film spoken, cached by content.

Audio is the timing master: :func:`synthesize_lines` speaks each dialogue line with
its character's voice and its parenthetical's delivery, and :func:`speech_seconds`
turns the result into the ``speech`` mapping that
:func:`studio.graph.coverage.plan_shots` uses to size shots to the real speech.

Each line is a mono 16-bit PCM WAV at 48,000 Hz, stored under
``<cache_dir>/speech/<key[:2]>/<key>.wav`` where ``key`` is the SHA-256 of the
canonical JSON of everything that changes the sound: engine name and version (engine
and voice model), resolved voice settings, delivery, text and this module's
processing version. Files are written atomically; a line whose key already has a file
is not spoken again, so editing one line re-speaks only that line.
"""

from __future__ import annotations

import hashlib
import json
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.atomic import atomic_output
from studio.audio import dsp
from studio.audio.phonemes import line_timing, read_timing
from studio.audio.tts import Delivery, Speech, TTSEngine, VoiceSettings, get_engine
from studio.audio.voices import check_voices, resolve_voices
from studio.audio.wav import read_wav
from studio.errors import ScreenplayError

#: bump when the processing after the engine (levels, trims, resampling, the WAV
#: format) changes what a line sounds like: every cached line is then spoken anew
PROCESSING_VERSION = "studio-speech 1 (48 kHz, pcm16, -20 dBFS)"
SAMPLE_RATE = dsp.OUTPUT_RATE


@dataclass(frozen=True)
class DialogueLine:
    """One line to speak: where it is, who says it, how."""

    line_id: str
    scene: str
    beat: int  # 1-based in its scene
    speaker: str
    text: str
    parenthetical: str | None
    voice: VoiceSettings
    delivery: Delivery


@dataclass(frozen=True)
class LineAudio:
    """A spoken line: its WAV (mono, 48 kHz, 16-bit) and length in seconds (including
    the delivery's leading pause). ``synthesized`` is False when it came from the cache."""

    line_id: str
    speaker: str
    path: Path
    seconds: float
    key: str
    synthesized: bool


def dialogue_lines(screenplay: Any) -> list[DialogueLine]:
    """Every dialogue line of the film, in story order, with its voice and delivery."""
    from studio.graph.coverage import line_id
    from studio.screenplay.model import DialogueBeat

    voices = resolve_voices(screenplay)
    out: list[DialogueLine] = []
    for scene in screenplay.scenes:
        for number, beat in enumerate(scene.beats, start=1):
            if isinstance(beat, DialogueBeat):
                out.append(DialogueLine(
                    line_id=line_id(scene, number),
                    scene=scene.id,
                    beat=number,
                    speaker=beat.speaker,
                    text=beat.line,
                    parenthetical=beat.parenthetical,
                    voice=voices[beat.speaker],
                    delivery=Delivery.from_parenthetical(beat.parenthetical),
                ))
    return out


def speech_key(engine: str, version: str, voice: VoiceSettings, delivery: Delivery, text: str) -> str:
    """SHA-256 (hex) of the canonical JSON of everything that changes a line's sound."""
    doc = {
        "engine": engine,
        "engine_version": version,
        "processing": PROCESSING_VERSION,
        "voice": voice.to_dict(),
        "delivery": delivery.to_dict(),
        "text": text,
    }
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cache_path(cache_dir: Path | str, key: str) -> Path:
    return Path(cache_dir) / "speech" / key[:2] / f"{key}.wav"


def write_wav(path: Path | str, speech: Speech) -> Path:
    """Write ``speech`` as mono 16-bit PCM, atomically (temp file, then rename)."""
    x = np.clip(np.asarray(speech.samples, dtype=np.float64), -1.0, 1.0)
    pcm = np.round(x * 32767.0).astype("<i2")
    with atomic_output(path) as tmp:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(speech.sample_rate))
            w.writeframes(pcm.tobytes())
    return Path(path)


def wav_seconds(path: Path) -> float | None:
    """Length of a cached WAV, or None if it is missing or unreadable."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1 or w.getframerate() != SAMPLE_RATE:
                return None
            return w.getnframes() / w.getframerate()
    except (OSError, EOFError, wave.Error):
        return None


def synthesize_lines(
    screenplay: Any,
    cache_dir: Path | str,
    *,
    engines: Mapping[str, TTSEngine] | None = None,
    progress: Callable[[DialogueLine, LineAudio], None] | None = None,
    speak_missing: Callable[[list[tuple[DialogueLine, Path]]], None] | None = None,
) -> dict[str, LineAudio]:
    """Speak every dialogue line of the film (cached lines are reused).

    ``engines`` overrides the registry by engine name (tests, or a configured GPU
    engine). ``speak_missing``, when given, is handed the lines not in the cache (with
    the WAV each belongs at) before any is spoken here, to speak them elsewhere (worker
    processes, :mod:`studio.run.voicing`) with :func:`speak_line`; a line it leaves
    missing is spoken here. Raises :class:`ScreenplayError` for unknown voices and
    :class:`MissingToolError` for an engine that is not installed, before speaking
    anything."""
    engines = dict(engines or {})
    if not engines:  # an override is the caller's responsibility
        problems = [p for p in check_voices(screenplay) if p.severity == "error"]
        if problems:
            raise ScreenplayError(problems, screenplay.source.file if screenplay.source else None)
    result: dict[str, LineAudio] = {}
    versions: dict[str, str] = {}
    found: list[tuple[DialogueLine, TTSEngine, str, Path, float | None]] = []
    for line in dialogue_lines(screenplay):
        name = line.voice.engine
        engine = engines.get(name)
        if engine is None:
            engine = engines[name] = get_engine(name)
        if name not in versions:
            versions[name] = engine.version
        key = speech_key(name, versions[name], line.voice, line.delivery, line.text)
        path = cache_path(cache_dir, key)
        found.append((line, engine, key, path, wav_seconds(path) if path.is_file() else None))
    missing = [(line, path) for line, _engine, _key, path, seconds in found if seconds is None]
    if speak_missing is not None and missing:
        speak_missing(missing)
    for line, engine, key, path, seconds in found:
        made = seconds is None
        if made:
            seconds = wav_seconds(path) if speak_missing is not None and path.is_file() else None
            if seconds is None:
                seconds = speak_line(engine, line, path)
        # a line cached before phoneme timings were kept gets its sidecar now (once)
        line_timing(engine, line.text, line.voice, line.delivery, path)
        audio = LineAudio(line.line_id, line.speaker, path, round(float(seconds), 6), key, made)
        result[line.line_id] = audio
        if progress is not None:
            progress(line, audio)
    return result


def speak_line(engine: TTSEngine, line: DialogueLine, path: Path) -> float:
    """Speak ``line`` with ``engine`` into its cached WAV at ``path`` (48 kHz, written
    atomically), with its phoneme timing beside it (:mod:`studio.audio.phonemes`); its
    length in seconds. The same bytes in any process."""
    timed = getattr(engine, "synthesize_timed", None)  # Piper: its phonemes' times as it spoke them
    if callable(timed):
        speech, own = timed(line.text, line.voice, line.delivery)
    else:
        speech, own = engine.synthesize(line.text, line.voice, line.delivery), None
    if speech.sample_rate != SAMPLE_RATE:
        speech = Speech(dsp.resample(speech.samples, speech.sample_rate, SAMPLE_RATE), SAMPLE_RATE)
    write_wav(path, speech)
    # timed against the WAV as written (read back), so any process makes the same sidecar
    line_timing(engine, line.text, line.voice, line.delivery, path, fresh=True, own=own)
    return len(speech.samples) / SAMPLE_RATE


def speech_seconds(result: Mapping[str, LineAudio]) -> dict[str, float]:
    """``{line_id: seconds}`` for ``plan_shots(screenplay, speech=...)``."""
    return {lid: audio.seconds for lid, audio in result.items()}


def shot_speech(plan: Any, lines: Mapping[str, LineAudio]) -> Any:
    """The shot's dialogue track (:class:`~studio.render.backend.ShotSpeech`): each of
    ``plan.lines`` read from its cached WAV and placed at its start in the shot (sample
    ``round(start * 48000)``, as the film's mix places it), cut at the shot's end, with
    each line's phoneme and word timing (its sidecar) in seconds of the shot; None for a
    shot without spoken lines (or whose lines were not voiced)."""
    from studio.render.backend import ShotSpeech

    length = round(plan.frames / plan.fps * SAMPLE_RATE)
    track = np.zeros(length, dtype=np.float32)
    spans: list[tuple[float, float]] = []
    marks: list[tuple[tuple[float, str], ...] | None] = []
    words: list[tuple[tuple[float, int], ...] | None] = []
    for line in plan.lines:
        audio = lines.get(line.id)
        if audio is None:
            continue
        at = round(line.start * SAMPLE_RATE)
        if at >= length:
            continue
        samples = read_wav(audio.path).samples
        end = min(length, at + len(samples))
        track[at:end] += samples[:end - at]
        a, b = at / SAMPLE_RATE, end / SAMPLE_RATE
        spans.append((a, b))
        timing = read_timing(audio.path)
        marks.append(None if timing is None else tuple((round(a + t, 4), p) for t, p in timing.phonemes if a + t < b))
        words.append(None if timing is None else tuple((round(a + t, 4), o) for t, o in timing.words if a + t < b))
    if not spans:
        return None
    h = hashlib.sha256(track.tobytes())
    if any(m is not None for m in marks):  # the timings change the animatic's mouths: in the digest
        h.update(json.dumps([marks, words], separators=(",", ":")).encode("ascii"))
    return ShotSpeech(track, SAMPLE_RATE, tuple(spans), h.hexdigest(), tuple(marks), tuple(words))
