"""SkyReels-V2 diffusion forcing: a long take, or a continuous chain, in one generation.

What a user relies on: a film renders end to end with the ``skyreels-df`` family (every
clip its planned frames, size and fps); a cut starts from the prompt or from its keyframe;
a continuous shot continues from the frames before it through the video-to-video pipeline,
whose copy of the given frames and re-decoded context are dropped exactly; a 60-second take
is one call, denoised in the pipeline's own windows of ``base_num_frames`` that overlap by
``overlap_history`` (held at ``addnoise_condition``), with exactly its frames, none twice and
none missing, where today's chunking (Wan VACE) takes dozens of calls for the same length.
On tiny random-weight models of the real classes, loaded through the registry."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio.errors import StudioError
from studio.models import BUILTIN, Registry
from studio.render.backend import Conditioning
from studio.render.diffusers.backend import DiffusersBackend, _to_uint8, frame_digest
from studio.render.diffusers.windows import (
    denoising_rows,
    full_windows,
    is_take,
    latents,
    take_down,
    take_up,
    windows,
)
from tests.render.diffusers.helpers import FPS, SIZE
from tests.render.diffusers.helpers import models_block as wan_models
from tests.render.diffusers.test_backend import ffprobe, render
from tests.render.diffusers.tiny_skyreels import TINY_BASE_FRAMES, models_block, save_skyreels_df

torch = pytest.importorskip("torch")

NATIVE = 24  # SkyReels-V2 generates at 24 fps; the tiny film is 8 fps (retimed 3x, the most allowed)


@pytest.fixture(scope="module")
def skyreels(tmp_path_factory) -> Path:
    return save_skyreels_df(tmp_path_factory.mktemp("tiny-skyreels") / "df")


@pytest.fixture(scope="module")
def films(skyreels, tiny_models, tmp_path_factory) -> dict[str, Any]:
    models = {**models_block(skyreels, fps=NATIVE), **wan_models(tiny_models)}
    return {name: render(tmp_path_factory.mktemp(name), {"model": "tiny-skyreels-df", **options}, models)
            for name, options in {"prompt": {}, "keyframe": {"keyframe_model": "tiny-sd"}}.items()}


@pytest.mark.parametrize("config", ["prompt", "keyframe"])
def test_a_film_renders_end_to_end_with_diffusion_forcing(films, config):
    r = films[config]
    cut = "df-i2v" if config == "keyframe" else "df-t2v"
    modes = {"s1-wide": cut, "s1-ana": "df-v2v", "s2-ben": cut}
    assert r.result.report["shots_rendered"] == 3
    for plan, clip in zip(r.result.plans, r.result.clips):
        stream = next(s for s in ffprobe(clip.path)["streams"] if s["codec_type"] == "video")
        assert (stream["width"], stream["height"]) == SIZE and stream["r_frame_rate"] == f"{FPS}/1"
        assert int(stream["nb_read_frames"]) == plan.frames == clip.frames
        calls = r.calls(plan.shot_id)
        # one generation per shot, even past the model's 17-frame window: 24 and 36 native frames
        assert len(calls) == 1 and calls[0].mode == modes[plan.shot_id] and calls[0].fps == NATIVE
        assert calls[0].new == plan.frames * NATIVE // FPS
        assert calls[0].keyframe == (config == "keyframe" and plan.continuity != "continuous")
    continuous = r.calls("s1-ana")[0]
    assert continuous.context == 5 and len(continuous.previous) == 5  # overlap_history frames of the shot before
    video = r.backend._video
    # every call went through the pipeline's windows of 17 frames: a cut's 36 native frames (37 generated) and the
    # continuous shot's 5 + 36 in 3 each; a keyframe's cut is generated to whole windows (41 frames, the surplus
    # dropped): diffusers' image-to-video pipeline fails on a shorter last window
    assert [len(_windows_seen(call)) for call in video.calls] == [3, 3, 3]
    assert [call.frames for call in video.calls] == ([41, 41, 41] if config == "keyframe" else [37, 41, 37])
    for call in video.calls:
        assert [len(w) for w in _windows_seen(call)] == [4, 4, 4]  # 2 steps x 2 (guidance 4)
        assert [w[0][0] for w in _windows_seen(call)] == [e - s for s, e in windows(call.frames, 17, 5)]


def _windows_seen(call: Any) -> list[list[tuple[int, tuple[int, ...]]]]:
    """The transformer passes of a call grouped into windows: a window's passes all start at the
    first step's timestep again (the previous window ended denoised)."""
    groups: list[list[tuple[int, tuple[int, ...]]]] = []
    for frames, steps in call.passes:
        if not groups or max(steps) > max(groups[-1][-1][1]):
            groups.append([])
        groups[-1].append((frames, steps))
    return groups


