"""``studio render -j N``: the dialogue voiced side by side.

Voices come first (audio is the timing master: shots last as long as their lines), so
they cannot overlap the shots; what ``-j`` buys here is the lines spoken at once.
:func:`voice_film` is :func:`studio.audio.speech.synthesize_lines` with the lines missing
from the cache split by engine:

- a single-threaded engine's lines (:data:`ONE_CORE_ENGINES`: espeak-ng) go to a
  process pool (``spawn``, as the shot workers), longest text first;
- meanwhile the studio process speaks the lines of the engines that already use every
  core (piper: onnxruntime's session runs on all of them, and a one-thread session gives
  other samples, for 2 lines in 16 of a generated feature) and of engines registered in
  this process only (a test's, a configured GPU engine).

Every line is spoken with the same engine and the same
:func:`~studio.audio.speech.speak_line` into the same content-addressed WAV (written
atomically), so the film is byte-identical to ``-j 1``. A worker killed mid-line leaves
no WAV; the line is spoken again on the next run. Fewer than two pooled lines start no
pool: they are spoken here.
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

#: built-in engines whose lines are worth a worker of their own (one core each); the others
#: use every core already (piper, transformers) and are spoken in the studio process
ONE_CORE_ENGINES = frozenset({"espeak-ng"})


def pooled(engine: str) -> bool:
    """Whether lines of ``engine`` are spoken in the worker pool."""
    return engine in ONE_CORE_ENGINES and is_builtin(engine)


def voice_film(screenplay: Any, cache_dir: Path, *, jobs: int = 1) -> tuple[dict[str, LineAudio], int]:
    """Every line of the film spoken (cached lines reused), the missing ones of the
    one-core engines on up to ``jobs`` worker processes while this process speaks the
    others; the lines and how many workers spoke."""
    used = [0]

    def speak_missing(missing: list[tuple[DialogueLine, Path]]) -> None:
        away = sorted(((line, path) for line, path in missing if pooled(line.voice.engine)),
                      key=lambda item: -len(item[0].text))
        if jobs < 2 or len(away) < 2:
            return  # spoken in this process by synthesize_lines
        here = [(line, path) for line, path in missing if not pooled(line.voice.engine)]
        workers = min(jobs, len(away))
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                 initargs=(os.getpid(),)) as pool:
            spoken = [pool.submit(_speak, item) for item in away]
            try:
                for line, path in here:  # while the workers speak theirs
                    speak_line(get_engine(line.voice.engine), line, path)
                for future in spoken:  # each waited for: a worker's error ends the render here
                    future.result()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        used[0] = workers

    lines = synthesize_lines(screenplay, cache_dir, speak_missing=speak_missing if jobs > 1 else None)
    return lines, used[0]


def _start_worker(parent: int) -> None:
    die_with_parent(parent)


def _speak(item: tuple[DialogueLine, Path]) -> float:
    line, path = item
    return speak_line(get_engine(line.voice.engine), line, path)
