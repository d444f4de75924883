"""The local executor: render a whole film on this machine, then assemble it.

Orchestration only: every step is a call into its stage:

1. voices (audio is the timing master), 2. plan, 3. shots (each from the cache when
its key is there, else rendered), 4. sound (score, ambience, mix), 5. the cut and its
side outputs, 6. the lockfile and the report.

Every step is content-addressed, so a run killed at any moment continues where it
stopped, an unchanged film renders and rebuilds nothing, and an edit re-renders
exactly the shots whose inputs changed plus the shots that continue them.
"""

from __future__ import annotations

import collections
import ctypes
import errno
import json
import platform
import re
import resource
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from studio import __version__
from studio.assemble.cut import Chapter
from studio.assemble.encode import ClipWriter, VideoSettings, process_peak_kb
from studio.assemble.ffmpeg import ffmpeg_version
from studio.atomic import write_text
from studio.audio.speech import LineAudio, shot_speech, speech_seconds, synthesize_lines
from studio.cache.lockfile import LockedShot, Lockfile
from studio.cache.store import Clip, DamagedEntry, ShotStore, shot_key
from studio.consistency.cast import cast_film
from studio.errors import RenderError, StudioError
from studio.graph.scene_graph import SceneGraph
from studio.render.backend import Backend, Conditioning, load_backend, picture_digest
from studio.render.plan import ShotPlan, canonical_hash, plan_film, shot_seed
from studio.run.children import cpu_seconds
from studio.run.identity import (
    Checked,
    QASettings,
    check_shot,
    identities_for,
    judged,
    record_cache,
    record_uses,
    wants_retake,
)
from studio.run.job import FilmJob, Progress, QuietProgress, ShotOutcome
from studio.run.keyframes import (
    Hold,
    KeyframeModel,
    ShotKeyframe,
    keyframes_report,
    make_keyframes,
    selected_keyframes,
)
from studio.run.sound_ahead import SoundAhead, can_go_ahead, silence_ahead, sound_timing

if TYPE_CHECKING:
    from studio.audio.film import FilmSound

__all__ = ["FilmJob", "Progress", "QuietProgress", "RenderResult", "ShotOutcome", "prepare_film", "produce_shot",
           "render_film", "finish_film", "shot_conditioning"]
_identities_for = identities_for  # the name tests and older callers use
from studio.screenplay.model import Screenplay
from studio.screenplay.title_page import credit_tags

THUMB_WIDTH = 480
ASSEMBLY_VERSION = 1  # bump when the cut or its side outputs change for the same inputs


@dataclass
class RenderResult:
    report: dict[str, Any]
    film: Path
    clips: list[Clip] = field(default_factory=list)
    plans: list[ShotPlan] = field(default_factory=list)


_ENCODER_PEAK_KB = [0]  # the largest clip encoder seen by this process


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of the largest ffmpeg clip encoder it
    ran, in MB (VmHWM where /proc has it: ``ru_maxrss`` carries a parent's size
    across fork and exec)."""
    own_kb = process_peak_kb()
    if not own_kb:
        scale = 1 if sys.platform != "darwin" else 1 / 1024
        own_kb = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)
    return round(own_kb / 1024, 1), round(_ENCODER_PEAK_KB[0] / 1024, 1)


def _libc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, where the C library is glibc (Linux); else None."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _libc_trim()


def give_back_memory() -> None:
    """Hand the C heap's free pages back to the system once a shot is done. A shot's
    canvases and their pictures are tens of MB each (Pillow's and numpy's memory), and
    once freed they leave the heap in pieces that glibc keeps: a shot worker stayed near
    its largest shot's size for the rest of the film (1280x720: 150-290 MB resident
    between shots where 108 MB is what it holds). Cheap: once a shot."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def take_seed(film_seed: int, shot_id: str, take: int) -> int:
    """Take 1 uses the shot's own seed; take n a seed of its own."""
    return shot_seed(film_seed, shot_id if take == 1 else f"{shot_id}#take{take}")


def render_shot(backend: Backend, plan: ShotPlan, cond: Conditioning, store: ShotStore, key: str,
                video: VideoSettings, progress: Progress, *, film: str, tail_frames: int = 1) -> Clip:
    """Render one shot into the store: frames stream from the backend into ffmpeg; the
    sound a backend made with them (``take_sound``), if any, is stored beside the clip."""
    started = time.perf_counter()
    tails: collections.deque[np.ndarray] = collections.deque(maxlen=tail_frames)
    thumb: np.ndarray | None = None
    middle = plan.frames // 2
    count = 0
    frames: Iterator[np.ndarray] = iter(backend.render(plan, cond))
    _clean_shot_leftovers(store, key)
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
    close = getattr(frames, "close", None)
    if close is not None:
        close()  # the backend lets go of the shot's canvases
    del frames
    give_back_memory()
    _ENCODER_PEAK_KB[0] = max(_ENCODER_PEAK_KB[0], writer.peak_rss_kb)
    assert thumb is not None
    # a backend that makes sound with its pictures hands it over once the frames are out
    take = getattr(backend, "take_sound", None)
    sound = take(plan.shot_id) if callable(take) else None
    return store.put(key, plan.shot_id, film=film, seed=plan.seed, backend=backend.name, frames=plan.frames,
                     fps=plan.fps, tails=list(tails), thumb=thumb, render_seconds=time.perf_counter() - started,
                     sound=sound)


