"""Wan 2.2 through the diffusers backend, on tiny random-weight pipelines of the real classes
(tiny_wan22.py: saved with save_pretrained, loaded through the model registry offline).

What a user relies on: a film renders end to end with Wan 2.2 TI2V-5B (text-to-video, then
image-to-video from the same weights, 24 fps native and retimed to the film's rate, sizes in
multiples of 32) and with the A14B pair; a continuous shot continues from the last frame
before it; A14B's high-noise steps run on ``transformer`` and its low-noise steps on
``transformer_2``, split at the pipeline's ``boundary_ratio``, with ``guidance_2`` as the
low-noise guidance; the built-in entries carry the authors' recipes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio.models import BUILTIN, Registry
from studio.render.diffusers.backend import DiffusersBackend, frame_digest
from studio.render.diffusers.chunks import native_frames
from studio.render.diffusers.settings import FAMILIES, resolve_roles
from tests.render.diffusers import tiny_wan22
from tests.render.diffusers.helpers import SIZE
from tests.render.diffusers.test_backend import ffprobe, render

torch = pytest.importorskip("torch")

FILM_FPS = 12  # TI2V generates at 24: every shot is retimed 2:1


@pytest.fixture(scope="module")
def wan22_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-wan22")
    return {name: build(root / name) for name, build in tiny_wan22.BUILDERS.items()}


def models_block(folders: dict[str, Path]) -> dict[str, dict]:
    common = {"steps": 2, "max_sequence_length": 32}
    # TI2V-5B: its real native rate (24 fps) and guidance; A14B: 4 steps at shift 3.0, whose UniPC timesteps
    # [999, 900, 750, 500] put two steps on each side of both boundaries (875 and 900); 16 fps (the family's)
    ti2v = {**common, "guidance": 5.0, "frames_per_chunk": 25, "fps": 24}
    a14b = {**common, "steps": 4, "guidance": 4.0, "guidance_2": 3.0, "frames_per_chunk": 17, "flow_shift": 3.0}
    return {
        "tiny-ti2v": {"family": "wan-t2v", "source": str(folders["wan22-ti2v"]), "options": ti2v},
        "tiny-ti2v-i2v": {"family": "wan-i2v", "source": str(folders["wan22-ti2v"]), "options": dict(ti2v)},
        "tiny-t2v-a14b": {"family": "wan-t2v", "source": str(folders["wan22-t2v-a14b"]), "options": a14b},
        "tiny-i2v-a14b": {"family": "wan-i2v", "source": str(folders["wan22-i2v-a14b"]), "options": dict(a14b)},
    }


CONFIGS = {
    "ti2v": {"model": "tiny-ti2v", "i2v_model": "tiny-ti2v-i2v"},
    "a14b": {"model": "tiny-t2v-a14b", "i2v_model": "tiny-i2v-a14b"},
}
MODES = {"s1-wide": "t2v", "s1-ana": "i2v", "s2-ben": "t2v"}


@pytest.fixture(scope="module")
def films(wan22_models, tmp_path_factory) -> dict[str, Any]:
    return {name: render(tmp_path_factory.mktemp(name), options, models_block(wan22_models), fps=FILM_FPS)
            for name, options in CONFIGS.items()}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_a_film_renders_end_to_end_with_wan22(films, config):
    r = films[config]
    native = 24 if config == "ti2v" else 16
    multiple = 32 if config == "ti2v" else 16  # the Wan 2.2 VAE is 16x spatial, Wan 2.1's 8x (x the 2x2 patch)
    assert r.result.report["shots_rendered"] == 3
    for plan, clip in zip(r.result.plans, r.result.clips):
        stream = next(s for s in ffprobe(clip.path)["streams"] if s["codec_type"] == "video")
        assert (stream["width"], stream["height"]) == SIZE
        assert stream["r_frame_rate"] == f"{FILM_FPS}/1"
        assert int(stream["nb_read_frames"]) == plan.frames == clip.frames
        calls = r.calls(plan.shot_id)
        # generated at the model's own rate, then retimed to the film's
        assert {c.fps for c in calls} == {native}
        assert sum(c.new for c in calls) == native_frames(plan.frames, FILM_FPS, native)
        assert all((c.frames - 1) % 4 == 0 and c.width % multiple == 0 and c.height % multiple == 0 for c in calls)
        # a shot longer than a chunk continues from its own last frame, through image-to-video too
        assert calls[0].mode == MODES[plan.shot_id] and {c.mode for c in calls[1:]} <= {"i2v"}
    assert r.backend.describe()["native_fps"] == native


def test_ti2v_runs_text_and_image_to_video_from_one_checkpoint_with_expand_timesteps(films):
    video = films["ti2v"].backend._video
    assert type(video.t2v).__name__ == "WanPipeline" and type(video.i2v).__name__ == "WanImageToVideoPipeline"
    assert video.t2v.config.expand_timesteps is True and video.i2v.config.expand_timesteps is True
    assert video.t2v.vae.config.z_dim == 48 and video.size_multiple == 32
    # the same repository: one transformer, VAE and text encoder in memory, serving both roles
    assert video.t2v.transformer is video.i2v.transformer and video.t2v.vae is video.i2v.vae
    assert video.i2v.image_encoder is None  # TI2V conditions on the first frame's latents, not on CLIP


@pytest.mark.parametrize("config", list(CONFIGS))
def test_a_continuous_shot_continues_from_the_last_frame(films, config):
    r = films[config]
    continuous = r.calls("s1-ana")[0]
    tails = r.tails("s1-wide")
    assert continuous.mode == "i2v" and continuous.context == 1
    assert continuous.previous == (frame_digest(tails[-1]),)
    # and that frame changes what is generated
    plan = r.plan("s1-ana")
    latents = r.backend.first_chunk(plan, r.cond("s1-ana", tails))
    other = r.backend.first_chunk(plan, r.cond("s1-ana", [np.ascontiguousarray(255 - f) for f in tails]))
    assert other.shape == latents.shape and (other - latents).abs().max() > 1e-3


def _count_experts(pipe: Any) -> tuple[dict[str, list[float]], list[Any]]:
    """Forward pre-hooks on the pipeline's two transformers: the timesteps each one ran at."""
    seen: dict[str, list[float]] = {"transformer": [], "transformer_2": []}

    def hook(name: str):  # type: ignore[no-untyped-def]
        def record(module, args, kwargs):  # type: ignore[no-untyped-def]
            seen[name].append(float(kwargs["timestep"].flatten()[0]))
        return record

    handles = [getattr(pipe, name).register_forward_pre_hook(hook(name), with_kwargs=True) for name in seen]
    return seen, handles


