"""The diffusers backend's options and model families, checked without torch.

Options come from the screenplay's ``film.render.options`` (or ``--backend diffusers``
plus the same block); models are registry names (:mod:`studio.models`), so their
sources, revisions and dtypes live in the registry, and a model's ``options`` hold
what belongs to the weights (steps, guidance, frames per chunk, resolution).
Precedence for a setting: the render option, then the model's option, then the
family's default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.errors import StudioError
from studio.models import DTYPES, ModelSpec, Registry

DEFAULT_MODEL = "wan2.1-t2v-1.3b"


@dataclass(frozen=True)
class Family:
    """What a family of checkpoints needs: its pipeline class, its size rules, defaults."""

    name: str
    kind: str  # "wan", "ltx", "ltx2", "skyreels-df" (video) or "keyframe" / "ip-adapter"
    pipeline: str  # the diffusers class
    frame_multiple: int = 1  # frames are k * frame_multiple + 1
    size_multiple: int = 8  # width and height are multiples of this
    steps: int = 30
    guidance: float = 5.0
    frames_per_chunk: int = 1
    max_sequence_length: int = 512
    options: frozenset[str] = field(default_factory=frozenset)  # model options the family knows
    fps: int = 24  # the frame rate the checkpoints were trained at: shots are generated at it, then retimed
    negative: str = ""  # the family's published default negative prompt, appended to the film's
    call_defaults: tuple[tuple[str, Any], ...] = ()  # pipeline arguments the family's cards recommend


_VIDEO_OPTIONS = frozenset({"steps", "guidance", "frames_per_chunk", "resolution", "max_sequence_length",
                            "call_options", "loras"})  # loras: studio.loras
# Wan's default negative prompt, verbatim from Wan-Video/Wan2.1 wan/configs/shared_config.py
# (``sample_neg_prompt``; the Wan pipelines' diffusers examples use its English translation).
WAN_NEGATIVE = ("色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
                "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，"
                "形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走")
# Stable Diffusion publishes no default negative (the stable-diffusion-v1-5 model card): keyframes add none.
# LTX-Video's negative prompt in every example of diffusers' docs/source/en/api/pipelines/ltx_video.md
LTX_NEGATIVE = "worst quality, inconsistent motion, blurry, jittery, distorted"
# Wan 2.1 is trained at 16 fps: Wan2.1 shared_config.py ``sample_fps = 16``; WanPipeline's example exports at 16
WAN_FPS = 16
# LTX-Video: 24 fps, the LTX pipelines' examples export at 24 (model cards: 24-30 fps)
LTX_FPS = 24
# LTX-Video 0.9.1 and later (every LTXConditionPipeline checkpoint: 0.9.5 on) have a timestep-aware VAE:
# "set decode_timestep to 0.05 and image_cond_noise_scale to 0.025" (diffusers' ltx_video.md, Notes);
# decode_noise_scale 0.025 as in its 0.9.7 / 0.9.8 examples.
LTX_CALL_DEFAULTS = (("decode_timestep", 0.05), ("decode_noise_scale", 0.025), ("image_cond_noise_scale", 0.025))
# LTX options that go to the pipeline call as they are (a model's recipe), and the latent upsampler pass
LTX_CALL_OPTIONS = ("decode_timestep", "decode_noise_scale", "image_cond_noise_scale", "timesteps", "guidance_rescale")
_LTX_OPTIONS = frozenset({*LTX_CALL_OPTIONS, "upsampler", "upsample"})
# LTX-2 (picture and sound from one model): diffusers' ltx2.md runs it at 24 fps, 121 frames (8k+1), 768x512,
# 40 steps at guidance 4.0 (the full model), with this negative prompt in both of its examples
LTX2_FPS = 24
LTX2_NEGATIVE = ("shaky, glitchy, low quality, worst quality, deformed, distorted, disfigured, motion smear, "
                 "motion artifacts, fused fingers, bad anatomy, weird hand, ugly, transition, static.")
# LTX-2 recipe options that go to the pipeline call as they are. ``sigmas``: a distilled checkpoint's own
# schedule (diffusers.pipelines.ltx2.utils.DISTILLED_SIGMA_VALUES); the rest: LTX2ConditionPipeline's guidance
# terms (classifier-free, spatio-temporal, modality isolation, rescale) for the picture and the sound
LTX2_CALL_OPTIONS = ("sigmas", "guidance_rescale", "stg_scale", "modality_scale", "audio_guidance_scale",
                     "audio_stg_scale", "audio_modality_scale", "audio_guidance_rescale", "decode_timestep",
                     "decode_noise_scale", "use_cross_timestep", "spatio_temporal_guidance_blocks")
_LTX2_OPTIONS = frozenset({*LTX2_CALL_OPTIONS, "upsampler", "upsample"})
_TIMING_OPTIONS = frozenset({"fps"})
# Wan's schedulers take a flow shift; LTX-Video shifts its sigmas by sequence length itself. ``guidance_2``:
# Wan 2.2 A14B's guidance for its low-noise expert (``transformer_2``, the pipeline's ``guidance_scale_2``)
_WAN_OPTIONS = _VIDEO_OPTIONS | _TIMING_OPTIONS | {"flow_shift", "guidance_2"}
# (Wan 2.2 TI2V-5B generates at 24 fps: its registry entry's ``fps`` option; the A14B models keep the 16 here)
# SkyReels-V2 diffusion forcing (studio/render/diffusers/forcing.py): the pipelines' long-video arguments, as model
# options. Its authors' generate_video_df.py (SkyworkAI/SkyReels-V2): 30 steps, guidance 6.0, shift 8.0, 24 fps,
# Wan's negative prompt; a 97-frame window at 540P (121 at 720P), frames_per_chunk: the most one call generates
FORCING_OPTIONS = ("base_num_frames", "overlap_history", "ar_step", "addnoise_condition", "causal_block_size")
SKYREELS_FPS = 24
# keyframe models that take the characters' (and the location's) reference images as input images
REFERENCE_KEYFRAMES = ("flux2", "flux2-klein", "qwen-image-edit")
KEYFRAME_FAMILIES = ("sd", *REFERENCE_KEYFRAMES)
# ``max_references``: the most reference images one keyframe call takes (characters first, then the location)
KEYFRAME_OPTIONS = frozenset({"steps", "guidance", "call_options", "loras", "max_references"})

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        # steps and guidance: Wan2.1 generate.py's defaults (50 steps, 40 for image-to-video; guidance 5.0);
        # LTX-Video: LTXConditionPipeline's 50 steps, guidance 5.0 as diffusers' ltx_video.md advises
        Family("wan-t2v", "wan", "WanPipeline", 4, 16, 50, 5.0, 81, 512, _WAN_OPTIONS,
               fps=WAN_FPS, negative=WAN_NEGATIVE),
        Family("wan-i2v", "wan", "WanImageToVideoPipeline", 4, 16, 40, 5.0, 81, 512,
               _WAN_OPTIONS, fps=WAN_FPS, negative=WAN_NEGATIVE),
        Family("wan-vace", "wan", "WanVACEPipeline", 4, 16, 50, 5.0, 81, 512, _WAN_OPTIONS,
               fps=WAN_FPS, negative=WAN_NEGATIVE),
        Family("ltx-condition", "ltx", "LTXConditionPipeline", 8, 32, 50, 5.0, 161, 256,
               _VIDEO_OPTIONS | _TIMING_OPTIONS | _LTX_OPTIONS, fps=LTX_FPS, negative=LTX_NEGATIVE,
               call_defaults=LTX_CALL_DEFAULTS),
        # LTX-2: LTX2ConditionPipeline (text-to-video, the frames before as a video condition at latent index 0,
        # the keyframe as an image condition there), its audio stream holding the shot's spoken lines
        Family("ltx2", "ltx2", "LTX2ConditionPipeline", 8, 32, 40, 4.0, 121, 1024,
               _VIDEO_OPTIONS | _TIMING_OPTIONS | _LTX2_OPTIONS, fps=LTX2_FPS, negative=LTX2_NEGATIVE),
        # SkyReels-V2 DF: one call generates a whole take in the pipeline's own overlapping windows (forcing.py)
        Family("skyreels-df", "skyreels-df", "SkyReelsV2DiffusionForcingPipeline", 4, 16, 30, 6.0, 1457, 512,
               _WAN_OPTIONS | frozenset(FORCING_OPTIONS), fps=SKYREELS_FPS, negative=WAN_NEGATIVE),
        Family("sd", "keyframe", "StableDiffusionPipeline", 1, 8, 30, 7.5, 1, 77,
               frozenset({"steps", "guidance", "ip_adapter", "call_options", "loras"})),
        # keyframe models that take the references themselves, as a list of input images (keyframes.py): FLUX.2
        # (Flux2Pipeline: [dev], Mistral Small 3.1 text encoder, guidance-distilled) and FLUX.2 [klein]
        # (Flux2KleinPipeline, Qwen3 text encoder) condition on up to several reference images; Qwen-Image-Edit-2509 /
        # 2511 (QwenImageEditPlusPipeline) edits "Picture 1..n" into a new picture. Sizes: multiples of 16 (the VAE's
        # 8x times the 2x2 patch: the pipelines' vae_scale_factor * 2). Defaults: the pipelines' own (50 steps,
        # guidance 4.0 for FLUX.2 / klein base; Qwen-Image-Edit-2509's card: 40 steps, true_cfg_scale 4.0)
        Family("flux2", "keyframe", "Flux2Pipeline", 1, 16, 50, 4.0, 1, 512, KEYFRAME_OPTIONS),
        Family("flux2-klein", "keyframe", "Flux2KleinPipeline", 1, 16, 50, 4.0, 1, 512, KEYFRAME_OPTIONS),
        Family("qwen-image-edit", "keyframe", "QwenImageEditPlusPipeline", 1, 16, 40, 4.0, 1, 512, KEYFRAME_OPTIONS),
        Family("ip-adapter", "ip-adapter", "", options=frozenset({"subfolder", "weight_name",
                                                                 "image_encoder_folder", "scale"})),
        # the spatial latent upsampler of LTX-Video 0.9.7 / 0.9.8 (a model, not a pipeline): loaded into an
        # LTXLatentUpsamplePipeline with the video model's VAE
        Family("ltx-upsampler", "upsampler", "LTXLatentUpsamplerModel", options=frozenset({"subfolder"})),
        # LTX-2's 2x spatial latent upsampler (LTX2LatentUpsamplerModel, a pipeline repo's latent_upsampler/)
        Family("ltx2-upsampler", "upsampler", "LTX2LatentUpsamplerModel", options=frozenset({"subfolder"})),
    ]
}

#: option -> (accepted types, default, help)
OPTIONS: dict[str, tuple[tuple[type, ...], Any, str]] = {
    "model": ((str,), DEFAULT_MODEL, ("registry name of the video model (a wan-t2v, wan-i2v, wan-vace, "
                                      "ltx-condition, ltx2 or skyreels-df family)")),
    "i2v_model": ((str, type(None)), None, "Wan image-to-video model: continues a shot from its last frame"),
    "vace_model": ((str, type(None)), None, "Wan VACE model: character references and multi-frame continuity"),
    "keyframe_model": ((str, type(None)), None, ("image model drawing the first frame of a cut: family sd (with "
                                                 "its IP-Adapter for a likeness), or flux2, flux2-klein, "
                                                 "qwen-image-edit (the characters' and location's references as "
                                                 "input images)")),
    "steps": ((int, type(None)), None, "denoising steps (default: the model's)"),
    "guidance": ((int, float, type(None)), None, "classifier-free guidance scale (default: the model's)"),
    "guidance_2": ((int, float, type(None)), None, ("Wan 2.2 A14B: the guidance of the low-noise expert "
                                                   "(transformer_2; default: the model's, else guidance)")),
    "resolution": ((str, type(None)), None, ("generation size WxH, multiples of 16 (Wan) or 32 (LTX); default: "
                                             "the model's area at the film's aspect")),
    "frames_per_chunk": ((int, type(None)), None, "most frames per generation call, 4k+1 (Wan) / 8k+1 (LTX)"),
    "overlap": ((int, type(None)), None, ("frames of context carried into the next chunk or continuous shot "
                                          "(default 5 for Wan VACE, 9 for LTX; Wan I2V uses 1)")),
    "dtype": ((str, type(None)), None, "float32, float16 or bfloat16 for every model (default: each model's)"),
    "device": ((str, type(None)), None, "cuda, cuda:1, cpu... (default: each model's, auto)"),
    "offload": ((str,), "auto", "auto, none, model or sequential: CPU offload of idle components"),
    "vae_tiling": ((bool,), False, "decode in tiles: less VRAM for large frames"),
    "vae_slicing": ((bool,), False, "decode one video at a time"),
    "attention": ((str, type(None)), None, "diffusers attention backend, e.g. flash, sage, _native_cudnn"),
    "reference_strength": ((int, float), 0.5, ("unused: LTX-Video 0.9.x references are never image conditions "
                                               "(they would become frames); kept so older screenplays load")),
    "max_references": ((int,), 3, "character reference images per shot (VACE, LTX)"),
    "flow_shift": ((int, float, type(None)), None, ("Wan: the scheduler's flow shift (default: the model's, else "
                                                    "3.0 up to 480p and 5.0 from 720p, by pixel area)")),
    "deterministic": ((bool,), False, ("bit-equal repeats: deterministic torch algorithms (and cuBLAS workspace) "
                                       "on CUDA, one thread on the CPU; slower")),
    "colour_match": ((bool,), True, ("match each continuation's context frames to the colour of its chain's start "
                                     "(Lab mean and spread): no colour drift hop after hop")),
}
OFFLOAD = ("auto", "none", "model", "sequential")
NOT_VIDEO_KINDS = ("keyframe", "ip-adapter", "upsampler")  # families whose models make no shots of their own
NOT_IN_KEY = ("offload", "deterministic")  # where weights sit, and repeatability, change no intended pixel
KEY_WHEN_SET = ("guidance_2",)  # options newer than the cache: in the key only when set, so older keys still match


@dataclass(frozen=True)
class Roles:
    """Which registry model plays which part."""

    kind: str  # "wan", "ltx", "ltx2" or "skyreels-df"
    t2v: ModelSpec | None = None
    i2v: ModelSpec | None = None
    vace: ModelSpec | None = None
    ltx: ModelSpec | None = None
    keyframe: ModelSpec | None = None
    ip_adapter: ModelSpec | None = None
    forcing: ModelSpec | None = None  # SkyReels-V2 diffusion forcing: text-, image- and video-to-video

    def assigned(self) -> list[tuple[str, ModelSpec]]:
        return [(role, spec) for role in ("t2v", "i2v", "vace", "ltx", "forcing", "keyframe", "ip_adapter")
                if (spec := getattr(self, role)) is not None]


def check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options with defaults filled in; an unknown option or a wrong type is a StudioError."""
    known = ", ".join(sorted(OPTIONS))
    for name in sorted(options):
        if name not in OPTIONS:
            raise StudioError(f"unknown diffusers option {name!r}", hint=f"known options: {known}")
    out: dict[str, Any] = {}
    for name, (kinds, default, _) in OPTIONS.items():
        value = options.get(name, default)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise StudioError(f"diffusers option {name!r} must be {' or '.join(_kind(k) for k in kinds)}, "
                              f"not {value!r}")
        out[name] = value
    if out["offload"] not in OFFLOAD:
        raise StudioError(f"diffusers option 'offload' must be one of {', '.join(OFFLOAD)}, not {out['offload']!r}")
    if out["dtype"] is not None and out["dtype"] not in DTYPES:
        raise StudioError(f"diffusers option 'dtype' must be one of {', '.join(DTYPES)}, not {out['dtype']!r}")
    for name in ("steps", "frames_per_chunk", "overlap"):
        if out[name] is not None and out[name] < 1:
            raise StudioError(f"diffusers option {name!r} must be at least 1, not {out[name]}")
    if out["max_references"] < 0:
        raise StudioError("diffusers option 'max_references' must be 0 or more")
    if not 0 <= out["reference_strength"] <= 1:
        raise StudioError("diffusers option 'reference_strength' must be between 0 and 1")
    if out["resolution"] is not None:
        parse_size(out["resolution"], "diffusers option 'resolution'")
    if out["guidance_2"] is not None and out["guidance_2"] < 0:
        raise StudioError(f"diffusers option 'guidance_2' must be 0 or more, not {out['guidance_2']}")
    if out["flow_shift"] is not None and out["flow_shift"] <= 0:
        raise StudioError(f"diffusers option 'flow_shift' must be above 0, not {out['flow_shift']}",
                          hint="3.0 for 480p, 5.0 for 720p (diffusers' Wan pipeline docstrings)")
    return out