def _thumbnail(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    if w <= THUMB_WIDTH:
        return np.array(frame, copy=True)
    size = (THUMB_WIDTH, max(1, round(h * THUMB_WIDTH / w)))
    return np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR))


def _disk_full(exc: OSError) -> RenderError:
    return RenderError(
        f"the disk is full ({exc.filename or 'while writing'})",
        hint="free some space (`studio cache gc` removes renders no lockfile uses) and run the same command "
        "again: finished shots are kept",
    )


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
    lockfile: Path | None = None,
    new_takes: Sequence[str] = (),
    take_seed_override: int | None = None,
    verify: bool = False,
    qa: QASettings | None = None,
    approved_only: bool = False,
    produce_shots: Callable[[FilmJob, dict[str, Any]], list[ShotOutcome]] | None = None,
    voice_jobs: int = 1,
) -> RenderResult:
    """Voice every line, render every shot (or take it from the cache), score and mix
    the sound, then assemble the film and its side outputs into ``output_dir`` as
    ``<name>.mp4`` and friends.

    ``audio=False`` gives a silent track (pictures only). ``lockfile``: read the takes
    it selects and record what this render used (None: default takes, no lockfile).
    ``new_takes``: shot ids to render again as new takes (with ``take_seed_override``
    as their seed when given). ``verify``: hash every cached clip before trusting it.
    ``qa``: identity QA settings (threshold, re-takes; default: 0.6, 2).
    ``approved_only``: generate video only for the shots the lockfile approves (``studio
    approve``); every other shot is its keyframe held for its length (keyframes not drawn
    yet are drawn first, see :mod:`studio.run.keyframes`).
    ``produce_shots``: step 3 done elsewhere (``(job, options) -> outcomes in story
    order``; :func:`studio.run.parallel.render_film` passes its worker processes); by
    default every shot is produced in this process, in story order.
    ``voice_jobs``: worker processes that speak the lines missing from the cache
    (:mod:`studio.run.voicing`; 1: in this process)."""
    store: ShotStore | None = None
    try:
        store = ShotStore(cache_dir)
        for attempt in (1, 2):
            try:
                return _render_film(screenplay, output_dir, store=store, cache_dir=cache_dir, name=name,
                                    backend_name=backend_name, backend_options=backend_options, video=video,
                                    progress=progress, audio=audio, lockfile=lockfile, new_takes=new_takes,
                                    take_seed_override=take_seed_override, verify=verify, qa=qa,
                                    approved_only=approved_only, produce_shots=produce_shots,
                                    voice_jobs=voice_jobs)
            except DamagedEntry as exc:
                if attempt == 2:
                    raise
                # the damaged entries are gone: this pass renders those shots anew, the rest come cached
                (progress or QuietProgress()).stage(f"{exc.args[0]}: rendering {', '.join(exc.shots)} again")
        raise AssertionError("unreachable")
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise _disk_full(exc) from None
        raise
    except sqlite3.OperationalError as exc:  # the manifest's write can be the one that finds the disk full
        if "disk is full" in str(exc):
            raise _disk_full(OSError(errno.ENOSPC, "No space left on device")) from None
        raise
    except RenderError as exc:
        if "No space left on device" in str(exc):
            raise _disk_full(OSError(errno.ENOSPC, "No space left on device")) from None
        raise
    finally:
        if store is not None:
            store.manifest.close()


def film_settings(screenplay: Screenplay, name: str, backend_name: str | None,
                  backend_options: Mapping[str, Any] | None, video: VideoSettings | None,
                  lockfile: Path | None) -> tuple[Backend, VideoSettings, str, Lockfile | None]:
    """The loaded backend (the screenplay's, with ``backend_options`` over its options),
    the video settings, the film's id in the cache manifest and its lockfile."""
    backend_name = backend_name or screenplay.film.render.backend
    options = {k: v for k, v in screenplay.film.render.options.items() if k != "models"}
    options.update(backend_options or {})
    backend = load_backend(backend_name, options, models=screenplay.film.render.options.get("models"),
                           base_dir=screenplay.base_dir)
    width, height = screenplay.size
    video = video or VideoSettings(width, height, screenplay.film.fps)
    film_id = str(Path(screenplay.source.file).resolve()) if screenplay.source else name
    return backend, video, film_id, (Lockfile.load(lockfile) if lockfile else None)


