"""Keyframes first: draw every shot's first frame, fix the wrong ones, then animate.

Video is the expensive step; a still is cheap. This stage draws one keyframe per shot
(``studio keyframes FILE``) before any video is made:

1. **The keyframe model** (:func:`keyframe_model`): the backend's own when it has one
   (the diffusers backend's ``keyframe_model``: ``backend.keyframe(plan, cond)``), else
   the animatic, whose frame at the shot's start serves as the keyframe (so the
   workflow runs on any machine).
2. **Takes** (:func:`draw`): a keyframe is content-addressed in the cache
   (:mod:`studio.cache.keyframes`) like a clip: its key holds the shot's plan with the
   take's seed, the shot's identities and the keyframe model. Take 1 uses the shot's
   seed; ``--shot ID`` draws a new take. The lockfile selects one take per shot.
3. **Identity QA** (:func:`check_keyframe`): the same gate as for clips: a character held
   at medium or closer whose known face (a cast likeness, approved frames) is missing
   or too far flags the keyframe, and a new take is drawn, up to the re-take limit; the
   best take is kept. A still is cheap, so every keyframe model re-takes.
4. **Approval** (:func:`approve`): the lockfile marks shots approved for video.

The render then starts each cut's video from its selected keyframe (``cond.keyframe``,
in the shot's key: a new keyframe re-renders exactly its shot and the shots that
continue it). A continuous shot starts from the frames it continues; its keyframe is
the storyboard's picture of it. With ``--approved-only`` an unapproved shot costs no
video: its keyframe is held for the shot's length in the cut (:class:`Hold`,
:func:`studio.run.local.hold_shot`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
from PIL import Image

from studio.cache.keyframes import Keyframe, KeyframeStore, keyframe_key
from studio.cache.lockfile import LockedKeyframe, Lockfile
from studio.cache.manifest import Take
from studio.consistency.qa import ShotCheck, check_frames, read_check, write_check
from studio.errors import StudioError
from studio.render.backend import Backend, Conditioning
from studio.render.plan import ShotPlan, shot_seed
from studio.run.identity import identities_for, judged
from studio.run.job import FilmJob, Progress

HOLD_VERSION = "1"  # bump when a held keyframe's clip would change for the same picture


# --------------------------------------------------------------------------- the keyframe model


class KeyframeModel(Protocol):
    """What draws keyframes: ``draw(plan, cond)`` gives an RGB uint8 picture for the
    shot's first frame; ``describe()`` is its part of a keyframe's key."""

    name: str

    def describe(self) -> dict[str, Any]: ...
    def draw(self, plan: ShotPlan, cond: Conditioning) -> np.ndarray: ...


class AnimaticKeyframes:
    """The animatic's frame at the shot's start (no subtitles: a keyframe is a picture)."""

    name = "animatic"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        from studio.render.animatic.backend import AnimaticBackend

        self.animatic = AnimaticBackend({**dict(options or {}), "subtitles": False})

    def describe(self) -> dict[str, Any]:
        return {"keyframes": "animatic", "animatic": self.animatic.describe()}

    def draw(self, plan: ShotPlan, cond: Conditioning) -> np.ndarray:
        frames = iter(self.animatic.render(plan, cond))
        return np.array(next(frames), copy=True)


class BackendKeyframes:
    """A backend's own keyframe model (the diffusers backend's ``keyframe_model``)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.name = backend.name

    def describe(self) -> dict[str, Any]:
        return {"keyframes": self.backend.name, "backend": self.backend.describe()}

    def draw(self, plan: ShotPlan, cond: Conditioning) -> np.ndarray:
        picture = self.backend.keyframe(plan, cond)  # type: ignore[attr-defined]
        return np.asarray(picture.convert("RGB") if isinstance(picture, Image.Image) else picture, dtype=np.uint8)


