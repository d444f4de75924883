"""How the diffusers backend loads its pipelines, on tiny random-weight pipelines of the
real classes (tiny.py), offline, one torch thread.

What a user relies on: an IP-Adapter is offloaded with the keyframe model it joins (no
component left behind on the CPU while the rest runs on the GPU); Wan runs its VAE and
CLIP image encoder in float32 under a bfloat16 transformer; a text encoder or VAE that
several Wan roles ship is held once; Wan's scheduler gets the flow shift its size needs
(and the cache key follows it); a shot with nobody to steer gets a keyframe untouched by
the IP-Adapter; a keyframe the safety checker blacks out never seeds a shot; the
``deterministic`` option sets torch up for bit-equal repeats."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.consistency.cast import build_identities
from studio.errors import RenderError, StudioError
from studio.graph.scene_graph import SceneGraph
from studio.models import Registry
from studio.render.backend import Conditioning, load_backend
from studio.render.diffusers.backend import DiffusersBackend
from studio.render.diffusers.families import (
    Keyframer,
    LoadSettings,
    load_keyframer,
    load_pipeline,
    rehook,
    shift_schedule,
)
from studio.render.plan import ShotPlan, plan_film
from studio.run import local
from tests.render.diffusers import tiny
from tests.render.diffusers.helpers import load_film, models_block, write_film

torch = pytest.importorskip("torch")


def _registry(models: dict) -> Registry:
    registry = Registry()
    registry.update(models, "test")
    return registry


def _film(folder: Path, models: dict) -> tuple[dict[str, ShotPlan], dict[str, Conditioning]]:
    """The tiny film's plans and each shot's conditioning (its characters' references)."""
    screenplay = load_film(write_film(folder, {}, models))
    plans = {p.shot_id: p for p in plan_film(SceneGraph.from_screenplay(screenplay))}
    identities = build_identities(screenplay)
    return plans, {sid: Conditioning(identities=local._identities_for(p, identities)) for sid, p in plans.items()}


# --------------------------------------------------------------------------- 1. adapters, then placing


def test_the_ip_adapter_is_offloaded_with_the_keyframe_model(tiny_models):
    """With model offload, every component that runs has an offload hook (so it is moved
    to the GPU when it runs), the IP-Adapter's image encoder included. Offload hooks only
    act when a component runs, so they can be installed for CUDA on a machine without one."""
    registry = _registry(models_block(tiny_models))
    spec = replace(registry.get("tiny-sd"), device="cuda")
    pipe = load_keyframer(spec, tiny_models["sd"], LoadSettings(offload="model"), registry.get("tiny-ip-adapter"))
    device = pipe._execution_device
    assert device.type == "cuda"
    modules = {name: m for name, m in pipe.components.items() if isinstance(m, torch.nn.Module)}
    assert "image_encoder" in modules
    left_behind = [name for name, m in modules.items() if not hasattr(m, "_hf_hook") and m.device != device]
    assert left_behind == []


# --------------------------------------------------------------------------- 6. precision per component


def test_wan_runs_its_vae_and_image_encoder_in_float32_under_a_bfloat16_transformer(tiny_models, tmp_path):
    models = models_block(tiny_models)
    backend = DiffusersBackend({"model": "tiny-wan-t2v", "i2v_model": "tiny-wan-i2v", "dtype": "bfloat16"},
                               registry=_registry(models))
    backend.load()
    t2v, i2v = backend._video.t2v, backend._video.i2v
    for pipe in (t2v, i2v):
        assert pipe.transformer.dtype == torch.bfloat16 and pipe.text_encoder.dtype == torch.bfloat16
        assert pipe.vae.dtype == torch.float32
    assert i2v.image_encoder.dtype == torch.float32
    # a continuous shot runs through both: text-to-video, then image-to-video from its last frame
    plans, conds = _film(tmp_path, models)
    frames = list(backend.render(plans["s1-wide"], conds["s1-wide"]))
    after = list(backend.render(plans["s1-ana"], replace(conds["s1-ana"], previous_frames=frames[-1:])))
    assert [c.mode for c in backend.calls] == ["t2v", "i2v"]
    assert len(after) == plans["s1-ana"].frames and all(f.dtype == np.uint8 for f in after)
    assert len({f.tobytes() for f in after}) > 1  # moving pictures, not one frame repeated
    # VACE too: several frames of context and the characters' references, encoded by the float32 VAE
    vace = DiffusersBackend({"model": "tiny-wan-vace", "dtype": "bfloat16"}, registry=backend.registry)
    latents = vace.first_chunk(plans["s1-ana"], replace(conds["s1-ana"], previous_frames=frames[-5:]))
    assert vace._video.vace.vae.dtype == torch.float32 and vace._video.vace.transformer.dtype == torch.bfloat16
    assert torch.isfinite(latents).all()


# --------------------------------------------------------------------------- 12. shared parts


def test_wan_roles_share_an_identical_text_encoder_and_vae(tiny_models, tmp_path):
    models = models_block(tiny_models)
    options = {"model": "tiny-wan-t2v", "i2v_model": "tiny-wan-i2v", "vace_model": "tiny-wan-vace"}
    backend = DiffusersBackend(options, registry=_registry(models))
    backend.load()
    t2v, i2v, vace = backend._video.t2v, backend._video.i2v, backend._video.vace
    # the tiny models are saved in three folders from the same text encoder and VAE (seed 0)
    assert t2v.text_encoder is i2v.text_encoder is vace.text_encoder
    assert t2v.vae is i2v.vae is vace.vae and t2v.tokenizer is vace.tokenizer
    assert t2v.transformer is not vace.transformer
    # a VACE model with other weights (seed 1): nothing shared
    other = {**models, "tiny-wan-vace": {**models["tiny-wan-vace"],
                                         "source": str(tiny.save_wan_vace(tmp_path / "vace-1", seed=1))}}
    apart = DiffusersBackend(options, registry=_registry(other))
    apart.load()
    assert apart._video.vace.text_encoder is not apart._video.t2v.text_encoder
    assert apart._video.vace.vae is not apart._video.t2v.vae
    assert apart._video.t2v.text_encoder is apart._video.i2v.text_encoder
    # sharing changes nothing generated: VACE alone, loaded on its own, draws the same latents
    plans, conds = _film(tmp_path / "film", models)
    alone = DiffusersBackend({"model": "tiny-wan-vace"}, registry=_registry(models))
    shared = backend.first_chunk(plans["s1-wide"], conds["s1-wide"])
    assert torch.equal(shared, alone.first_chunk(plans["s1-wide"], conds["s1-wide"]))


def test_parts_are_shared_only_at_the_same_dtype(tiny_models):
    models = models_block(tiny_models)
    models["tiny-wan-vace"] = {**models["tiny-wan-vace"], "dtype": "bfloat16"}
    backend = DiffusersBackend({"model": "tiny-wan-t2v", "vace_model": "tiny-wan-vace"}, registry=_registry(models))
    backend.load()
    t2v, vace = backend._video.t2v, backend._video.vace
    assert t2v.text_encoder.dtype == torch.float32 and vace.text_encoder.dtype == torch.bfloat16
    assert t2v.text_encoder is not vace.text_encoder
    assert t2v.vae is vace.vae  # float32 in both (Wan's VAE always is)


def test_shared_parts_follow_the_offload_chain_of_the_pipeline_that_runs(tiny_models):
    """Model offload chains each pipeline's models (each sends the one before it back to
    the CPU). A shared text encoder carries the hook of the pipeline hooked last; before
    another pipeline runs, it is hooked into that one's chain. (Hooks for CUDA install on a
    machine without one; they act only when a model runs.)"""
    backend = DiffusersBackend({"model": "tiny-wan-t2v", "vace_model": "tiny-wan-vace", "offload": "model",
                                "device": "cuda"}, registry=_registry(models_block(tiny_models)))
    backend.load()
    t2v, vace = backend._video.t2v, backend._video.vace
    assert t2v.text_encoder is vace.text_encoder

    def chained_to(pipe) -> bool:  # type: ignore[no-untyped-def]
        return any(h.hook is t2v.text_encoder._hf_hook for h in pipe._all_hooks)

    assert chained_to(vace) and not chained_to(t2v)  # VACE loaded last
    rehook(t2v)
    assert chained_to(t2v) and not chained_to(vace)
    assert all(hasattr(m, "_hf_hook") for m in t2v.components.values() if isinstance(m, torch.nn.Module))
    hook = t2v.text_encoder._hf_hook
    rehook(t2v)  # already its own: nothing to do
    assert t2v.text_encoder._hf_hook is hook


# --------------------------------------------------------------------------- 5. flow shift


def _wide_wan(folder: Path) -> Path:
    """A tiny Wan text-to-video whose positions reach 720p (80 patches of 16 pixels)."""
    if not (folder / "wide-wan" / "model_index.json").is_file():
        tiny.save_wan_t2v(folder / "wide-wan", rope_max_seq_len=128)
    return folder / "wide-wan"


def _shifts_seen(tiny_models, tmp_path, options: dict, model_options: dict | None = None) -> list[float]:
    """The flow shift of the scheduler at every denoising step of a one-frame shot."""
    seen: list[float] = []

    def step_end(pipe, step, timestep, kwargs):  # type: ignore[no-untyped-def]
        seen.append(float(pipe.scheduler.config.flow_shift))
        return kwargs

    models = models_block(tiny_models)
    plans, conds = _film(tmp_path, models)
    models["tiny-wan-t2v"]["source"] = str(_wide_wan(tmp_path.parent))
    models["tiny-wan-t2v"]["options"] = {**models["tiny-wan-t2v"]["options"], "steps": 1, "guidance": 1.0,
                                         "call_options": {"callback_on_step_end": step_end},
                                         **(model_options or {})}
    backend = DiffusersBackend({"model": "tiny-wan-t2v", **options}, registry=_registry(models))
    backend.first_chunk(replace(plans["s2-ben"], frames=1), conds["s2-ben"])
    return seen


def test_wan_flow_shift_follows_the_generation_size(tiny_models, tmp_path):
    # diffusers' Wan pipeline docstrings: 3.0 for 480p, 5.0 for 720p (the tiny model ships 3.0)
    assert _shifts_seen(tiny_models, tmp_path / "a", {"resolution": "832x480"}) == [3.0]
    assert _shifts_seen(tiny_models, tmp_path / "b", {"resolution": "1280x720"}) == [5.0]
    # a model's own shift (the Wan 2.1 README's 8 for T2V-1.3B), and the render option over it
    assert _shifts_seen(tiny_models, tmp_path / "c", {"resolution": "832x480"}, {"flow_shift": 8.0}) == [8.0]
    assert _shifts_seen(tiny_models, tmp_path / "d", {"flow_shift": 7}, {"flow_shift": 8.0}) == [7.0]


def test_the_flow_shift_reaches_the_scheduler_class_the_model_ships(tiny_models):
    from diffusers import FlowMatchEulerDiscreteScheduler

    registry = _registry(models_block(tiny_models))
    pipe = load_pipeline(registry.get("tiny-wan-t2v"), tiny_models["wan-t2v"], LoadSettings())
    told: list[str] = []
    shift_schedule(pipe, 5.0, lambda key, message: told.append(message))
    assert type(pipe.scheduler).__name__ == "UniPCMultistepScheduler" and pipe.scheduler.config.flow_shift == 5.0
    pipe.scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0)  # flow-match Euler calls it `shift`
    shift_schedule(pipe, 3.0, lambda key, message: told.append(message))
    assert isinstance(pipe.scheduler, FlowMatchEulerDiscreteScheduler) and pipe.scheduler.config.shift == 3.0
    assert told == []
    # a schedule shifted by sequence length takes no fixed shift: said, and left as it is
    pipe.scheduler = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True)
    shift_schedule(pipe, 3.0, lambda key, message: told.append(message))
    assert pipe.scheduler.config.shift == 1.0 and told and "takes no fixed flow shift" in told[0]