def prepare_film(screenplay: Screenplay, output_dir: Path, *, store: ShotStore, cache_dir: Path, name: str,
                 backend_name: str | None = None, backend_options: dict[str, Any] | None = None,
                 video: VideoSettings | None = None, progress: Progress | None = None, audio: bool = True,
                 lockfile: Path | None = None, new_takes: Sequence[str] = (), take_seed_override: int | None = None,
                 verify: bool = False, qa: QASettings | None = None, approved_only: bool = False,
                 voice_jobs: int = 1) -> FilmJob:
    """Steps 1 and 2: voice the dialogue (audio is the timing master), plan every shot
    with its selected take, cast the characters and load the backend."""
    started = time.perf_counter()
    progress = progress or QuietProgress()
    backend, video, film_id, lock = film_settings(screenplay, name, backend_name, backend_options, video, lockfile)

    # 1. voices first: shots grow to fit their lines
    lines: dict[str, LineAudio] = {}
    voiced, voice_workers, voice_cpu = time.perf_counter(), 0, cpu_seconds()
    if audio:
        progress.stage("voicing the dialogue")
        if voice_jobs > 1:
            from studio.run.voicing import voice_film

            lines, voice_workers = voice_film(screenplay, cache_dir, jobs=voice_jobs)
        else:
            lines = synthesize_lines(screenplay, cache_dir)
    voiced, voice_cpu = time.perf_counter() - voiced, cpu_seconds() - voice_cpu

    # 2. plan the film, with each shot's selected take
    graph = SceneGraph.from_screenplay(screenplay, speech_seconds(lines))
    known = {s.id for s in graph.shots}
    unknown = [sid for sid in new_takes if sid not in known]
    if unknown:
        from studio.screenplay.validate import suggest

        raise StudioError(f"no shot {unknown[0]!r} in {screenplay.film.title!r}",
                          hint=suggest(unknown[0], sorted(known)) or "see `studio shots FILE` for shot ids")
    takes = _choose_takes(graph, lock, store, film_id, new_takes, take_seed_override, screenplay.film.seed)
    plans = plan_film(graph, seeds={sid: seed for sid, (_take, seed) in takes.items()})
    cast = cast_film(screenplay, cache_dir=cache_dir, film_id=film_id)
    record_cache(cast, cache_dir)
    if callable(getattr(backend, "use_identities", None)):  # character LoRAs load with the pipelines
        backend.use_identities(cast.identities)  # type: ignore[attr-defined]
    job = FilmJob(screenplay=screenplay, output_dir=output_dir, name=name, cache_dir=cache_dir, store=store,
                  backend=backend, video=video, film_id=film_id, lock=lock, lines=lines, graph=graph, plans=plans,
                  takes=takes, cast=cast, progress=progress, audio=audio, verify=verify, qa=qa or QASettings(),
                  started=started, approved_only=approved_only)
    if approved_only or (lock is not None and lock.keyframes):  # keyframe-first: videos start from them
        if approved_only and (lock is None or any(p.shot_id not in lock.keyframes for p in plans)):
            progress.stage("drawing keyframes")
            make_keyframes(job, progress=QuietProgress())  # a held shot needs its keyframe
        else:
            job.keyframes = selected_keyframes(job)
    job.timings["voices"] = voiced
    job.cpu["voices"] = voice_cpu  # the voice workers' too: the pool waits for them before it returns
    job.voice_workers = voice_workers
    job.timings["prepare"] = time.perf_counter() - started - voiced
    return job


def shot_conditioning(job: FilmJob, plan: ShotPlan, previous: Clip | None) -> tuple[Conditioning, str]:
    """The shot's conditioning bundle and cache key. A continuous shot is conditioned on
    the stored last frames of ``previous`` (the clip it continues)."""
    cond = Conditioning(identities=identities_for(plan, job.cast.identities))
    if getattr(job.backend, "wants_speech", False) and job.lines:
        cond.speech = shot_speech(plan, job.lines)  # the picture is generated around the lines as spoken
    keyframe = job.keyframes.get(plan.shot_id)
    if keyframe is not None and not (plan.continuity == "continuous" and previous is not None):
        cond.keyframe = keyframe  # a cut starts from its selected keyframe (a continuous shot: from the frames before)
    if plan.continuity == "continuous" and previous is not None:
        cond.previous_frames = job.store.tail_frames(previous)
        cond.previous_clip = previous.sha256
        if getattr(job.backend, "wants_chain_anchor", False):
            cond.chain_anchor = chain_anchor(job, plan, cond.previous_frames)
    return cond, shot_key(plan.key_data(), cond.key_data(), job.backend.describe(), job.video.describe())


def chain_head(plans: Sequence[ShotPlan | None], index: int) -> int:
    """The index of the shot that starts the continuity chain shot ``index`` is in. A
    plan not known here (None: a Ray worker holds only the plans it was sent) counts as
    continuing."""
    head = index
    while head > 0 and (plans[head] is None or plans[head].continues is not None):  # type: ignore[union-attr]
        head -= 1
    return head


def chain_anchor(job: FilmJob, plan: ShotPlan, previous_frames: list[np.ndarray]) -> tuple[float, ...] | None:
    """The colour of the continuity chain ``plan`` belongs to: the Lab statistics of the
    last frames of the shot that heads it (the first frames the chain hands over). Read
    from the store, so every executor (local, Ray workers) and every resume finds the
    same anchor; when the head's clip is not there, the frames ``plan`` continues from. The
    backend says what the colour of those frames is (``backend.chain_anchor(frames)``)."""
    index = next((i for i, p in enumerate(job.plans) if p is not None and p.shot_id == plan.shot_id), None)
    head = chain_head(job.plans, index) if index is not None else None
    frames = previous_frames
    if index is not None and head is not None and head < index - 1 and job.plans[head] is not None:
        _cond, key = shot_conditioning(job, job.plans[head], None)
        clip = job.store.get(key)
        if clip is not None:
            frames = job.store.tail_frames(clip)
    return job.backend.chain_anchor(frames)  # type: ignore[attr-defined]