def keyframe_model(backend: Backend) -> KeyframeModel:
    """The backend's keyframe model when it has one, else the animatic (with the film's
    animatic options when the animatic is the film's backend)."""
    roles = getattr(backend, "roles", None)
    if callable(getattr(backend, "keyframe", None)) and getattr(roles, "keyframe", None) is not None:
        return BackendKeyframes(backend)
    options = dict(getattr(backend, "options", {}) or {}) if backend.name == "animatic" else {}
    return AnimaticKeyframes(options)


# --------------------------------------------------------------------------- one keyframe


@dataclass
class ShotKeyframe:
    """A shot's keyframe as the film uses it: its take, the stored picture, its check."""

    shot_id: str
    take: int
    keyframe: Keyframe
    check: ShotCheck | None = None
    drawn: int = 0  # keyframes drawn for this shot in this run (re-takes included)
    tried: list[dict[str, Any]] = field(default_factory=list)
    approved: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"take": self.take, "seed": self.keyframe.seed, "key": self.keyframe.key,
                "path": str(self.keyframe.path), "drawn": self.drawn, "approved": self.approved,
                "qa": None if self.check is None else {"score": self.check.score, "flagged": self.check.flagged,
                                                      "tried": self.tried}}


def keyframe_seed(film_seed: int, shot_id: str, take: int) -> int:
    """Take 1 uses the shot's own seed (the video's first take); take n one of its own."""
    return shot_seed(film_seed, shot_id if take == 1 else f"{shot_id}#keyframe{take}")


def keyframe_conditioning(job: FilmJob, plan: ShotPlan) -> Conditioning:
    """What a keyframe is drawn from: the shot's identities (no frames before it: each
    keyframe stands alone, so any of them can be redone)."""
    return Conditioning(identities=identities_for(plan, job.cast.identities))


def draw(job: FilmJob, model: KeyframeModel, plan: ShotPlan, take: int, seed: int, *,
         fresh: bool = True) -> tuple[Keyframe | None, bool]:
    """Keyframe take ``take`` of ``plan`` (drawn with ``seed``): from the cache, else drawn
    and stored (only when ``fresh``); and whether it was drawn now."""
    store = KeyframeStore(job.cache_dir)
    p = replace(plan, seed=seed)
    cond = keyframe_conditioning(job, p)
    key = keyframe_key(p.key_data(), cond.key_data(), model.describe(), (p.width, p.height))
    keyframe = store.get(key)
    made = False
    if keyframe is None:
        if not fresh:
            return None, False
        started = time.perf_counter()
        picture = model.draw(p, cond)
        keyframe = store.put(key, plan.shot_id, picture, seed=seed, keyframer=model.name,
                             seconds=time.perf_counter() - started)
        made = True
    job.store.manifest.record_keyframe_take(job.film_id, plan.shot_id, take, seed, key)
    return keyframe, made


def check_keyframe(job: FilmJob, plan: ShotPlan, keyframe: Keyframe) -> ShotCheck | None:
    """The keyframe's identity check (kept beside it in the store): the clip's gate on one
    picture. None when no character of the shot has a known face, or QA is off."""
    settings = job.qa
    cond = keyframe_conditioning(job, plan)
    if not settings.enabled or plan.size == "insert" or not any(i.embedding for i in cond.identities.values()):
        return None
    check = read_check(keyframe.path, cond.identities)
    if check is None:
        check = check_frames([(0, keyframe.picture())], plan, cond.identities,
                             key=keyframe.key, threshold=settings.threshold)
        if check is None:
            return None
        write_check(keyframe.path, check)
    return check.with_threshold(settings.threshold)


