"""Benchmark: the diffusers backend on every built-in model family at its real
architecture, with random weights (issue 14).

Weights cannot be downloaded on the machines studio is developed on, but speed and
memory do not depend on weight values. Every component is built from its published
config (``bench/configs/<model>/*.json``, each naming its source) with random weights
created directly on the device in the real dtype, tokenizers are built in memory, and
the built pipelines are handed to studio's model registry (``Registry.provide``) in
place of loading weights from disk: everything after that is the real render path of
``DiffusersBackend`` (prompts, sizes, chunks, context, keyframes, references, the
pipeline calls), driven shot by shot through ``backend.render`` (no ffmpeg needed).

The film: three shots, a cut with a character who has a reference image, a continuous
shot that continues it, and a cut long enough to be made in chunks. Each model group
(Wan T2V + VACE; Wan I2V 14B started by SD 1.5 keyframes with an IP-Adapter;
LTX-Video 0.9.5; LTX-Video 0.9.8 13B distilled with its latent upsampler; LTX-2 19B distilled,
picture and sound, two stages with its upsampler; and, only when named or with --tiny, the full LTX-2 at
40 steps: ``ltx2-full``)
renders it at the model's resolution and frame counts with a reduced number
of denoising steps (``--steps``, default 2): a step's time is measured between step
callbacks and extrapolated to the model's recommended step count, so the figures are
what a real render takes. A recipe given as an explicit ``timesteps`` list (0.9.8
distilled: 8 timesteps at 2/3 size, the upsampler, then the refine pass's 4) runs whole,
whatever ``--steps`` says: its steps are counted as run, recommended = the list's length
plus the refine pass's, and nothing is extrapolated. Reported per model: build time,
parameters, seconds per denoising step (median over calls; per pass for a two-pass
model), peak VRAM of its group, seconds of generation per second of film at the
recommended steps; per group the real-time factor. On CUDA each group is first counted
on the meta device (parameters, weight GiB; for LTX-Video a FLOP count of its
generations, in H200 seconds): printed, and a group that would run past ``--budget``
is skipped.

    python bench/gpu_check.py --json out.json     # on a CUDA machine: the report, rewritten after every group
    python bench/gpu_check.py --from-json out.json --write   # record it: bench/results/gpu_check.json, BENCHMARKS.md
    python bench/gpu_check.py --tiny              # anywhere: tiny configs on the CPU, in seconds (the suite runs it)
    python bench/gpu_check.py --groups ltx --steps 3
    python bench/gpu_check.py --count             # anywhere, seconds: parameters, weight GiB, H200 forecast

On the lent GPU machine (Python 3.12, torch, transformers; no diffusers, pydantic or
ftfy), carry their wheels with the working tree (see bench/README.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever fetched

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGS = ROOT / "bench" / "configs"
RESULTS = ROOT / "bench" / "results" / "gpu_check.json"
MARK = "gpu_check"

#: model groups: backend options, as a screenplay would give them; in this order, so a
#: run cut short by its budget has measured the default models and the quick ones first
GROUPS: dict[str, dict[str, Any]] = {
    "wan-vace": {"model": "wan2.1-t2v-1.3b", "vace_model": "wan2.1-vace-1.3b"},
    "ltx": {"model": "ltx-video-0.9.5"},
    "wan-i2v-keyframes": {"model": "wan2.1-i2v-14b-480p", "keyframe_model": "sd1.5"},
    # the same, its keyframes drawn by FLUX.2 [klein] 4B (4 distilled steps, the characters' references as input
    # images); only when named (--groups): the 14B image-to-video model dominates it
    "wan-i2v-klein": {"model": "wan2.1-i2v-14b-480p", "keyframe_model": "flux2-klein-4b"},
    # the same with Qwen-Image-Edit-2511 (20B MMDiT, Qwen2.5-VL 7B: the references as Picture 1..3) and with FLUX.2
    # [dev] (32B, Mistral Small 3.1 24B): 54 and 105 GiB of bf16 weights beside the 14B; only when named
    "wan-i2v-qwen-edit": {"model": "wan2.1-i2v-14b-480p", "keyframe_model": "qwen-image-edit-2511"},
    "wan-i2v-flux2-dev": {"model": "wan2.1-i2v-14b-480p", "keyframe_model": "flux2-dev"},
    # Wan 2.2: TI2V-5B (text-to-video, then image-to-video from the same weights: one transformer in memory) and the
    # A14B pair (two 14B experts each: four transformers, about 107 GiB of bf16 weights); only when named (--groups)
    "wan22-ti2v": {"model": "wan2.2-ti2v-5b", "i2v_model": "wan2.2-ti2v-5b-i2v"},
    "wan22-a14b": {"model": "wan2.2-t2v-a14b", "i2v_model": "wan2.2-i2v-a14b"},
    # the 13B (with its latent upsampler): last, so a run short of time has measured the others
    "ltx-0.9.8": {"model": "ltx-video-0.9.8-distilled"},
    # LTX-2 19B distilled (picture and sound, Gemma 3 12B), two stages with its latent upsampler: 64 GiB of weights
    "ltx2": {"model": "ltx-2-distilled"},
    # LTX-2 19B at 40 steps with guidance: minutes of an H200 by the forecast, so only when asked for (--groups)
    "ltx2-full": {"model": "ltx-2"},
    # SkyReels-V2 diffusion forcing 1.3B (540P): the long shot is one call, denoised in the pipeline's windows
    "skyreels-df": {"model": "skyreels-v2-df-1.3b-540p"},
    # the 14B (51.2 GB peak VRAM by its README): only when asked for
    "skyreels-df-14b": {"model": "skyreels-v2-df-14b-540p"},
}
#: what a run measures unless --groups says otherwise: the forecast puts ltx2-full alone near a 10-minute call
DEFAULT_GROUPS = [g for g in GROUPS if g not in ("ltx2-full", "wan22-ti2v", "wan22-a14b", "skyreels-df-14b",
                                                  "wan-i2v-klein", "wan-i2v-qwen-edit", "wan-i2v-flux2-dev")]
#: families of keyframe models: one still a cut, timed by their steps, not by video calls
KEYFRAME_FAMILIES = ("sd", "flux2", "flux2-klein", "qwen-image-edit")
#: keyframe families run at --steps and extrapolated to their recipe's (klein's 4 distilled steps run whole)
KEYFRAME_AT_STEPS = ("sd", "flux2", "qwen-image-edit")
#: registry entries the built-ins may not have (the keyframe model and its adapter)
EXTRA_SPECS: dict[str, dict[str, Any]] = {
    "sd1.5": {"family": "sd", "source": "stable-diffusion-v1-5/stable-diffusion-v1-5", "dtype": "float16",
              "options": {"steps": 30, "guidance": 7.5, "ip_adapter": "ip-adapter-sd15"}},
    "ip-adapter-sd15": {"family": "ip-adapter", "source": "h94/IP-Adapter",
                        "options": {"subfolder": "models", "weight_name": "ip-adapter_sd15.safetensors",
                                    "image_encoder_folder": "image_encoder", "scale": 0.6}},
}
TINY = {"resolution": "64x32", "fps": 8, "wan_chunk": 17, "ltx_chunk": 25,
        # LTX-2's video VAE decodes with reflect padding, which needs 2 latent pixels a side: 128x64 (4 x 2)
        "ltx2_resolution": "128x64",
        # QwenImageEditPlusPipeline's fixed input-picture areas (its module's VAE_IMAGE_SIZE 1024 x 1024 and
        # CONDITION_IMAGE_SIZE 384 x 384), shrunk with the configs: a 1024 x 1024 picture through even the tiny VAE
        # takes ~20 s on one core
        "qwen_vae_area": 128 * 128, "qwen_condition_area": 56 * 56}
#: the forecast's H200: sustained bf16 TFLOPS assumed (40% of its 989 dense peak), and a slow rate for writing
#: random weights on the device (its HBM does ~4.8 TB/s)
H200_TFLOPS = 400.0
BUILD_GB_PER_SECOND = 100.0
#: generation calls of the film, each counted at a full chunk (an upper bound): three shots, the long one in two
FILM_CALLS = 4

FILM = """\
version: 1
film:
  title: GPU Check
  fps: {fps}
  resolution: {width}x{height}
  look: natural light, 35mm
  seed: 11