def produce_shot(job: FilmJob, index: int, previous: Clip | None) -> ShotOutcome:
    """Step 3 for one shot: take it from the cache or render it, record its take, and
    run identity QA (which may re-take it on a backend that varies). ``previous`` is the
    clip of the shot before it, which a continuous shot picks up from."""
    plan = job.plans[index]
    if plan.continues is not None and index and plan.continues.seed != job.plans[index - 1].seed:
        # the shot it continues was re-taken with another seed
        plan = replace(plan, continues=replace(plan.continues, seed=job.plans[index - 1].seed))
    cond, key = shot_conditioning(job, plan, previous)
    store, take = job.store, job.takes[plan.shot_id][0]
    clip = store.get(key, verify=job.verify)
    job.progress.shot_started(plan, clip is not None)
    rendered, frames = clip is None, 0
    if clip is None:
        clip = render_shot(job.backend, plan, cond, store, key, job.video, job.progress, film=job.film_id,
                           tail_frames=getattr(job.backend, "tail_frames", 1))
        frames = plan.frames
    store.manifest.record_take(job.film_id, plan.shot_id, take, plan.seed, key)
    record_uses(store, job.cast, cond, key)
    # identity QA: a cast face that drifts flags the shot; a backend that varies re-takes it
    checked = qa_and_retake(job, plan, cond, clip, key, take, fresh=rendered)
    check = None
    if checked.check is not None:
        check = {**checked.check.to_dict(), "take": checked.take, "tried": checked.tried}
    if checked.key != key:
        plan, clip, key, take = checked.plan, checked.clip, checked.key, checked.take
    for _take, count in checked.rendered:
        frames += count
        rendered = True
    job.progress.shot_finished(plan, rendered)
    return ShotOutcome(plan, clip, key, take, rendered, frames, check)


def qa_and_retake(job: FilmJob, plan: ShotPlan, cond: Conditioning, clip: Clip, key: str, take: int, *,
                  fresh: bool) -> Checked:
    """Render, check, re-take: check the shot; when it is flagged and the backend varies,
    render up to ``job.qa.retakes`` new takes (new seeds), check each, and keep the best.

    Re-takes already in the cache are judged again for free; new ones are rendered only
    when the shot itself was rendered in this run (``fresh``), so an unlucky shot does
    not grow a take on every render."""
    store, backend = job.store, job.backend
    check = check_shot(store, plan, cond, clip, key, job.qa)
    best = Checked(plan, clip, key, take, check)
    if check is not None:
        best.tried.append(judged(take, plan.seed, check))
    if not wants_retake(check, backend):
        return best
    recorded = {t.take: t.seed for t in store.manifest.takes(job.film_id, plan.shot_id)}
    rendered: list[tuple[int, int]] = []
    for number in range(take + 1, take + 1 + job.qa.retakes):
        seed = recorded.get(number, take_seed(job.screenplay.film.seed, plan.shot_id, number))
        p = replace(plan, seed=seed)
        k = shot_key(p.key_data(), cond.key_data(), backend.describe(), job.video.describe())
        c = store.get(k, verify=job.verify)
        if c is None:
            if not fresh:
                break
            c = render_shot(backend, p, cond, store, k, job.video, job.progress, film=job.film_id,
                            tail_frames=getattr(backend, "tail_frames", 1))
            rendered.append((number, p.frames))
        store.manifest.record_take(job.film_id, p.shot_id, number, seed, k)
        record_uses(store, job.cast, cond, k)
        ch = check_shot(store, p, cond, c, k, job.qa)
        best.tried.append(judged(number, seed, ch))
        if ch is not None and best.check is not None and ch.rank() < best.check.rank():
            best = Checked(p, c, k, number, ch, tried=best.tried)
        if ch is None or not ch.flagged:
            break
    best.rendered = rendered
    return best


def _render_film(screenplay: Screenplay, output_dir: Path, *, store: ShotStore,
                 produce_shots: Callable[[FilmJob, dict[str, Any]], list[ShotOutcome]] | None = None,
                 **options: Any) -> RenderResult:
    _clean_leftovers(output_dir)  # a killed run's temporary files, before this run writes its own
    job = prepare_film(screenplay, output_dir, store=store, **options)
    job.progress.film_started(len(job.plans), sum(p.frames for p in job.plans))
    job.silence_ahead = silence_ahead(job)  # 4., for a film without sound: its silent track, meanwhile
    shots_started = time.perf_counter()
    if produce_shots is not None:  # 3. elsewhere (worker processes; held shots here)
        if can_go_ahead(job):  # 4. meanwhile, here: this process only dispatches while its workers render
            job.sound_ahead = SoundAhead.start(job)
        try:
            outcomes = produce_shots(job, options)
        except Exception:
            if job.sound_ahead is not None:  # no second sound beside it when the render is tried again here;
                job.sound_ahead.wait()  # its mix is in the cache for the next run
            raise
        except BaseException:  # Ctrl-C: the sound stops too, leaving no temporary files
            if job.sound_ahead is not None:
                job.sound_ahead.stop()
            raise
        job.timings["shots"] = time.perf_counter() - shots_started
        return finish_film(job, outcomes)
    # 3. render every shot in story order (a chain in order; studio.run.ray_executor runs chains in parallel)
    shots_cpu = cpu_seconds()
    outcomes: list[ShotOutcome] = []
    previous: Clip | None = None
    for index in range(len(job.plans)):
        outcome = produce_here(job, index, previous)
        job.plans[index] = outcome.plan
        outcomes.append(outcome)
        previous = outcome.clip
    job.timings["shots"] = time.perf_counter() - shots_started
    job.cpu["shots"] = cpu_seconds() - shots_cpu
    return finish_film(job, outcomes)