@pytest.mark.parametrize("shot, mode, boundary", [("s1-wide", "t2v", 0.875), ("s1-ana", "i2v", 0.9)])
def test_a14b_runs_high_noise_steps_on_transformer_and_the_rest_on_transformer_2(films, shot, mode, boundary):
    r = films["a14b"]
    pipe = getattr(r.backend._video, mode)
    assert pipe.config.boundary_ratio == boundary and pipe.transformer_2 is not None
    seen, handles = _count_experts(pipe)
    try:
        r.backend.first_chunk(r.plan(shot), r.cond(shot, r.tails("s1-wide")))
    finally:
        for handle in handles:
            handle.remove()
    # 4 steps, two passes each (classifier-free guidance): two steps on each expert
    assert len(seen["transformer"]) == len(seen["transformer_2"]) == 4
    assert all(t >= boundary * 1000 for t in seen["transformer"])
    assert all(t < boundary * 1000 for t in seen["transformer_2"])
    # guidance_2 reached the call as guidance_scale_2 (the low-noise expert's guidance)
    assert pipe._guidance_scale == 4.0 and pipe._guidance_scale_2 == 3.0


def test_the_guidance_2_render_option_overrides_the_models(wan22_models, films):
    registry = Registry()
    registry.update(models_block(wan22_models), "test")
    backend = DiffusersBackend({**CONFIGS["a14b"], "guidance_2": 2.5}, registry=registry)
    r = films["a14b"]
    backend.first_chunk(r.plan("s1-wide"), r.cond("s1-wide"))
    assert backend._video.t2v._guidance_scale_2 == 2.5
    assert backend.describe()["options"]["guidance_2"] == 2.5
    # unset, it is not in the cache key: keys made before the option existed still match
    assert "guidance_2" not in r.backend.describe()["options"]


