"""What the executor hands between its steps: the film made ready to render
(:class:`FilmJob`), a shot as the film uses it (:class:`ShotOutcome`), and the
progress protocol. Plain data, so the stages the executor runs (the shot loop,
:mod:`studio.run.keyframes`) read it without importing the executor."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from studio.assemble.encode import VideoSettings
from studio.audio.speech import LineAudio
from studio.cache.lockfile import Lockfile
from studio.cache.store import Clip, ShotStore
from studio.graph.scene_graph import SceneGraph
from studio.render.backend import Backend
from studio.render.plan import ShotPlan
from studio.run.identity import QASettings
from studio.screenplay.model import Screenplay


class Progress(Protocol):
    """What the executor reports while it works (the CLI draws bars from it)."""

    def film_started(self, shots: int, frames: int) -> None: ...
    def shot_started(self, plan: ShotPlan, cached: bool) -> None: ...
    def frames_done(self, count: int) -> None: ...
    def shot_finished(self, plan: ShotPlan, cached: bool) -> None: ...
    def stage(self, name: str) -> None: ...


class QuietProgress:
    def film_started(self, shots: int, frames: int) -> None: ...
    def shot_started(self, plan: ShotPlan, cached: bool) -> None: ...
    def frames_done(self, count: int) -> None: ...
    def shot_finished(self, plan: ShotPlan, cached: bool) -> None: ...
    def stage(self, name: str) -> None: ...


@dataclass
class FilmJob:
    """A film made ready to render: voices spoken, shots planned with their takes,
    characters cast, the backend loaded. Everything the shot loop and the finish need."""

    screenplay: Screenplay
    output_dir: Path
    name: str
    cache_dir: Path
    store: ShotStore
    backend: Backend
    video: VideoSettings
    film_id: str
    lock: Lockfile | None
    lines: dict[str, LineAudio]
    graph: SceneGraph
    plans: list[ShotPlan]
    takes: dict[str, tuple[int, int]]
    cast: Any  # studio.consistency.cast.Cast
    progress: Progress
    audio: bool
    verify: bool
    qa: QASettings
    started: float = field(default_factory=time.perf_counter)
    # keyframe-first (studio.run.keyframes): each shot's selected keyframe, which its video starts from
    keyframes: dict[str, np.ndarray] = field(default_factory=dict)
    approved_only: bool = False  # video only for approved shots; the others hold their keyframe
    timings: dict[str, float] = field(default_factory=dict)  # seconds each stage took (the report's "stages")
    # CPU seconds of each stage: this process's and its children's once waited for (ffmpeg, fluidsynth,
    # espeak-ng, voice workers); the shots' only when drawn here (-j 1: with workers, the sound made beside
    # them shares this process). What the estimate learns how many cores a stage keeps busy from.
    cpu: dict[str, float] = field(default_factory=dict)
    voice_workers: int = 0  # worker processes that spoke lines (0: none, all in this process or cached)
    executor: dict[str, Any] | None = None  # how the shots ran, when not in this process (the report's "executor")
    sound_ahead: Any = None  # studio.run.sound_ahead.SoundAhead: the sound being made while the shots render (-j)
    sound_overlapped: bool = False  # the film's sound was made while its shots rendered
    silence_ahead: Any = None  # threading.Thread: a film without sound's silent track, encoded while the shots render


@dataclass
class ShotOutcome:
    """A shot as the film uses it: its plan (a QA re-take may have replaced the seed),
    clip, key and take, and what producing it cost."""

    plan: ShotPlan
    clip: Clip
    key: str
    take: int
    rendered: bool
    frames_rendered: int
    check: dict[str, Any] | None = None
    held: bool = False  # its keyframe held for its length: no video generated (--approved-only)
