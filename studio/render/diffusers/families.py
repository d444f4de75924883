"""The model families: how each kind of pipeline is loaded and called.

- **Wan 2.x** (:class:`WanVideo`): ``WanPipeline`` (text-to-video) starts a chain;
  ``WanImageToVideoPipeline`` continues from the last frame before; ``WanVACEPipeline``
  takes several frames of context (kept under a black mask, the rest generated under
  white) and the characters' reference images.
- **LTX-Video** (:class:`LTXVideo`): ``LTXConditionPipeline`` with the frames before as a
  video condition at frame 0 (or a keyframe as an image condition at frame 0); never a
  condition elsewhere, since in LTX 0.9.x a condition at frame k *is* frame k. With a
  latent upsampler (0.9.7 / 0.9.8), a small pass, 2x latent upsampling and a short
  denoise at full size.
- **LTX-2** (:class:`LTX2Video`): ``LTX2ConditionPipeline``, picture and sound from one
  model: the frames before as a video condition at latent index 0 (or the keyframe as an
  image condition there); the shot's spoken lines held as clean audio tokens
  (:mod:`.speech`); the sound it makes beside the frames. With the latent upsampler,
  LTX-2's two stages (half size, 2x latents, a short refine).
- **Keyframes** (:class:`Keyframer`): ``StableDiffusionPipeline`` draws the first frame
  of a cut, through an IP-Adapter with a character's face or reference for a likeness;
  FLUX.2 and Qwen-Image-Edit take the references as input images (:mod:`.keyframes`).

Every generation call gets a :class:`Request` and returns the pipeline's output: frames
as floats in [0, 1] (``output_type="np"``) or latents (``"latent"``). Context frames
come back reproduced at the start of the output; the caller drops them. Imported only
when a diffusers backend renders: it imports torch and diffusers.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from studio.errors import RenderError, StudioError
from studio.models import ModelSpec, folder_digest, resolve_source
from studio.render.diffusers.settings import FAMILIES, keyframe_recipe

log = logging.getLogger("studio.render.diffusers")

Tell = Callable[[str, str], None]  # (key, message): say it once


@dataclass
class Request:
    """One generation call: ``frames`` legal frames at ``width`` x ``height``."""

    prompt: str
    negative: str
    width: int
    height: int
    frames: int
    steps: int
    guidance: float
    fps: int
    max_sequence_length: int
    generator: torch.Generator
    context: list[Image.Image] = field(default_factory=list)  # reproduced first, then dropped
    references: list[Image.Image] = field(default_factory=list)  # characters' faces / references
    keyframe: Image.Image | None = None  # the first frame of a cut (kept)
    call_options: dict[str, Any] = field(default_factory=dict)
    flow_shift: float | None = None  # Wan: the scheduler's flow shift for this call (None: as loaded)
    guidance_2: float | None = None  # Wan 2.2 A14B: the low-noise expert's guidance (None: the pipeline's, = guidance)
    speech: Any = None  # LTX-2: the call's spoken lines (speech.ChunkSpeech), held as clean audio tokens


@dataclass(frozen=True)
class LoadSettings:
    """How pipelines are placed: from the backend's options."""

    offload: str = "auto"
    vae_tiling: bool = False
    vae_slicing: bool = False
    attention: str | None = None


# --------------------------------------------------------------------------- loading


# float32 parts under a half-precision Wan transformer: the Wan 2.1 examples load the VAE and
# the image-to-video CLIP image encoder in float32 (diffusers' pipelines/wan/pipeline_wan_i2v.py
# docstring; diffusers' Wan docs: "VAE in torch.float32 for better decoding quality")
FLOAT32_PARTS: dict[str, tuple[str, ...]] = {"wan": ("vae", "image_encoder"),
                                             # SkyReels-V2 DF: diffusers' skyreels_v2.md loads its VAE in float32
                                             "skyreels-df": ("vae",)}
# parts that are often the very same weights in several models of a film (every Wan 2.1 role
# ships the same UMT5-XXL text encoder and VAE): loaded once and shared when they are identical.
# Transformers too: Wan 2.2 TI2V-5B's text-to-video and image-to-video roles are one repository.
SHARED_PARTS = ("text_encoder", "tokenizer", "vae", "image_encoder", "image_processor", "transformer",
                "transformer_2")


def component_dtypes(spec: ModelSpec) -> Any:
    """The ``dtype`` argument of ``from_pretrained`` for ``spec``: one dtype, or diffusers'
    per-component mapping (``{"default": bfloat16, "vae": float32, ...}``)."""
    dtype = spec.torch_dtype()
    kept = FLOAT32_PARTS.get(FAMILIES[spec.family].kind, ())
    if dtype == torch.float32 or not kept:
        return dtype
    return {"default": dtype, **{name: torch.float32 for name in kept}}