def finish_film(job: FilmJob, outcomes: list[ShotOutcome]) -> RenderResult:
    """Steps 4 to 6: the sound, the cut and its side outputs (unless unchanged), the
    lockfile and the report. ``outcomes`` are the film's shots in story order."""
    # the sound and the cut, imported here: a shot worker (which imports this module) never runs them
    from studio.assemble.cut import assemble_cut, film_metadata, silent_track
    from studio.assemble.storyboard import StoryboardFrame, write_storyboard
    from studio.assemble.subtitles import write_subtitles
    from studio.assemble.timeline import TimelineShot, build_timeline, write_timeline
    from studio.audio.effects import ShotSoundAt
    from studio.audio.film import make_film_sound

    screenplay, store, progress, name, output_dir = job.screenplay, job.store, job.progress, job.name, job.output_dir
    plans = [o.plan for o in outcomes]
    clips = [o.clip for o in outcomes]
    takes = {**job.takes, **{o.plan.shot_id: (o.take, o.plan.seed) for o in outcomes}}
    rendered = [o.plan.shot_id for o in outcomes if o.rendered]
    frames_rendered = sum(o.frames_rendered for o in outcomes)
    checks = {o.plan.shot_id: o.check for o in outcomes if o.check is not None}
    backend, video, lines, lock = job.backend, job.video, job.lines, job.lock
    width, height = screenplay.size

    # 4. score, ambience and the mix (under -j, made while the shots rendered: studio.run.sound_ahead)
    output_dir.mkdir(parents=True, exist_ok=True)
    stem = output_dir / name
    film_frames = sum(p.frames for p in plans)
    timing = sound_timing(plans, screenplay.film.fps)
    film_seconds = timing.film_seconds
    sound: FilmSound | None = None
    sound_started = time.perf_counter()
    ahead, job.sound_ahead = job.sound_ahead, None
    if ahead is not None:
        sound = ahead.join(plans, screenplay.film.fps)
        waited = time.perf_counter() - sound_started
        job.timings["shots"] = job.timings.get("shots", 0.0) + waited  # the shots and the sound beside them
        job.timings["sound"] = ahead.seconds
        job.sound_overlapped = sound is not None
        if sound is not None and ahead.cpu is not None:
            job.cpu["sound"] = ahead.cpu  # its own process's (studio.run.sound_ahead)
        sound_started = time.perf_counter()
    if job.audio and sound is None:
        progress.stage("scoring and mixing")
        sound_cpu = cpu_seconds()
        sound = make_film_sound(
            screenplay,
            scene_seconds=timing.scene_seconds, line_starts=timing.line_starts,
            lines=lines, film_seconds=film_seconds, cache_dir=job.cache_dir, out_dir=output_dir, name=name,
            shot_sounds=[ShotSoundAt(p.shot_id, c.sound, p.start_frame / p.fps, p.frames / p.fps)
                         for p, c in zip(plans, clips) if c.sound is not None],
        )
        job.timings["sound"] = time.perf_counter() - sound_started
        job.cpu["sound"] = cpu_seconds() - sound_cpu  # (the shot workers ended before it began)
    elif not job.sound_overlapped:
        job.timings["sound"] = time.perf_counter() - sound_started
    assembly_started, assembly_cpu = time.perf_counter(), cpu_seconds()

    # 5. the cut and its side outputs, unless they already are what these inputs make
    chapters = _chapters(plans)
    metadata = film_metadata(screenplay.film.title, backend.name, credit_tags(screenplay.film.title_page))
    metadata.update(job.cast.film_tags(metadata))
    cut_key = canonical_hash({
        "version": ASSEMBLY_VERSION, "studio": __version__, "ffmpeg": ffmpeg_version(),
        "clips": [[c.sha256, p.key()] for c, p in zip(clips, plans)],
        "sound": sound.key if sound else None, "metadata": metadata,
        "chapters": [[c.title, c.start, c.end] for c in chapters], "name": name,
    })
    if job.silence_ahead is not None:  # the silent track, encoded while the shots rendered, is in the cache
        job.silence_ahead.join()  # (joined even when the cut is unchanged: no ffmpeg is left running)
    report_path = output_dir / "render-report.json"
    previous_report = _previous_report(report_path)
    rebuilt = previous_report is None or previous_report.get("cut_key") != cut_key or not _outputs_intact(
        previous_report)
    if rebuilt:
        progress.stage("assembling the cut")
        store.check_clips(clips)  # the clips the cut is made of are checked in full
        _clean_leftovers(output_dir)
        # the storyboard (Pillow: resizing and PNG encoding, which let go of the GIL) is drawn in a
        # thread while this one waits on ffmpeg's cut and writes the subtitles and the timeline:
        # the cut is mostly reading and writing, so the other core would otherwise idle
        with ThreadPoolExecutor(1, thread_name_prefix="studio-storyboard") as board_pool:
            drawn = board_pool.submit(
                write_storyboard,
                [StoryboardFrame(p.shot_id, p.scene_heading, p.size, p.move, p.continuity == "continuous",
                                 _caption(p), c.thumb) for p, c in zip(plans, clips)],
                screenplay.film.title, output_dir / "storyboard.png", aspect=width / height,
            )
            film = assemble_cut([c.path for c in clips], store.root,
                                sound.aac if sound else silent_track(store.root, film_seconds),
                                stem.with_suffix(".mp4"), seconds=film_seconds, metadata=metadata, chapters=chapters)
            progress.stage("writing subtitles, timeline and storyboard")
            srt, vtt = write_subtitles(plans, stem)
            timeline = write_timeline(
                build_timeline(screenplay.film.title, screenplay.film.fps,
                               [TimelineShot(p, c.path) for p, c in zip(plans, clips)], film_frames=film_frames,
                               audio={"mix": sound.mix, **sound.stems} if sound else None),
                stem,
            )
            boards = drawn.result()
        outputs: dict[str, Any] = {
            "film": str(film), "srt": str(srt), "vtt": str(vtt),
            **{k: str(v) for k, v in timeline.items()},
            "storyboard": [str(b) for b in boards],
        }
        if sound:
            outputs["mix"] = str(sound.mix)
        outputs["report"] = str(report_path)
        sizes = {k: Path(v).stat().st_size for k, v in outputs.items() if isinstance(v, str) and k != "report"}
    else:
        assert previous_report is not None
        film = Path(previous_report["outputs"]["film"])
        outputs, sizes = previous_report["outputs"], previous_report.get("output_sizes", {})

    # 6. the lockfile and the report
    if lock is not None:
        _update_lock(lock, screenplay, plans, takes, clips, backend, lines, sound)
        store.manifest.record_film(job.film_id, str(lock.path.resolve()))
    job.timings["assembly"] = time.perf_counter() - assembly_started
    job.cpu["assembly"] = cpu_seconds() - assembly_cpu
    wall = time.perf_counter() - job.started
    own, children = peak_rss_mb()
    report: dict[str, Any] = {
        "title": screenplay.film.title,
        "screenplay": str(screenplay.source.file if screenplay.source else ""),
        "backend": backend.describe(),
        "video": video.describe(),
        "shots_total": len(plans),
        "shots_rendered": len(rendered),
        "shots_cached": len(plans) - len(rendered) - sum(o.held for o in outcomes),
        "rendered": rendered,
        "corrupt_entries_replaced": len(store.corrupt),
        "takes": {sid: take for sid, (take, _seed) in takes.items() if take != 1},
        "film_frames": film_frames,
        "film_seconds": round(film_seconds, 3),
        "wall_seconds": round(wall, 3),
        "realtime_factor": round(wall / film_seconds, 4) if film_seconds else None,
        "frames_rendered": frames_rendered,
        "frames_per_second": round(frames_rendered / wall, 2) if wall else 0.0,
        # studio and one clip encoder at once; with -j, each worker and its encoder on top
        "peak_rss_mb": round(own + children + (job.executor or {}).get("peak_rss_mb_workers", 0.0), 1),
        "peak_rss_mb_studio": own,
        "peak_rss_mb_ffmpeg": children,
        "chapters": [{"title": c.title, "start": c.start, "end": c.end} for c in chapters],
        "lines_total": len(lines),
        "lines_synthesized": sorted(lid for lid, a in lines.items() if a.synthesized),
        "voice_workers": job.voice_workers,
        "sound_overlapped": job.sound_overlapped,  # made while the shots rendered (-j): its seconds overlap theirs
        "audio": sound.report() if sound else None,
        "cut_key": cut_key,
        "cut_rebuilt": rebuilt,
        "outputs": outputs,
        "output_sizes": sizes,
        "lockfile": str(lock.path) if lock else None,
        "likenesses": job.cast.provenance(),
        "identity_qa": checks,
        **({"keyframes": {"shots": len(job.keyframes), "approved_only": job.approved_only,
                          "held": [o.plan.shot_id for o in outcomes if o.held],
                          "shots_with_video": sum(not o.held for o in outcomes)}}
           if job.keyframes or job.approved_only else {}),
        "versions": {"studio": __version__, "python": platform.python_version(), "ffmpeg": ffmpeg_version()},
        **({"executor": job.executor} if job.executor else {}),
        **stage_report(job, plans, rendered),
    }
    write_text(report_path, json.dumps(report, indent=2) + "\n")
    return RenderResult(report=report, film=film, clips=clips, plans=plans)


