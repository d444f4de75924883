"""Where a film stands, without rendering anything: for each shot, the cache key the
screenplay as it is now gives it, and whether the cache holds that clip.

It walks the same path as a render (:mod:`studio.run.local`): the scene graph, the
takes the lockfile selects, and each key from :func:`~studio.run.local.shot_conditioning`.
What would take work to know is not worked out:

1. voices come from the cache only: a line not spoken yet makes its shot stale (the
   shot is planned with the reading-speed estimate of the line's length);
2. a continuous shot whose predecessor is stale is stale: its key includes the clip it
   continues, which does not exist yet.

``studio status FILE`` prints it; the web studio shows it live as the file changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from studio.assemble.encode import VideoSettings
from studio.audio.speech import LineAudio, cache_path, dialogue_lines, speech_key, wav_seconds
from studio.audio.tts import get_engine
from studio.audio.voices import check_voices
from studio.cache.lockfile import Lockfile
from studio.cache.store import Clip, ShotStore
from studio.consistency.cast import cast_film
from studio.errors import ScreenplayError
from studio.graph.scene_graph import SceneGraph
from studio.render.plan import ShotPlan, plan_film
from studio.run.identity import QASettings
from studio.run.local import FilmJob, QuietProgress, _choose_takes, film_settings, shot_conditioning
from studio.screenplay.model import Screenplay


@dataclass(frozen=True)
class ShotStatus:
    """One shot as the screenplay now plans it.

    ``key`` is None when it cannot be known without rendering (the shot continues a
    stale one). ``clip`` is the cached clip for ``key``; ``reason`` says why the shot is
    stale ("" when it is not). ``used_key``/``used_clip``: what the lockfile says the
    film last used for this shot (the picture to show while the shot is stale)."""

    plan: ShotPlan
    key: str | None
    take: int
    clip: Clip | None
    reason: str
    used_key: str | None = None
    used_clip: Clip | None = None
    qa_score: float | None = None
    qa_flagged: bool = False

    @property
    def shot_id(self) -> str:
        return self.plan.shot_id

    @property
    def stale(self) -> bool:
        return self.clip is None

    @property
    def thumb_clip(self) -> Clip | None:
        """The clip whose frame stands for the shot: its own, else the one last used."""
        return self.clip or self.used_clip

    def to_dict(self) -> dict[str, Any]:
        return {"shot": self.shot_id, "scene": self.plan.scene_id, "take": self.take, "key": self.key,
                "stale": self.stale, "reason": self.reason, "used_key": self.used_key,
                "frames": self.plan.frames, "fps": self.plan.fps, "seconds": round(self.plan.duration, 3),
                "qa_score": self.qa_score, "qa_flagged": self.qa_flagged}


@dataclass
class FilmStatus:
    title: str
    film_id: str
    shots: list[ShotStatus]
    graph: SceneGraph
    missing_lines: list[str]  # dialogue lines with no voice in the cache yet (when voiced)

    @property
    def stale(self) -> list[str]:
        return [s.shot_id for s in self.shots if s.stale]

    def shot(self, shot_id: str) -> ShotStatus:
        return next(s for s in self.shots if s.shot_id == shot_id)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "shots": [s.to_dict() for s in self.shots], "stale": self.stale,
                "missing_lines": self.missing_lines}


def cached_speech(screenplay: Screenplay, cache_dir: Path) -> tuple[dict[str, float], list[str]]:
    """``({line id: seconds}, [line ids not in the cache])``: the voices a render would
    use, looked up by the same key :func:`~studio.audio.speech.synthesize_lines` gives
    them, without speaking any. Unknown voices are a :class:`ScreenplayError`, as in a
    render."""
    lines, missing = cached_lines(screenplay, cache_dir)
    return {line_id: audio.seconds for line_id, audio in lines.items()}, missing


def cached_lines(screenplay: Screenplay, cache_dir: Path) -> tuple[dict[str, LineAudio], list[str]]:
    """:func:`cached_speech` with each cached line's :class:`~studio.audio.speech.LineAudio`
    (a backend that ``wants_speech`` has the lines' audio in its shots' keys)."""
    problems = [p for p in check_voices(screenplay) if p.severity == "error"]
    if problems:
        raise ScreenplayError(problems, screenplay.source.file if screenplay.source else None)
    lines: dict[str, LineAudio] = {}
    missing: list[str] = []
    versions: dict[str, str] = {}
    for line in dialogue_lines(screenplay):
        name = line.voice.engine
        if name not in versions:
            versions[name] = get_engine(name).version
        key = speech_key(name, versions[name], line.voice, line.delivery, line.text)
        path = cache_path(cache_dir, key)
        length = wav_seconds(path) if path.is_file() else None
        if length is None:
            missing.append(line.line_id)
        else:
            lines[line.line_id] = LineAudio(line.line_id, line.speaker, path, round(float(length), 6), key, False)
    return lines, missing


def film_status(screenplay: Screenplay, *, cache_dir: Path, name: str, backend_name: str | None = None,
                backend_options: Mapping[str, Any] | None = None, video: VideoSettings | None = None,
                audio: bool = True, lockfile: Path | None = None) -> FilmStatus:
    """Each shot's key and whether the cache holds it, for the render that
    :func:`~studio.run.local.render_film` would do with the same arguments. Reads the
    cache and the lockfile; renders, speaks and writes nothing."""
    store = ShotStore(cache_dir)
    try:
        return _film_status(screenplay, store, cache_dir=cache_dir, name=name, backend_name=backend_name,
                            backend_options=backend_options, video=video, audio=audio, lockfile=lockfile)
    finally:
        store.manifest.close()


def _film_status(screenplay: Screenplay, store: ShotStore, *, cache_dir: Path, name: str, backend_name: str | None,
                 backend_options: Mapping[str, Any] | None, video: VideoSettings | None, audio: bool,
                 lockfile: Path | None) -> FilmStatus:
    # 1. the backend, video settings and takes, chosen as prepare_film chooses them
    backend, video, film_id, lock = film_settings(screenplay, name, backend_name, backend_options, video, lockfile)

    # 2. voices from the cache only, then the plans they time
    spoken, missing = cached_lines(screenplay, cache_dir) if audio else ({}, [])
    speech = {line_id: line.seconds for line_id, line in spoken.items()}
    graph = SceneGraph.from_screenplay(screenplay, speech)
    takes = _choose_takes(graph, lock, store, film_id, (), None, screenplay.film.seed)
    plans = plan_film(graph, seeds={sid: seed for sid, (_take, seed) in takes.items()})
    cast = cast_film(screenplay, cache_dir=cache_dir, film_id=film_id)
    job = FilmJob(screenplay=screenplay, output_dir=Path("."), name=name, cache_dir=cache_dir, store=store,
                  backend=backend, video=video, film_id=film_id, lock=lock, lines=spoken, graph=graph, plans=plans,
                  takes=takes, cast=cast, progress=QuietProgress(), audio=audio, verify=False, qa=QASettings())
    if lock is not None and lock.keyframes:  # keyframe-first: each cut's key holds its selected keyframe
        from studio.run.keyframes import selected_keyframes

        job.keyframes = selected_keyframes(job, draw_missing=False)

    # 3. each shot's key, in story order (a continuous shot's key needs the clip before it)
    missing_set = set(missing)
    shots: list[ShotStatus] = []
    previous: Clip | None = None
    for index, plan in enumerate(plans):
        if plan.continues is not None and index and plan.continues.seed != plans[index - 1].seed:
            plan = replace(plan, continues=replace(plan.continues, seed=plans[index - 1].seed))
        unspoken = [line.id for line in plan.lines if line.id in missing_set]
        key: str | None = None
        clip: Clip | None = None
        if plan.continuity == "continuous" and index and previous is None:
            reason = f"continues {plans[index - 1].shot_id}, which is stale"
        else:
            _cond, key = shot_conditioning(job, plan, previous)
            clip = None if unspoken else store.get(key)
            if unspoken:
                reason = f"line{'s' if len(unspoken) > 1 else ''} {', '.join(unspoken)} not spoken yet"
            else:
                reason = "" if clip is not None else _why(lock, plan.shot_id, key)
        locked = lock.shots.get(plan.shot_id) if lock else None
        used_key = locked.key if locked else None
        used_clip = clip if used_key == key else (store.get(used_key) if used_key else None)
        record = store.manifest.render(key) if clip is not None and key else None
        shots.append(ShotStatus(plan, key, takes[plan.shot_id][0], clip, reason, used_key, used_clip,
                                record.qa_score if record else None, bool(record.qa_flagged) if record else False))
        previous = clip
    return FilmStatus(screenplay.film.title, film_id, shots, graph, missing)


def _why(lock: Lockfile | None, shot_id: str, key: str) -> str:
    locked = lock.shots.get(shot_id) if lock is not None else None
    if locked is None:
        return "not rendered yet"
    if locked.key == key:
        return "its clip is no longer in the cache"
    return "changed since it was rendered"