characters:
  - id: ana
    name: Ana
    description: a woman in a green coat
    references: [refs/ana.png]
locations:
  - {{id: quay, name: Quay, description: a stone quay by the sea, interior: false}}
scenes:
  - id: s1
    location: quay
    time: dusk
    characters: [ana]
    shots:
      - {{id: s1-ana, size: medium, move: static, subjects: [ana], duration: 2}}
      - {{id: s1-ana-on, size: close-up, move: dolly-in, subjects: [ana], duration: 2, continuity: continuous}}
      - {{id: s1-sea, size: wide, move: pan-left, subjects: [], duration: {long}}}
    beats:
      - action: Ana looks at the sea.
"""


# --------------------------------------------------------------------------- configs


def config(name: str, tiny: bool) -> dict[str, Any]:
    """``bench/configs/<name>``, with the ``--tiny`` overrides merged over it."""
    data = json.loads((CONFIGS / name).read_text(encoding="utf-8"))
    data.pop("_source", None)
    if tiny:
        data.update(json.loads((CONFIGS / "tiny.json").read_text(encoding="utf-8")).get(name, {}))
    return data


class Builder:
    """Components at a config's architecture, random weights made on the device in the
    dtype asked for (no float32 copy of a 14B model first)."""

    def __init__(self, device: str, tiny: bool, real_dtypes: bool) -> None:
        self.device, self.tiny, self.real_dtypes = device, tiny, real_dtypes
        self.seconds: dict[str, float] = {}
        self.params: dict[str, int] = {}
        self.bytes: dict[str, int] = {}  # the weights, in the dtype built
        self.dtypes: dict[str, list[str]] = {}  # per model: "component dtype", as built
        self.components: dict[str, list[dict[str, Any]]] = {}  # per model: class, dtype, parameters

    def dtype(self, real: Any) -> Any:
        """``real`` (the model's own dtype), or float32 for a quick CPU run without ``--real-dtypes``."""
        import torch

        return real if self.real_dtypes else torch.float32

    def make(self, model: str, make: Any, dtype: Any, build_on: str | None = None) -> Any:
        """``make()`` built on the device (``build_on``: elsewhere first, for a module whose
        constructor does arithmetic the device lacks), then moved to it in ``dtype``."""
        import torch

        started = time.perf_counter()
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            with torch.device(build_on or self.device), torch.no_grad():
                module = make()
        finally:
            torch.set_default_dtype(previous)
        module = module.to(device=self.device, dtype=dtype).eval()
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        self.seconds[model] = self.seconds.get(model, 0.0) + time.perf_counter() - started
        params = sum(p.numel() for p in module.parameters())
        self.params[model] = self.params.get(model, 0) + params
        self.bytes[model] = self.bytes.get(model, 0) + sum(p.numel() * p.element_size() for p in module.parameters())
        name, dtype_name = type(module).__name__, str(dtype).removeprefix("torch.")
        self.dtypes.setdefault(model, []).append(f"{name} {dtype_name}")
        self.components.setdefault(model, []).append({"class": name, "dtype": dtype_name, "params": params})
        return module

    def diffusers_model(self, model: str, cls_name: str | type, path: str, dtype: Any,
                        build_on: str | None = None) -> Any:
        import diffusers

        cls = getattr(diffusers, cls_name) if isinstance(cls_name, str) else cls_name
        return self.make(model, lambda: cls.from_config(config(path, self.tiny)), dtype, build_on)

    def gemma3(self, model: str, path: str, dtype: Any) -> Any:
        """Gemma 3 with its SigLIP vision tower (``Gemma3ForConditionalGeneration``), LTX-2's text encoder."""
        from transformers import Gemma3Config, Gemma3ForConditionalGeneration

        data = config(path, self.tiny)
        return self.make(model, lambda: Gemma3ForConditionalGeneration(Gemma3Config(**data)), dtype)

    def latent_upsampler(self, model: str, path: str, dtype: Any) -> Any:
        from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

        return self.make(model, lambda: LTXLatentUpsamplerModel.from_config(config(path, self.tiny)), dtype)

    def t5(self, model: str, path: str, dtype: Any, *, umt5: bool) -> Any:
        from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

        config_cls, model_cls = (UMT5Config, UMT5EncoderModel) if umt5 else (T5Config, T5EncoderModel)
        return self.make(model, lambda: model_cls(config_cls(**config(path, self.tiny))), dtype)

    def clip_vision(self, model: str, path: str, dtype: Any, *, projection: bool) -> Any:
        from transformers import CLIPVisionConfig, CLIPVisionModel, CLIPVisionModelWithProjection

        cls = CLIPVisionModelWithProjection if projection else CLIPVisionModel
        return self.make(model, lambda: cls(CLIPVisionConfig(**config(path, self.tiny))), dtype)


# --------------------------------------------------------------------------- pipelines


def _wan_parts(b: Builder, model: str, shared: dict[str, Any]) -> dict[str, Any]:
    """Text encoder, tokenizer, VAE and scheduler: built once, shared by every Wan role
    (the same UMT5-XXL and VAE in each repository)."""
    import torch
    from diffusers import UniPCMultistepScheduler

    from tests.render.diffusers.tiny import t5_tokenizer

    if "wan" not in shared:
        shared["wan"] = {
            "text_encoder": b.t5(model, "wan2.1/text_encoder.json", b.dtype(torch.bfloat16), umt5=True),
            "tokenizer": t5_tokenizer(),
            # float32 VAE with a bf16 transformer, as Wan's own examples run it
            "vae": b.diffusers_model(model, "AutoencoderKLWan", "wan2.1/vae.json", torch.float32),
            "scheduler": UniPCMultistepScheduler(**config("wan2.1/scheduler.json", b.tiny)),
        }
    return dict(shared["wan"])


def build(name: str, b: Builder, shared: dict[str, Any]) -> Any:
    """The pipeline registry model ``name`` would load, at its real architecture."""
    import diffusers
    import torch
    from transformers import CLIPImageProcessor

    dtype = b.dtype(torch.bfloat16)
    if name == "wan2.1-t2v-1.3b":
        parts = _wan_parts(b, name, shared)
        transformer = b.diffusers_model(name, "WanTransformer3DModel", f"{name}/transformer.json", dtype)
        return diffusers.WanPipeline(transformer=transformer, **parts)
    if name == "wan2.1-vace-1.3b":
        parts = _wan_parts(b, name, shared)
        transformer = b.diffusers_model(name, "WanVACETransformer3DModel", f"{name}/transformer.json", dtype)
        return diffusers.WanVACEPipeline(transformer=transformer, **parts)
    if name == "wan2.1-i2v-14b-480p":
        parts = _wan_parts(b, name, shared)
        transformer = b.diffusers_model(name, "WanTransformer3DModel", f"{name}/transformer.json", dtype)
        size = config(f"{name}/image_encoder.json", b.tiny)["image_size"]
        encoder = b.clip_vision(name, f"{name}/image_encoder.json", torch.float32, projection=False)
        return diffusers.WanImageToVideoPipeline(transformer=transformer, image_encoder=encoder,
                                                 image_processor=CLIPImageProcessor(crop_size=size, size=size), **parts)
    if name.startswith("wan2.2-"):
        return _wan22(b, name, shared, dtype)
    if name in ("ltx-video-0.9.5", "ltx-video-0.9.8-distilled"):
        from tests.render.diffusers.tiny import t5_tokenizer

        transformer = b.diffusers_model(name, "LTXVideoTransformer3DModel", f"{name}/transformer.json", dtype)
        vae = b.diffusers_model(name, "AutoencoderKLLTXVideo", f"{name}/vae.json", dtype)
        text_encoder = b.t5(name, f"{name}/text_encoder.json", dtype, umt5=False)
        scheduler = diffusers.FlowMatchEulerDiscreteScheduler(**config(f"{name}/scheduler.json", b.tiny))
        return diffusers.LTXConditionPipeline(transformer=transformer, vae=vae, text_encoder=text_encoder,
                                              tokenizer=t5_tokenizer(), scheduler=scheduler)
    if name == "ltx-video-0.9.8-upsampler":  # a model alone, as a-r-r-o-w/LTX-0.9.8-Latent-Upsampler is
        return b.latent_upsampler(name, f"{name}/latent_upsampler.json", dtype)
    if name in ("ltx-2", "ltx-2-distilled"):
        return _ltx2(b, name, dtype)
    if name == "ltx-2-distilled-upsampler":  # a model alone, the distilled repository's latent_upsampler/
        from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

        # built on the CPU: its blur's constructor multiplies integer tensors, which CUDA's matmul refuses
        # ("addmm_cuda" not implemented for 'Long'); from_pretrained builds it on the CPU too
        return b.diffusers_model(name, LTX2LatentUpsamplerModel, f"{name}/latent_upsampler.json", dtype, "cpu")
    if name == "sd1.5":
        return _stable_diffusion(b, b.dtype(torch.float16))
    if name == "flux2-klein-4b":
        return _flux2_klein(b, name, dtype)
    if name == "flux2-dev":
        return _flux2_dev(b, name, dtype)
    if name == "qwen-image-edit-2511":
        return _qwen_image_edit(b, name, dtype)
    if name in ("skyreels-v2-df-1.3b-540p", "skyreels-v2-df-14b-540p"):
        # the UMT5-XXL, Wan VAE and UniPC scheduler of Wan 2.1 (diffusers' convert_skyreelsv2_to_diffusers.py
        # converts Wan2.1_VAE.pth and takes google/umt5-xxl); the DF transformer from its own config
        parts = _wan_parts(b, name, shared)
        transformer = b.diffusers_model(name, "SkyReelsV2Transformer3DModel", f"{name}/transformer.json", dtype)
        return diffusers.SkyReelsV2DiffusionForcingPipeline(transformer=transformer, **parts)
    raise KeyError(name)


def _wan22(b: Builder, name: str, shared: dict[str, Any], dtype: Any) -> Any:
    """Wan 2.2 as its diffusers repositories hold it. TI2V-5B: one transformer on the Wan 2.2 VAE (float32,
    as the Wan 2.1 VAE), the pipeline config's ``expand_timesteps``; its image-to-video role is the same
    repository, so it shares the transformer (as the backend's ``Parts`` shares it). A14B: ``transformer``
    (high noise) and ``transformer_2`` (low noise) at one config, ``boundary_ratio`` 0.875 / 0.9 (diffusers'
    scripts/convert_wan_to_diffusers.py), on the Wan 2.1 VAE; no CLIP image encoder for image-to-video."""
    import diffusers
    import torch
    from diffusers import UniPCMultistepScheduler

    if name.startswith("wan2.2-ti2v-5b"):
        from tests.render.diffusers.tiny import t5_tokenizer

        if "umt5" not in shared:  # the same UMT5-XXL as every Wan repository; not the Wan 2.1 VAE
            shared["umt5"] = (shared["wan"]["text_encoder"] if "wan" in shared else
                              b.t5(name, "wan2.1/text_encoder.json", b.dtype(torch.bfloat16), umt5=True))
        parts = {"text_encoder": shared["umt5"], "tokenizer": t5_tokenizer()}
        if "wan22-ti2v" not in shared:
            shared["wan22-ti2v"] = {
                "transformer": b.diffusers_model(name, "WanTransformer3DModel", "wan2.2-ti2v-5b/transformer.json",
                                                 dtype),
                "vae": b.diffusers_model(name, "AutoencoderKLWan", "wan2.2/vae.json", torch.float32),
                "scheduler": UniPCMultistepScheduler(**config("wan2.2-ti2v-5b/scheduler.json", b.tiny)),
            }
        parts.update(shared["wan22-ti2v"])
        cls = diffusers.WanPipeline if name == "wan2.2-ti2v-5b" else diffusers.WanImageToVideoPipeline
        return cls(**parts, expand_timesteps=True)
    parts = _wan_parts(b, name, shared)
    path = f"{name}/transformer.json"
    experts = {key: b.diffusers_model(name, "WanTransformer3DModel", path, dtype)
               for key in ("transformer", "transformer_2")}
    if name == "wan2.2-t2v-a14b":
        return diffusers.WanPipeline(**parts, **experts, boundary_ratio=0.875)
    return diffusers.WanImageToVideoPipeline(**parts, **experts, boundary_ratio=0.9)


def _ltx2(b: Builder, name: str, dtype: Any) -> Any:
    """LTX-2 19B (``LTX2ConditionPipeline``): the audio-video transformer, its text connectors, the video and
    audio VAEs, the vocoder and Gemma 3 12B, all in bf16 as diffusers' conversion script saves them; the full
    and the distilled checkpoints differ only in their weights and scheduler (``bench/configs/ltx-2/``)."""
    import diffusers
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    transformer = b.diffusers_model(name, "LTX2VideoTransformer3DModel", "ltx-2/transformer.json", dtype)
    connectors = b.diffusers_model(name, LTX2TextConnectors, "ltx-2/connectors.json", dtype)
    vae = b.diffusers_model(name, "AutoencoderKLLTX2Video", "ltx-2/vae.json", dtype)
    audio_vae = b.diffusers_model(name, "AutoencoderKLLTX2Audio", "ltx-2/audio_vae.json", dtype)
    vocoder = b.diffusers_model(name, LTX2Vocoder, "ltx-2/vocoder.json", dtype)
    text_encoder = b.gemma3(name, "ltx-2/text_encoder.json", dtype)
    if b.tiny:  # as the tests' tiny LTX-2: a few frames of a tiny VAE in one piece
        vae.use_framewise_encoding = vae.use_framewise_decoding = False
    scheduler = diffusers.FlowMatchEulerDiscreteScheduler(**config(f"{name}/scheduler.json", b.tiny))
    return diffusers.LTX2ConditionPipeline(scheduler=scheduler, vae=vae, audio_vae=audio_vae, text_encoder=text_encoder,
                                           tokenizer=_gemma_tokenizer(), connectors=connectors,
                                           transformer=transformer, vocoder=vocoder)


def _gemma_tokenizer() -> Any:
    """The tests' in-memory Gemma tokenizer: its ids fit the tiny Gemma's 160 and the real one's 262,208."""
    from tests.render.diffusers.tiny import gemma_tokenizer

    return gemma_tokenizer()


def _flux2_klein(b: Builder, name: str, dtype: Any) -> Any:
    """FLUX.2 [klein] 4B, step-distilled, as black-forest-labs/FLUX.2-klein-4B holds it: the transformer of
    diffusers' convert_flux2_to_diffusers.py (klein-4b), a Qwen3-4B text encoder, the FLUX.2 VAE; a small
    in-memory tokenizer (its ids stay inside the real vocabulary)."""
    import diffusers
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from tests.render.diffusers.tiny_keyframes import qwen_tokenizer

    transformer = b.diffusers_model(name, "Flux2Transformer2DModel", f"{name}/transformer.json", dtype)
    vae = b.diffusers_model(name, "AutoencoderKLFlux2", f"{name}/vae.json", dtype)
    text = config(f"{name}/text_encoder.json", b.tiny)
    text_encoder = b.make(name, lambda: Qwen3ForCausalLM(Qwen3Config(**text)), dtype)
    scheduler = diffusers.FlowMatchEulerDiscreteScheduler(**config(f"{name}/scheduler.json", b.tiny))
    return diffusers.Flux2KleinPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder,
                                        tokenizer=qwen_tokenizer(), transformer=transformer, is_distilled=True)


