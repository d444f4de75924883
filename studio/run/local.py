"""The local executor: render a whole film on this machine, then assemble it.

Orchestration only: every step is a call into its stage (plan → conditioning →
backend → encode → store → assemble). Shots whose cache key is already in the store
are not rendered again; a continuous shot is conditioned on the stored last frames
of the shot it continues.
"""

from __future__ import annotations

import collections
import json
import platform
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from studio import __version__
from studio.assemble.cut import Chapter, assemble_cut, film_metadata
from studio.assemble.encode import ClipWriter, VideoSettings
from studio.assemble.ffmpeg import ffmpeg_version
from studio.assemble.storyboard import StoryboardFrame, write_storyboard
from studio.assemble.subtitles import write_subtitles
from studio.assemble.timeline import TimelineShot, build_timeline, write_timeline
from studio.atomic import write_text
from studio.audio.film import make_film_sound
from studio.audio.speech import LineAudio, speech_seconds, synthesize_lines
from studio.cache.store import Clip, ShotStore, shot_key
from studio.consistency.identity import build_identities
from studio.errors import RenderError
from studio.graph.scene_graph import SceneGraph
from studio.render.backend import Backend, Conditioning, Identity, load_backend
from studio.render.plan import ShotPlan, plan_film
from studio.screenplay.model import Screenplay

THUMB_WIDTH = 480


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
class RenderResult:
    report: dict[str, Any]
    film: Path
    clips: list[Clip] = field(default_factory=list)
    plans: list[ShotPlan] = field(default_factory=list)


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest child (ffmpeg), in MB."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / (1024 * 1024)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return round(own, 1), round(children, 1)


def _identities_for(plan: ShotPlan, identities: dict[str, Identity]) -> dict[str, Identity]:
    wanted = {m.id for m in plan.present} | set(plan.subjects) | {line.speaker for line in plan.lines}
    return {cid: identities[cid] for cid in sorted(wanted) if cid in identities}


def render_shot(backend: Backend, plan: ShotPlan, cond: Conditioning, store: ShotStore, key: str,
                video: VideoSettings, progress: Progress, tail_frames: int = 1) -> Clip:
    """Render one shot into the store: frames stream from the backend into ffmpeg."""
    started = time.perf_counter()
    tails: collections.deque[np.ndarray] = collections.deque(maxlen=tail_frames)
    thumb: np.ndarray | None = None
    middle = plan.frames // 2
    count = 0
    frames: Iterator[np.ndarray] = iter(backend.render(plan, cond))
    with ClipWriter(store.clip_path(key), video) as writer:
        for frame in frames:
            writer.write(frame)
            if count == middle:
                thumb = _thumbnail(frame)
            if count >= plan.frames - tail_frames:
                tails.append(np.array(frame, copy=True))
            count += 1
            if count % 12 == 0:
                progress.frames_done(12)
            if count > plan.frames:
                break
        if count != plan.frames:
            raise RenderError(
                f"the {backend.name} backend gave {count} frames for shot {plan.shot_id}, not {plan.frames}",
                hint="this is a backend bug: report it",
            )
    progress.frames_done(count % 12)
    assert thumb is not None
    return store.put(key, plan.shot_id, frames=plan.frames, fps=plan.fps, width=plan.width, height=plan.height,
                     tails=list(tails), thumb=thumb, render_seconds=time.perf_counter() - started)


def _thumbnail(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    if w <= THUMB_WIDTH:
        return np.array(frame, copy=True)
    size = (THUMB_WIDTH, max(1, round(h * THUMB_WIDTH / w)))
    return np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR))


