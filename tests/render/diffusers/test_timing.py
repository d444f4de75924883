"""Native frame rates: a model generates a shot's duration at the rate it was trained at
(Wan 2.1: 16 fps, LTX-Video: 24), so motion plays at the speed it learnt, and the frames
are retimed, nearest frame by time, to exactly the shot's frames at the film's fps.

What a user relies on: a 24 fps film made with Wan has Wan motion at its real speed (not
1.5x too fast) and still exactly the planned frames; a film at the model's own rate is not
retimed; continuing a shot hands the model context at its own rate; the cache key knows
the native rate; an absurd ratio is refused with a hint."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from studio.errors import StudioError
from studio.graph.scene_graph import SceneGraph
from studio.models import Registry
from studio.render.backend import Conditioning
from studio.render.diffusers.backend import DiffusersBackend, frame_digest
from studio.render.diffusers.chunks import (
    context_indices,
    film_frames_for_context,
    native_frames,
    native_index,
    retimed,
)
from studio.render.plan import plan_film
from tests.render.diffusers.helpers import load_film, models_block, write_film

torch = pytest.importorskip("torch")


def _native_models(tiny_models: dict[str, Path]) -> dict[str, dict]:
    """The tiny models without an ``fps`` option: each generates at its family's native rate."""
    block = models_block(tiny_models)
    for entry in block.values():  # each its own options (models_block shares one dict between them)
        entry["options"] = {k: v for k, v in entry.get("options", {}).items() if k != "fps"}
    return block


def _backend(tiny_models: dict[str, Path], options: dict, **fps: int) -> DiffusersBackend:
    block = _native_models(tiny_models)
    for name, rate in fps.items():
        block[name.replace("_", "-")]["options"]["fps"] = rate
    registry = Registry()
    registry.update(block, "test")
    return DiffusersBackend(options, registry=registry)


def _plans(folder: Path, fps: int) -> dict:
    screenplay = load_film(write_film(folder, {}, {}, fps=fps))
    return {p.shot_id: p for p in plan_film(SceneGraph.from_screenplay(screenplay))}


def _at_generation_size(backend: DiffusersBackend, plan):  # type: ignore[no-untyped-def]
    """``plan`` at the size the models generate at: the frames yielded are the very frames kept."""
    width, height = backend.generation_size(plan)
    return replace(plan, width=width, height=height)


def test_nearest_frame_retiming_is_frame_exact():
    assert native_frames(24, 24, 16) == 16 and native_frames(36, 24, 16) == 24 and native_frames(25, 24, 16) == 17
    # 16 -> 24 fps: each native frame held 1 or 2 film frames (the 2:3 cadence), none skipped
    assert list(retimed(range(16), 24, 24, 16)) == [native_index(i, 24, 16) for i in range(24)]
    assert list(retimed(range(16), 24, 24, 16))[:6] == [0, 1, 1, 2, 3, 3]
    assert list(retimed(range(48), 24, 24, 48)) == list(range(0, 48, 2))  # faster model: every other frame
    assert list(retimed(range(16), 16, 16, 16)) == list(range(16))  # same rate: untouched
    for film, native, frames in [(24, 16, 37), (25, 16, 50), (30, 24, 91), (8, 16, 9), (24, 24, 1)]:
        out = list(retimed(range(native_frames(frames, film, native)), frames, film, native))
        assert len(out) == frames and out == sorted(out)
    with pytest.raises(StudioError, match="retiming needs 16 frames"):
        list(retimed(range(10), 24, 24, 16))


def test_context_from_the_shot_before_is_taken_at_the_native_rate():
    # 6 native frames at 16 fps back from the last film frame at 24 fps: every 1.5 film frames
    assert context_indices(16, 6, 24, 16) == [7, 9, 10, 12, 13, 15]
    assert context_indices(16, 6, 16, 16) == [10, 11, 12, 13, 14, 15]
    assert context_indices(3, 6, 24, 16) == [0, 2]  # fewer film frames: as many native ones as they cover
    assert film_frames_for_context(6, 24, 16) == 9 and film_frames_for_context(6, 48, 16) == 16