def _flux2_dev(b: Builder, name: str, dtype: Any) -> Any:
    """FLUX.2 [dev], guidance-distilled, as black-forest-labs/FLUX.2-dev holds it: the transformer of diffusers'
    convert_flux2_to_diffusers.py (flux2-dev, 32B), the FLUX.2 VAE, Mistral Small 3.1 24B with its Pixtral vision
    tower (``Mistral3ForConditionalGeneration``); the tests' in-memory tokenizer with the Mistral chat template
    (what studio passes as the pipeline's tokenizer where torchvision is missing; its ids stay inside the real
    vocabulary, its ``[IMG]`` the text encoder's image token)."""
    import diffusers
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration

    from tests.render.diffusers.tiny_keyframes import mistral_tokenizer

    tokenizer = mistral_tokenizer()
    transformer = b.diffusers_model(name, "Flux2Transformer2DModel", f"{name}/transformer.json", dtype)
    vae = b.diffusers_model(name, "AutoencoderKLFlux2", f"{name}/vae.json", dtype)
    text = {**config(f"{name}/text_encoder.json", b.tiny),
            "image_token_index": tokenizer.convert_tokens_to_ids("[IMG]")}
    text_encoder = b.make(name, lambda: Mistral3ForConditionalGeneration(Mistral3Config(**text)), dtype)
    scheduler = diffusers.FlowMatchEulerDiscreteScheduler(**config(f"{name}/scheduler.json", b.tiny))
    return diffusers.Flux2Pipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder,
                                   tokenizer=tokenizer, transformer=transformer)