def _kind(k: type) -> str:
    return "null" if k is type(None) else k.__name__


def parse_size(text: str, where: str) -> tuple[int, int]:
    m = re.fullmatch(r"([1-9][0-9]{0,4})x([1-9][0-9]{0,4})", str(text))
    if not m:
        raise StudioError(f"{where} is {text!r}, not WIDTHxHEIGHT", hint="e.g. 832x480")
    return int(m.group(1)), int(m.group(2))


def family_of(spec: ModelSpec, wanted: tuple[str, ...], role: str) -> Family:
    if spec.family not in wanted:
        raise StudioError(f"model {spec.name!r} is family {spec.family!r}; {role} needs {' or '.join(wanted)}",
                          hint="pick another registry model, or fix its family")
    family = FAMILIES[spec.family]
    unknown = sorted(set(spec.options) - family.options)
    if unknown:
        raise StudioError(f"model {spec.name!r}: unknown {spec.family} options {unknown}",
                          hint=f"known: {', '.join(sorted(family.options))}")
    shift = spec.options.get("flow_shift")
    if shift is not None and (isinstance(shift, bool) or not isinstance(shift, (int, float)) or shift <= 0):
        raise StudioError(f"model {spec.name!r}: flow_shift must be a number above 0, not {shift!r}",
                          hint="3.0 for 480p, 5.0 for 720p (diffusers' Wan pipeline docstrings)")
    guidance_2 = spec.options.get("guidance_2")
    if guidance_2 is not None and (isinstance(guidance_2, bool) or not isinstance(guidance_2, (int, float))
                                   or guidance_2 < 0):
        raise StudioError(f"model {spec.name!r}: guidance_2 must be a number, 0 or more, not {guidance_2!r}",
                          hint="Wan 2.2 A14B: the low-noise expert's guidance, e.g. 3.0")
    if not isinstance(spec.options.get("call_options", {}) or {}, Mapping):
        raise StudioError(f"model {spec.name!r}: call_options must be a mapping of pipeline arguments",
                          hint="e.g. call_options: {decode_timestep: 0.05}")
    _check_timing_and_recipe(spec)
    _check_loras(spec, family)
    return family


