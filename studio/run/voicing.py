"""``studio render -j N``: the dialogue voiced side by side.

Voices come first (audio is the timing master: shots last as long as their lines), so
they cannot overlap the shots; what ``-j`` buys here is the lines spoken at once.
:func:`voice_film` is :func:`studio.audio.speech.synthesize_lines` with the lines missing
from the cache split by engine, spoken at the same time:

- a single-threaded engine's lines (:data:`ONE_CORE_ENGINES`: espeak-ng, and piper,
  whose session runs on one thread: :mod:`studio.audio.piper_noise`) on a pool of up to
  N worker processes (``spawn``, as the shot workers), longest text first;
- the lines of the built-in engines that use every core already (transformers) one
  after another in one voice process of their own, as the studio process speaks them at
  ``-j 1``. Not in the studio process itself: a model kept there would stay for the rest
  of the render, beside the shot workers and the sound made while they render; the
  voice process gives it back when it ends (at ``-j 1``, :func:`release_engines` does).

Lines of engines registered in this process only (a test's, a configured GPU engine)
are spoken here, afterwards. Every line is spoken with the same engine and the same
:func:`~studio.audio.speech.speak_line` into the same content-addressed WAV (written
atomically), so the film is byte-identical to ``-j 1``. A worker killed mid-line leaves
no WAV; the line is spoken again on the next run. A single one-core line starts no pool:
it joins the whole-core process.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from studio.audio.speech import DialogueLine, LineAudio, speak_line, synthesize_lines
from studio.audio.tts import get_engine, is_builtin, release_engines
from studio.run.children import die_with_parent, give_back_heap

#: built-in engines whose lines are worth a worker of their own (one core each); the other
#: built-in one uses every core already (transformers): one process speaks its lines
ONE_CORE_ENGINES = frozenset({"espeak-ng", "piper"})


def pooled(engine: str) -> bool:
    """Whether lines of ``engine`` are spoken in the pool of one-core workers."""
    return engine in ONE_CORE_ENGINES and is_builtin(engine)


def voice_film(screenplay: Any, cache_dir: Path, *, jobs: int = 1) -> tuple[dict[str, LineAudio], int]:
    """Every line of the film spoken (cached lines reused), the missing ones of the
    one-core engines on up to ``jobs`` worker processes while one more process speaks
    the whole-core engines' lines; the lines and how many voice processes spoke."""
    used = [0]

    def speak_missing(missing: list[tuple[DialogueLine, Path]]) -> None:
        one_core = sorted(((line, path) for line, path in missing if pooled(line.voice.engine)),
                          key=lambda item: -len(item[0].text))
        whole_core = [(line, path) for line, path in missing
                      if is_builtin(line.voice.engine) and not pooled(line.voice.engine)]
        if len(one_core) < 2:  # not worth a pool
            whole_core, one_core = whole_core + one_core, []
        if not one_core and not whole_core:
            return  # spoken in this process by synthesize_lines
        context = multiprocessing.get_context("spawn")
        with ExitStack() as stack:
            pools: list[ProcessPoolExecutor] = []
            spoken: list[Future[float]] = []
            for items, size in ((whole_core, 1), (one_core, min(jobs, len(one_core)))):
                if not items:
                    continue
                pool = ProcessPoolExecutor(size, mp_context=context, initializer=_start_worker,
                                           initargs=(os.getpid(),))
                stack.enter_context(pool)
                pools.append(pool)
                spoken += [pool.submit(_speak, item) for item in items]
                used[0] += size
            try:
                for future in spoken:  # each waited for: a worker's error ends the render here
                    future.result()
            except BaseException:
                for pool in pools:
                    pool.shutdown(wait=False, cancel_futures=True)
                raise

    lines = synthesize_lines(screenplay, cache_dir, speak_missing=speak_missing if jobs > 1 else None)
    release_engines()  # piper's session (~300 MB) is not kept through the shots
    return lines, used[0]


def _start_worker(parent: int) -> None:
    die_with_parent(parent)


def _speak(item: tuple[DialogueLine, Path]) -> float:
    line, path = item
    try:
        return speak_line(get_engine(line.voice.engine), line, path)
    finally:
        give_back_heap()  # the line's decoder buffers: not kept while the next line (or the other worker) speaks