def _qwen_image_edit(b: Builder, name: str, dtype: Any) -> Any:
    """Qwen-Image-Edit-2511 (``QwenImageEditPlusPipeline``) as Qwen/Qwen-Image-Edit-2511 holds it: the 20B MMDiT
    (with 2511's ``zero_cond_t``), Qwen-Image's VAE, Qwen2.5-VL 7B with its vision tower as text encoder, and a
    Qwen2-VL processor over the tests' in-memory Qwen tokenizer and the PIL image processor at Qwen2.5-VL's
    preprocessor config (studio's ``pictures_only_processor``: no torchvision needed). The text encoder's
    special-token ids are the tokenizer's (its ids stay inside the real vocabulary)."""
    import diffusers
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2VLImageProcessorPil

    from studio.render.diffusers.keyframes import pictures_only_processor
    from tests.render.diffusers.tiny_keyframes import qwen_tokenizer

    tokenizer = qwen_tokenizer()
    ids = {key: tokenizer.convert_tokens_to_ids(token) for key, token in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}
    transformer = b.diffusers_model(name, "QwenImageTransformer2DModel", f"{name}/transformer.json", dtype)
    vae = b.diffusers_model(name, "AutoencoderKLQwenImage", f"{name}/vae.json", dtype)
    text = {**config(f"{name}/text_encoder.json", b.tiny), **ids}
    text_encoder = b.make(name, lambda: Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(**text)), dtype)
    processor = pictures_only_processor(tokenizer, Qwen2VLImageProcessorPil(
        **config(f"{name}/image_processor.json", b.tiny)))
    scheduler = diffusers.FlowMatchEulerDiscreteScheduler(**config(f"{name}/scheduler.json", b.tiny))
    if b.tiny:  # --tiny only (its own process): the input pictures shrink with the configs; a real run keeps them
        from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as edit_plus

        edit_plus.VAE_IMAGE_SIZE, edit_plus.CONDITION_IMAGE_SIZE = TINY["qwen_vae_area"], TINY["qwen_condition_area"]
    return diffusers.QwenImageEditPlusPipeline(transformer=transformer, vae=vae, scheduler=scheduler,
                                               text_encoder=text_encoder, tokenizer=tokenizer, processor=processor)


def _stable_diffusion(b: Builder, dtype: Any) -> Any:
    """SD 1.5 with its IP-Adapter attached (weights as a state dict in memory)."""
    import diffusers
    import torch
    from transformers import CLIPImageProcessor, CLIPTextConfig, CLIPTextModel

    from tests.render.diffusers.tiny import _clip_tokenizer

    name = "sd1.5"
    unet = b.diffusers_model(name, "UNet2DConditionModel", "sd1.5/unet.json", dtype)
    vae = b.diffusers_model(name, "AutoencoderKL", "sd1.5/vae.json", dtype)
    tokenizer = _clip_tokenizer()
    text_config = {**config("sd1.5/text_encoder.json", b.tiny), "bos_token_id": len(tokenizer) - 2,
                   "eos_token_id": len(tokenizer) - 1, "pad_token_id": 1}
    text_encoder = b.make(name, lambda: CLIPTextModel(CLIPTextConfig(**text_config)), dtype)
    size = config("ip-adapter-sd15/image_encoder.json", b.tiny)["image_size"]
    pipe = diffusers.StableDiffusionPipeline(
        unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        scheduler=diffusers.DDIMScheduler(**config("sd1.5/scheduler.json", b.tiny)), safety_checker=None,
        feature_extractor=CLIPImageProcessor(crop_size=size, size=size), image_encoder=None,
        requires_safety_checker=False)
    adapter = "ip-adapter-sd15"
    encoder = b.clip_vision(adapter, "ip-adapter-sd15/image_encoder.json", dtype, projection=True)
    pipe.register_modules(image_encoder=encoder)
    cross = unet.config.cross_attention_dim
    tokens = config("ip-adapter-sd15/adapter.json", b.tiny)["num_image_text_embeds"]
    embed = encoder.config.projection_dim
    started = time.perf_counter()
    with torch.device(b.device):
        ip: dict[str, Any] = {}
        key = 1
        for proc in unet.attn_processors:  # cross-attention layers only, numbered 1, 3, 5... as h94's files are
            if proc.endswith("attn1.processor"):
                continue
            hidden = _hidden_size(unet, proc)
            ip[f"{key}.to_k_ip.weight"] = torch.randn(hidden, cross, dtype=dtype) * 0.02
            ip[f"{key}.to_v_ip.weight"] = torch.randn(hidden, cross, dtype=dtype) * 0.02
            key += 2
        proj = {"proj.weight": torch.randn(cross * tokens, embed, dtype=dtype) * 0.02,
                "proj.bias": torch.zeros(cross * tokens, dtype=dtype),
                "norm.weight": torch.ones(cross, dtype=dtype), "norm.bias": torch.zeros(cross, dtype=dtype)}
    pipe.load_ip_adapter({"image_proj": proj, "ip_adapter": ip}, subfolder="", weight_name="",
                         image_encoder_folder=None)
    pipe.set_ip_adapter_scale(0.6)
    b.seconds[adapter] = b.seconds.get(adapter, 0.0) + time.perf_counter() - started
    b.params[adapter] = b.params.get(adapter, 0) + sum(t.numel() for t in [*ip.values(), *proj.values()])
    return pipe


def _hidden_size(unet: Any, processor: str) -> int:
    channels = unet.config.block_out_channels
    if processor.startswith("mid_block"):
        return channels[-1]
    if processor.startswith("up_blocks"):
        return list(reversed(channels))[int(processor[len("up_blocks.")])]
    return channels[int(processor[len("down_blocks.")])]


# --------------------------------------------------------------------------- the film


def film(folder: Path, width: int, height: int, fps: int, long_seconds: float) -> tuple[list[Any], dict[str, Any]]:
    """The three-shot film's plans and identities."""
    import numpy as np
    from PIL import Image

    from studio.consistency.cast import build_identities
    from studio.graph.scene_graph import SceneGraph
    from studio.render.plan import plan_film
    from studio.screenplay import load_screenplay

    (folder / "refs").mkdir(parents=True, exist_ok=True)
    face = np.zeros((256, 256, 3), np.uint8)
    face[:] = (40, 160, 60)
    face[64:192, 80:176] = (230, 190, 160)
    Image.fromarray(face).save(folder / "refs" / "ana.png")
    path = folder / "film.yaml"
    path.write_text(FILM.format(fps=fps, width=width, height=height, long=long_seconds), encoding="utf-8")
    screenplay = load_screenplay(path)
    return plan_film(SceneGraph.from_screenplay(screenplay, {})), build_identities(screenplay)