def render_film(
    screenplay: Screenplay,
    output_dir: Path,
    *,
    cache_dir: Path,
    name: str,
    backend_name: str | None = None,
    backend_options: dict[str, Any] | None = None,
    video: VideoSettings | None = None,
    progress: Progress | None = None,
    audio: bool = True,
) -> RenderResult:
    """Voice every line, render every shot (or take it from the cache), score and mix
    the sound, then assemble the film and its side outputs into ``output_dir`` as
    ``<name>.mp4`` and friends. ``audio=False`` gives a silent track (pictures only);
    the mix's loudness target is the screenplay's ``film.sound.loudness``."""
    started = time.perf_counter()
    progress = progress or QuietProgress()
    backend_name = backend_name or screenplay.film.render.backend
    options = dict(screenplay.film.render.options)
    options.update(backend_options or {})
    backend = load_backend(backend_name, options)
    width, height = screenplay.size
    video = video or VideoSettings(width, height, screenplay.film.fps)
    store = ShotStore(cache_dir)

    # 1. voices first: audio is the timing master, shots grow to fit their lines
    lines: dict[str, LineAudio] = {}
    if audio:
        progress.stage("voicing the dialogue")
        lines = synthesize_lines(screenplay, cache_dir)

    # 2. plan the film
    graph = SceneGraph.from_screenplay(screenplay, speech_seconds(lines))
    plans = plan_film(graph)
    identities = build_identities(screenplay)
    progress.film_started(len(plans), sum(p.frames for p in plans))

    # 3. render every shot, chain by chain, in story order
    clips: list[Clip] = []
    rendered: list[str] = []
    frames_rendered = 0
    previous: Clip | None = None
    for plan in plans:
        cond = Conditioning(identities=_identities_for(plan, identities))
        if plan.continuity == "continuous" and previous is not None:
            cond.previous_frames = store.tail_frames(previous)
            cond.previous_clip = previous.sha256
        key = shot_key(plan.key_data(), cond.key_data(), backend.describe(), video.describe())
        clip = store.get(key)
        progress.shot_started(plan, clip is not None)
        if clip is None:
            clip = render_shot(backend, plan, cond, store, key, video, progress,
                               tail_frames=getattr(backend, "tail_frames", 1))
            rendered.append(plan.shot_id)
            frames_rendered += plan.frames
        progress.shot_finished(plan, plan.shot_id in rendered)
        clips.append(clip)
        previous = clip

    # 4. score, ambience and the mix
    output_dir.mkdir(parents=True, exist_ok=True)
    stem = output_dir / name
    film_frames = sum(p.frames for p in plans)
    film_seconds = film_frames / screenplay.film.fps
    sound = None
    if audio:
        progress.stage("scoring and mixing")
        sound = make_film_sound(
            screenplay,
            scene_seconds=_scene_seconds(plans),
            line_starts={line.id: p.start_frame / p.fps + line.start for p in plans for line in p.lines},
            lines=lines, film_seconds=film_seconds, cache_dir=cache_dir, out_dir=output_dir, name=name,
            target_lufs=screenplay.film.sound.loudness,
        )

    # 5. assemble the cut and its side outputs
    progress.stage("assembling the cut")
    chapters = _chapters(plans)
    film = assemble_cut(
        [c.path for c in clips], store.root, sound.mix.mix if sound else None, stem.with_suffix(".mp4"),
        seconds=film_seconds, metadata=film_metadata(screenplay.film.title, backend.name), chapters=chapters,
    )
    progress.stage("writing subtitles, timeline and storyboard")
    srt, vtt = write_subtitles(plans, stem)
    timeline = write_timeline(
        build_timeline(screenplay.film.title, screenplay.film.fps,
                       [TimelineShot(p, c.path) for p, c in zip(plans, clips)], film_frames=film_frames,
                       audio={"mix": sound.mix.mix, **sound.mix.stems} if sound else None),
        stem,
    )
    boards = write_storyboard(
        [StoryboardFrame(p.shot_id, p.scene_heading, p.size, p.move, p.continuity == "continuous",
                         _caption(p), c.thumb) for p, c in zip(plans, clips)],
        screenplay.film.title, output_dir / "storyboard.png", aspect=width / height,
    )
    wall = time.perf_counter() - started
    own, children = peak_rss_mb()
    report: dict[str, Any] = {
        "title": screenplay.film.title,
        "screenplay": str(screenplay.source.file if screenplay.source else ""),
        "backend": backend.describe(),
        "video": video.describe(),
        "shots_total": len(plans),
        "shots_rendered": len(rendered),
        "shots_cached": len(plans) - len(rendered),
        "rendered": rendered,
        "film_frames": film_frames,
        "film_seconds": round(film_seconds, 3),
        "wall_seconds": round(wall, 3),
        "realtime_factor": round(wall / film_seconds, 4) if film_seconds else None,
        "frames_rendered": frames_rendered,
        "frames_per_second": round(frames_rendered / wall, 2) if wall else 0.0,
        "peak_rss_mb": max(own, children),
        "peak_rss_mb_studio": own,
        "peak_rss_mb_ffmpeg": children,
        "chapters": [{"title": c.title, "start": c.start, "end": c.end} for c in chapters],
        "lines_total": len(lines),
        "lines_synthesized": sorted(lid for lid, a in lines.items() if a.synthesized),
        "audio": sound.report() if sound else None,
        "outputs": {
            "film": str(film), "srt": str(srt), "vtt": str(vtt),
            **{k: str(v) for k, v in timeline.items()},
            "storyboard": [str(b) for b in boards],
            "report": str(output_dir / "render-report.json"),
        },
        "versions": {"studio": __version__, "python": platform.python_version(), "ffmpeg": ffmpeg_version()},
    }
    write_text(output_dir / "render-report.json", json.dumps(report, indent=2) + "\n")
    return RenderResult(report=report, film=film, clips=clips, plans=plans)


def _scene_seconds(plans: list[ShotPlan]) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for plan in plans:
        seconds[plan.scene_id] = seconds.get(plan.scene_id, 0.0) + plan.frames / plan.fps
    return seconds


def _chapters(plans: list[ShotPlan]) -> list[Chapter]:
    """One chapter per scene, titled with its heading."""
    chapters: list[Chapter] = []
    scene = None
    for plan in plans:
        start = plan.start_frame / plan.fps
        end = (plan.start_frame + plan.frames) / plan.fps
        if plan.scene_id == scene:
            chapters[-1] = Chapter(chapters[-1].title, chapters[-1].start, end)
        else:
            chapters.append(Chapter(plan.scene_heading, start, end))
        scene = plan.scene_id
    return chapters


def _caption(plan: ShotPlan) -> str:
    if plan.lines:
        return f"{plan.lines[0].speaker_name.upper()}: {plan.lines[0].text}"
    if plan.focus:
        return f"Insert: {plan.focus}"
    return plan.action or plan.description