def stage_report(job: FilmJob, plans: list[ShotPlan], rendered: list[str]) -> dict[str, Any]:
    """The report's ``stages`` (estimated vs actual seconds, each stage this render ran)
    and ``estimate`` (what :mod:`studio.run.stages` expected of this very render: the
    lines it voiced, the shots it drew, on its workers)."""
    from studio.audio.speech import dialogue_lines
    from studio.run.estimate import estimate_film
    from studio.run.stages import Spoken, estimate_stages

    actual = {name: round(seconds, 3) for name, seconds in job.timings.items()}
    try:
        sp = job.screenplay
        options = {k: v for k, v in sp.film.render.options.items() if k != "models"}
        shots = estimate_film(plans, backend=job.backend.name, options=options,
                              models=sp.film.render.options.get("models"), base_dir=sp.base_dir)
        spoken = {lid for lid, a in job.lines.items() if a.synthesized}
        lines = [Spoken(d.voice.engine, len(d.text)) for d in dialogue_lines(sp) if d.line_id in spoken]
        expected = estimate_stages(plans, shots, lines, jobs=int((job.executor or {}).get("jobs", 1)),
                                   rendered=rendered, audio=job.audio, voice_jobs=int((job.executor or {}).get("jobs", 1)) if job.voice_workers else 1,
                                   sound_overlaps=job.sound_overlapped)
    except StudioError as exc:  # a backend the estimate does not know: the actual times still
        return {"stages": {k: {"estimated": None, "actual": v} for k, v in actual.items()},
                "estimate": {"error": str(exc)}}
    cpu = {k: {"cpu": round(v, 3)} for k, v in job.cpu.items()}  # the stages run in this process alone
    return {"stages": {k: {"estimated": round(expected.stages.get(k, 0.0), 3), "actual": actual.get(k),
                           **cpu.get(k, {})}
                       for k in (*expected.stages, *[k for k in actual if k not in expected.stages])},
            "estimate": expected.to_dict()}