class StepClock:
    """Per model, the seconds between denoising-step callbacks of each call."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.steps: dict[str, list[list[float]]] = {}

    def callback(self, model: str) -> Any:
        def on_step_end(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            if self.cuda:
                import torch

                torch.cuda.synchronize()
            calls = self.steps.setdefault(model, [])
            if step == 0:
                calls.append([])
            calls[-1].append(time.perf_counter())
            return {}

        return on_step_end

    def step_seconds(self, model: str, every: int = 1, first: int = 0) -> float | None:
        """Median seconds between steps, over every ``every``-th pipeline call from ``first`` (a model
        with a latent upsampler makes two per generation: the small pass, then the refine)."""
        calls = self.steps.get(model, [])[first::every]
        gaps = [b - a for call in calls for a, b in itertools.pairwise(call)]
        return statistics.median(gaps) if gaps else None

    def count(self, model: str) -> int:
        """Steps run (callbacks), over all pipeline calls."""
        return sum(len(call) for call in self.steps.get(model, []))


def recommended_steps(spec: Any) -> int:
    """Denoising steps one generation of ``spec`` takes at its recipe: ``steps``, or the length of an
    explicit ``timesteps`` list (which the pipeline runs whatever ``steps`` says); with a latent upsampler,
    plus the refine pass's: its timesteps cut by ``denoise_strength`` as LTXConditionPipeline.get_timesteps
    cuts them (0.9.8 distilled: 8, then 4 of [1000, 909, 725, 421, 0] at 0.999: 12). An explicit ``sigmas``
    list (LTX-2 distilled) counts as its length, and LTX-2's stage 2 as its sigmas' (8 + 3: 11)."""
    from studio.render.diffusers.settings import LTX2_UPSAMPLE_DEFAULTS, UPSAMPLE_DEFAULTS

    schedule = spec.options.get("timesteps") or spec.options.get("sigmas")
    steps = len(schedule) if schedule else int(spec.options.get("steps", 30))
    if spec.options.get("upsampler") and spec.family == "ltx2":  # stage 2 runs its sigmas list whole
        recipe = {**LTX2_UPSAMPLE_DEFAULTS, **dict(spec.options.get("upsample") or {})}
        steps += len(recipe["sigmas"])
    elif spec.options.get("upsampler"):
        recipe = {**UPSAMPLE_DEFAULTS, **dict(spec.options.get("upsample") or {})}
        refine, strength = len(recipe["timesteps"]), float(recipe["denoise_strength"])
        steps += min(int(refine * strength), refine) if strength < 1 else refine
    return steps


def spoken(plan: Any) -> Any:
    """A stand-in line for a shot (no voice model runs here): a 180 Hz buzz, its loudness
    swelling 4 times a second like syllables, over the middle half of the shot."""
    import numpy as np

    from studio.render.backend import ShotSpeech

    rate = 48000
    t = np.arange(round(plan.frames / plan.fps * rate)) / rate
    start, end = 0.25 * t[-1], 0.75 * t[-1]
    voice = np.sign(np.sin(2 * np.pi * 180 * t)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) * 0.2
    samples = np.where((t >= start) & (t < end), voice, 0.0).astype(np.float32)
    return ShotSpeech(samples, rate, ((float(start), float(end)),), f"gpu_check {plan.shot_id}")


def run_group(group: str, options: dict[str, Any], *, tiny: bool, steps: int, device: str,
              folder: Path, real_dtypes: bool) -> dict[str, Any]:
    """Build the group's models, render the film, and measure."""
    import torch

    from studio.models import Registry
    from studio.render.backend import Conditioning
    from studio.render.diffusers.backend import DiffusersBackend

    cuda = device.startswith("cuda")
    registry = Registry.default()
    missing = {k: v for k, v in EXTRA_SPECS.items() if k not in registry.specs}
    if missing:
        registry.update(missing, "bench/gpu_check.py")
    clock = StepClock(cuda)
    names = [n for n in (options.get("model"), options.get("i2v_model"), options.get("vace_model"),
                         options.get("keyframe_model")) if n]
    recommended: dict[str, int] = {}
    served = list(names)  # what the registry serves built: the pipelines, and a latent upsampler
    for name in names:
        spec = registry.get(name)
        recommended[name] = recommended_steps(spec)
        spec_options = dict(spec.options)
        spec_options["call_options"] = {**dict(spec_options.get("call_options", {}) or {}),
                                        "callback_on_step_end": clock.callback(name)}
        if spec.family in KEYFRAME_AT_STEPS:
            spec_options["steps"] = steps
        if tiny and spec.family == "skyreels-df":  # a take is one call: the tiny model's window instead
            spec_options.update(base_num_frames=TINY["wan_chunk"], overlap_history=5)  # (tests' tiny_skyreels.py)
        if tiny and spec.family not in KEYFRAME_FAMILIES:
            if spec.family != "skyreels-df":
                spec_options["frames_per_chunk"] = TINY["ltx_chunk" if spec.family.startswith("ltx") else "wan_chunk"]
            if "resolution" in spec_options:
                spec_options["resolution"] = TINY["ltx2_resolution" if spec.family == "ltx2" else "resolution"]
        spec = replace(spec, options=spec_options, device=device,
                       dtype="float32" if tiny else spec.dtype)
        registry.add(spec)
        if spec.options.get("upsampler"):  # DiffusersBackend.load() asks the registry for it by name
            upsampler = registry.get(str(spec.options["upsampler"]))
            registry.add(replace(upsampler, device=device, dtype="float32" if tiny else upsampler.dtype))
            served.append(upsampler.name)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    builder, shared = Builder(device, tiny, real_dtypes), {}
    for name in served:
        registry.provide(name, build(name, builder, shared))
    backend = DiffusersBackend({**options, "steps": steps, "offload": "none"}, registry=registry)
    main = registry.get(options["model"])
    if tiny:
        width, height = (int(v) for v in TINY["ltx2_resolution" if main.family == "ltx2" else "resolution"].split("x"))
        fps = TINY["fps"]
    else:
        width, height = (int(v) for v in str(main.options.get("resolution", "832x480")).split("x"))
        fps = 24
    chunk = backend.frames_per_chunk()
    if main.family == "skyreels-df":  # a take is one call: the long shot spans more than one of its windows
        chunk = int(registry.get(main.name).options.get("base_num_frames", 97))
    long_seconds = round((chunk + chunk // 2) / fps + 0.5)  # more than one chunk's worth
    plans, identities = film(folder / group, width, height, fps, long_seconds)
    started = time.perf_counter()
    tails: list[Any] = []
    anchor = None
    for plan in plans:
        cond = Conditioning(identities={c: identities[c] for c in identities if c in plan.subjects})
        if getattr(backend, "wants_speech", False):  # LTX-2: every shot generated around a spoken span
            cond.speech = spoken(plan)
        if plan.continuity == "continuous" and tails:
            from studio.render.diffusers.colour import colour_anchor

            cond.previous_frames = tails
            anchor = anchor or colour_anchor(tails)
            cond.chain_anchor = anchor if backend.wants_chain_anchor else None
        frames = 0
        last: list[Any] = []
        for frame in backend.render(plan, cond):
            frames += 1
            last = (last + [frame])[-backend.tail_frames:]
        assert frames == plan.frames, (plan.shot_id, frames, plan.frames)
        tails = last
    wall = time.perf_counter() - started
    film_seconds = sum(p.frames for p in plans) / fps
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    models: dict[str, Any] = {}
    total_estimate = 0.0
    for name in names:
        calls = [c for c in backend.calls if c.model == name]
        step = clock.step_seconds(name)
        seconds = sum(c.seconds for c in calls)
        n_calls = len(calls)
        if registry.get(name).family in KEYFRAME_FAMILIES:
            n_calls = len(clock.steps.get(name, []))
            seconds = backend.stats.keyframe_seconds
        # steps run per generation, as counted: --steps, except where the recipe is an explicit timesteps
        # list, which runs whole (the refine pass's too): nothing of it is left to extrapolate
        run_steps = round(clock.count(name) / n_calls) if n_calls and clock.count(name) else steps
        by_pass = None
        if registry.get(name).options.get("upsampler"):  # two pipeline calls per generation
            by_pass = {"small": clock.step_seconds(name, 2, 0), "refine": clock.step_seconds(name, 2, 1)}
            if None not in by_pass.values():
                # a median over both passes would be a small-pass step: the recipe's mean step instead, so
                # that steps x seconds_per_step is the denoising time (what studio estimate takes it for)
                small_steps = recommended_steps(replace(registry.get(name), options={
                    k: v for k, v in registry.get(name).options.items() if k != "upsampler"}))
                refine_steps = recommended[name] - small_steps
                step = (small_steps * by_pass["small"] + refine_steps * by_pass["refine"]) / recommended[name]
        wanted = recommended[name]
        if registry.get(name).family == "skyreels-df":
            # a call denoises window after window: its step callbacks count every window's steps (rows), so the
            # recommended count per call is the run's scaled by recommended / run steps; a measured step is one
            # window's, and the model's reference clip (estimate.py) is one window at its recommended steps
            wanted = run_steps * recommended[name] / steps
            chunk = int(registry.get(name).options.get("base_num_frames", 97))
        estimate = seconds + (wanted - run_steps) * step * n_calls if step is not None else None
        total_estimate += estimate or 0.0
        models[name] = {
            "group": group, "family": registry.get(name).family,
            "dtype": ", ".join(builder.dtypes.get(name, [])) or "shared",
            "build_seconds": round(builder.seconds.get(name, 0.0), 3),
            "params_billion": round(builder.params.get(name, 0) / 1e9, 4),
            "components": builder.components.get(name, []),
            "calls": n_calls, "steps_run": run_steps, "steps_recommended": recommended[name],
            "seconds_per_step": round(step, 4) if step is not None else None,
            "seconds_in_calls": round(seconds, 3),
            "seconds_per_film_second": round(estimate / film_seconds, 3) if estimate is not None else None,
            "peak_vram_gib": round(peak, 2) if peak is not None else None,
            "generation_size": f"{calls[0].width}x{calls[0].height}" if calls else None,
            "frames_per_chunk": chunk,
            "held_audio_frames": sum(c.held for c in calls),  # LTX-2: speech tokens held clean, all calls
        }
        if by_pass is not None:  # the median step of each pass
            models[name]["seconds_per_step_by_pass"] = {k: round(v, 4) if v is not None else None
                                                        for k, v in by_pass.items()}
    inside = {"ip-adapter-sd15": "runs inside the sd1.5 keyframe calls"}
    for name in names:
        if registry.get(name).options.get("upsampler"):
            inside[str(registry.get(name).options["upsampler"])] = f"runs inside the {name} calls, between its passes"
    for part, note in inside.items():
        if part in builder.seconds:
            models[part] = {"group": group, "family": registry.get(part).family,
                            "dtype": ", ".join(builder.dtypes.get(part, [])),
                            "components": builder.components.get(part, []),
                            "build_seconds": round(builder.seconds[part], 3),
                            "params_billion": round(builder.params[part] / 1e9, 4), "note": note}
    del backend, registry, shared
    import gc

    gc.collect()  # the group's pipelines go before the next group builds its own
    if cuda:
        torch.cuda.empty_cache()
    return {"models": models, "film_seconds": round(film_seconds, 3), "fps": fps, "size": f"{width}x{height}",
            "shots": [{"id": p.shot_id, "frames": p.frames, "continuity": p.continuity} for p in plans],
            "wall_seconds": round(wall, 3), "estimate_seconds": round(total_estimate, 3),
            "real_time_factor": round(total_estimate / film_seconds, 3), "peak_vram_gib": peak}


# --------------------------------------------------------------------------- forecast


def forecast(group: str) -> dict[str, Any]:
    """The group at its real architecture, built on the meta device (nothing allocated: seconds on a CPU):
    parameters and weight GiB per model and component, in the real dtypes. For an LTX-Video group also the
    FLOPs of the film's generations, counted by torch's ``FlopCounterMode`` on meta tensors (the transformer
    step at each pass's size, the latent upsampler, the VAE decode), and the seconds they and the build take
    on an H200 at :data:`H200_TFLOPS` and :data:`BUILD_GB_PER_SECOND`; ``seconds`` is None for the others."""
    from studio.models import Registry

    registry = Registry.default()
    registry.update({k: v for k, v in EXTRA_SPECS.items() if k not in registry.specs}, "bench/gpu_check.py")
    options = GROUPS[group]
    names = [n for n in (options.get("model"), options.get("i2v_model"), options.get("vace_model"),
                         options.get("keyframe_model")) if n]
    upsampler = registry.get(names[0]).options.get("upsampler")
    builder, shared = Builder("meta", tiny=False, real_dtypes=True), {}
    built = {name: build(name, builder, shared) for name in [*names, *([str(upsampler)] if upsampler else [])]}
    models = {name: {"params_billion": round(builder.params[name] / 1e9, 3),
                     "weights_gib": round(builder.bytes[name] / 2**30, 2),
                     "components": builder.components[name]} for name in builder.params}
    weights = sum(builder.bytes.values())
    result: dict[str, Any] = {"models": models, "weights_gib": round(weights / 2**30, 2), "tflop": None,
                              "seconds": None}
    spec = registry.get(names[0])
    if spec.family.startswith("ltx") and len(names) == 1:
        count = _ltx2_generation_tflop if spec.family == "ltx2" else _ltx_generation_tflop
        tflop = FILM_CALLS * count(spec, built[names[0]], built.get(str(upsampler)))
        if spec.family == "ltx2":
            result["passes_per_step"] = ltx2_passes(spec, type(built[names[0]]))
        result["tflop"] = round(tflop)
        result["seconds"] = round(tflop / H200_TFLOPS + weights / 1e9 / BUILD_GB_PER_SECOND, 1)
    return result


def _ltx_generation_tflop(spec: Any, pipe: Any, upsampler: Any) -> float:
    """TFLOPs of one generation of a full chunk at the model's resolution: text encoding, every
    denoising step (twice the batch with guidance above 1), with an upsampler the small pass, the
    upsampling and the refine, then the VAE decode."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from studio.render.diffusers.settings import FAMILIES, UPSAMPLE_DEFAULTS, parse_size

    width, height = parse_size(str(spec.options["resolution"]), "resolution")
    frames = int(spec.options["frames_per_chunk"])
    spatial, temporal = pipe.vae_spatial_compression_ratio, pipe.vae_temporal_compression_ratio
    latent_frames = (frames - 1) // temporal + 1
    family = FAMILIES[spec.family]
    batch = 2 if float(spec.options.get("guidance", family.guidance)) > 1 else 1
    text = int(spec.options.get("max_sequence_length", family.max_sequence_length))
    channels = pipe.transformer.config.in_channels

    def flops(run: Any) -> float:
        with torch.device("meta"), torch.no_grad(), FlopCounterMode(display=False) as counter:
            run()
        return counter.get_total_flops() / 1e12

    def step(w: int, h: int) -> float:
        tokens = latent_frames * (h // spatial) * (w // spatial)
        return flops(lambda: pipe.transformer(
            hidden_states=torch.randn(batch, tokens, channels, dtype=pipe.transformer.dtype),
            encoder_hidden_states=torch.randn(batch, text, pipe.transformer.config.caption_channels,
                                              dtype=pipe.transformer.dtype),
            timestep=torch.ones(batch, tokens), encoder_attention_mask=torch.ones(batch, text),
            num_frames=latent_frames, height=h // spatial, width=w // spatial,
            rope_interpolation_scale=(temporal / 24, spatial, spatial), return_dict=False))

    def latents(w: int, h: int) -> Any:
        return torch.randn(1, channels, latent_frames, h // spatial, w // spatial, dtype=pipe.vae.dtype)

    def decode(w: int, h: int) -> float:
        return flops(lambda: pipe.vae.decode(latents(w, h), torch.tensor([0.05]), return_dict=False))

    encode = 2 * sum(p.numel() for p in pipe.text_encoder.parameters()) * text * batch / 1e12
    timesteps = spec.options.get("timesteps")
    steps = len(timesteps) if timesteps else int(spec.options.get("steps", family.steps))
    if upsampler is None:
        return encode + steps * step(width, height) + decode(width, height)
    recipe = {**UPSAMPLE_DEFAULTS, **dict(spec.options.get("upsample") or {})}
    multiple = spatial  # as Upsample.small_size: downscale, rounded down to the VAE's multiple
    small_w = max(multiple, int(width * float(recipe["downscale"])) // multiple * multiple)
    small_h = max(multiple, int(height * float(recipe["downscale"])) // multiple * multiple)
    refine = recommended_steps(spec) - steps
    return (2 * encode + steps * step(small_w, small_h) + flops(lambda: upsampler(latents(small_w, small_h)))
            + refine * step(2 * small_w, 2 * small_h) + decode(2 * small_w, 2 * small_h))


def ltx2_passes(spec: Any, pipeline: Any, recipe: dict[str, Any] | None = None) -> int:
    """Transformer passes (in batch items) per denoising step of an LTX-2 call: 2 with classifier-free
    guidance (the video's or the audio's scale above 1), 1 without, plus one for spatio-temporal guidance
    (an STG scale above 0) and one for modality isolation (a modality scale above 1), as
    ``LTX2ConditionPipeline`` decides them from its arguments: the model's options over the pipeline's own
    defaults (audio scales falling back to the video's; ``recipe``: a stage's overrides)."""
    import inspect

    from studio.render.diffusers.settings import FAMILIES

    defaults = {k: v.default for k, v in inspect.signature(pipeline.__call__).parameters.items()}
    given = {**{k: v for k, v in spec.options.items() if k in defaults},
             "guidance_scale": spec.options.get("guidance", FAMILIES[spec.family].guidance), **(recipe or {})}
    scale = {**defaults, **given}
    for name in ("guidance_scale", "stg_scale", "modality_scale"):
        scale[f"audio_{name}"] = scale.get(f"audio_{name}") or scale[name]
    cfg = max(float(scale["guidance_scale"]), float(scale["audio_guidance_scale"])) > 1
    stg = max(float(scale["stg_scale"]), float(scale["audio_stg_scale"])) > 0
    modality = max(float(scale["modality_scale"]), float(scale["audio_modality_scale"])) > 1
    return (2 if cfg else 1) + int(stg) + int(modality)


def _ltx2_generation_tflop(spec: Any, pipe: Any, upsampler: Any) -> float:
    """TFLOPs of one LTX-2 generation of a full chunk at the model's resolution: Gemma 3 over the prompt
    (and the negative with guidance) and the text connectors (2 x parameters x tokens), every denoising step
    (the joint audio-video transformer, counted once per batch item and multiplied by :func:`ltx2_passes`),
    with an upsampler stage 1 at its size, the upsampling and stage 2 at twice the size, then the video VAE
    decode, the audio VAE decode and the vocoder."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from studio.render.diffusers.settings import FAMILIES, LTX2_UPSAMPLE_DEFAULTS, parse_size

    width, height = parse_size(str(spec.options["resolution"]), "resolution")
    frames = int(spec.options["frames_per_chunk"])
    family = FAMILIES[spec.family]
    fps = float(spec.options.get("fps", family.fps))
    spatial, temporal = pipe.vae_spatial_compression_ratio, pipe.vae_temporal_compression_ratio
    latent_frames = (frames - 1) // temporal + 1
    # as LTX2ConditionPipeline: audio latents per second = sample rate / hop / the audio VAE's 4x in time
    audio_frames = round(frames / fps * pipe.audio_sampling_rate / pipe.audio_hop_length
                         / pipe.audio_vae_temporal_compression_ratio)
    mel_bins = pipe.audio_mel_bins // pipe.audio_vae_mel_compression_ratio
    text = int(spec.options.get("max_sequence_length", family.max_sequence_length))
    tr = pipe.transformer
    dtype = tr.dtype

    def flops(run: Any) -> float:
        with torch.device("meta"), torch.no_grad(), FlopCounterMode(display=False) as counter:
            run()
        return counter.get_total_flops() / 1e12

    def step(w: int, h: int) -> float:  # one batch item
        tokens, caption = latent_frames * (h // spatial) * (w // spatial), tr.config.caption_channels
        return flops(lambda: tr(
            hidden_states=torch.randn(1, tokens, tr.config.in_channels, dtype=dtype),
            audio_hidden_states=torch.randn(1, audio_frames, tr.config.audio_in_channels, dtype=dtype),
            encoder_hidden_states=torch.randn(1, text, caption, dtype=dtype),
            audio_encoder_hidden_states=torch.randn(1, text, caption, dtype=dtype),
            timestep=torch.ones(1, tokens), audio_timestep=torch.ones(1, audio_frames),
            encoder_attention_mask=torch.ones(1, text), audio_encoder_attention_mask=torch.ones(1, text),
            num_frames=latent_frames, height=h // spatial, width=w // spatial, fps=fps,
            audio_num_frames=audio_frames, return_dict=False))

    def latents(w: int, h: int) -> Any:
        return torch.randn(1, tr.config.in_channels, latent_frames, h // spatial, w // spatial, dtype=pipe.vae.dtype)

    def decode(w: int, h: int) -> float:
        audio = torch.randn(1, pipe.audio_latent_channels, audio_frames, mel_bins, dtype=pipe.audio_vae.dtype)
        return (flops(lambda: pipe.vae.decode(latents(w, h), None, return_dict=False))
                + flops(lambda: pipe.vocoder(pipe.audio_vae.decode(audio, return_dict=False)[0])))

    def encode(prompts: int) -> float:
        gemma = pipe.text_encoder.get_decoder() if hasattr(pipe.text_encoder, "get_decoder") else pipe.text_encoder
        params = sum(p.numel() for p in gemma.parameters()) + sum(p.numel() for p in pipe.connectors.parameters())
        return 2 * params * text * prompts / 1e12

    passes = ltx2_passes(spec, type(pipe))
    sigmas = spec.options.get("sigmas")
    steps = len(sigmas) if sigmas else int(spec.options.get("steps", family.steps))
    if upsampler is None:
        return encode(2 if passes > 1 else 1) + steps * passes * step(width, height) + decode(width, height)
    recipe = {**LTX2_UPSAMPLE_DEFAULTS, **dict(spec.options.get("upsample") or {})}
    small_w = max(spatial, int(width * float(recipe["downscale"])) // spatial * spatial)
    small_h = max(spatial, int(height * float(recipe["downscale"])) // spatial * spatial)
    refine = len(recipe["sigmas"])
    passes_2 = ltx2_passes(spec, type(pipe), {"guidance_scale": recipe["guidance"]})
    return (encode(2 if passes > 1 else 1) + encode(2 if passes_2 > 1 else 1)
            + steps * passes * step(small_w, small_h) + flops(lambda: upsampler(latents(small_w, small_h)))
            + refine * passes_2 * step(2 * small_w, 2 * small_h) + decode(2 * small_w, 2 * small_h))


def forecast_line(group: str, f: dict[str, Any]) -> str:
    models = ", ".join(f"{name} {m['params_billion']}B" for name, m in f["models"].items())
    when = (f"forecast {f['seconds']} s on an H200 ({f['tflop']} TFLOP at {H200_TFLOPS:.0f} TFLOPS, {FILM_CALLS} "
            "full-chunk calls, plus the build)" if f["seconds"] is not None else "no time forecast")
    passes = f"; transformer passes a step: {f['passes_per_step']}" if f.get("passes_per_step") else ""
    return f"{group}: {models}; weights {f['weights_gib']} GiB; {when}{passes}"


# --------------------------------------------------------------------------- report


def table(report: dict[str, Any]) -> str:
    lines = [("| model | group | dtype | params (B) | build s | calls | s/step | steps (run / recommended) "
              "| s per film-second | peak VRAM GiB |"),
             "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for name, m in report["models"].items():
        if "note" in m:
            lines.append(f"| {name} | {m['group']} | {m['dtype']} | {m['params_billion']} | {m['build_seconds']} "
                         f"| | | | {m['note']} | |")
            continue
        lines.append(f"| {name} | {m['group']} | {m['dtype']} | {m['params_billion']} | {m['build_seconds']} "
                     f"| {m['calls']} | {m['seconds_per_step']} | {m['steps_run']} / {m['steps_recommended']} "
                     f"| {m['seconds_per_film_second']} | {m['peak_vram_gib']} |")
    lines += ["", ("| group | film | size, fps | wall at run steps (s) | estimate at recommended steps (s) | "
                   "real-time factor |"), "| --- | --- | --- | ---: | ---: | ---: |"]
    for group, g in report["groups"].items():
        shots = ", ".join(f"{s['id']} {s['frames']}f" for s in g["shots"])
        lines.append(f"| {group} | {shots} ({g['film_seconds']} s) | {g['size']}, {g['fps']} | {g['wall_seconds']} "
                     f"| {g['estimate_seconds']} | {g['real_time_factor']}x |")
    for group, why in (report.get("failed") or {}).items():
        lines.append(f"| {group} | failed: {why} | | | | |")
    return "\n".join(lines)


def check(tiny: bool, steps: int, groups: list[str], *, device: str | None = None, real_dtypes: bool | None = None,
          budget: float | None = None, json_path: Path | None = None) -> dict[str, Any]:
    """Run the check; the report as a dict. With ``json_path`` it is written after
    every group (a run cut short still leaves what it measured); a group is skipped
    once ``budget`` seconds have passed, and on CUDA also when its :func:`forecast`
    (printed before it runs) would take the run past ``budget``."""
    import diffusers
    import torch

    started = time.perf_counter()
    device = device or ("cpu" if tiny or not torch.cuda.is_available() else "cuda")
    if steps < 2:
        raise SystemExit("--steps must be at least 2: a step's time is measured between two steps")
    real_dtypes = (not tiny) if real_dtypes is None else real_dtypes
    report: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "tiny": tiny, "device": device,
        "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
        "torch": torch.__version__, "diffusers": diffusers.__version__, "steps_run": steps,
        "real_dtypes": real_dtypes, "models": {}, "groups": {}, "skipped": [], "failed": {}, "forecast": {},
    }
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        for group in groups:
            expected = None
            if device.startswith("cuda"):  # the real architectures: will the group fit what is left?
                report["forecast"][group] = forecast(group)
                expected = report["forecast"][group]["seconds"]
                print(forecast_line(group, report["forecast"][group]), flush=True)
            elapsed = time.perf_counter() - started
            if budget is not None and (elapsed > budget or (expected is not None and elapsed + expected > budget)):
                report["skipped"].append(group)
                continue
            try:
                result = run_group(group, GROUPS[group], tiny=tiny, steps=steps, device=device, folder=Path(tmp),
                                   real_dtypes=real_dtypes)
            except Exception as error:  # noqa: BLE001 - a real model's failure (out of memory, say) is a finding
                if tiny:  # the suite's run: a failure is a bug in the check
                    raise
                traceback.print_exc()
                report["failed"][group] = failure(error, device)
                print(f"{group} failed: {report['failed'][group]}", flush=True)
            else:
                report["models"].update(result.pop("models"))
                report["groups"][group] = result
            finally:
                release(device)
            report["seconds"] = round(time.perf_counter() - started, 1)
            if json_path is not None:
                _write_json(json_path, report)
    return report


def failure(error: BaseException, device: str) -> str:
    """One line for a group that failed: the error, and on CUDA the memory held when it did."""
    line = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    if device.startswith("cuda"):
        import torch

        line += f" (peak {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB allocated)"
    return line[:400]


def release(device: str) -> None:
    """Free what a group left on the device, so the next group starts from an empty card."""
    import gc

    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs' reports (one call each, on one machine) as one: their groups, models
    and forecasts; a group skipped or failed in one run and measured in another counts as
    measured. The runs must share the GPU, torch and diffusers."""
    if not reports:
        raise SystemExit("no report to merge")
    for key in ("gpu", "torch", "diffusers", "steps_run", "real_dtypes", "tiny"):
        values = {json.dumps(r.get(key)) for r in reports}
        if len(values) > 1:
            raise SystemExit(f"the reports differ in {key} ({', '.join(sorted(values))}): record them apart")
    merged = {**reports[0], "models": {}, "groups": {}, "forecast": {}, "failed": {}, "runs": []}
    for r in reports:
        merged["runs"].extend(r.get("runs") or [{"when": r.get("when"), "seconds": r.get("seconds"),
                                                 "groups": [*r.get("groups", {}), *r.get("failed", {}),
                                                            *r.get("skipped", [])]}])
        for key in ("models", "groups", "forecast", "failed"):
            merged[key].update(r.get(key) or {})
    measured = set(merged["groups"])
    merged["failed"] = {g: why for g, why in merged["failed"].items() if g not in measured}
    skipped = [g for r in reports for g in r.get("skipped", [])]
    merged["skipped"] = [g for g in dict.fromkeys(skipped) if g not in measured and g not in merged["failed"]]
    merged["seconds"] = round(sum(float(r.get("seconds") or 0) for r in reports), 1)
    return merged


def _write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def _run_line(run: dict[str, Any]) -> str:
    """One call of a merged record: when, how long, its groups (and its note, if any)."""
    note = f" ({run['note']})" if run.get("note") else ""
    return f"{run['when']}, {run['seconds']} s: {' '.join(run['groups'])}{note}"


def record(report: dict[str, Any]) -> None:
    """A GPU run's report into bench/results/gpu_check.json (what ``studio estimate``
    reads) and its section of BENCHMARKS.md."""
    from bench import record as bench_record

    if report.get("tiny"):
        raise SystemExit("a --tiny run is not a measurement: nothing recorded")
    _write_json(RESULTS, report)
    skipped = f" Skipped for time: {', '.join(report['skipped'])}." if report.get("skipped") else ""
    runs = report.get("runs") or []
    if len(runs) > 1:
        calls = "; ".join(_run_line(r) for r in runs)
        command = (f"{len(runs)} calls of one machine, each `python bench/gpu_check.py --groups ... --json "
                   f"$OUT/...json` ({calls}), recorded together with `python bench/gpu_check.py --from-json "
                   "ONE.json TWO.json ... --write`")
    else:
        command = ("`python bench/gpu_check.py --json $OUT/gpu_check.json`, recorded with "
                   "`python bench/gpu_check.py --from-json gpu_check.json --write`")
    bench_record.write_section(MARK, (
        f"<!-- {MARK} -->\n## Real architectures on a GPU (`bench/gpu_check.py`)\n\n"
        f"{report['when']}, {report['gpu']}, torch {report['torch']}, diffusers {report['diffusers']}. "
        f"Command: {command}.\n"
        "Every model built at its published architecture (bench/configs/, sources named there) with random "
        "weights made on the GPU in its real dtype, rendered through DiffusersBackend.render over a 3-shot film "
        f"(a cut with a referenced character, a continuous shot, a chunked cut), `offload: none`. "
        f"{report['steps_run']} denoising "
        "steps run per call; a step's time (median between step callbacks) is extrapolated to the model's "
        "recommended steps, the rest of a call (text encoding, VAE decode) is as measured; a recipe given as a "
        "timesteps list (LTX 0.9.8 distilled: 8, then the refine pass's 4 after the latent upsampler; LTX-2 "
        "distilled's two stages) runs whole and is not extrapolated. Random weights: the "
        f"pictures are noise, the time and memory are a real model's.{skipped}\n\n"
        f"{table(report)}\n<!-- /{MARK} -->"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny configs on the CPU (no GPU needed)")
    parser.add_argument("--steps", type=int, default=2, help="denoising steps actually run per call (>= 2)")
    parser.add_argument("--groups", nargs="*", default=None, choices=list(GROUPS),
                        help=f"model groups (default: {' '.join(DEFAULT_GROUPS)}, ltx2-full only when named; "
                             "with --tiny every group)")
    parser.add_argument("--real-dtypes", action=argparse.BooleanOptionalAction, default=None,
                        help="build in the models' own dtypes (default: yes, except with --tiny)")
    parser.add_argument("--budget", type=float, default=480.0,
                        help="seconds after which the remaining groups are skipped (default 480: one 10-minute call)")
    parser.add_argument("--json", type=Path, default=None, help="write the report here, after every group")
    parser.add_argument("--write", action="store_true",
                        help="record a GPU run: bench/results/gpu_check.json and BENCHMARKS.md")
    parser.add_argument("--from-json", type=Path, nargs="+", default=None,
                        help="print (and with --write record) a report saved by an earlier run; several runs' "
                             "reports (calls on one machine) are merged into one")
    parser.add_argument("--count", action="store_true",
                        help="build nothing: the real architectures counted on the meta device (parameters, "
                             "weight GiB, the LTX groups' FLOPs and H200 seconds), in seconds on any CPU")
    args = parser.parse_args()
    if args.groups is None:
        args.groups = list(GROUPS) if args.tiny else DEFAULT_GROUPS
    if args.count:
        counted = {group: forecast(group) for group in args.groups}
        for group, f in counted.items():
            print(forecast_line(group, f))
            for name, m in f["models"].items():
                print(f"  {name}: " + ", ".join(f"{c['class']} {c['params'] / 1e9:.3f}B {c['dtype']}"
                                                 for c in m["components"]))
        if args.json is not None:
            _write_json(args.json, {"forecast": counted, "h200_tflops": H200_TFLOPS, "film_calls": FILM_CALLS})
        return
    if args.from_json is not None:
        report = merge([json.loads(path.read_text(encoding="utf-8")) for path in args.from_json])
    else:
        if args.tiny:
            import torch

            torch.set_num_threads(1)
        report = check(args.tiny, args.steps, args.groups, real_dtypes=args.real_dtypes,
                       budget=args.budget, json_path=args.json)
    print(table(report))
    if report.get("skipped"):
        print(f"skipped for time: {', '.join(report['skipped'])}")
    if report.get("failed"):
        print(f"failed: {', '.join(report['failed'])}")
    if args.write:
        record(report)


if __name__ == "__main__":
    main()
