"""Chunk planning: a long shot is cut into legal generation calls that join into
exactly the shot's frames, each continuing from the frames before it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.errors import StudioError
from studio.render.diffusers.chunks import is_legal, legal_down, legal_up, plan_chunks


def test_legal_frame_counts():
    assert [legal_up(n, 4) for n in (1, 2, 5, 6, 9, 81)] == [1, 5, 5, 9, 9, 81]
    assert [legal_down(n, 8) for n in (0, 1, 8, 9, 17, 20)] == [0, 1, 1, 9, 17, 17]
    assert is_legal(81, 4) and is_legal(161, 8) and not is_legal(80, 4) and not is_legal(0, 4)


def _vace(overlap):
    return lambda available: min(overlap, available)


def test_a_short_cut_is_one_call():
    [chunk] = plan_chunks(12, limit=81, multiple=4, available=0, overlap=5, context_for=_vace(5))
    assert (chunk.context, chunk.new, chunk.frames, chunk.surplus) == (0, 12, 13, 1)


def test_a_continuous_shot_starts_from_the_frames_before():
    [chunk] = plan_chunks(12, limit=81, multiple=4, available=5, overlap=5, context_for=_vace(5))
    assert (chunk.context, chunk.new, chunk.frames) == (5, 12, 17)


def test_a_long_shot_is_balanced_chunks_with_overlap():
    chunks = plan_chunks(240, limit=81, multiple=4, available=0, overlap=5, context_for=_vace(5))
    assert sum(c.new for c in chunks) == 240
    assert [c.context for c in chunks] == [0, 5, 5, 5]
    assert all(is_legal(c.frames, 4) and c.frames <= 81 for c in chunks)
    assert max(c.new for c in chunks) - min(c.new for c in chunks) <= 8  # no stub at the end
    # image-to-video continues from a single frame
    i2v = plan_chunks(240, limit=81, multiple=4, available=1, overlap=1, context_for=lambda a: min(1, a))
    assert [(c.context, c.new) for c in i2v] == [(1, 80)] * 3


def test_bad_limits_are_errors():
    with pytest.raises(StudioError, match="frames_per_chunk 80 is not 4k\\+1"):
        plan_chunks(100, limit=80, multiple=4, available=0, overlap=5, context_for=_vace(5))
    with pytest.raises(StudioError, match="leaves no room"):
        plan_chunks(100, limit=9, multiple=4, available=9, overlap=9, context_for=_vace(9))


@settings(max_examples=300, deadline=None)
@given(total=st.integers(1, 2000), multiple=st.sampled_from([1, 4, 8]), k=st.integers(1, 20),
       overlap=st.integers(1, 17), available=st.integers(0, 17), ltx=st.booleans())
def test_chunks_join_into_exactly_the_shot(total, multiple, k, overlap, available, ltx):
    limit = k * multiple + 1
    overlap = min(overlap, limit - 1)  # the backend refuses an overlap that fills a chunk
    if ltx:  # video conditions must be legal lengths themselves
        def context_for(a):
            return legal_down(min(overlap, a), multiple)
    else:
        context_for = _vace(overlap)
    chunks = plan_chunks(total, limit=limit, multiple=multiple, available=available, overlap=overlap,
                         context_for=context_for)
    assert sum(c.new for c in chunks) == total
    have = min(available, overlap)
    for c in chunks:
        assert c.new >= 1 and c.frames <= limit and is_legal(c.frames, multiple)
        assert c.frames >= c.context + c.new and c.surplus < multiple
        assert c.context == context_for(have)  # the context is frames that exist
        have = min(overlap, have + c.new)