def held(job: FilmJob, index: int) -> bool:
    """Is shot ``index`` held (``--approved-only`` and its keyframe not approved)?"""
    if not job.approved_only:
        return False
    keyframe = job.lock.keyframes.get(job.plans[index].shot_id) if job.lock else None
    return keyframe is None or not keyframe.approved


def produce_here(job: FilmJob, index: int, previous: Clip | None) -> ShotOutcome:
    """Shot ``index`` in this process: held (its keyframe, no video) or produced."""
    return hold_shot(job, index) if held(job, index) else produce_shot(job, index, previous)


def hold_shot(job: FilmJob, index: int) -> ShotOutcome:
    """Shot ``index`` as its keyframe held for the shot's length (an unapproved shot under
    ``--approved-only``): no video generated; the still is encoded once into the store."""
    plan = job.plans[index]
    picture = job.keyframes.get(plan.shot_id)
    if picture is None:
        raise StudioError(f"shot {plan.shot_id} has no keyframe to hold",
                          hint="draw the film's keyframes first: studio keyframes FILE")
    hold = Hold(picture)
    key = shot_key({"held": plan.key_data()}, {"keyframe": picture_digest(picture)}, hold.describe(),
                   job.video.describe())
    clip = job.store.get(key, verify=job.verify)
    job.progress.shot_started(plan, clip is not None)
    if clip is None:
        clip = render_shot(hold, plan, Conditioning(), job.store, key, job.video, job.progress, film=job.film_id)
    job.progress.shot_finished(plan, True)
    return ShotOutcome(plan, clip, key, job.takes[plan.shot_id][0], rendered=False, frames_rendered=0, held=True)


@dataclass
class KeyframesResult:
    shots: list[ShotKeyframe]
    report: dict[str, Any]
    storyboard: list[Path]


def keyframes_for_film(screenplay: Screenplay, output_dir: Path, *, cache_dir: Path, name: str,
                       lockfile: Path | None, backend_name: str | None = None, audio: bool = True,
                       new_takes: Sequence[str] = (), seed_override: int | None = None, qa: QASettings | None = None,
                       model: KeyframeModel | None = None, progress: Progress | None = None) -> KeyframesResult:
    """``studio keyframes``: plan the film as the render will (voices first: shots last as
    long as their lines), draw every shot's keyframe (:func:`make_keyframes`), and write
    ``keyframes.png`` (a storyboard of them) and ``keyframes-report.json`` into ``output_dir``."""
    started = time.perf_counter()
    store = ShotStore(cache_dir)
    try:
        job = prepare_film(screenplay, output_dir, store=store, cache_dir=cache_dir, name=name,
                           backend_name=backend_name, audio=audio, lockfile=lockfile, progress=progress, qa=qa)
        job.progress.film_started(len(job.plans), len(job.plans))
        shots = make_keyframes(job, new_takes=new_takes, seed_override=seed_override, model=model)
        output_dir.mkdir(parents=True, exist_ok=True)
        boards = _keyframe_board(job, shots, output_dir / "keyframes.png")
        report = keyframes_report(shots, time.perf_counter() - started)
        report["storyboard"] = [str(b) for b in boards]
        report["lockfile"] = str(lockfile) if lockfile else None
        write_text(output_dir / "keyframes-report.json", json.dumps(report, indent=2) + "\n")
    finally:
        store.manifest.close()
    return KeyframesResult(shots, report, boards)