class Parts:
    """Components already loaded during this run, by identity, so that a second pipeline
    with the same text encoder or VAE reuses the loaded one instead of holding a copy.

    Two components are the same when their class and dtype match and their saved folders
    have the same content digest (:func:`studio.models.folder_digest`: small files whole,
    large weight files by size and first and last MiB), wherever the folders are: two hub
    snapshots of different repositories share the UMT5 they both ship."""

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str, str], Any] = {}
        self._digests: dict[Path, str] = {}

    def _keys(self, where: str | Path, dtypes: Any) -> dict[str, tuple[str, str, str]]:
        folder = Path(str(where))
        index = folder / "model_index.json"
        if not index.is_file():  # a hub id not yet downloaded: nothing to compare with
            return {}
        keys = {}
        for name, entry in json.loads(index.read_text(encoding="utf-8")).items():
            part = folder / name
            if name not in SHARED_PARTS or not isinstance(entry, list) or entry[1] is None or not part.is_dir():
                continue
            if part not in self._digests:
                self._digests[part] = folder_digest(part)
            dtype = dtypes.get(name, dtypes["default"]) if isinstance(dtypes, dict) else dtypes
            keys[name] = (f"{entry[0]}.{entry[1]}", str(dtype), self._digests[part])
        return keys

    def reuse(self, where: str | Path, dtypes: Any) -> dict[str, Any]:
        """Already loaded components that ``where`` holds too: ``from_pretrained`` keywords."""
        return {name: self._loaded[key] for name, key in self._keys(where, dtypes).items() if key in self._loaded}

    def keep(self, where: str | Path, dtypes: Any, pipe: Any) -> None:
        for name, key in self._keys(where, dtypes).items():
            self._loaded.setdefault(key, pipe.components[name])


def load_pipeline(spec: ModelSpec, where: str | Path, settings: LoadSettings, parts: Parts | None = None,
                  adapters: Callable[[Any], None] | None = None) -> Any:
    """``Pipeline.from_pretrained(where)`` for the spec's family, with ``adapters(pipe)``
    attached, then placed on its device (moved, or offloaded)."""
    pipe = _open(spec, where, parts)
    if adapters is not None:
        # before placing: offload hooks and .to() reach only the components there now, and an
        # adapter's image encoder left without a hook stays on the CPU while the rest runs on CUDA
        adapters(pipe)
    _place(pipe, spec, settings)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _open(spec: ModelSpec, where: str | Path, parts: Parts | None) -> Any:
    import diffusers

    family = FAMILIES[spec.family]
    cls = getattr(diffusers, family.pipeline)
    dtypes = component_dtypes(spec)
    kwargs: dict[str, Any] = {_dtype_keyword(): dtypes}
    if spec.revision and not Path(str(where)).is_dir():
        kwargs["revision"] = spec.revision
    shared = parts.reuse(where, dtypes) if parts is not None else {}
    tokenizer = None
    if spec.family in ("qwen-image-edit", "flux2"):  # their processors need torchvision: studio's stand in
        from studio.render.diffusers.keyframes import stills_processor, text_tokenizer

        if spec.family == "flux2" and (tokenizer := text_tokenizer(spec, where)) is not None:
            # not passed in: diffusers checks a passed component against the class model_index names, and
            # without torchvision transformers has only a placeholder for PixtralProcessor
            shared["tokenizer"] = None
        elif spec.family == "qwen-image-edit" and (processor := stills_processor(spec, where)) is not None:
            shared["processor"] = processor
    if shared:
        log.info("model %s reuses the loaded %s", spec.name, ", ".join(sorted(shared)))
    try:
        pipe = cls.from_pretrained(str(where), **shared, **kwargs)
    except (OSError, ValueError) as exc:
        raise StudioError(f"model {spec.name!r} did not load as {family.pipeline} from {where}: "
                          f"{str(exc).splitlines()[0]}",
                          hint="check the model's family and that its folder was written by save_pretrained") from None
    if tokenizer is not None:
        pipe.register_modules(tokenizer=tokenizer)
    if parts is not None:
        parts.keep(where, dtypes, pipe)
    return pipe


def _dtype_keyword() -> str:
    """diffusers renamed ``torch_dtype`` to ``dtype``; older versions know only the first."""
    try:
        from diffusers.utils.deprecation_utils import _resolve_dtype  # noqa: F401
    except ImportError:
        return "torch_dtype"
    return "dtype"


def _place(pipe: Any, spec: ModelSpec, settings: LoadSettings) -> None:
    device = spec.torch_device()
    offload = settings.offload
    if offload == "auto":
        offload = "model" if device.startswith("cuda") else "none"
    if offload != "none" and device == "cpu":
        raise StudioError(f"offload {offload!r} moves models between a GPU and the CPU; model {spec.name!r} runs "
                          "on the CPU", hint="use offload: none (or auto) on a machine without a GPU")
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)
    vae = getattr(pipe, "vae", None)
    if settings.vae_tiling and vae is not None:
        vae.enable_tiling()
    if settings.vae_slicing and vae is not None:
        vae.enable_slicing()
    if settings.attention:
        denoiser = getattr(pipe, "transformer", None) or getattr(pipe, "unet", None)
        try:
            denoiser.set_attention_backend(settings.attention)
        except (ValueError, RuntimeError, ImportError) as exc:
            from diffusers.models.attention_dispatch import AttentionBackendName

            raise StudioError(f"attention backend {settings.attention!r}: {str(exc).splitlines()[0]}",
                              hint="one of " + ", ".join(b.value for b in AttentionBackendName)) from None