def test_flow_shift_is_in_the_cache_key_and_checked(tiny_models):
    models = models_block(tiny_models)
    keys = [load_backend("diffusers", {"model": "tiny-wan-t2v", "flow_shift": s}, models=models).describe()
            for s in (3.0, 5.0)]
    assert keys[0] != keys[1] and keys[0]["options"]["flow_shift"] == 3.0
    with_model_shift = {**models, "tiny-wan-t2v": {**models["tiny-wan-t2v"],
                                                   "options": {**models["tiny-wan-t2v"]["options"], "flow_shift": 8}}}
    assert (load_backend("diffusers", {"model": "tiny-wan-t2v"}, models=with_model_shift).describe()["models"]
            != load_backend("diffusers", {"model": "tiny-wan-t2v"}, models=models).describe()["models"])
    builtin = Registry().get("wan2.1-t2v-1.3b").options  # the Wan 2.1 README's T2V-1.3B settings at 480p
    assert builtin["flow_shift"] == 8.0 and builtin["guidance"] == 6.0
    with pytest.raises(StudioError, match="'flow_shift' must be above 0"):
        load_backend("diffusers", {"model": "tiny-wan-t2v", "flow_shift": 0}, models=models)
    with pytest.raises(StudioError, match="'flow_shift' is for Wan models"):
        load_backend("diffusers", {"model": "tiny-ltx", "flow_shift": 3.0}, models=models)
    bad = {**models, "tiny-wan-t2v": {**models["tiny-wan-t2v"], "options": {"flow_shift": "high"}}}
    with pytest.raises(StudioError, match="flow_shift must be a number above 0"):
        load_backend("diffusers", {"model": "tiny-wan-t2v"}, models=bad)


