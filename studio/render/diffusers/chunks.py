"""Chunks: how a shot longer than a model's frame limit is generated piece by piece.

Video models generate a fixed set of frame counts: ``k * multiple + 1`` (Wan: 4k+1,
LTX-Video: 8k+1), up to a limit (81 frames for Wan 2.1, 161 for LTX-Video 0.9.5). A
shot is cut into chunks; each chunk after the first is conditioned on the last frames
already made (its *context*), which the model reproduces at the start of its output.
Those reproductions are dropped, and a chunk's surplus frames (generation rounds up to
a legal count) are dropped from its end, so the joined shot has every frame exactly
once: ``sum(chunk.new) == shot frames``.

The first chunk of a continuous shot takes its context from the end of the shot it
continues, in the same way.

**Timing.** A model generates at its native frame rate (Wan 2.1: 16 fps, LTX-Video: 24),
which need not be the film's. A shot of ``F`` film frames at ``film_fps`` lasts
``F / film_fps`` seconds: it is generated as ``ceil(F * native_fps / film_fps)`` native
frames (the chunks above), so motion plays at the speed the model learnt, and retimed to
exactly ``F`` film frames by taking, for each film frame, the native frame nearest its
time (:func:`retimed`). Nearest-frame, not frame blending: every film frame is a frame the
model drew, sharp, with no double exposure of moving hands and faces (blending 16 to 24
fps would mix two frames in two of every three film frames, which also blurs the faces
identity QA checks); the cost is an uneven hold (16 -> 24 fps holds frames 2, 1, 2, 1...,
the cadence of a telecine 2:3 pulldown). Context from a shot before (film frames) is
retimed the other way (:func:`context_indices`). Pure arithmetic: no torch here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from studio.errors import StudioError


@dataclass(frozen=True)
class Chunk:
    """One generation call of a shot."""

    context: int  # frames given as context: reproduced at the start of the output, dropped
    new: int  # frames the chunk adds to the shot
    frames: int  # frames generated: context + new, rounded up to a legal count

    @property
    def surplus(self) -> int:
        """Frames generated past what the shot needs (dropped from the chunk's end)."""
        return self.frames - self.context - self.new


def is_legal(frames: int, multiple: int) -> bool:
    """``frames`` is ``k * multiple + 1`` for some k >= 0."""
    return frames >= 1 and (frames - 1) % multiple == 0


def legal_up(frames: int, multiple: int) -> int:
    """The smallest legal frame count >= ``frames`` (at least 1)."""
    return max(0, math.ceil((frames - 1) / multiple)) * multiple + 1


def legal_down(frames: int, multiple: int) -> int:
    """The largest legal frame count <= ``frames``; 0 when ``frames`` < 1."""
    return 0 if frames < 1 else (frames - 1) // multiple * multiple + 1


def plan_chunks(total: int, *, limit: int, multiple: int, available: int, overlap: int,
                context_for: Callable[[int], int]) -> list[Chunk]:
    """Chunks that generate ``total`` frames.

    ``limit``: the most frames one call may generate (legal). ``available``: context
    frames there are before the first chunk (the continued shot's last frames, 0 for a
    cut). ``overlap``: how many of the latest frames are kept as context for the next
    chunk. ``context_for(n)``: how many of ``n`` available frames the model takes as
    context (0 when it cannot continue from frames). Chunks are balanced: a long shot
    is not a run of full chunks and a stub.
    """
    if total < 1:
        raise StudioError(f"a shot needs at least one frame, not {total}")
    if not is_legal(limit, multiple):
        raise StudioError(f"frames_per_chunk {limit} is not {multiple}k+1",
                          hint=f"use e.g. {legal_down(limit, multiple)} or {legal_up(limit, multiple)}")
    chunks: list[Chunk] = []
    remaining = total
    available = min(available, overlap)
    while remaining > 0:
        context = context_for(available)
        capacity = limit - context
        if capacity < 1:
            raise StudioError(f"a chunk of {limit} frames leaves no room after {context} frames of context",
                              hint="raise frames_per_chunk or lower overlap")
        # how many calls are left (later ones continue from a full overlap), then an even share
        steady = limit - context_for(overlap)
        calls = 1 if remaining <= capacity else 1 + math.ceil((remaining - capacity) / max(1, steady))
        share = math.ceil(remaining / calls)
        if calls == 1:
            new = remaining
        else:  # a legal generation with no surplus, as close to the share as allowed
            new = min(capacity, legal_up(context + share, multiple) - context)
        chunks.append(Chunk(context, new, legal_up(context + new, multiple)))
        remaining -= new
        available = min(overlap, available + new)
    return chunks


# --------------------------------------------------------------------------- timing

#: The most a shot may be retimed, either way: beyond 3 film frames per generated frame motion
#: visibly steps (animation "on threes"), and generating over 3 frames per film frame wastes most
#: of the work. Set the model's ``fps`` option to move its native rate nearer the film's.
MAX_RETIME = 3

Frame = TypeVar("Frame")


def check_retime(film_fps: int, native_fps: int, model: str) -> None:
    """A StudioError when retiming ``native_fps`` to ``film_fps`` is past :data:`MAX_RETIME`."""
    if film_fps > MAX_RETIME * native_fps or native_fps > MAX_RETIME * film_fps:
        raise StudioError(f"model {model!r} generates at {native_fps} fps: a {film_fps} fps film is more than "
                          f"{MAX_RETIME}x away from it",
                          hint=f"set the film's fps nearer {native_fps}, or the model's option fps (motion then "
                               "plays at another speed than the model learnt)")


def native_frames(film_frames: int, film_fps: int, native_fps: int) -> int:
    """Frames at ``native_fps`` that cover ``film_frames`` at ``film_fps`` (the shot's duration)."""
    return -(-film_frames * native_fps // film_fps)


def native_index(film_index: int, film_fps: int, native_fps: int) -> int:
    """The native frame nearest in time to film frame ``film_index`` (ties to the later)."""
    return (2 * film_index * native_fps + film_fps) // (2 * film_fps)


def retimed(native: Iterable[Frame], film_frames: int, film_fps: int, native_fps: int) -> Iterator[Frame]:
    """Exactly ``film_frames`` frames at ``film_fps`` from ``native`` frames at ``native_fps``, each the
    native frame nearest its time; streams (holds one native frame). Fewer native frames than
    :func:`native_frames` is an error."""
    film = 0
    last = -1
    for index, frame in enumerate(native):
        last = index
        while film < film_frames and min(native_index(film, film_fps, native_fps),
                                         native_frames(film_frames, film_fps, native_fps) - 1) == index:
            yield frame
            film += 1
        if film == film_frames:
            return
    if film < film_frames:
        raise StudioError(f"retiming needs {native_frames(film_frames, film_fps, native_fps)} frames at "
                          f"{native_fps} fps, got {last + 1}")


def context_indices(available: int, wanted: int, film_fps: int, native_fps: int) -> list[int]:
    """Which of ``available`` film frames (the end of the shot before, oldest first) stand for up to
    ``wanted`` context frames at ``native_fps`` ending on the last one: for the m-th native frame
    back, the film frame nearest ``m / native_fps`` seconds before the end (oldest first; a film
    slower than the model repeats frames)."""
    picked: list[int] = []
    for m in range(wanted):
        back = (2 * m * film_fps + native_fps) // (2 * native_fps)
        if back >= available:
            break
        picked.append(available - 1 - back)
    return picked[::-1]


def film_frames_for_context(context: int, film_fps: int, native_fps: int) -> int:
    """Film frames a shot must keep so that ``context`` native frames can be taken from them."""
    return 0 if context < 1 else (2 * (context - 1) * film_fps + native_fps) // (2 * native_fps) + 1