def _check_loras(spec: ModelSpec, family: Family) -> None:
    """A model's ``loras`` are well formed, and a LoRA's recipe sets only what the family has."""
    from studio.loras import model_loras

    for lora in model_loras(spec.options, spec.name):
        unknown = sorted(set(lora.recipe) - family.options)
        if unknown:
            raise StudioError(f"model {spec.name!r}: LoRA {lora.adapter_name!r} recipe sets {unknown}, which "
                              f"{spec.family} models do not take", hint="flow_shift is for Wan models")


def resolve_roles(options: Mapping[str, Any], registry: Registry) -> Roles:
    """The models the options name, each checked against the part it plays."""
    main = registry.get(options["model"])
    family = family_of(main, ("wan-t2v", "wan-i2v", "wan-vace", "ltx-condition", "ltx2", "skyreels-df"),
                       "option 'model'")
    keyframe = ip_adapter = None
    if options["keyframe_model"]:
        keyframe = registry.get(options["keyframe_model"])
        family_of(keyframe, KEYFRAME_FAMILIES, "option 'keyframe_model'")
        if keyframe.options.get("ip_adapter"):
            ip_adapter = registry.get(str(keyframe.options["ip_adapter"]))
            family_of(ip_adapter, ("ip-adapter",), f"model {keyframe.name!r} option 'ip_adapter'")
    if family.kind == "skyreels-df":
        from studio.render.diffusers.windows import check_forcing

        check_forcing(main, options)
        return Roles(family.kind, forcing=main, keyframe=keyframe, ip_adapter=ip_adapter)
    if family.kind in ("ltx", "ltx2"):
        for name in ("i2v_model", "vace_model"):
            if options[name]:
                raise StudioError(f"diffusers option {name!r} is for Wan models; {main.name!r} is LTX",
                                  hint="LTX continues shots with its own conditioning: remove the option")
        if options.get("flow_shift") is not None:
            raise StudioError(f"diffusers option 'flow_shift' is for Wan models; {main.name!r} is LTX",
                              hint="LTX shifts its schedule by the frame size itself: remove the option")
        return Roles(family.kind, ltx=main, keyframe=keyframe, ip_adapter=ip_adapter)
    roles = {"t2v": None, "i2v": None, "vace": None}
    roles[main.family.removeprefix("wan-")] = main
    for role in ("i2v", "vace"):
        name = options[f"{role}_model"]
        if name:
            spec = registry.get(name)
            family_of(spec, (f"wan-{role}",), f"option '{role}_model'")
            roles[role] = spec
    if roles["t2v"] is None and roles["vace"] is None and keyframe is None:
        raise StudioError(f"model {main.name!r} is image-to-video: it cannot start a shot from nothing",
                          hint="set keyframe_model (a first frame for every cut), or use a text-to-video or VACE "
                               "model as `model` and this one as i2v_model")
    return Roles("wan", keyframe=keyframe, ip_adapter=ip_adapter, **roles)