def _backend(folder: Path, models: dict, **options: Any) -> DiffusersBackend:
    registry = Registry()
    registry.update(models, "test")
    return DiffusersBackend({"colour_match": False, **options}, registry=registry)


def _take(films, seconds: int, fps: int) -> Any:
    """The tiny film's continuous shot, ``seconds`` long at ``fps``."""
    plan = next(p for p in films["prompt"].result.plans if p.shot_id == "s1-ana")
    return replace(plan, fps=fps, frames=seconds * fps)


class _Spy:
    """A pipeline that keeps what it returned."""

    def __init__(self, pipe: Any) -> None:
        self.pipe, self.outputs, self.kwargs = pipe, [], []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipe, name)

    def __call__(self, **kwargs: Any) -> Any:
        self.kwargs.append(kwargs)
        self.outputs.append(self.pipe(**kwargs))
        return self.outputs[-1]


def test_a_sixty_second_take_is_one_generation_in_overlapping_windows(films, skyreels):
    fps = 8  # the model's rate and the film's: no retiming, so every frame is a generated one
    backend = _backend(skyreels, models_block(skyreels, fps=fps), model="tiny-skyreels-df")
    backend.load()
    plan = _take(films, 60, fps)
    before = [np.full((SIZE[1], SIZE[0], 3), 40 * i, np.uint8) for i in range(6)]
    spy = backend._video.v2v = _Spy(backend._video.v2v)
    frames = list(backend.render(plan, Conditioning(previous_frames=before)))

    assert len(frames) == plan.frames == 480 and all(f.shape == (SIZE[1], SIZE[0], 3) for f in frames)
    (call,) = backend.calls  # one generation for the whole minute
    assert (call.mode, call.context, call.new, call.frames) == ("df-v2v", 5, 480, 485)
    # the pipeline gave back the 5 frames it was given, as they were, then the decoded take: 485 frames
    # whose first 5 re-decode the held context; the shot is exactly the 480 after them
    (output,) = spy.outputs
    raw = output.frames[0]
    given = spy.kwargs[0]["video"]
    assert len(given) == 5 and raw.shape[0] == 5 + 485
    assert np.abs(raw[:5] * 255 - np.stack([np.asarray(im) for im in given])).max() <= 1
    assert call.kept == tuple(frame_digest(f) for f in _to_uint8(raw[10:]))
    assert len(set(call.kept)) == 480  # no frame twice, none missing

    # the pipeline's own windows: 17 frames (5 latent frames) each, every one holding the 2 latent frames of
    # overlap_history (5 frames) before it at addnoise_condition 20, the first one the given context
    seen = _windows_seen(backend._video.calls[-1])
    expected = windows(485, TINY_BASE_FRAMES, 5)
    assert [end - start for start, end in expected] == [passes[0][0] for passes in seen]
    assert len(expected) == 1 + -(-(latents(485) - 5) // 3) == 40
    assert all(start == end_before - 2 for (start, _), (_, end_before) in zip(expected[1:], expected))
    for passes in seen:
        assert len(passes) == 2 * 2  # 2 steps, each with and without the prompt (guidance 4)
        for _, steps in passes:
            assert steps[:2] == (20, 20) and min(steps[2:]) > 20


def test_a_long_take_matches_todays_chunking_frame_for_frame_in_count(films, skyreels, tiny_models):
    """The same minute with Wan VACE (today's chunks of 17 frames, 6 of context) and with diffusion forcing:
    both exactly the take's frames, none twice; forcing in one call where chunking takes dozens."""
    fps = 8
    plan = _take(films, 60, fps)
    before = [np.full((SIZE[1], SIZE[0], 3), 30 * i, np.uint8) for i in range(8)]
    counts = {}
    for name, models, options in (
        ("forcing", models_block(skyreels, fps=fps), {"model": "tiny-skyreels-df"}),
        ("chunks", wan_models(tiny_models), {"model": "tiny-wan-t2v", "vace_model": "tiny-wan-vace"}),
    ):
        backend = _backend(skyreels, models, **options)
        frames = list(backend.render(plan, Conditioning(previous_frames=before)))
        kept = [d for c in backend.calls for d in c.kept]
        assert len(frames) == plan.frames == len(kept) == sum(c.new for c in backend.calls)
        assert len(set(kept)) == len(kept)  # no frame twice, none missing
        counts[name] = len(backend.calls)
    assert counts["forcing"] == 1 and counts["chunks"] >= 30


def test_the_take_arithmetic_follows_the_skyreels_readme():
    # 60 seconds: --num_frames 1457, base_num_frames 97, overlap_history 17: 365 latent frames in 18 windows of 25
    assert latents(1457) == 365 and is_take(1457)
    assert len(windows(1457, 97, 17)) == 18 and {e - s for s, e in windows(1457, 97, 17)} == {25}
    # the README's example: num_frames 237 leaves a last window of 20 latent frames, whole blocks of 5
    assert windows(237, 97, 17)[-1][1] - windows(237, 97, 17)[-1][0] == 20 and is_take(237, 5)
    assert take_up(26, 5) == 37 and take_down(36, 5) == 17 and not is_take(29, 5)
    # diffusers' skyreels_v2.md: 30 steps, 5 blocks, ar_step 5: 50 denoising rows; synchronous: 30
    assert denoising_rows(25, 0, 30, 5, 5) == 50 and denoising_rows(25, 0, 30, 0, 1) == 30
    assert full_windows(25, 17, 5) == 29 and full_windows(17, 17, 5) == 17


def test_the_builtin_entries_carry_the_cards_recipe():
    for name in ("skyreels-v2-df-1.3b-540p", "skyreels-v2-df-14b-540p", "skyreels-v2-df-14b-720p"):
        spec = BUILTIN[name]
        o = spec.options
        assert spec.family == "skyreels-df" and spec.dtype == "bfloat16"
        assert (o["steps"], o["guidance"], o["flow_shift"]) == (30, 6.0, 8.0)
        assert (o["overlap_history"], o["ar_step"], o["causal_block_size"], o["addnoise_condition"]) == (17, 0, 1, 20)
        assert o["base_num_frames"] == (121 if "720p" in name else 97)
    registry = Registry()
    backend = DiffusersBackend({"model": "skyreels-v2-df-1.3b-540p"}, registry=registry)
    assert backend.native_fps == 24 and backend.overlap == 17


def test_bad_forcing_settings_are_clear_errors(skyreels):
    for options, match in (({"base_num_frames": 96}, "base_num_frames 96"),
                           ({"overlap_history": 97}, "overlap_history 97"),
                           ({"ar_step": 5, "causal_block_size": 5, "overlap_history": 13}, "overlap_history 13"),
                           ({"ar_step": -1}, "ar_step must be")):
        backend = _backend(skyreels, models_block(skyreels, **options), model="tiny-skyreels-df")
        with pytest.raises(StudioError, match=match):
            backend.roles  # noqa: B018
    with pytest.raises(StudioError, match="for Wan models"):
        _backend(skyreels, models_block(skyreels), model="tiny-skyreels-df", vace_model="x").roles  # noqa: B018


def test_asynchronous_forcing_plans_whole_causal_blocks(films, skyreels):
    """ar_step 1, causal blocks of 5 latent frames, a 37-frame window (10 latent frames) holding 17 (5): every
    call a whole number of blocks, the surplus dropped, and a cut starts from the prompt (no keyframe)."""
    models = models_block(skyreels, fps=FPS, ar_step=1, causal_block_size=5, base_num_frames=37,
                          overlap_history=17, guidance=1.0)
    backend = _backend(skyreels, models, model="tiny-skyreels-df")
    plan = _take(films, 10, FPS)  # 80 frames
    frames = list(backend.render(plan, Conditioning(previous_frames=[np.zeros((SIZE[1], SIZE[0], 3), np.uint8)] * 20)))
    (call,) = backend.calls
    assert len(frames) == 80 and call.context == 17 and call.frames == take_up(97, 5) == 97
    assert all(count % 5 == 0 for count, _ in backend._video.calls[-1].passes)
    assert backend._video.takes_keyframe is False


def test_the_same_seed_gives_the_same_take(films, skyreels):
    r = films["prompt"]
    plan = r.plan("s2-ben")
    backend = _backend(skyreels, models_block(skyreels, fps=NATIVE), model="tiny-skyreels-df", colour_match=True)
    again = list(backend.render(plan, r.cond("s2-ben")))
    assert backend.calls[0].kept == r.calls("s2-ben")[0].kept and len(again) == plan.frames

