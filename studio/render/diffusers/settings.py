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
    kind: str  # "wan", "ltx" (video) or "keyframe" / "ip-adapter"
    pipeline: str  # the diffusers class
    frame_multiple: int = 1  # frames are k * frame_multiple + 1
    size_multiple: int = 8  # width and height are multiples of this
    steps: int = 30
    guidance: float = 5.0
    frames_per_chunk: int = 1
    max_sequence_length: int = 512
    options: frozenset[str] = field(default_factory=frozenset)  # model options the family knows


_VIDEO_OPTIONS = frozenset({"steps", "guidance", "frames_per_chunk", "resolution", "max_sequence_length",
                            "call_options"})
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family("wan-t2v", "wan", "WanPipeline", 4, 16, 30, 5.0, 81, 512, _VIDEO_OPTIONS),
        Family("wan-i2v", "wan", "WanImageToVideoPipeline", 4, 16, 30, 5.0, 81, 512, _VIDEO_OPTIONS),
        Family("wan-vace", "wan", "WanVACEPipeline", 4, 16, 30, 5.0, 81, 512, _VIDEO_OPTIONS),
        Family("ltx-condition", "ltx", "LTXConditionPipeline", 8, 32, 40, 3.0, 161, 256, _VIDEO_OPTIONS),
        Family("sd", "keyframe", "StableDiffusionPipeline", 1, 8, 30, 7.5, 1, 77,
               frozenset({"steps", "guidance", "ip_adapter", "call_options"})),
        Family("ip-adapter", "ip-adapter", "", options=frozenset({"subfolder", "weight_name",
                                                                 "image_encoder_folder", "scale"})),
    ]
}

#: option -> (accepted types, default, help)
OPTIONS: dict[str, tuple[tuple[type, ...], Any, str]] = {
    "model": ((str,), DEFAULT_MODEL, ("registry name of the video model (a wan-t2v, wan-i2v, wan-vace or "
                                      "ltx-condition family)")),
    "i2v_model": ((str, type(None)), None, "Wan image-to-video model: continues a shot from its last frame"),
    "vace_model": ((str, type(None)), None, "Wan VACE model: character references and multi-frame continuity"),
    "keyframe_model": ((str, type(None)), None, ("text-to-image model (family sd) drawing the first frame of a "
                                                 "cut, with its IP-Adapter for a likeness")),
    "steps": ((int, type(None)), None, "denoising steps (default: the model's)"),
    "guidance": ((int, float, type(None)), None, "classifier-free guidance scale (default: the model's)"),
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
    "reference_strength": ((int, float), 0.5, "LTX: strength of character references as image conditions"),
    "max_references": ((int,), 3, "character reference images per shot (VACE, LTX)"),
    "colour_match": ((bool,), True, ("match each continuation's context frames to the colour of its chain's start "
                                     "(Lab mean and spread): no colour drift hop after hop")),
}
OFFLOAD = ("auto", "none", "model", "sequential")
NOT_IN_KEY = ("offload",)  # where weights sit in memory changes no pixel


@dataclass(frozen=True)
class Roles:
    """Which registry model plays which part."""

    kind: str  # "wan" or "ltx"
    t2v: ModelSpec | None = None
    i2v: ModelSpec | None = None
    vace: ModelSpec | None = None
    ltx: ModelSpec | None = None
    keyframe: ModelSpec | None = None
    ip_adapter: ModelSpec | None = None

    def assigned(self) -> list[tuple[str, ModelSpec]]:
        return [(role, spec) for role in ("t2v", "i2v", "vace", "ltx", "keyframe", "ip_adapter")
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
    if not isinstance(spec.options.get("call_options", {}) or {}, Mapping):
        raise StudioError(f"model {spec.name!r}: call_options must be a mapping of pipeline arguments",
                          hint="e.g. call_options: {decode_timestep: 0.05}")
    return family


def resolve_roles(options: Mapping[str, Any], registry: Registry) -> Roles:
    """The models the options name, each checked against the part it plays."""
    main = registry.get(options["model"])
    family = family_of(main, ("wan-t2v", "wan-i2v", "wan-vace", "ltx-condition"), "option 'model'")
    keyframe = ip_adapter = None
    if options["keyframe_model"]:
        keyframe = registry.get(options["keyframe_model"])
        family_of(keyframe, ("sd",), "option 'keyframe_model'")
        if keyframe.options.get("ip_adapter"):
            ip_adapter = registry.get(str(keyframe.options["ip_adapter"]))
            family_of(ip_adapter, ("ip-adapter",), f"model {keyframe.name!r} option 'ip_adapter'")
    if family.kind == "ltx":
        for name in ("i2v_model", "vace_model"):
            if options[name]:
                raise StudioError(f"diffusers option {name!r} is for Wan models; {main.name!r} is LTX-Video",
                                  hint="LTX-Video continues shots with its own conditioning: remove the option")
        return Roles("ltx", ltx=main, keyframe=keyframe, ip_adapter=ip_adapter)
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


def video_family(roles: Roles) -> Family:
    spec = roles.ltx or roles.t2v or roles.vace or roles.i2v
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
                     "dtype": spec.dtype, "local": str(folder) if folder else None,
                     "used_as": used.get(name, []), "description": spec.description})
    return rows


def default_overlap(roles: Roles) -> int:
    """Context frames carried between chunks and shots: one latent frame's worth plus
    the first (5 for Wan VACE, 9 for LTX); a single frame for Wan image-to-video."""
    if roles.kind == "ltx":
        return FAMILIES["ltx-condition"].frame_multiple + 1
    if roles.vace is not None:
        return FAMILIES["wan-vace"].frame_multiple + 1
    return 1