def keyframe_recipe(spec: ModelSpec) -> tuple[int, float, dict[str, Any]]:
    """A keyframe model's steps, guidance and extra call arguments: its options, else its family's."""
    family = FAMILIES[spec.family]
    return (int(spec.options.get("steps", family.steps)), float(spec.options.get("guidance", family.guidance)),
            dict(spec.options.get("call_options", {}) or {}))


def video_family(roles: Roles) -> Family:
    spec = roles.ltx or roles.forcing or roles.t2v or roles.vace or roles.i2v
    assert spec is not None
    return FAMILIES[spec.family]


def configured_models(screenplay: Any = None) -> list[dict[str, Any]]:
    """Every model in the registry (built-ins, the user's file, and ``screenplay``'s
    ``film.render.options.models``): its spec, where its weights are on this machine
    (None when they are not), and what ``screenplay`` uses it for."""
    options: Mapping[str, Any] = screenplay.film.render.options if screenplay is not None else {}
    registry = Registry.default(options.get("models"),
                                base_dir=screenplay.base_dir if screenplay is not None else None)
    used: dict[str, list[str]] = {}
    if screenplay is not None:
        if screenplay.film.render.backend == "diffusers":
            for option in ("model", "i2v_model", "vace_model", "keyframe_model"):
                name = options.get(option, DEFAULT_MODEL if option == "model" else None)
                if isinstance(name, str):
                    used.setdefault(name, []).append(option)
                    spec = registry.specs.get(name)
                    if option == "keyframe_model" and spec is not None and spec.options.get("ip_adapter"):
                        used.setdefault(str(spec.options["ip_adapter"]), []).append("ip_adapter")
        if screenplay.film.sound.music == "model":
            used.setdefault(screenplay.film.sound.music_model, []).append("music_model")
    rows = []
    for name in sorted(registry.specs):
        spec = registry.specs[name]
        folder = spec.local_folder()
        rows.append({"name": name, "family": spec.family, "source": spec.source, "revision": spec.revision,
                     "dtype": spec.dtype, "size": spec.size or None, "vram": spec.vram or None,
                     "fps": native_fps(spec), "loras": lora_names(spec), "local": str(folder) if folder else None,
                     "used_as": used.get(name, []), "description": spec.description})
    return rows