def load_keyframer(spec: ModelSpec, where: str | Path, settings: LoadSettings,
                   ip_adapter: ModelSpec | None, adapters: Callable[[Any], None] | None = None) -> Any:
    """The keyframe pipeline with its IP-Adapter attached (when it has one), and ``adapters``
    (its LoRAs), all before it is placed."""

    def attach(pipe: Any) -> None:
        if ip_adapter is not None:
            _attach_ip_adapter(pipe, spec, ip_adapter)
        if adapters is not None:
            adapters(pipe)

    return load_pipeline(spec, where, settings, adapters=attach)


def _attach_ip_adapter(pipe: Any, spec: ModelSpec, ip_adapter: ModelSpec) -> None:
    options = dict(ip_adapter.options)
    source = resolve_source(ip_adapter)
    kwargs: dict[str, Any] = {}
    if ip_adapter.revision and not Path(str(source)).is_dir():
        kwargs["revision"] = ip_adapter.revision
    try:
        pipe.load_ip_adapter(str(source), subfolder=str(options.get("subfolder", "")),
                             weight_name=str(options.get("weight_name", "ip-adapter.safetensors")),
                             image_encoder_folder=str(options.get("image_encoder_folder", "image_encoder")),
                             **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise StudioError(f"IP-Adapter {ip_adapter.name!r} did not load into {spec.name!r}: "
                          f"{str(exc).splitlines()[0]}",
                          hint="give subfolder, weight_name and image_encoder_folder in its options") from None
    pipe.set_ip_adapter_scale(float(options.get("scale", 0.6)))
    if pipe.image_encoder is not None:
        pipe.image_encoder.eval()


# --------------------------------------------------------------------------- rules


def _lcm(a: int, b: int) -> int:
    return a * b // math.gcd(a, b)


def frame_rule(pipe: Any, family_multiple: int) -> int:
    """Frames are k * rule + 1: the family's rule and the loaded VAE's own ratio."""
    actual = getattr(pipe, "vae_scale_factor_temporal", None) or getattr(pipe, "vae_temporal_compression_ratio", 1)
    return _lcm(family_multiple, int(actual))


def size_rule(pipe: Any, family_multiple: int) -> int:
    """Width and height are multiples of this: the family's rule, the VAE's spatial
    ratio times the transformer's patch."""
    if hasattr(pipe, "vae_scale_factor_spatial"):
        actual = pipe.vae_scale_factor_spatial * pipe.transformer.config.patch_size[1]
    elif hasattr(pipe, "vae_spatial_compression_ratio"):
        actual = pipe.vae_spatial_compression_ratio * getattr(pipe, "transformer_spatial_patch_size", 1)
    else:
        actual = getattr(pipe, "vae_scale_factor", 8)
    return _lcm(family_multiple, int(actual))


# --------------------------------------------------------------------------- generation


def _grey(width: int, height: int) -> Image.Image:
    return Image.new("RGB", (width, height), (128, 128, 128))


def _frames(output: Any, output_type: str) -> Any:
    frames = output.frames
    return frames if output_type == "latent" else frames[0]


def rehook(pipe: Any) -> None:
    """With model offload, a component that pipelines share (:class:`Parts`) carries the
    offload hook of the pipeline that hooked it last, chained to that pipeline's models:
    hook it into ``pipe``'s chain again before ``pipe`` runs, so each model ``pipe`` runs
    sends the one before it back to the CPU."""
    hooks = getattr(pipe, "_all_hooks", None)
    if not hooks:  # no model offload
        return
    own = {id(h.hook) for h in hooks}
    modules = [m for m in pipe.components.values() if isinstance(m, torch.nn.Module) and hasattr(m, "_hf_hook")]
    if any(id(m._hf_hook) not in own for m in modules):
        pipe.enable_model_cpu_offload(device=pipe._offload_device)


def shift_schedule(pipe: Any, shift: float, tell: Tell) -> None:
    """Give ``pipe`` a scheduler with flow shift ``shift``, as diffusers' Wan examples do:
    ``Scheduler.from_config(pipe.scheduler.config, flow_shift=...)``. The key is
    ``flow_shift`` for UniPC / DPM-Solver with flow sigmas and ``shift`` for flow-match Euler."""
    config = pipe.scheduler.config
    key = "flow_shift" if "flow_shift" in config else "shift" if "shift" in config else None
    if key is None or config.get("use_dynamic_shifting") or (key == "flow_shift" and not config.get("use_flow_sigmas")):
        tell(f"no-shift-{type(pipe.scheduler).__name__}",
             f"{type(pipe.scheduler).__name__} takes no fixed flow shift: flow_shift is not applied")
        return
    if config[key] != shift:
        pipe.scheduler = type(pipe.scheduler).from_config(config, **{key: shift})


class WanVideo:
    """Wan 2.x: text-to-video, image-to-video and VACE pipelines for one film."""

    kind = "wan"

    def __init__(self, t2v: Any, i2v: Any, vace: Any, overlap: int, tell: Tell) -> None:
        self.t2v, self.i2v, self.vace = t2v, i2v, vace
        self.overlap = overlap
        self.tell = tell
        family = FAMILIES["wan-t2v"]
        pipes = [p for p in (t2v, i2v, vace) if p is not None]
        self.frame_multiple = max(frame_rule(p, family.frame_multiple) for p in pipes)
        self.size_multiple = max(size_rule(p, family.size_multiple) for p in pipes)

    @property
    def takes_keyframe(self) -> bool:
        if self.i2v is None and self.vace is None:
            self.tell("wan-no-keyframe", "the Wan text-to-video model cannot start from a keyframe: "
                                         "set i2v_model or vace_model to use keyframe_model")
            return False
        return True

    def context_for(self, available: int) -> int:
        """How many of ``available`` frames the next call continues from."""
        if available and self.vace is not None:
            return min(self.overlap, available)
        if available and self.i2v is not None:
            return 1
        return 0

    def mode(self, request: Request) -> str:
        if request.context:
            return "vace" if self.vace is not None else "i2v"
        if request.keyframe is not None:
            if self.i2v is not None and not (self.vace is not None and request.references):
                return "i2v"
            return "vace" if self.vace is not None else "t2v"
        if request.references and self.vace is not None:
            return "vace"
        if request.references:
            self.tell("wan-no-references", "character references need a Wan VACE model (vace_model): "
                                           "shots are generated from the prompt alone")
        return "t2v" if self.t2v is not None else "vace"

    def takes_references(self, request: Request) -> bool:
        return bool(request.references) and self.mode(request) == "vace"

    def __call__(self, request: Request, output_type: str = "np") -> tuple[str, Any]:
        mode = self.mode(request)
        common = dict(prompt=request.prompt, negative_prompt=request.negative, height=request.height,
                      width=request.width, num_frames=request.frames, num_inference_steps=request.steps,
                      guidance_scale=request.guidance, generator=request.generator, output_type=output_type,
                      max_sequence_length=request.max_sequence_length, **request.call_options)
        pipe = {"t2v": self.t2v, "i2v": self.i2v, "vace": self.vace}[mode]
        rehook(pipe)
        if request.flow_shift is not None:
            shift_schedule(pipe, request.flow_shift, self.tell)
        common.update(two_experts(pipe, request.guidance_2, self.tell))
        if mode == "t2v":
            return mode, _frames(self.t2v(**common), output_type)
        if mode == "i2v":
            image = request.context[-1] if request.context else request.keyframe
            return mode, _frames(self.i2v(image=image, **common), output_type)
        kept = list(request.context) or ([request.keyframe] if request.keyframe is not None else [])
        video, mask = vace_inputs(kept, request.frames, request.width, request.height)
        return mode, _frames(self.vace(video=video, mask=mask, reference_images=request.references or None,
                                       **common), output_type)


def two_experts(pipe: Any, guidance_2: float | None, tell: Tell) -> dict[str, Any]:
    """``guidance_scale_2`` for a Wan 2.2 A14B pipeline: its ``boundary_ratio`` (pipeline config) hands the
    steps below ``boundary_ratio * 1000`` to ``transformer_2``, the low-noise expert, which guides at
    ``guidance_2``. A pipeline without a boundary (Wan 2.1, TI2V-5B) refuses the argument: nothing is passed."""
    if guidance_2 is None:
        return {}
    if getattr(pipe.config, "boundary_ratio", None) is None:
        tell(f"no-experts-{type(pipe).__name__}", f"{type(pipe).__name__} has one transformer (no boundary_ratio): "
                                                  "guidance_2 is not applied")
        return {}
    return {"guidance_scale_2": float(guidance_2)}


def vace_inputs(kept: list[Image.Image], frames: int, width: int, height: int) -> tuple[list[Image.Image],
                                                                                        list[Image.Image]]:
    """VACE's ``video`` and ``mask`` for a chunk of ``frames`` that keeps the ``kept`` frames
    first: kept frames under black (keep), grey frames under white (generate). How many
    latent frames that keeps: :func:`~studio.render.diffusers.settings.vace_kept_latents`."""
    new = frames - len(kept)
    video = kept + [_grey(width, height)] * new
    mask = [Image.new("L", (width, height), 0)] * len(kept) + [Image.new("L", (width, height), 255)] * new
    return video, mask


@dataclass
class Upsample:
    """The latent upsampler pass of LTX-Video 0.9.7 / 0.9.8 (diffusers' ltx_video.md): the chunk is
    generated at ``downscale`` of its size, its latents upsampled 2x by ``pipe`` (an
    ``LTXLatentUpsamplePipeline`` sharing the video model's VAE), then denoised briefly at the
    upsampled size (``denoise_strength`` over ``timesteps``)."""

    pipe: Any
    downscale: float
    adain_factor: float
    tone_map_compression_ratio: float
    denoise_strength: float
    timesteps: list[float]

    def small_size(self, width: int, height: int, multiple: int) -> tuple[int, int]:
        """The first pass's size: ``downscale`` of the chunk's, rounded down to the VAE's
        multiple (as the docs' ``round_to_nearest_resolution_acceptable_by_vae``)."""
        return (max(multiple, int(width * self.downscale) // multiple * multiple),
                max(multiple, int(height * self.downscale) // multiple * multiple))


def load_upsampler(spec: ModelSpec, where: str | Path) -> Any:
    """An ``ltx-upsampler`` model: ``LTXLatentUpsamplerModel`` weights, alone (as diffusers' 0.9.8
    example loads them) or in a pipeline repo's ``subfolder``."""
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    kwargs: dict[str, Any] = {_dtype_keyword(): spec.torch_dtype()}
    if spec.revision and not Path(str(where)).is_dir():
        kwargs["revision"] = spec.revision
    if spec.options.get("subfolder"):  # a whole LTXLatentUpsamplePipeline repo: its latent_upsampler/
        kwargs["subfolder"] = str(spec.options["subfolder"])
    try:
        return LTXLatentUpsamplerModel.from_pretrained(str(where), **kwargs).eval()
    except (OSError, ValueError) as exc:
        raise StudioError(f"latent upsampler {spec.name!r} did not load from {where}: {str(exc).splitlines()[0]}",
                          hint="its folder holds an LTXLatentUpsamplerModel (config.json + weights)") from None


def upsample_pass(upsampler: Any, video: Any, recipe: dict[str, Any]) -> Upsample:
    """The upsampler in an ``LTXLatentUpsamplePipeline`` with ``video``'s VAE, on the device and in
    the dtype of ``video``'s transformer (whose latents it upsamples)."""
    import diffusers

    device = getattr(video, "_execution_device", None) or video.device
    upsampler.to(device=device, dtype=video.transformer.dtype)
    pipe = diffusers.LTXLatentUpsamplePipeline(vae=video.vae, latent_upsampler=upsampler)
    pipe.set_progress_bar_config(disable=True)
    return Upsample(pipe, float(recipe["downscale"]), float(recipe["adain_factor"]),
                    float(recipe["tone_map_compression_ratio"]), float(recipe["denoise_strength"]),
                    [float(t) for t in recipe["timesteps"]])


class LTXVideo:
    """LTX-Video through ``LTXConditionPipeline``: the frames before as a video condition at
    frame 0, or a keyframe as an image condition at frame 0, and nothing anywhere else.

    Character references are not conditions: an LTX 0.9.x condition at frame k pins frame k
    to that picture (a reference mid-clip becomes a cut to a portrait, and several characters
    fight over one index). References steer identity through the keyframe instead (a keyframe
    model with an IP-Adapter draws frame 0)."""

    kind = "ltx"

    def __init__(self, pipe: Any, overlap: int, tell: Tell, upsample: Upsample | None = None) -> None:
        self.pipe = pipe
        family = FAMILIES["ltx-condition"]
        self.frame_multiple = frame_rule(pipe, family.frame_multiple)
        self.size_multiple = size_rule(pipe, family.size_multiple)
        if (overlap - 1) % self.frame_multiple:
            raise StudioError(f"overlap {overlap} is not {self.frame_multiple}k+1, as LTX-Video's video conditions "
                              "must be", hint=f"use overlap: {self.frame_multiple + 1}")
        self.overlap = overlap
        self.tell = tell
        self.upsample = upsample

    takes_keyframe = True

    def context_for(self, available: int) -> int:
        n = min(self.overlap, available)
        return 0 if n < 1 else (n - 1) // self.frame_multiple * self.frame_multiple + 1

    def mode(self, request: Request) -> str:
        return "ltx-upsample" if self.upsample is not None else "ltx-condition"

    def takes_references(self, request: Request) -> bool:
        if request.references:
            self.tell("ltx-no-references", "LTX-Video takes no character references (a condition would become a "
                                           "frame): they steer only the keyframe (set keyframe_model with an "
                                           "IP-Adapter)")
        return False

    def conditions(self, request: Request) -> list[Any]:
        """The chunk's conditions, all at frame 0: the frames before (a video), else the keyframe."""
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        if request.context:
            return [LTXVideoCondition(video=list(request.context), frame_index=0, strength=1.0)]
        if request.keyframe is not None:
            return [LTXVideoCondition(image=request.keyframe, frame_index=0, strength=1.0)]
        return []

    def __call__(self, request: Request, output_type: str = "np") -> tuple[str, Any]:
        self.takes_references(request)
        common = dict(conditions=self.conditions(request) or None, prompt=request.prompt,
                      negative_prompt=request.negative, num_frames=request.frames, frame_rate=request.fps,
                      num_inference_steps=request.steps, guidance_scale=request.guidance,
                      generator=request.generator, max_sequence_length=request.max_sequence_length,
                      **request.call_options)
        if self.upsample is None:
            output = self.pipe(height=request.height, width=request.width, output_type=output_type, **common)
            return self.mode(request), _frames(output, output_type)
        # 1. a small pass; 2. latents upsampled 2x; 3. a short denoise at the upsampled size
        up = self.upsample
        width, height = up.small_size(request.width, request.height, self.size_multiple)
        latents = self.pipe(height=height, width=width, output_type="latent", **common).frames
        latents = up.pipe(latents=latents, adain_factor=up.adain_factor,
                          tone_map_compression_ratio=up.tone_map_compression_ratio, output_type="latent").frames
        common.update(timesteps=up.timesteps, num_inference_steps=len(up.timesteps))
        output = self.pipe(height=2 * height, width=2 * width, latents=latents, denoise_strength=up.denoise_strength,
                           output_type=output_type, **common)
        return self.mode(request), _frames(output, output_type)


@dataclass
class LTX2Upsample:
    """LTX-2's second stage (diffusers' ltx2.md, distilled): stage 1 at ``downscale`` of the
    size, the latents upsampled 2x by ``pipe`` (``LTX2LatentUpsamplePipeline`` sharing the
    video model's VAE), then renoised to ``sigmas[0]`` and denoised over ``sigmas`` at
    ``guidance``, on the scheduler without dynamic shifting."""

    pipe: Any
    downscale: float
    sigmas: list[float]
    guidance: float


def load_ltx2_upsampler(spec: ModelSpec, where: str | Path) -> Any:
    """An ``ltx2-upsampler`` model: ``LTX2LatentUpsamplerModel`` weights (a repository's
    ``latent_upsampler/`` subfolder, or alone)."""
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

    kwargs: dict[str, Any] = {_dtype_keyword(): spec.torch_dtype()}
    if spec.revision and not Path(str(where)).is_dir():
        kwargs["revision"] = spec.revision
    if spec.options.get("subfolder"):
        kwargs["subfolder"] = str(spec.options["subfolder"])
    try:
        return LTX2LatentUpsamplerModel.from_pretrained(str(where), **kwargs).eval()
    except (OSError, ValueError) as exc:
        raise StudioError(f"latent upsampler {spec.name!r} did not load from {where}: {str(exc).splitlines()[0]}",
                          hint="its folder (or subfolder) holds an LTX2LatentUpsamplerModel") from None


def ltx2_upsample_pass(upsampler: Any, video: Any, recipe: dict[str, Any]) -> LTX2Upsample:
    import diffusers

    device = getattr(video, "_execution_device", None) or video.device
    upsampler.to(device=device, dtype=video.transformer.dtype)
    pipe = diffusers.LTX2LatentUpsamplePipeline(vae=video.vae, latent_upsampler=upsampler)
    pipe.set_progress_bar_config(disable=True)
    return LTX2Upsample(pipe, float(recipe["downscale"]), [float(s) for s in recipe["sigmas"]],
                        float(recipe["guidance"]))


@contextmanager
def _scheduler(pipe: Any, scheduler: Any) -> Iterator[None]:
    kept = pipe.scheduler
    pipe.scheduler = scheduler
    try:
        yield
    finally:
        pipe.scheduler = kept


class LTX2Video:
    """LTX-2 through ``LTX2ConditionPipeline``: picture and sound from one model.

    Like LTX-Video, the frames before are a video condition at latent index 0 and a
    keyframe an image condition there; nothing anywhere else (a mid-clip condition
    becomes a frame). Character references steer identity through the keyframe. For a
    call with spoken lines, the speech is encoded with the pipeline's own audio VAE and
    held clean in the audio stream at every step (:mod:`.speech`), so the video is
    generated around it. Every call leaves its sound in :attr:`sound`: the vocoder's
    waveform ``(samples, channels)`` at :attr:`sound_rate`, covering the call's frames."""

    kind = "ltx2"
    takes_keyframe = True

    def __init__(self, pipe: Any, overlap: int, tell: Tell, upsample: LTX2Upsample | None = None) -> None:
        self.pipe = pipe
        family = FAMILIES["ltx2"]
        self.frame_multiple = frame_rule(pipe, family.frame_multiple)
        size = size_rule(pipe, family.size_multiple)
        # two stages: the first runs at half the size, which must itself be a legal size
        self.size_multiple = size if upsample is None else _lcm(size, int(round(size / upsample.downscale)))
        if (overlap - 1) % self.frame_multiple:
            raise StudioError(f"overlap {overlap} is not {self.frame_multiple}k+1, as LTX-2's video conditions "
                              "must be", hint=f"use overlap: {self.frame_multiple + 1}")
        self.overlap = overlap
        self.tell = tell
        self.upsample = upsample
        self.sound: Any = None
        self.sound_rate = int(pipe.vocoder.config.output_sampling_rate)
        self.holds: list[Any] = []  # the speech holds of the calls so far (for tests and records)

    def context_for(self, available: int) -> int:
        n = min(self.overlap, available)
        return 0 if n < 1 else (n - 1) // self.frame_multiple * self.frame_multiple + 1

    def mode(self, request: Request) -> str:
        return "ltx2-upsample" if self.upsample is not None else "ltx2"

    def takes_references(self, request: Request) -> bool:
        if request.references:
            self.tell("ltx2-no-references", "LTX-2 takes no character references as conditions (a condition "
                                            "becomes a frame): they steer the keyframe (set keyframe_model "
                                            "with an IP-Adapter)")
        return False

    def conditions(self, request: Request) -> list[Any]:
        """The frames before (a video at latent index 0), else the keyframe (an image there)."""
        from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

        if request.context:
            return [LTX2VideoCondition(frames=list(request.context), index=0, strength=1.0)]
        if request.keyframe is not None:
            return [LTX2VideoCondition(frames=request.keyframe, index=0, strength=1.0)]
        return []

    def _hold(self, request: Request, frames: int) -> tuple[Any, Any]:
        """The call's speech as ``audio_latents`` and the hook that holds it, or (None, None)."""
        from studio.render.diffusers.speech import SpeechHold, audio_frames, encode_speech, held_frames, packed_tokens

        if request.speech is None:
            return None, None
        count = audio_frames(self.pipe, frames, request.fps)
        latents = encode_speech(self.pipe, request.speech, count)
        hold = SpeechHold(packed_tokens(self.pipe, latents), held_frames(self.pipe, request.speech, count))
        self.holds.append(hold)
        return latents, hold

    def __call__(self, request: Request, output_type: str = "np") -> tuple[str, Any]:
        self.takes_references(request)
        rehook(self.pipe)
        audio_latents, hold = self._hold(request, request.frames)
        conditions = self.conditions(request) or None
        common = dict(prompt=request.prompt, negative_prompt=request.negative, num_frames=request.frames,
                      frame_rate=request.fps, generator=request.generator,
                      max_sequence_length=request.max_sequence_length, **request.call_options)
        if hold is not None:
            hold.attach(self.pipe.transformer)
        try:
            if self.upsample is None:
                output = self.pipe(conditions=conditions, height=request.height, width=request.width,
                                   num_inference_steps=request.steps, guidance_scale=request.guidance,
                                   audio_latents=audio_latents, output_type=output_type, **common)
            else:
                output = self._two_stages(request, conditions, audio_latents, common, output_type)
        finally:
            if hold is not None:
                hold.detach()
        self.sound = None if output_type == "latent" else self._waveform(output.audio, hold)
        return self.mode(request), _frames(output, output_type)

    def _two_stages(self, request: Request, conditions: Any, audio_latents: Any, common: dict[str, Any],
                    output_type: str) -> Any:
        """Stage 1 at half size, the latents upsampled 2x, stage 2 renoised to its first sigma."""
        from diffusers import FlowMatchEulerDiscreteScheduler

        up = self.upsample
        assert up is not None
        width = max(32, int(request.width * up.downscale) // 32 * 32)
        height = max(32, int(request.height * up.downscale) // 32 * 32)
        first = self.pipe(conditions=conditions, height=height, width=width, num_inference_steps=request.steps,
                          guidance_scale=request.guidance, audio_latents=audio_latents, output_type="latent",
                          **common)
        latents = up.pipe(latents=first.frames, output_type="latent").frames
        stage2 = {**common, "sigmas": up.sigmas}
        stage2.pop("noise_scale", None)
        refine = FlowMatchEulerDiscreteScheduler.from_config(self.pipe.scheduler.config, use_dynamic_shifting=False,
                                                             shift_terminal=None)
        with _scheduler(self.pipe, refine):
            return self.pipe(conditions=conditions, height=request.height, width=request.width, latents=latents,
                             audio_latents=first.audio if audio_latents is None else audio_latents,
                             noise_scale=up.sigmas[0], num_inference_steps=len(up.sigmas),
                             guidance_scale=up.guidance, output_type=output_type, **stage2)

    def _waveform(self, audio: Any, hold: Any) -> Any:
        """The call's sound as float32 ``(samples, channels)``, the held (spoken) spans silenced
        with 10 ms ramps: the voices are the dialogue, the model's copy of them is not kept."""
        import numpy as np

        wave = audio[0].float().cpu().numpy().T if hasattr(audio[0], "float") else np.asarray(audio[0]).T
        wave = np.ascontiguousarray(wave, dtype=np.float32)
        if hold is None or not bool(hold.held.any()):
            return wave
        from studio.render.diffusers.speech import latent_rate

        rate = latent_rate(self.pipe)
        gain = np.ones(len(wave), dtype=np.float32)
        held = hold.held.numpy()
        for i in np.flatnonzero(held):
            gain[int(i / rate * self.sound_rate):int((i + 1) / rate * self.sound_rate)] = 0.0
        ramp = max(1, int(0.010 * self.sound_rate))
        gain = np.convolve(gain, np.ones(ramp, dtype=np.float32) / ramp, mode="same")
        return wave * np.minimum(gain, 1.0)[:, None]


def make_keyframer(pipe: Any, spec: ModelSpec, has_adapter: bool) -> Any:
    """The keyframer of ``spec``'s family: :class:`Keyframer` (Stable Diffusion) or
    :class:`~.keyframes.ReferenceKeyframer` (FLUX.2, Qwen-Image-Edit)."""
    if spec.family == "sd":
        return Keyframer(pipe, spec, has_adapter)
    from studio.render.diffusers.keyframes import ReferenceKeyframer

    return ReferenceKeyframer(pipe, spec)


class Keyframer:
    """A text-to-image pipeline drawing the first frame of a cut; with an IP-Adapter,
    the first character's face (or reference) steers the likeness.

    A keyframe seeds a whole shot, so one that the pipeline's safety checker flags (and
    blacks out) is never used: it is retaken with the generator's next draw, up to
    :data:`TAKES` times, then the shot stops with an error naming it."""

    TAKES = 3

    def __init__(self, pipe: Any, spec: ModelSpec, has_adapter: bool) -> None:
        self.pipe = pipe
        self.family = spec.family
        family = FAMILIES[spec.family]
        self.steps, self.guidance, self.call_options = keyframe_recipe(spec)
        self.has_adapter = has_adapter
        self.size_multiple = size_rule(pipe, family.size_multiple)
        self.name = spec.name

    def takes(self, count: int) -> int:
        """How many of ``count`` references one call gives the model: the first, through the adapter."""
        return 1 if self.has_adapter and count else 0

    def draw(self, prompt: str, negative: str, width: int, height: int, references: list[Image.Image],
             generator: torch.Generator, output_type: str = "pil", *, shot_id: str = "") -> tuple[Any, int]:
        """The keyframe, and how many of ``references`` (from the first) reached the model."""
        image = self(prompt, negative, width, height, references[0] if references else None, generator,
                     output_type, shot_id=shot_id)
        return image, self.takes(len(references))

    def __call__(self, prompt: str, negative: str, width: int, height: int, reference: Image.Image | None,
                 generator: torch.Generator, output_type: str = "pil", *, shot_id: str = "") -> Any:
        if width % self.size_multiple or height % self.size_multiple:
            raise RenderError(f"keyframe size {width}x{height} is not a multiple of {self.size_multiple}")
        kwargs = dict(self.call_options)
        if self.has_adapter:
            # the adapter needs an input; with nobody to steer, its scale is 0 for this call, so the input is
            # ignored (a grey picture at the adapter's scale is not neutral: it steers toward grey)
            kwargs["ip_adapter_image"] = reference if reference is not None else _grey(width, height)
        for take in range(1, self.TAKES + 1):
            with _adapter_off(self.pipe, self.has_adapter and reference is None):
                output = self.pipe(prompt=prompt, negative_prompt=negative, height=height, width=width,
                                   num_inference_steps=self.steps, guidance_scale=self.guidance, generator=generator,
                                   output_type=output_type, **kwargs)
            flagged = getattr(output, "nsfw_content_detected", None)
            if not flagged or not flagged[0]:
                return output.images if output_type == "latent" else output.images[0]
            log.warning("the safety checker of %s flagged take %d of the keyframe of shot %s: %s", self.name, take,
                        shot_id or "?", "retaking" if take < self.TAKES else "giving up")
        raise RenderError(f"the safety checker of keyframe model {self.name!r} flagged all {self.TAKES} takes of the "
                          f"keyframe of shot {shot_id or '?'} (it blacks them out; a black frame would seed the shot)",
                          hint="reword the shot's prompt or the film's look, or change the shot's seed")


@contextmanager
def _adapter_off(pipe: Any, off: bool) -> Iterator[None]:
    """IP-Adapter scale 0 for one call (diffusers skips the adapter's attention at 0), then
    the scales it had."""
    if not off:
        yield
        return
    processors = [p for p in pipe.unet.attn_processors.values() if hasattr(p, "scale") and hasattr(p, "to_k_ip")]
    scales = [list(p.scale) for p in processors]
    pipe.set_ip_adapter_scale(0.0)
    try:
        yield
    finally:
        for processor, scale in zip(processors, scales):
            processor.scale = scale