# --------------------------------------------------------------------------- 9. neutral IP-Adapter input


def test_a_keyframe_with_nobody_to_steer_is_untouched_by_the_ip_adapter(tiny_models, tmp_path):
    models = models_block(tiny_models)
    models["tiny-sd-plain"] = {**models["tiny-sd"], "options": {"steps": 2, "guidance": 4.0}}  # no IP-Adapter
    registry = _registry(models)
    plans, conds = _film(tmp_path, models)
    plan = plans["s2-ben"]

    def keyframe(keyframe_model: str, cond: Conditioning) -> torch.Tensor:
        backend = DiffusersBackend({"model": "tiny-wan-i2v", "keyframe_model": keyframe_model}, registry=registry)
        return backend.keyframe(plan, cond, output_type="latent")

    nobody = keyframe("tiny-sd", Conditioning())
    assert torch.equal(nobody, keyframe("tiny-sd-plain", Conditioning()))
    # the grey picture it was given before steered the picture toward grey
    backend = DiffusersBackend({"model": "tiny-wan-i2v", "keyframe_model": "tiny-sd"}, registry=registry)
    shot = backend._setup(plan, Conditioning(), keyframe=False)
    keyframer = backend._keyframer
    grey = keyframer.pipe(prompt=shot.prompt.prompt, negative_prompt=shot.prompt.negative, width=shot.width,
                          height=shot.height, num_inference_steps=2, guidance_scale=4.0, generator=shot.generator,
                          ip_adapter_image=Image.new("RGB", (shot.width, shot.height), (128, 128, 128)),
                          output_type="latent").images
    assert grey.shape == nobody.shape and (grey - nobody).abs().max() > 1e-4
    # the adapter's scale is back for the next shot, whose character it steers
    scales = {tuple(p.scale) for p in keyframer.pipe.unet.attn_processors.values() if hasattr(p, "to_k_ip")}
    assert scales == {(0.7,)}
    steered = keyframe("tiny-sd", conds["s2-ben"])
    assert (steered - nobody).abs().max() > 1e-4


