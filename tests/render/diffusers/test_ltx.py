"""LTX-Video as its authors intend: conditions only at frame 0, the decode settings of its
timestep-aware VAE, and the 0.9.8 distilled recipe with its latent upsampler pass.

What a user relies on: a character's reference never becomes a frame of the shot (in LTX
0.9.x an image condition at frame k *is* frame k: a reference mid-clip is a jump cut to a
portrait); the pipeline is called with decode_timestep 0.05 and image_cond_noise_scale
0.025 (diffusers' LTX docs); ``ltx-video-0.9.8-distilled`` is in the registry with its
published recipe, and a model with an upsampler renders through
``LTXLatentUpsamplePipeline`` into exactly the shot's frames."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from studio.graph.scene_graph import SceneGraph
from studio.models import BUILTIN, Registry
from studio.render.diffusers.backend import DiffusersBackend
from studio.render.diffusers.settings import resolve_roles
from studio.render.plan import plan_film
from tests.render.diffusers import tiny
from tests.render.diffusers.helpers import load_film, models_block, write_film

torch = pytest.importorskip("torch")

DISTILLED = [1000, 993, 987, 981, 975, 909, 725, 0.03]  # diffusers' ltx_video.md, 0.9.7 / 0.9.8 distilled


@pytest.fixture(scope="module")
def upsampler(tmp_path_factory) -> Path:
    return tiny.save_ltx_upsampler(tmp_path_factory.mktemp("ltx-upsampler") / "upsampler")


def _registry(tiny_models: dict[str, Path], upsampler: Path) -> Registry:
    block = models_block(tiny_models)
    block["tiny-ltx-distilled"] = {
        "family": "ltx-condition", "source": str(tiny_models["ltx-condition"]),
        "options": {**block["tiny-ltx"]["options"], "guidance": 1.0, "steps": len(DISTILLED),
                    "timesteps": DISTILLED, "decode_timestep": 0.05, "image_cond_noise_scale": 0.0,
                    "upsampler": "tiny-ltx-upsampler", "upsample": {"tone_map_compression_ratio": 0.6}},
    }
    block["tiny-ltx-upsampler"] = {"family": "ltx-upsampler", "source": str(upsampler)}
    registry = Registry()
    registry.update(block, "test")
    return registry


def _plans(folder: Path) -> dict:
    screenplay = load_film(write_film(folder, {}, {}))
    return {p.shot_id: p for p in plan_film(SceneGraph.from_screenplay(screenplay))}


def _cond(folder: Path, plan):  # type: ignore[no-untyped-def]
    from studio.consistency.cast import build_identities
    from studio.render.backend import Conditioning
    from studio.run import local

    screenplay = load_film(folder / "film.yaml")
    return Conditioning(identities=local._identities_for(plan, build_identities(screenplay)))


def test_references_never_become_ltx_conditions(tiny_models, upsampler, tmp_path, caplog):
    backend = DiffusersBackend({"model": "tiny-ltx"}, registry=_registry(tiny_models, upsampler))
    plans = _plans(tmp_path)
    plan = plans["s1-wide"]  # Ana and Ben on screen, both with a reference picture
    cond = _cond(tmp_path, plan)
    backend.load()
    shot = backend._setup(plan, cond)
    assert len(shot.references) == 2
    with caplog.at_level(logging.INFO, logger="studio.render.diffusers"):
        frames = list(backend.render(plan, cond))  # the real tiny LTXConditionPipeline
        list(backend.render(plans["s2-ben"], _cond(tmp_path, plans["s2-ben"])))
    assert len(frames) == plan.frames
    assert all(c.references == () for c in backend.calls)
    told = [r.message for r in caplog.records if "LTX-Video takes no character references" in r.message]
    assert len(told) == 1  # said once
    # every condition of every chunk, for a cut, a keyframe and a continuation, sits at frame 0
    video = backend._video
    previous = [frames[-1]] * backend.tail_frames
    from studio.render.backend import Conditioning

    continuous = replace(plans["s1-ana"], continuity="continuous")
    for shot_plan, shot_cond in [(plan, cond), (continuous, Conditioning(identities=cond.identities,
                                                                         previous_frames=previous))]:
        shot = backend._setup(shot_plan, shot_cond)
        for index in range(len(shot.chunks)):
            request, _ = backend._request(shot, index)
            assert request.references  # the references were there to be used...
            conditions = video.conditions(request)
            assert all(c.frame_index == 0 for c in conditions)  # ...and none became a frame
            assert len(conditions) == (1 if request.context else 0)
    # a keyframe (the face's way in, through the keyframe model's IP-Adapter) is a condition at frame 0 too
    request = replace(request, context=[], keyframe=request.context[-1])
    assert [(c.frame_index, c.image is not None) for c in video.conditions(request)] == [(0, True)]


def test_ltx_is_called_with_its_decode_settings(tiny_models, upsampler, tmp_path):
    registry = _registry(tiny_models, upsampler)
    backend = DiffusersBackend({"model": "tiny-ltx"}, registry=registry)
    plan = _plans(tmp_path)["s2-ben"]
    backend.load()
    request, _ = backend._request(backend._setup(plan, _cond(tmp_path, plan)), 0)
    # diffusers' ltx_video.md: "For timestep-aware VAE variants (LTX-Video 0.9.1 and above), set
    # decode_timestep to 0.05 and image_cond_noise_scale to 0.025"
    assert request.call_options == {"decode_timestep": 0.05, "decode_noise_scale": 0.025,
                                    "image_cond_noise_scale": 0.025}
    # a model's recipe overrides the family's, and call_options override both
    registry.update({"tiny-ltx-own": {"family": "ltx-condition", "source": str(tiny_models["ltx-condition"]),
                                      "options": {**models_block(tiny_models)["tiny-ltx"]["options"],
                                                  "decode_timestep": 0.03,
                                                  "call_options": {"image_cond_noise_scale": 0.1}}}}, "test")
    own = DiffusersBackend({"model": "tiny-ltx-own"}, registry=registry)
    own.load()
    request, _ = own._request(own._setup(plan, _cond(tmp_path, plan)), 0)
    assert request.call_options == {"decode_timestep": 0.03, "decode_noise_scale": 0.025,
                                    "image_cond_noise_scale": 0.1}
    assert len(list(own.render(plan, _cond(tmp_path, plan)))) == plan.frames
    # Wan has no such settings
    wan = DiffusersBackend({"model": "tiny-wan-t2v"}, registry=registry)
    wan.load()
    assert wan._request(wan._setup(plan, _cond(tmp_path, plan)), 0)[0].call_options == {}


def test_the_098_distilled_entry_carries_its_published_recipe():
    spec = BUILTIN["ltx-video-0.9.8-distilled"]
    assert spec.source == "Lightricks/LTX-Video-0.9.8-13B-distilled" and spec.family == "ltx-condition"
    assert spec.options["guidance"] == 1.0 and spec.options["timesteps"] == DISTILLED
    assert spec.options["decode_timestep"] == 0.05 and spec.options["decode_noise_scale"] == 0.025
    assert spec.options["upsample"]["timesteps"] == [1000, 909, 725, 421, 0]
    assert spec.options["upsample"]["tone_map_compression_ratio"] == 0.6
    upsampler = BUILTIN[spec.options["upsampler"]]
    assert upsampler.family == "ltx-upsampler" and upsampler.source == "a-r-r-o-w/LTX-0.9.8-Latent-Upsampler"
    roles = resolve_roles({"model": "ltx-video-0.9.8-distilled", "keyframe_model": None, "i2v_model": None,
                           "vace_model": None}, Registry())
    assert roles.ltx == spec


def test_a_model_with_a_latent_upsampler_renders_in_two_passes(tiny_models, upsampler, tmp_path):
    registry = _registry(tiny_models, upsampler)
    plain = DiffusersBackend({"model": "tiny-ltx"}, registry=registry)
    distilled = DiffusersBackend({"model": "tiny-ltx-distilled", "resolution": "96x96"}, registry=registry)
    plan = _plans(tmp_path)["s2-ben"]
    cond = _cond(tmp_path, plan)
    latents = distilled.first_chunk(plan, cond)
    # the small pass at 2/3 of 96 (64 px: 2 latent pixels), upsampled 2x: 4 latent pixels a side
    assert latents.shape[-2:] == (4, 4)
    assert plain.first_chunk(plan, cond).shape[-2:] != latents.shape[-2:]
    frames = list(distilled.render(plan, cond))
    assert len(frames) == plan.frames and frames[0].shape == (plan.height, plan.width, 3)
    calls = distilled.calls
    assert {c.mode for c in calls} == {"ltx-upsample"} and sum(c.new for c in calls) == plan.frames
    # the upsampler's weights are part of the cache key, as the video model's are
    assert distilled.describe()["models"]["upsampler"]["content"] is not None
    assert "upsampler" not in plain.describe()["models"]