def native_fps(spec: ModelSpec) -> int | None:
    """The frame rate a video model generates at (its ``fps`` option, else its family's);
    None for a model that makes no video (keyframes, adapters, voices, music)."""
    family = FAMILIES.get(spec.family)
    if family is None or family.kind in NOT_VIDEO_KINDS:
        return None
    return int(spec.options.get("fps", family.fps))


def lora_names(spec: ModelSpec) -> list[str]:
    """The LoRAs a model entry names (``options.loras``), by adapter name or source."""
    loras = spec.options.get("loras") or []
    if not isinstance(loras, list):
        return []
    return [str(lora.get("adapter_name") or lora.get("source")) if isinstance(lora, Mapping) else str(lora)
            for lora in loras]


def default_overlap(roles: Roles, frames_per_chunk: int | None = None) -> int:
    """Context frames carried between chunks and shots: for LTX one latent frame's worth plus
    the first (9); for Wan VACE the fewest frames whose mask keeps :data:`VACE_CONTEXT_LATENTS`
    latent frames in a chunk of ``frames_per_chunk`` (6 in 81: see :func:`vace_overlap`; a smaller
    chunk keeps at least as many); a single frame for Wan image-to-video."""
    if roles.kind == "skyreels-df":  # the model's overlap_history (its card: 17)
        assert roles.forcing is not None
        return int(roles.forcing.options.get("overlap_history", 17))
    if roles.kind in ("ltx", "ltx2"):
        return FAMILIES["ltx-condition" if roles.kind == "ltx" else "ltx2"].frame_multiple + 1
    if roles.vace is not None:
        family = FAMILIES["wan-vace"]
        return vace_overlap(frames_per_chunk or family.frames_per_chunk, temporal=family.frame_multiple)
    return 1


