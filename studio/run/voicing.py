"""``studio render -j N``: the dialogue voiced in N worker processes.

Voices come first (audio is the timing master: shots last as long as their lines), so
they cannot overlap the shots; what ``-j`` buys here is the lines spoken side by side.
:func:`voice_film` is :func:`studio.audio.speech.synthesize_lines` with the lines missing
from the cache handed to a process pool (``spawn``, as the shot workers), longest text
first. Each worker speaks a line with the same engine and the same
:func:`~studio.audio.speech.speak_line` as the studio process, into the same
content-addressed WAV (written atomically), so the film is byte-identical to ``-j 1``.
A worker killed mid-line leaves no WAV; the line is spoken again on the next run.
Workers keep onnxruntime's default threads (piper): one thread per session gave other
samples for 2 lines in 16 of a generated feature, so a film made with -j 2 differed.

Only the built-in engines travel: one registered in this process (a test's, a
configured GPU engine) is spoken here, and so is a film with a single missing line.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from studio.audio.speech import DialogueLine, LineAudio, speak_line, synthesize_lines
from studio.audio.tts import get_engine, is_builtin
from studio.run.children import die_with_parent


def voice_film(screenplay: Any, cache_dir: Path, *, jobs: int = 1) -> tuple[dict[str, LineAudio], int]:
    """Every line of the film spoken (cached lines reused), the missing ones on up to
    ``jobs`` worker processes; the lines and how many workers spoke."""
    used = [0]

    def speak_missing(missing: list[tuple[DialogueLine, Path]]) -> None:
        away = sorted(((line, path) for line, path in missing if is_builtin(line.voice.engine)),
                      key=lambda item: -len(item[0].text))
        if jobs < 2 or len(away) < 2:
            return  # spoken in this process by synthesize_lines
        workers = min(jobs, len(away))
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                 initargs=(os.getpid(),)) as pool:
            # each result is waited for: a worker's error (a missing engine) ends the render here
            for _ in pool.map(_speak, away):
                pass
        used[0] = workers

    lines = synthesize_lines(screenplay, cache_dir, speak_missing=speak_missing if jobs > 1 else None)
    return lines, used[0]


def _start_worker(parent: int) -> None:
    die_with_parent(parent)


def _speak(item: tuple[DialogueLine, Path]) -> float:
    line, path = item
    return speak_line(get_engine(line.voice.engine), line, path)