def keyframe_with_qa(job: FilmJob, model: KeyframeModel, plan: ShotPlan, take: int, seed: int) -> ShotKeyframe:
    """Draw (or find) take ``take``, check it, and while it is flagged draw new takes, up
    to ``job.qa.retakes``; the best take judged is kept. New re-takes are drawn only when
    the keyframe itself was drawn in this run, so an unlucky shot does not grow a take on
    every run (re-takes already stored are judged again for free)."""
    keyframe, made = draw(job, model, plan, take, seed)
    assert keyframe is not None
    best = ShotKeyframe(plan.shot_id, take, keyframe, check_keyframe(job, plan, keyframe), drawn=int(made))
    if best.check is not None:
        best.tried.append(judged(take, seed, best.check))
    if best.check is None or not best.check.flagged:
        return best
    recorded = {t.take: t.seed for t in job.store.manifest.keyframe_takes(job.film_id, plan.shot_id)}
    for number in range(take + 1, take + 1 + job.qa.retakes):
        s = recorded.get(number, keyframe_seed(job.screenplay.film.seed, plan.shot_id, number))
        other, drawn_now = draw(job, model, plan, number, s, fresh=made)
        if other is None:
            break
        best.drawn += int(drawn_now)
        check = check_keyframe(job, plan, other)
        best.tried.append(judged(number, s, check))
        if check is not None and best.check is not None and check.rank() < best.check.rank():
            best = replace(best, take=number, keyframe=other, check=check)
        if check is None or not check.flagged:
            break
    return best


# --------------------------------------------------------------------------- the stage


def _next_take(job: FilmJob, shot_id: str, current: int) -> int:
    recorded = [t.take for t in job.store.manifest.keyframe_takes(job.film_id, shot_id)]
    return max(recorded + [current, 1]) + 1


def make_keyframes(job: FilmJob, *, new_takes: Sequence[str] = (), seed_override: int | None = None,
                   model: KeyframeModel | None = None, progress: Progress | None = None) -> list[ShotKeyframe]:
    """Every shot's keyframe, in story order: the lockfile's take (take 1 at first), a new
    take for each shot in ``new_takes`` (with ``seed_override`` when given: a new take is
    no longer approved), each through identity QA. The selection goes into the lockfile
    (``job.lock``, saved) and into ``job.keyframes`` (what the render starts from)."""
    _check_shots(job, new_takes)
    model = model or keyframe_model(job.backend)
    progress = progress or job.progress
    lock = job.lock
    film_seed = job.screenplay.film.seed
    out: list[ShotKeyframe] = []
    for plan in job.plans:
        sid = plan.shot_id
        locked = lock.keyframes.get(sid) if lock else None
        take, seed = (locked.take, locked.seed) if locked else (1, keyframe_seed(film_seed, sid, 1))
        approved = bool(locked and locked.approved)
        if sid in new_takes:
            take = _next_take(job, sid, take)
            seed = seed_override if seed_override is not None else keyframe_seed(film_seed, sid, take)
            approved = False
        progress.shot_started(plan, False)
        shot = keyframe_with_qa(job, model, plan, take, seed)
        if shot.take != take:
            approved = False  # QA chose another picture than the one approved
        shot.approved = approved
        out.append(shot)
        progress.shot_finished(plan, shot.drawn == 0)
    if lock is not None:
        for shot in out:
            lock.keyframes[shot.shot_id] = LockedKeyframe(shot.take, shot.keyframe.seed, shot.keyframe.key,
                                                          shot.keyframe.sha256, shot.approved)
        lock.save()
    job.keyframes = {shot.shot_id: shot.keyframe.picture() for shot in out}
    return out


def selected_keyframes(job: FilmJob, *, draw_missing: bool = True) -> dict[str, np.ndarray]:
    """The pictures of the keyframes the lockfile selects, from the store; one no longer
    there (``cache gc``) is drawn again with its locked seed (left out without ``draw_missing``)."""
    assert job.lock is not None
    store = KeyframeStore(job.cache_dir)
    by_id = {p.shot_id: p for p in job.plans}
    model: KeyframeModel | None = None
    pictures: dict[str, np.ndarray] = {}
    for sid, locked in job.lock.keyframes.items():
        if sid not in by_id:
            continue  # a shot since removed from the screenplay
        keyframe = store.get(locked.key) if locked.key else None
        if keyframe is None:
            if not draw_missing:
                continue
            model = model or keyframe_model(job.backend)
            keyframe, _made = draw(job, model, by_id[sid], locked.take, locked.seed)
            assert keyframe is not None
        pictures[sid] = keyframe.picture()
    return pictures