# Wan's flow shift by generation size, from diffusers' Wan pipeline docstrings
# (pipelines/wan/pipeline_wan.py and pipeline_wan_vace.py: "5.0 for 720P, 3.0 for 480P")
SHIFT_480P, SHIFT_720P = 3.0, 5.0
AREA_480P, AREA_720P = 832 * 480, 1280 * 720


def default_flow_shift(width: int, height: int) -> float:
    """The flow shift for a ``width`` x ``height`` generation: 3.0 up to half-way (in
    pixel area) between 480p and 720p, 5.0 above."""
    return SHIFT_480P if width * height <= (AREA_480P + AREA_720P) / 2 else SHIFT_720P


def _check_timing_and_recipe(spec: ModelSpec) -> None:
    """A model's ``fps`` and LTX recipe options are of the right kinds (errors now, not mid-film)."""
    fps = spec.options.get("fps")
    if fps is not None and (isinstance(fps, bool) or not isinstance(fps, int) or fps < 1):
        raise StudioError(f"model {spec.name!r}: option 'fps' must be a whole number of frames per second, not {fps!r}",
                          hint="the frame rate the model was trained at, e.g. 16 for Wan 2.1, 24 for Wan 2.2 TI2V-5B")
    for name in ("timesteps", "sigmas"):
        _check_numbers(spec, name)
    upsample = spec.options.get("upsample")
    if upsample is not None and not isinstance(upsample, Mapping):
        raise StudioError(f"model {spec.name!r}: option 'upsample' must be a mapping",
                          hint="e.g. {downscale: 0.6667, timesteps: [1000, 909, 725, 421, 0], denoise_strength: 0.999}")
    known = UPSAMPLE_DEFAULTS if spec.family != "ltx2" else LTX2_UPSAMPLE_DEFAULTS
    unknown = sorted(set(upsample or {}) - set(known))
    if unknown:
        raise StudioError(f"model {spec.name!r}: unknown upsample settings {unknown}",
                          hint=f"known: {', '.join(sorted(known))}")
    if upsample and not spec.options.get("upsampler"):
        raise StudioError(f"model {spec.name!r}: 'upsample' needs 'upsampler' (the registry name of an "
                          f"{'ltx2-upsampler' if spec.family == 'ltx2' else 'ltx-upsampler'} model)")