def test_guidance_2_is_not_passed_to_a_pipeline_with_one_transformer(wan22_models, films):
    registry = Registry()
    block = models_block(wan22_models)
    block["tiny-ti2v"]["options"]["guidance_2"] = 3.0
    registry.update(block, "test")
    backend = DiffusersBackend(CONFIGS["ti2v"], registry=registry)
    r = films["ti2v"]
    latents = backend.first_chunk(r.plan("s1-wide"), r.cond("s1-wide"))  # WanPipeline would refuse it
    assert torch.equal(latents, r.backend.first_chunk(r.plan("s1-wide"), r.cond("s1-wide")))


# --------------------------------------------------------------------------- built-in entries


def test_the_built_in_wan22_entries_carry_their_authors_recipes():
    """Wan-Video/Wan2.2 wan/configs: TI2V-5B 50 steps, guidance 5.0, shift 5.0, 121 frames, 24 fps,
    1280x704; T2V-A14B 40 steps, guidance (high 4.0, low 3.0), shift 12.0; I2V-A14B 40 steps,
    guidance 3.5 both, shift 5.0; A14B 81 frames at 16 fps."""
    ti2v, ti2v_i2v = BUILTIN["wan2.2-ti2v-5b"], BUILTIN["wan2.2-ti2v-5b-i2v"]
    assert ti2v.source == ti2v_i2v.source == "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
    for spec in (ti2v, ti2v_i2v):
        assert {k: spec.options[k] for k in ("steps", "guidance", "flow_shift", "frames_per_chunk", "fps")} == {
            "steps": 50, "guidance": 5.0, "flow_shift": 5.0, "frames_per_chunk": 121, "fps": 24}
        assert spec.options["resolution"] == "1280x704" and spec.dtype == "bfloat16"
    t2v, i2v = BUILTIN["wan2.2-t2v-a14b"], BUILTIN["wan2.2-i2v-a14b"]
    assert (t2v.options["guidance"], t2v.options["guidance_2"], t2v.options["flow_shift"]) == (4.0, 3.0, 12.0)
    assert (i2v.options["guidance"], i2v.options["guidance_2"], i2v.options["flow_shift"]) == (3.5, 3.5, 5.0)
    for spec in (t2v, i2v, BUILTIN["wan2.2-vace-fun-a14b"]):
        assert spec.options["frames_per_chunk"] == 81 and FAMILIES[spec.family].fps == 16 and "fps" not in spec.options
    assert t2v.options["steps"] == i2v.options["steps"] == 40
    # the TI2V pair, and the A14B pair, are each one timeline: the roles resolve together
    for model, i2v_model in (("wan2.2-ti2v-5b", "wan2.2-ti2v-5b-i2v"), ("wan2.2-t2v-a14b", "wan2.2-i2v-a14b")):
        roles = resolve_roles({"model": model, "i2v_model": i2v_model, "vace_model": None, "keyframe_model": None,
                               "flow_shift": None}, Registry())
        assert roles.t2v.name == model and roles.i2v.name == i2v_model
        assert DiffusersBackend({"model": model, "i2v_model": i2v_model}, registry=Registry()).native_fps == (
            24 if "ti2v" in model else 16)
