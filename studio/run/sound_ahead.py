"""``studio render -j N``: the sound made while the shots render.

The sound (score, ambience, the mix: :func:`~studio.audio.film.make_film_sound`) needs
the plans' timing (scene lengths, where each line starts, the film's length) and the
voiced lines, not the pictures, which are known as soon as the film is planned. Under
``-j`` the studio process only dispatches shots to its workers (it waits on their
pipes), so :class:`SoundAhead` makes the sound meanwhile, in a process of its own (a
``spawn`` child, as the shot and voice workers are), and
:func:`studio.run.local.finish_film` joins it. The timing it used is compared with the
finished shots' plans (a QA re-take changes a seed, never a length): when they differ
the child's sound is dropped and the sound made again as ``-j 1`` makes it, so the
film is byte-identical either way. While the child runs,
:class:`~studio.run.parallel.ProcessPool` holds one shot worker back: the sound takes
that core and that memory.

A process, not a thread of the studio process: making the sound of a 90-minute feature
takes the process that makes it from ~110 to 250-320 MB (the score's and the mix's
arrays, SciPy), and a studio process keeps most of that after the sound is done (freed
memory stays with it, and so do the libraries), beside both shot workers and their
encoders for the rest of the shots. The child gives all of it back when it ends.

Not ahead (made after the shots, as at ``-j 1``): a film that mixes the shots' own
sound (``film.sound.effects: model``) or whose backend makes sound with its pictures.
The child never touches the progress display. An error in it is raised, unchanged,
where ``-j 1`` raises it (when the sound is joined); one that cannot be sent back
(it does not survive pickling), or a child that died, has the sound made again there,
as ``-j 1`` makes it, which raises the error itself.

A film without sound (``--silent``) still has an audio stream, a silent track encoded once
per length and kept in the cache (:func:`~studio.assemble.cut.silent_track`): at every
``-j``, :func:`silence_ahead` encodes it in a thread while the shots render, and the cut
finds it there (on the 90-minute feature about 25 s of one core that the cut waited for
at the end, the other core idle)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from studio.render.plan import ShotPlan
from studio.run.children import cpu_seconds, die_with_parent, survives_pickling
from studio.run.job import FilmJob

if TYPE_CHECKING:  # imported when the sound is made: a shot worker imports this module, never makes sound
    from studio.audio.film import FilmSound


class SoundStopped(BaseException):
    """Raised in the sound's process to stop it (see :meth:`SoundAhead.stop`)."""


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
    """The film's sound, being made in a process of its own from the plans' timing."""

    timing: SoundTiming
    seconds: float = 0.0  # the child's own time making it
    cpu: float | None = None  # and its CPU seconds (its ffmpeg and fluidsynth calls' included)
    result: FilmSound | None = None
    error: BaseException | None = None
    _process: Any = field(default=None, repr=False)
    _conn: Connection | None = field(default=None, repr=False)

    @classmethod
    def start(cls, job: FilmJob) -> SoundAhead:
        ahead = cls(sound_timing(job.plans, job.screenplay.film.fps))
        arguments: dict[str, Any] = {
            "scene_seconds": ahead.timing.scene_seconds, "line_starts": ahead.timing.line_starts,
            "lines": dict(job.lines), "film_seconds": ahead.timing.film_seconds, "cache_dir": job.cache_dir,
            "out_dir": job.output_dir, "name": job.name,
        }
        context = multiprocessing.get_context("spawn")
        ahead._conn, sending = context.Pipe(duplex=False)
        # a daemon: a render interrupted during its shots does not wait for its sound at exit
        ahead._process = context.Process(target=_make_sound, args=(sending, job.screenplay, arguments, os.getpid()),
                                         name="studio-sound-ahead", daemon=True)
        ahead._process.start()
        sending.close()
        return ahead

    def _collect(self, block: bool) -> None:
        """Read the child's answer when there is one (``block``: wait for it); a child
        that ended without one leaves no result and no error (the sound is made again)."""
        if self._conn is None or (not block and not self._conn.poll()):
            return
        try:
            what, value, self.seconds, self.cpu = self._conn.recv()
        except (EOFError, OSError):
            what, value = "gone", None
        self._conn.close()
        self._conn = None
        if what == "done":
            self.result = value
        elif what == "error":
            self.error = value
        self._process.join()

    def running(self) -> bool:
        self._collect(block=False)
        return self._conn is not None

    def wait(self) -> None:
        self._collect(block=True)

    def stop(self, timeout: float = 30.0) -> None:
        """Interrupt the sound (the render was interrupted): SIGTERM raises
        :class:`SoundStopped` in the child, as Ctrl-C raises KeyboardInterrupt in the
        studio process at ``-j 1``, so the mix's temporary folder is removed; waited for
        up to ``timeout`` seconds (the child takes it once its current ffmpeg or
        fluidsynth call is interrupted), then killed."""
        process = self._process
        if process is None or self._conn is None:
            return
        if process.is_alive():
            process.terminate()
            process.join(timeout)
            if process.is_alive():
                process.kill()
        self._collect(block=True)

    def join(self, plans: Sequence[ShotPlan], fps: float) -> FilmSound | None:
        """The sound, once made, when it was made for ``plans``' timing (its error raised
        as it came); None when the timing changed or the child could not answer (the
        caller makes it again)."""
        self.wait()
        if sound_timing(plans, fps) != self.timing:
            return None
        if self.error is not None:
            raise self.error
        return self.result


def _stopped(signum: int, frame: Any) -> None:
    raise SoundStopped


def _make_sound(conn: Connection, screenplay: Any, arguments: dict[str, Any], parent: int) -> None:
    """The sound's process: make it, send back ``(what, value, seconds, cpu)``: what is
    ``done`` (the :class:`~studio.audio.film.FilmSound`), ``error`` (the exception, raised
    again in the studio process) or ``again`` (an error that cannot travel)."""
    die_with_parent(parent)
    signal.signal(signal.SIGTERM, _stopped)
    started, cpu = time.perf_counter(), cpu_seconds()
    try:
        from studio.audio.film import make_film_sound

        message: tuple[str, Any] = ("done", make_film_sound(screenplay, **arguments))
    except (SoundStopped, KeyboardInterrupt):
        return  # interrupted: the studio process is stopping too
    except BaseException as exc:  # noqa: BLE001 - raised again, unchanged, by join()
        message = ("error", exc) if survives_pickling(exc) else ("again", None)
    try:
        conn.send((*message, time.perf_counter() - started, cpu_seconds() - cpu))
    except OSError:  # the studio process went away
        pass
