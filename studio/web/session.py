"""The web studio's state and actions, apart from HTTP: one film, its status, the
session's casting, and a worker thread that runs renders one at a time.

Renders, take selections, likeness removals and the keyframe-first actions (draw
keyframes, a new keyframe take, pick a keyframe take, approve) all go through the
worker (one queue, in order): they write the same cache, lockfile and output folder. The file
watcher and finished jobs refresh the status; each refresh that changes something is
pushed to the pages as a ``status`` event.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from studio.cache.lockfile import LockedShot, Lockfile
from studio.cache.manifest import Manifest
from studio.errors import StudioError
from studio.run.status import FilmStatus, ShotStatus, film_status
from studio.screenplay.model import Screenplay
from studio.web.events import EventHub, WebProgress
from studio.web.safety import KEY_PATTERN, WebError, new_token

log = logging.getLogger("studio.web")

WATCH_INTERVAL = 0.3  # seconds between looks at the screenplay and its lockfile
SETTLE_INTERVAL = 0.08  # a changed file is read once it has held still this long (a save in progress)
SETTLE_TRIES = 12  # ... but never waited on longer than about a second
MAX_QUEUED = 32  # jobs waiting for the worker; beyond, a request is refused


@dataclass
class FilmConfig:
    """What the studio serves. ``load`` reads the screenplay with the command line's
    overrides (resolution, fps, casting...); it is called again after every edit."""

    file: Path
    load: Callable[[], Screenplay]
    output_dir: Path
    cache_dir: Path
    name: str
    backend: str | None = None
    audio: bool = True
    allow_outside: bool = False  # asset paths may leave the film's folder (--allow-outside-assets)
    # how to load another screenplay with the same command-line options (a new film
    # opened from the browser); None: as `studio check` reads it
    loader: Callable[[Path], Callable[[], Screenplay]] | None = None

    @property
    def lockfile(self) -> Path:
        return Lockfile.beside(self.file)

    @property
    def film_id(self) -> str:
        return str(Path(self.file).resolve())

    def for_file(self, file: Path) -> FilmConfig:
        """The same options serving another screenplay: its own name, and its own
        output folder beside this one (``out/<name>``, as `studio serve` makes it)."""
        if self.loader is not None:
            load = self.loader(file)
        else:
            from studio.screenplay import load_screenplay

            allow = self.allow_outside

            def load() -> Screenplay:
                return load_screenplay(file, allow_outside=allow)
        return replace(self, file=file, load=load, name=file.stem, output_dir=self.output_dir.parent / file.stem)


@dataclass
class Job:
    id: int
    kind: str  # "render", "take", "remove-likeness", "keyframes", "approve", "keyframe-take"
    label: str
    params: dict[str, Any]
    state: str = "queued"  # queued, running, done, failed
    error: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "label": self.label, "state": self.state, "error": self.error,
                "shots": list(self.params.get("shots", [])), "result": self.result}


def card_version(shot: ShotStatus, keyframe: dict[str, Any] | None = None) -> str:
    """What a storyboard card shows, hashed: the page refetches a card when it changes."""
    thumb = shot.thumb_clip.key if shot.thumb_clip else None
    data = [keyframe, shot.key, shot.take, shot.stale, shot.reason, thumb, shot.qa_score, shot.qa_flagged,
            shot.plan.frames, shot.plan.size, shot.plan.move, shot.plan.subjects,
            [(line.speaker, line.text) for line in shot.plan.lines], shot.plan.action, shot.plan.description]
    return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()[:16]


class Studio:
    """One film served to the pages."""

    def __init__(self, config: FilmConfig, *, token: str | None = None) -> None:
        self.config = config
        self.token = token or new_token()
        self.hub = EventHub()
        self.casting: dict[str, str] = {}  # character id -> likeness name, for this session
        self.jobs: list[Job] = []
        self._status: FilmStatus | None = None
        self._keyframes: dict[str, dict[str, Any]] = {}  # shot id -> its selected keyframe (keyframe_view)
        self._screenplay: Screenplay | None = None
        self.error: str | None = None  # why the screenplay on disk cannot be used, if it cannot
        self._signature: str | None = None
        self._lock = threading.RLock()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._next_id = 1
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- life ---------------------------------------------------------------------------
    def start(self, watch: bool = True) -> None:
        """Read the film once (a broken screenplay is an error now, not a blank page),
        then start the worker and the watcher."""
        self.refresh(raise_errors=True)
        self._threads = [threading.Thread(target=self._work, name="studio-worker", daemon=True)]
        if watch:
            self._threads.append(threading.Thread(target=self._watch, name="studio-watch", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self.hub.close()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- the film --------------------------------------------------------------------------
    def screenplay(self) -> Screenplay:
        from studio.consistency.cast import apply_cast

        with self._lock:
            casting = dict(self.casting)
        return apply_cast(self.config.load(), casting)

    def status(self) -> FilmStatus:
        with self._lock:
            if self._status is None:
                self.refresh(raise_errors=True)
            assert self._status is not None
            return self._status

    def current_screenplay(self) -> Screenplay:
        """The screenplay the status was computed from (the last one that loaded)."""
        self.status()
        assert self._screenplay is not None
        return self._screenplay

    def refresh(self, raise_errors: bool = False) -> bool:
        """Compute the status again; tell the pages when it changed. A screenplay that
        no longer loads keeps the last status and shows the problem instead."""
        with self._lock:
            try:
                screenplay = self.screenplay()
                status = film_status(screenplay, cache_dir=self.config.cache_dir, name=self.config.name,
                                     backend_name=self.config.backend, audio=self.config.audio,
                                     lockfile=self.config.lockfile)
            except StudioError as exc:
                if raise_errors and self._status is None:
                    raise
                message = _error_text(exc)
                changed = message != self.error
                self.error = message
                self._signature = None  # the next good status is news, even if it is the one before
                if changed:
                    self.hub.publish("status", self.status_event())
                return changed
            self._status, self._screenplay, self.error = status, screenplay, None
            self._keyframes = self._keyframe_view(status)
            event = self.status_event()
            signature = json.dumps(event, sort_keys=True)
            changed = signature != self._signature
            self._signature = signature
        if changed:
            self.hub.publish("status", event)
        return changed

    def status_event(self) -> dict[str, Any]:
        status = self._status
        shots = [] if status is None else [
            {"shot": s.shot_id, "version": card_version(s, self._keyframes.get(s.shot_id)), "stale": s.stale,
             "take": s.take, "reason": s.reason, "keyframe": self._keyframes.get(s.shot_id)}
            for s in status.shots]
        cut = self.cut()
        return {"shots": shots, "stale": status.stale if status else [], "error": self.error,
                "cut": cut, "casting": dict(self.casting)}

    def cut(self) -> dict[str, Any] | None:
        """The current cut in the output folder: its URL path and key (from the render report)."""
        report_path = self.config.output_dir / "render-report.json"
        try:
            report = json.loads(report_path.read_text(encoding="utf-8"))
            film = Path(report["outputs"]["film"])
            relative = film.resolve().relative_to(self.config.output_dir.resolve())
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return {"url": "/out/" + relative.as_posix(), "key": str(report.get("cut_key", ""))[:16],
                "seconds": report.get("film_seconds")}

    def takes(self, shot_id: str) -> list[dict[str, Any]]:
        """The shot's recorded takes, with whether their clip is still in the cache."""
        manifest = Manifest(self.config.cache_dir)
        try:
            rows = manifest.takes(self.config.film_id, shot_id)
            out = []
            for take in rows:
                record = manifest.render(take.key) if take.key else None
                out.append({"take": take.take, "seed": take.seed, "key": take.key if record else None,
                            "qa_score": record.qa_score if record else None,
                            "qa_flagged": bool(record.qa_flagged) if record else False})
            return out
        finally:
            manifest.close()

    # -- keyframes (keyframes first: studio.run.keyframes) ---------------------------------------
    def keyframe(self, shot_id: str) -> dict[str, Any] | None:
        """The shot's selected keyframe as the card shows it (None: none drawn yet)."""
        self.status()
        with self._lock:
            return self._keyframes.get(shot_id)

    def keyframes(self) -> dict[str, dict[str, Any]]:
        self.status()
        with self._lock:
            return dict(self._keyframes)

    def _keyframe_view(self, status: FilmStatus) -> dict[str, dict[str, Any]]:
        """Each shot's selected keyframe from the lockfile: take, approval, key (for the
        picture's URL), whether the store still has it, and the takes recorded."""
        from studio.cache.keyframes import KeyframeStore

        lock = Lockfile.load(self.config.lockfile)
        if not lock.keyframes:
            return {}
        manifest = Manifest(self.config.cache_dir)
        try:
            recorded: dict[str, list[int]] = {}
            for take in manifest.keyframe_takes(self.config.film_id):
                recorded.setdefault(take.shot_id, []).append(take.take)
        finally:
            manifest.close()
        store = KeyframeStore(self.config.cache_dir)
        known = {s.shot_id for s in status.shots}
        view: dict[str, dict[str, Any]] = {}
        for sid, locked in lock.keyframes.items():
            if sid not in known:
                continue
            present = bool(locked.key and KEY_PATTERN.match(locked.key) and store.path(locked.key).is_file())
            view[sid] = {"take": locked.take, "approved": locked.approved, "key": locked.key if present else None,
                         "takes": sorted(set(recorded.get(sid, [])) | {locked.take})}
        return view

    def draw_keyframes(self, shots: list[str]) -> Job:
        """Queue `studio keyframes`: every shot's selected keyframe (drawn when missing),
        and a new keyframe take of each of ``shots``."""
        self._known_shots(shots)
        label = f"new keyframe of {', '.join(shots)}" if shots else "draw keyframes"
        return self.submit("keyframes", label, shots=list(dict.fromkeys(shots)))

    def approve(self, shots: list[str], undo: bool = False) -> Job:
        """Queue `studio approve` (``undo``: withdraw the approval) for ``shots``."""
        if not shots:
            raise WebError("give 'shots': the shots to approve")
        self._known_shots(shots)
        drawn = self.keyframes()
        missing = [s for s in shots if s not in drawn]
        if missing:
            raise WebError(f"shot {missing[0]} has no keyframe yet", status=409,
                           hint="draw keyframes first (Draw keyframes, or studio keyframes FILE)")
        verb = "withdraw approval of" if undo else "approve"
        return self.submit("approve", f"{verb} {', '.join(shots)}", shots=list(dict.fromkeys(shots)), undo=undo)

    def select_keyframe_take(self, shot_id: str, take: int) -> Job:
        self._known_shots([shot_id])
        current = self.keyframe(shot_id)
        takes = current["takes"] if current else []
        if take not in takes:
            raise WebError(f"shot {shot_id} has no keyframe take {take}",
                           hint=f"keyframe takes: {', '.join(map(str, takes)) or 'none yet'}")
        return self.submit("keyframe-take", f"use keyframe take {take} of {shot_id}", shots=[shot_id], take=take)

    def _known_shots(self, shots: list[str]) -> None:
        known = {s.shot_id for s in self.status().shots}
        unknown = [s for s in shots if s not in known]
        if unknown:
            raise WebError(f"no shot {unknown[0]!r} in the film", status=404,
                           hint="shot ids are on the cards (and in `studio shots FILE`)")

    def _run_keyframes(self, job: Job, progress: WebProgress) -> dict[str, Any]:
        """The keyframe jobs, through the stage's own functions (they write the lockfile)."""
        from studio.cache.keyframes import KeyframeStore
        from studio.run.keyframes import approve, select_keyframe_take
        from studio.run.local import keyframes_for_film

        cfg = self.config
        shots = list(job.params.get("shots", []))
        if job.kind == "approve":
            lock = Lockfile.load(cfg.lockfile)
            known = [s.shot_id for s in self.status().shots]
            changed = approve(lock, shots, known=known, undo=bool(job.params.get("undo")))
            return {"changed": changed, "approved": sorted(s for s, k in lock.keyframes.items() if k.approved)}
        if job.kind == "keyframe-take":
            manifest = Manifest(cfg.cache_dir)
            try:
                takes = manifest.keyframe_takes(cfg.film_id, shots[0])
            finally:
                manifest.close()
            lock = Lockfile.load(cfg.lockfile)
            select_keyframe_take(lock, takes, KeyframeStore(cfg.cache_dir), shots[0], job.params["take"])
            shots = []  # then as `studio keyframes`: the storyboard and report follow the selection
        result = keyframes_for_film(self.screenplay(), cfg.output_dir, cache_dir=cfg.cache_dir, name=cfg.name,
                                    lockfile=cfg.lockfile, backend_name=cfg.backend, audio=cfg.audio,
                                    new_takes=shots, progress=progress)
        report = result.report
        return {"keyframes_drawn": report["keyframes_drawn"], "flagged": report["flagged"],
                "takes": {s.shot_id: s.take for s in result.shots if s.shot_id in job.params.get("shots", [])},
                "wall_seconds": report["wall_seconds"]}

    def check_idle(self) -> None:
        """Refuse (409) while a job is waiting or running: it works on this film's files."""
        busy = [j for j in self.jobs if j.state in ("queued", "running")]
        if busy:
            raise WebError(f"{busy[0].label} is not finished", status=409,
                           hint="wait for the jobs at the top of the page, then make the new film")

    def open_film(self, file: Path) -> None:
        """Serve another screenplay (a new film made from the browser). Refused while
        a job is waiting or running (it works on this film's files); a screenplay
        that does not load leaves this film served."""
        config = self.config.for_file(file)
        with self._lock:
            self.check_idle()
            previous = (self.config, self._status, self._screenplay, self._keyframes, self.error, self.casting)
            self.config, self._status, self.casting = config, None, {}
            try:
                self.refresh(raise_errors=True)
            except StudioError:
                (self.config, self._status, self._screenplay, self._keyframes, self.error,
                 self.casting) = previous
                raise
        log.info("now serving %s", file)

    # -- casting ------------------------------------------------------------------------------
    def cast(self, character: str, likeness: str | None) -> None:
        """Cast ``character`` as an enrolled likeness for this session (None: as written)."""
        from studio.consistency.likeness import LikenessStore

        ids = [c.id for c in self.current_screenplay().characters]
        if character not in ids:
            raise WebError(f"no character {character!r} in the film", hint=f"characters: {', '.join(ids)}")
        if likeness:
            LikenessStore().get(likeness)  # an unknown name is an error listing the enrolled ones
        with self._lock:
            previous = dict(self.casting)
            if likeness:
                self.casting[character] = likeness
            else:
                self.casting.pop(character, None)
            try:
                self.screenplay()
            except StudioError:
                self.casting = previous
                raise
        self.refresh()

    # -- jobs -----------------------------------------------------------------------------------
    def submit(self, kind: str, label: str, **params: Any) -> Job:
        """Queue a job. The same request as a job still waiting (same kind and
        parameters: a double click, a page asking twice) is that job, not a new one;
        more than MAX_QUEUED waiting jobs is a 429 (the queue runs one at a time)."""
        with self._lock:
            for waiting in self.jobs:
                if waiting.state == "queued" and waiting.kind == kind and waiting.params == params:
                    return waiting
            if sum(j.state == "queued" for j in self.jobs) >= MAX_QUEUED:
                raise WebError(f"{MAX_QUEUED} jobs are already waiting", status=429,
                               hint="wait for them to finish (the jobs list at the top of the page)")
            job = Job(self._next_id, kind, label, params)
            self._next_id += 1
            self.jobs.append(job)
            del self.jobs[:-50]  # the waiting ones are the newest (one queue, in order): all kept
        self.hub.publish("job", job.to_dict())
        self._queue.put(job)
        return job

    def render(self, shots: list[str]) -> Job:
        """Queue a render: ``shots`` again as new takes (none: only the stale shots)."""
        known = {s.shot_id for s in self.status().shots}
        unknown = [s for s in shots if s not in known]
        if unknown:
            raise WebError(f"no shot {unknown[0]!r} in the film")
        label = f"re-render {', '.join(shots)}" if shots else "render stale shots"
        return self.submit("render", label, shots=list(dict.fromkeys(shots)))

    def select_take(self, shot_id: str, take: int) -> Job:
        if shot_id not in {s.shot_id for s in self.status().shots}:
            raise WebError(f"no shot {shot_id!r} in the film")
        recorded = {t["take"] for t in self.takes(shot_id)}
        if take not in recorded:
            raise WebError(f"shot {shot_id} has no take {take}",
                           hint=f"takes: {', '.join(map(str, sorted(recorded))) or 'none yet'}")
        return self.submit("take", f"use take {take} of {shot_id}", shots=[shot_id], take=take)

    def remove_likeness(self, name: str) -> Job:
        from studio.consistency.likeness import LikenessStore

        LikenessStore().get(name)
        return self.submit("remove-likeness", f"remove likeness {name}", name=name)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None or self._stop.is_set():
                return
            job.state = "running"
            self.hub.publish("job", job.to_dict())
            try:
                job.result = self._run(job)
                job.state = "done"
            except StudioError as exc:
                job.state, job.error = "failed", _error_text(exc)
            except Exception as exc:  # noqa: BLE001 - a page must hear about it; the server goes on
                log.error("job %s failed:\n%s", job.label, traceback.format_exc())
                job.state, job.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            self.hub.publish("job", job.to_dict())
            self.refresh()

    def _run(self, job: Job) -> dict[str, Any]:
        from studio.run.local import render_film

        cfg = self.config
        progress = WebProgress(self.hub, job.id)
        if job.kind in ("keyframes", "approve", "keyframe-take"):
            return self._run_keyframes(job, progress)
        if job.kind == "remove-likeness":
            from studio.consistency.likeness import LikenessStore
            from studio.run.identity import remove_likeness

            name = job.params["name"]
            removal = remove_likeness(name, store=LikenessStore(), caches=[cfg.cache_dir])
            with self._lock:
                self.casting = {c: n for c, n in self.casting.items() if n != name}
            return {"shots_dropped": removal.shots_dropped}
        if job.kind == "take":
            # `studio take` semantics: the lockfile selects the take, then the cut is rebuilt
            shot_id, number = job.params["shots"][0], job.params["take"]
            manifest = Manifest(cfg.cache_dir)
            try:
                recorded = {t.take: t for t in manifest.takes(cfg.film_id, shot_id)}
            finally:
                manifest.close()
            if number not in recorded:
                raise StudioError(f"shot {shot_id} has no take {number}")
            lock = Lockfile.load(cfg.lockfile)
            lock.shots[shot_id] = LockedShot(number, recorded[number].seed, recorded[number].key)
            lock.save()
            new_takes: list[str] = []
        else:
            new_takes = list(job.params.get("shots", []))
        result = render_film(self.screenplay(), cfg.output_dir, cache_dir=cfg.cache_dir, name=cfg.name,
                             backend_name=cfg.backend, audio=cfg.audio, lockfile=cfg.lockfile, new_takes=new_takes,
                             progress=progress)
        report = result.report
        return {"rendered": report["rendered"], "cut_rebuilt": report["cut_rebuilt"],
                "wall_seconds": report["wall_seconds"]}

    # -- watching the files ---------------------------------------------------------------------
    def _watch(self) -> None:
        """Look at the screenplay and its lockfile a few times a second; when either
        changes on disk (an editor's save, `studio take` in a terminal), refresh."""
        seen = self._stamps()
        while not self._stop.wait(WATCH_INTERVAL):
            now = self._stamps()
            if now != seen:
                seen = now = self._settled(now)
                try:
                    self.refresh()
                except Exception:  # noqa: BLE001 - the watcher must outlive a bad refresh
                    log.error("refresh failed:\n%s", traceback.format_exc())

    def _settled(self, now: tuple[Any, ...]) -> tuple[Any, ...]:
        """Wait until the files hold still: an editor that saves in place truncates
        and then writes, and a look in between would show a half-saved (or empty)
        screenplay as a problem for a moment."""
        for _ in range(SETTLE_TRIES):
            if self._stop.wait(SETTLE_INTERVAL):
                break
            again = self._stamps()
            if again == now:
                break
            now = again
        return now

    def _stamps(self) -> tuple[Any, ...]:
        stamps: list[Any] = []
        for path in (self.config.file, self.config.lockfile):
            try:
                st = os.stat(path)
                stamps.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                stamps.append(None)
        return tuple(stamps)


def _error_text(exc: StudioError) -> str:
    return str(exc)
