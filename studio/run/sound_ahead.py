"""``studio render -j N``: the sound made while the shots render.

The sound (score, ambience, the mix: :func:`~studio.audio.film.make_film_sound`) needs
the plans' timing (scene lengths, where each line starts, the film's length) and the
voiced lines, not the pictures, which are known as soon as the film is planned. Under
``-j`` the studio process only dispatches shots to its workers (it waits on their
pipes), so :class:`SoundAhead` makes the sound there, in a thread, while they render;
:func:`studio.run.local.finish_film` joins it. The timing it used is compared with the
finished shots' plans (a QA re-take changes a seed, never a length): when they differ
the thread's sound is dropped and the sound made again as ``-j 1`` makes it, so the
film is byte-identical either way. While the thread runs, :class:`~studio.run.parallel.ProcessPool`
holds one shot worker back: the sound takes that core and that memory.

Not ahead (made after the shots, as at ``-j 1``): a film that mixes the shots' own
sound (``film.sound.effects: model``) or whose backend makes sound with its pictures.
The thread never touches the progress display; an error in it is raised, unchanged,
where ``-j 1`` raises it (when the sound is joined).

A film without sound (``--silent``) still has an audio stream, a silent track encoded once
per length and kept in the cache (:func:`~studio.assemble.cut.silent_track`): at every
``-j``, :func:`silence_ahead` encodes it in a thread while the shots render, and the cut
finds it there (on the 90-minute feature about 25 s of one core that the cut waited for
at the end, the other core idle)."""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studio.render.plan import ShotPlan
from studio.run.job import FilmJob

if TYPE_CHECKING:  # imported when the sound is made: a shot worker imports this module, never makes sound
    from studio.audio.film import FilmSound


class SoundStopped(BaseException):
    """Raised in the sound's thread to stop it (see :meth:`SoundAhead.stop`)."""


@dataclass(frozen=True)
class SoundTiming:
    """What the sound takes from the plans: the film's clock."""

    scene_seconds: dict[str, float]
    line_starts: dict[str, float]
    film_seconds: float


def sound_timing(plans: Sequence[ShotPlan], fps: float) -> SoundTiming:
    """The clock of a film of ``plans`` at ``fps`` frames a second."""
    scene_seconds: dict[str, float] = {}
    for plan in plans:
        scene_seconds[plan.scene_id] = scene_seconds.get(plan.scene_id, 0.0) + plan.frames / plan.fps
    film_frames = sum(p.frames for p in plans)
    return SoundTiming(
        scene_seconds=scene_seconds,
        line_starts={line.id: p.start_frame / p.fps + line.start for p in plans for line in p.lines},
        film_seconds=film_frames / fps,
    )


def silence_ahead(job: FilmJob) -> threading.Thread | None:
    """Start encoding a film without sound's silent track, from the plans' length, in a
    thread (a daemon: an interrupted render does not wait for it); None when the film has
    sound. An error in it is left to the cut, which asks for the track again and raises
    the error there, as it would have without this thread."""
    if job.audio or not job.plans:
        return None
    from studio.assemble.cut import silent_track

    seconds, root = sound_timing(job.plans, job.screenplay.film.fps).film_seconds, job.store.root

    def make() -> None:
        try:
            silent_track(root, seconds)
        except Exception:  # noqa: BLE001 - the cut makes it again and raises this there
            pass

    thread = threading.Thread(target=make, name="studio-silence-ahead", daemon=True)
    thread.start()
    return thread


def can_go_ahead(job: FilmJob) -> bool:
    """The sound can be made before the pictures: it does not mix the shots' own sound."""
    return (job.audio and bool(job.plans) and job.screenplay.film.sound.effects != "model"
            and not callable(getattr(job.backend, "take_sound", None)))


@dataclass
class SoundAhead:
    """The film's sound, being made in a thread from the plans' timing."""

    timing: SoundTiming
    seconds: float = 0.0  # the thread's own time
    result: FilmSound | None = None
    error: BaseException | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def start(cls, job: FilmJob) -> SoundAhead:
        from studio.audio.film import make_film_sound  # here, not in the thread: imports take a lock

        ahead = cls(sound_timing(job.plans, job.screenplay.film.fps))
        arguments: dict[str, Any] = {
            "scene_seconds": ahead.timing.scene_seconds, "line_starts": ahead.timing.line_starts,
            "lines": dict(job.lines), "film_seconds": ahead.timing.film_seconds, "cache_dir": job.cache_dir,
            "out_dir": job.output_dir, "name": job.name,
        }
        screenplay = job.screenplay

        def make() -> None:
            started = time.perf_counter()
            try:
                ahead.result = make_film_sound(screenplay, **arguments)
            except BaseException as exc:  # noqa: BLE001 - raised again, unchanged, by join()
                ahead.error = exc
            finally:
                ahead.seconds = time.perf_counter() - started

        # a daemon: a render interrupted during its shots does not wait for its sound at exit
        ahead._thread = threading.Thread(target=make, name="studio-sound-ahead", daemon=True)
        ahead._thread.start()
        return ahead

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def stop(self, timeout: float = 30.0) -> None:
        """Interrupt the sound (the render was interrupted): :class:`SoundStopped` is raised
        in the thread, as Ctrl-C raises KeyboardInterrupt in the studio process at ``-j 1``,
        so the mix's temporary folder is removed (not KeyboardInterrupt itself: Python
        would then end the process by SIGINT, not with the CLI's exit code); waited for up to ``timeout`` seconds (the thread takes
        it once its current ffmpeg or fluidsynth call returns)."""
        thread = self._thread
        if thread is None or not thread.is_alive() or thread.ident is None:
            return
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(SoundStopped))
        thread.join(timeout)

    def join(self, plans: Sequence[ShotPlan], fps: float) -> FilmSound | None:
        """The sound, once made, when it was made for ``plans``' timing (its error raised
        as it came); None when the timing changed (the caller makes it again)."""
        self.wait()
        if sound_timing(plans, fps) != self.timing:
            return None
        if self.error is not None:
            raise self.error
        return self.result