def _check_numbers(spec: ModelSpec, name: str) -> None:
    values = spec.options.get(name)
    if values is not None and (not isinstance(values, list) or not values
                               or not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in values)):
        example = "[1000, 993, 987, 981, 975, 909, 725, 0.03]" if name == "timesteps" else "[1.0, 0.99375, 0.725]"
        raise StudioError(f"model {spec.name!r}: option {name!r} must be a list of numbers", hint=f"e.g. {example}")


#: The latent upsampler pass, as diffusers' ltx_video.md runs LTX-Video 0.9.7 / 0.9.8 distilled: generate at
#: 2/3 of the size, upsample the latents 2x (adain_factor 1.0; 0.9.8: tone_map_compression_ratio 0.6), then
#: a short denoise at the upsampled size (denoise_strength 0.999 over timesteps [1000, 909, 725, 421, 0]).
UPSAMPLE_DEFAULTS: dict[str, Any] = {
    "downscale": 2 / 3,
    "adain_factor": 1.0,
    "tone_map_compression_ratio": 0.0,
    "denoise_strength": 0.999,
    "timesteps": [1000, 909, 725, 421, 0],
}

#: LTX-2's two-stage recipe (diffusers' ltx2.md, "Distilled checkpoint generation"): stage 1 at half the size,
#: the latents upsampled 2x by LTX2LatentUpsamplePipeline, then stage 2 renoised to its first sigma and denoised
#: over STAGE_2_DISTILLED_SIGMA_VALUES at guidance 1.0, on a scheduler without dynamic shifting.
LTX2_UPSAMPLE_DEFAULTS: dict[str, Any] = {
    "downscale": 0.5,
    "sigmas": [0.909375, 0.725, 0.421875],
    "guidance": 1.0,
}