def test_a_wan_shot_in_a_24_fps_film_is_generated_at_16_fps(tiny_models, tmp_path):
    backend = _backend(tiny_models, {"model": "tiny-wan-t2v"})
    assert backend.native_fps == 16  # Wan 2.1's training rate, not the film's
    plan = _at_generation_size(backend, _plans(tmp_path, 24)["s1-wide"])
    assert plan.fps == 24 and plan.frames == 36  # a second and a half
    frames = list(backend.render(plan, Conditioning()))
    assert len(frames) == plan.frames and all(f.shape == (plan.height, plan.width, 3) for f in frames)
    calls = backend.calls
    assert {c.fps for c in calls} == {16}
    assert sum(c.new for c in calls) == 24 == native_frames(plan.frames, 24, 16)  # 1.5 s at 16 fps
    kept = [d for c in calls for d in c.kept]
    assert [frame_digest(f) for f in frames] == [kept[native_index(i, 24, 16)] for i in range(plan.frames)]


def test_a_film_at_the_models_own_rate_is_not_retimed(tiny_models, tmp_path):
    backend = _backend(tiny_models, {"model": "tiny-wan-t2v"})
    plan = _at_generation_size(backend, _plans(tmp_path, 16)["s1-wide"])
    frames = list(backend.render(plan, Conditioning()))
    assert plan.frames == 24 and sum(c.new for c in backend.calls) == 24
    assert [frame_digest(f) for f in frames] == [d for c in backend.calls for d in c.kept]


def test_ltx_generates_at_24_fps_and_is_told_its_frame_rate(tiny_models, tmp_path):
    backend = _backend(tiny_models, {"model": "tiny-ltx"})
    assert backend.native_fps == 24
    plan = _at_generation_size(backend, _plans(tmp_path, 12)["s2-ben"])
    frames = list(backend.render(plan, Conditioning()))
    assert len(frames) == plan.frames == 18
    assert sum(c.new for c in backend.calls) == 36 and {c.fps for c in backend.calls} == {24}


def test_a_continuous_shot_continues_from_frames_at_the_native_rate(tiny_models, tmp_path):
    backend = _backend(tiny_models, {"model": "tiny-wan-t2v", "vace_model": "tiny-wan-vace"})
    plan = _at_generation_size(backend, _plans(tmp_path, 24)["s1-ana"])
    rng = np.random.default_rng(0)
    previous = [rng.integers(0, 256, (plan.height, plan.width, 3), dtype=np.uint8)
                for _ in range(backend.tail_frames)]
    frames = list(backend.render(plan, Conditioning(previous_frames=previous)))
    assert len(frames) == plan.frames == 36  # 1.5 s: 24 frames generated at 16 fps
    first = backend.calls[0]
    used = [frame_digest(previous[i]) for i in context_indices(len(previous), backend.overlap, 24, 16)]
    assert first.context == backend.overlap and first.previous == tuple(used) == first.context_frames
    # the executor keeps enough film frames for that context even at 3x the native rate
    assert backend.tail_frames >= film_frames_for_context(backend.overlap, 48, 16)


def test_the_cache_key_knows_the_native_rate(tiny_models):
    wan = _backend(tiny_models, {"model": "tiny-wan-t2v"})
    faster = _backend(tiny_models, {"model": "tiny-wan-t2v"}, tiny_wan_t2v=24)
    assert wan.describe()["native_fps"] == 16 and faster.describe()["native_fps"] == 24
    assert wan.describe() != faster.describe()
    assert _backend(tiny_models, {"model": "tiny-ltx"}).describe()["native_fps"] == 24


def test_an_absurd_retime_is_refused_and_mixed_rates_too(tiny_models, tmp_path):
    backend = _backend(tiny_models, {"model": "tiny-wan-t2v"})
    plan = _plans(tmp_path, 24)["s1-wide"]
    with pytest.raises(StudioError, match="generates at 16 fps: a 60 fps film") as err:
        list(backend.render(replace(plan, fps=60, frames=60), Conditioning()))
    assert "fps" in (err.value.hint or "")
    mixed = _backend(tiny_models, {"model": "tiny-wan-t2v", "vace_model": "tiny-wan-vace"}, tiny_wan_vace=24)
    with pytest.raises(StudioError, match="different frame rates"):
        mixed.describe()
    with pytest.raises(StudioError, match="option 'fps' must be a whole number"):
        _backend(tiny_models, {"model": "tiny-wan-t2v"}, tiny_wan_t2v=0).roles  # noqa: B018
