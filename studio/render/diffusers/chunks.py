"""Chunks: how a shot longer than a model's frame limit is generated piece by piece.

Video models generate a fixed set of frame counts: ``k * multiple + 1`` (Wan: 4k+1,
LTX-Video: 8k+1), up to a limit (81 frames for Wan 2.1, 161 for LTX-Video 0.9.5). A
shot is cut into chunks; each chunk after the first is conditioned on the last frames
already made (its *context*), which the model reproduces at the start of its output.
Those reproductions are dropped, and a chunk's surplus frames (generation rounds up to
a legal count) are dropped from its end, so the joined shot has every frame exactly
once: ``sum(chunk.new) == shot frames``.

The first chunk of a continuous shot takes its context from the end of the shot it
continues, in the same way. Pure arithmetic: no torch here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

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