# --------------------------------------------------------------------------- 10. safety checker


def _checks(pipe) -> list[int]:  # type: ignore[no-untyped-def]
    """Counts the safety checker's runs (a forward hook on the real module)."""
    runs: list[int] = []
    pipe.safety_checker.register_forward_hook(lambda module, args, output: runs.append(1))
    return runs


def test_a_keyframe_the_safety_checker_always_flags_stops_the_shot(tiny_models, tmp_path):
    models = models_block(tiny_models)
    checked = tiny.save_sd_checked(tmp_path / "sd-checked", tiny_models["sd"], tiny.safety_checker(), threshold=-2.0)
    models["tiny-sd"] = {**models["tiny-sd"], "source": str(checked)}
    plans, conds = _film(tmp_path / "film", models)
    backend = DiffusersBackend({"model": "tiny-wan-i2v", "keyframe_model": "tiny-sd"}, registry=_registry(models))
    backend.load()
    runs = _checks(backend._keyframer.pipe)
    with pytest.raises(RenderError, match="flagged all 3 takes of the keyframe of shot s2-ben"):
        list(backend.render(plans["s2-ben"], conds["s2-ben"]))
    assert len(runs) == Keyframer.TAKES and backend.calls == []  # no video was generated from a black frame


def test_a_flagged_keyframe_is_retaken_with_the_next_draw(tiny_models, tmp_path):
    from transformers import CLIPImageProcessor

    models = models_block(tiny_models)
    registry = _registry(models)
    spec = registry.get("tiny-sd")
    plain = Keyframer(load_pipeline(spec, tiny_models["sd"], LoadSettings()), spec, has_adapter=False)
    generator = torch.Generator("cpu").manual_seed(11)
    first, second = (plain("a shot", "", 32, 32, None, generator) for _ in range(2))

    # a checker that flags the first take only: its concept points from the second take's embedding to the first's
    checker = tiny.safety_checker()
    features = CLIPImageProcessor(crop_size=32, size=32)

    def embedding(image: Image.Image) -> torch.Tensor:
        with torch.no_grad():
            pooled = checker.vision_model(features(image, return_tensors="pt").pixel_values)[1]
            return torch.nn.functional.normalize(checker.visual_projection(pooled)[0], dim=0)

    concept = torch.nn.functional.normalize(embedding(first) - embedding(second), dim=0)
    # the checker rounds its scores to 3 decimals: the takes must sit clearly either side of 0
    assert float(embedding(first) @ concept) > 0.002 and float(embedding(second) @ concept) < -0.002
    checked = tiny.save_sd_checked(tmp_path / "sd-checked", tiny_models["sd"], checker, concept=concept, threshold=0.0)
    spec = replace(spec, source=str(checked))
    pipe = load_pipeline(spec, checked, LoadSettings())
    runs = _checks(pipe)
    keyframe = Keyframer(pipe, spec, has_adapter=False)("a shot", "", 32, 32, None,
                                                        torch.Generator("cpu").manual_seed(11), shot_id="s1")
    assert len(runs) == 2 and np.asarray(keyframe).max() > 0
    assert np.array_equal(np.asarray(keyframe), np.asarray(second))