def approve(lock: Lockfile, shot_ids: Sequence[str], *, known: Sequence[str], undo: bool = False) -> list[str]:
    """Mark ``shot_ids`` approved for video in ``lock`` (or not, with ``undo``) and save
    it; return the ids changed. A shot must have a keyframe first."""
    for sid in shot_ids:
        if sid not in known:
            from studio.screenplay.validate import suggest

            raise StudioError(f"no shot {sid!r} in the film",
                              hint=suggest(sid, sorted(known)) or "see `studio shots FILE` for shot ids")
        if sid not in lock.keyframes:
            raise StudioError(f"shot {sid} has no keyframe yet", hint="draw them first: studio keyframes FILE")
    changed = []
    for sid in dict.fromkeys(shot_ids):
        if lock.keyframes[sid].approved != (not undo):
            lock.keyframes[sid] = replace(lock.keyframes[sid], approved=not undo)
            changed.append(sid)
    lock.save()
    return changed


def select_keyframe_take(lock: Lockfile, takes: Sequence[Take], store: KeyframeStore, shot_id: str,
                         take: int) -> LockedKeyframe:
    """Select keyframe take ``take`` of ``shot_id`` (one of its recorded ``takes``, still
    in ``store``) in ``lock`` and save it. The approval stays only when the take does not
    change: a different picture is approved anew."""
    recorded = {t.take: t for t in takes if t.shot_id == shot_id}
    if take not in recorded:
        raise StudioError(f"shot {shot_id} has no keyframe take {take}",
                          hint=f"keyframe takes: {', '.join(map(str, sorted(recorded))) or 'none yet'}")
    chosen = recorded[take]
    keyframe = store.get(chosen.key) if chosen.key else None
    if keyframe is None:
        raise StudioError(f"keyframe take {take} of shot {shot_id} is no longer in the cache",
                          hint=f"draw a new one: studio keyframes FILE --shot {shot_id}")
    current = lock.keyframes.get(shot_id)
    approved = bool(current and current.approved and current.take == take)
    lock.keyframes[shot_id] = LockedKeyframe(take, chosen.seed, keyframe.key, keyframe.sha256, approved)
    lock.save()
    return lock.keyframes[shot_id]


def _check_shots(job: FilmJob, shot_ids: Sequence[str]) -> None:
    known = {p.shot_id for p in job.plans}
    unknown = [sid for sid in shot_ids if sid not in known]
    if unknown:
        from studio.screenplay.validate import suggest

        raise StudioError(f"no shot {unknown[0]!r} in {job.screenplay.film.title!r}",
                          hint=suggest(unknown[0], sorted(known)) or "see `studio shots FILE` for shot ids")


# --------------------------------------------------------------------------- a shot held on its keyframe


class Hold:
    """A "backend" that holds one picture for a whole shot (no video generated)."""

    name = "keyframe-hold"
    version = HOLD_VERSION

    def __init__(self, picture: np.ndarray) -> None:
        self.picture = picture

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version}

    def render(self, plan: ShotPlan, cond: Conditioning) -> Iterator[np.ndarray]:
        frame = self.picture
        if frame.shape[:2] != (plan.height, plan.width):
            frame = np.asarray(Image.fromarray(frame).resize((plan.width, plan.height), Image.Resampling.LANCZOS))
        return (frame for _ in range(plan.frames))


def keyframes_report(shots: list[ShotKeyframe], seconds: float) -> dict[str, Any]:
    return {
        "shots_total": len(shots),
        "keyframes_drawn": sum(s.drawn for s in shots),
        "flagged": [s.shot_id for s in shots if s.check is not None and s.check.flagged],
        "approved": [s.shot_id for s in shots if s.approved],
        "wall_seconds": round(seconds, 3),
        "shots": {s.shot_id: s.to_dict() for s in shots},
    }