# --------------------------------------------------------------------------- Wan VACE context

#: Latent frames of context a Wan VACE chunk keeps from the frames before it: the first latent frame
#: (Wan's causal VAE encodes frame 0 alone) and one more (4 frames), so motion, not a still, carries over.
VACE_CONTEXT_LATENTS = 2


def vace_kept_latents(kept: int, frames: int, temporal: int = 4) -> int:
    """How many leading latent frames ``WanVACEPipeline`` keeps when the first ``kept`` of ``frames`` frames
    are kept (black in the mask). Its ``prepare_masks`` shrinks the frame mask to
    ``ceil(frames / temporal)`` latent frames with ``interpolate(mode="nearest-exact")``: latent frame i
    reads frame ``floor((i + 0.5) * frames / latents)``, so a latent frame is kept only when that frame is."""
    latents = (frames + temporal - 1) // temporal
    count = 0
    for i in range(latents):
        source = min(frames - 1, (2 * i + 1) * frames // (2 * latents))
        if source >= kept:
            break
        count += 1
    return count


def vace_overlap(frames: int, latents: int = VACE_CONTEXT_LATENTS, temporal: int = 4) -> int:
    """The fewest kept frames for which ``WanVACEPipeline`` keeps ``latents`` latent frames in a chunk of
    ``frames`` (81 frames: 6 keep 2 latent frames, where 5 keep only 1)."""
    for kept in range(1, frames + 1):
        if vace_kept_latents(kept, frames, temporal) >= latents:
            return kept
    raise StudioError(f"a VACE chunk of {frames} frames cannot keep {latents} latent frames of context",
                      hint="raise frames_per_chunk")