def _keyframe_board(job: FilmJob, shots: list[ShotKeyframe], path: Path) -> list[Path]:
    """The keyframes as a storyboard contact sheet (flagged ones marked)."""
    from studio.assemble.storyboard import StoryboardFrame, write_storyboard

    plans = {p.shot_id: p for p in job.plans}
    width, height = job.screenplay.size
    frames = [StoryboardFrame(s.shot_id, plans[s.shot_id].scene_heading, plans[s.shot_id].size,
                              plans[s.shot_id].move, plans[s.shot_id].continuity == "continuous",
                              _caption(plans[s.shot_id]), s.keyframe.path,
                              flagged=bool(s.check is not None and s.check.flagged))
              for s in shots]
    return write_storyboard(frames, job.screenplay.film.title, path, aspect=width / height)


def _choose_takes(graph: SceneGraph, lock: Lockfile | None, store: ShotStore, film_id: str,
                  new_takes: Sequence[str], seed_override: int | None, film_seed: int) -> dict[str, tuple[int, int]]:
    """``{shot id: (take, seed)}``: the lockfile's selection, take 1 by default, and a
    new take for each shot in ``new_takes``."""
    takes: dict[str, tuple[int, int]] = {}
    for shot in graph.shots:
        locked = lock.shots.get(shot.id) if lock else None
        takes[shot.id] = (locked.take, locked.seed) if locked else (1, take_seed(film_seed, shot.id, 1))
    for sid in dict.fromkeys(new_takes):
        recorded = [t.take for t in store.manifest.takes(film_id, sid)]
        number = max(recorded + [takes[sid][0], 1]) + 1
        seed = seed_override if seed_override is not None else take_seed(film_seed, sid, number)
        takes[sid] = (number, seed)
    return takes


def _update_lock(lock: Lockfile, screenplay: Screenplay, plans: list[ShotPlan], takes: dict[str, tuple[int, int]],
                 clips: list[Clip], backend: Backend, lines: dict[str, LineAudio], sound: FilmSound | None) -> None:
    lock.title = screenplay.film.title
    lock.backend = backend.describe()
    lock.versions = {"studio": __version__, "python": platform.python_version(), "ffmpeg": ffmpeg_version()}
    lock.shots = {p.shot_id: LockedShot(takes[p.shot_id][0], p.seed, c.key, c.sha256) for p, c in zip(plans, clips)}
    lock.audio = {"lines": sorted({a.key for a in lines.values()})}
    if sound:
        lock.audio["cues"] = sorted(sound.cue_keys.values())
        lock.audio["mix"] = sound.key
    lock.save()


def _previous_report(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _outputs_intact(report: dict[str, Any]) -> bool:
    """The previous render's outputs are all there, at the sizes it wrote."""
    sizes = report.get("output_sizes") or {}
    outputs = report.get("outputs") or {}
    if not sizes:
        return False
    for key, size in sizes.items():
        path = outputs.get(key)
        if not isinstance(path, str):
            return False
        try:
            if Path(path).stat().st_size != size:
                return False
        except OSError:
            return False
    boards = outputs.get("storyboard") or []
    return all(Path(b).is_file() for b in boards)


# what studio.atomic's temporary names look like: ".<final name>.<8 random>.part<suffix>"
_PART = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.part(\.[A-Za-z0-9]+)?$")


def _clean_leftovers(output_dir: Path) -> None:
    """Temporary files a killed run left in the output folder and its music folder (ours
    only: the film's, the storyboard's and the stems' temporary names)."""
    for folder in (output_dir, output_dir / "music"):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if _PART.match(path.name) and path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)


def _clean_shot_leftovers(store: ShotStore, key: str) -> None:
    """A killed render's partial files of the shot ``key``, about to be rendered again."""
    folder = store.clip_path(key).parent
    if folder.is_dir():
        for path in folder.glob(f".{key}.*"):
            if _PART.match(path.name) and path.is_file():
                path.unlink(missing_ok=True)


def _chapters(plans: list[ShotPlan]) -> list[Chapter]:
    """One chapter per scene, titled with its heading (and the act it opens: 'ACT TWO: INT. ...')."""
    chapters: list[Chapter] = []
    scene = None
    for plan in plans:
        start = plan.start_frame / plan.fps
        end = (plan.start_frame + plan.frames) / plan.fps
        if plan.scene_id == scene:
            chapters[-1] = Chapter(chapters[-1].title, chapters[-1].start, end)
        else:
            chapters.append(Chapter(f"{plan.act}: {plan.scene_heading}" if plan.act else plan.scene_heading, start, end))
        scene = plan.scene_id
    return chapters


def _caption(plan: ShotPlan) -> str:
    if plan.lines:
        return f"{plan.lines[0].speaker_name.upper()}: {plan.lines[0].text}"
    if plan.focus:
        return f"Insert: {plan.focus}"
    return plan.action or plan.description