# --------------------------------------------------------------------------- 13. determinism


@pytest.fixture
def _restore_torch_flags():
    state = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, torch.get_num_threads(),
             os.environ.get("CUBLAS_WORKSPACE_CONFIG"))
    yield
    torch.use_deterministic_algorithms(state[0], warn_only=state[1])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = state[2], state[3]
    torch.set_num_threads(state[4])
    if state[5] is None:
        os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    else:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = state[5]


def test_the_deterministic_option_sets_torch_up_for_bit_equal_repeats(tiny_models, _restore_torch_flags,
                                                                      monkeypatch):
    models = models_block(tiny_models)
    with pytest.raises(StudioError, match="'deterministic' must be bool"):
        load_backend("diffusers", {"model": "tiny-wan-t2v", "deterministic": "yes"}, models=models)
    plain = load_backend("diffusers", {"model": "tiny-wan-t2v"}, models=models)
    backend = load_backend("diffusers", {"model": "tiny-wan-t2v", "deterministic": True}, models=models)
    assert backend.describe() == plain.describe()  # the same pictures are meant: the same cache key
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.benchmark = True
    torch.set_num_threads(2)
    backend.load()
    assert torch.are_deterministic_algorithms_enabled()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert torch.get_num_threads() == 1  # the model runs on the CPU here: one thread, one summation order

