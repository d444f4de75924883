"""Render estimates: how long each shot takes to render, the film's total in GPU-hours,
and the makespan on N GPUs.

A shot's time is its work (frames generated, at the model's own frame rate, x pixels x
denoising steps) over the
throughput of the model that renders it, scaled from one reference clip per model
(:data:`REFERENCES`: each names its source). Linear scaling is an approximation:
attention grows faster than linearly with a clip's tokens, so long chunks at large
sizes take somewhat longer than estimated, and model loading (once per worker) and
the text encoder are not counted.

Makespan: shots of one continuity chain render in order on one GPU (each continues
the last frames of the one before), different chains are independent. Chains are
assigned longest first to the GPU that frees up first (LPT scheduling, within 4/3 of
the optimum); the result is never below the longest chain nor below total / N.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import StudioError
from studio.render.plan import ShotPlan


@dataclass(frozen=True)
class Reference:
    """A measured or published render time for one reference clip."""

    name: str
    device: str  # what the time was measured on
    seconds: float  # wall time for the reference clip
    frames: int
    width: int
    height: int
    steps: int | None  # denoising steps behind the figure (None: not a diffusion model)
    source: str  # where the number comes from, and what was assumed
    per_frame_seconds: float = 0.0  # fixed cost per frame, whatever its size (the animatic's drawing)
    origin: str = "published"  # "measured" (a run of ours), "published" (model card, paper) or "assumed"

    def seconds_for(self, frames: int, width: int, height: int, steps: int | None) -> float:
        """The reference scaled linearly by frames x pixels (x steps)."""
        pixel_part = self.seconds - self.per_frame_seconds * self.frames
        work = frames * width * height / (self.frames * self.width * self.height)
        if self.steps and steps:
            work *= steps / self.steps
        return frames * self.per_frame_seconds + pixel_part * work


# The animatic draws on the CPU. bench/render_feature.py, pictures only (no --audio), 2 cores,
# AMD EPYC, 2026-11-24 02:49 UTC: 211.2 frames/s at 854x480 and 114.3 frames/s at 1280x720
# (BENCHMARKS.md now holds the run with sound, whose frames/s include voicing and the mix). A line
# through both points: 1.51 ms per frame plus 7.88 ns per pixel.
_ANIMATIC_PER_FRAME = 0.001508
_ANIMATIC_PER_PIXEL = 7.882e-9

REFERENCES: dict[str, Reference] = {
    "animatic": Reference(
        "animatic", "2 CPU cores of the bench machine",
        seconds=1000 * (_ANIMATIC_PER_FRAME + _ANIMATIC_PER_PIXEL * 854 * 480), frames=1000, width=854, height=480,
        steps=None, per_frame_seconds=_ANIMATIC_PER_FRAME,
        source="measured: bench/render_feature.py pictures only (BENCHMARKS.md), 211 frames/s at 854x480, 114 at 1280x720",
        origin="measured"),
    "wan-1.3b": Reference(
        "Wan 2.1 1.3B", "RTX 4090", seconds=240.0, frames=81, width=832, height=480, steps=50,
        source="published: Wan2.1 README (github.com/Wan-Video/Wan2.1): 'a 5-second 480P video on an RTX 4090 in "
               "about 4 minutes' without quantization; 81 frames at 832x480 with its generate.py default of 50 "
               "sampling steps"),
    "wan-14b": Reference(
        "Wan 2.1 14B", "RTX 4090-class GPU (80 GB needed in practice)", seconds=240.0 * 14 / 1.3, frames=81,
        width=832, height=480, steps=50,
        source="assumed: the Wan 2.1 1.3B figure scaled by parameter count (14 / 1.3); replace with a "
               "measurement on your GPU", origin="assumed"),
    # Wan 2.2: the Wan2.2 README's "Computational Efficiency" table (assets/comp_effic.png), one GPU, its own
    # generate.py with --offload_model True --convert_model_dtype (5B: and --t5_cpu), the recipes of
    # wan/configs (TI2V-5B: 121 frames at 1280x704, 50 steps; A14B: 81 frames, 40 steps). Total time of a clip.
    "wan2.2-ti2v-5b": Reference(
        "Wan 2.2 TI2V-5B", "RTX 4090", seconds=534.7, frames=121, width=1280, height=704, steps=50,
        source="published: Wan2.2 README, computational efficiency table: TI2V-5B text-to-video at 720P "
               "(1280x704, 121 frames, 50 steps) in 534.7 s on one RTX 4090, 22.9 GB peak (image-to-video 524.8 s)"),
    "wan2.2-a14b": Reference(
        "Wan 2.2 A14B", "H100", seconds=1041.5, frames=81, width=1280, height=720, steps=40,
        source="published: Wan2.2 README, computational efficiency table: T2V-A14B at 720P (1280x720, 81 frames, "
               "40 steps) in 1041.5 s on one H100, 59.8 GB peak (I2V-A14B 1055.9 s; at 480P 326.9 s: attention "
               "makes small sizes cheaper than this linear scaling says)"),
    "ltx-video": Reference(
        "LTX-Video", "H100", seconds=2.0, frames=121, width=768, height=512, steps=40,
        source="published: LTX-Video paper (arXiv 2501.00103): 5 s of 24 fps video at 768x512 in 2 s on an H100; "
               "the step count behind it is not given there: taken as the 40 steps of the diffusers default, "
               "so fewer steps estimate proportionally faster"),
    # LTX-2 has no published speed (no timing in Lightricks' LTX-2 README or model card, nor in diffusers' ltx2.md):
    # the figure is bench/gpu_check.py's meta-device forecast (`--count`). One transformer pass of a denoising step
    # at 768x512, 121 frames (16 x 16 x 24 = 6144 video tokens, 126 audio tokens, 1024 text tokens) is 201.7 TFLOP
    # by torch's FlopCounterMode on the real 19B architecture; at 400 TFLOPS (40% of an H200's 989 dense bf16
    # peak, gpu_check's H200_TFLOPS) that is 0.504 s. Per pass: a step costs as many passes as the pipeline's
    # guidance makes (ltx2_passes: up to 4 with CFG, STG and modality isolation). Denoising only: Gemma 3 12B
    # over the prompt and the VAE decode (about 0.3 s a call) are not counted.
    "ltx-2": Reference(
        "LTX-2 19B", "H200 (forecast)", seconds=40 * 201.7 / 400.0, frames=121, width=768, height=512, steps=40,
        source="assumed: bench/gpu_check.py --count, the real LTX-2 architecture on the meta device: 201.7 TFLOP "
               "per transformer pass at 768x512 x 121 frames, at 400 TFLOPS on an H200 (0.504 s); seconds for 40 "
               "steps of one pass each, multiplied by the passes the model's guidance takes; replace with a "
               "measurement (bench/gpu_check.py on a GPU)", origin="assumed"),
    # SkyReels-V2 diffusion forcing: diffusers' skyreels_v2.md times its DF-1.3B example (97 frames at 960x544,
    # 30 steps asynchronous with ar_step 5 and causal blocks of 5: 50 denoising rows) "normally 14 min" (5.5 min
    # with flash attention and compiled blocks) on a GPU it does not name. A take is counted window by window
    # (studio.render.diffusers.windows): each window's frames x its denoising rows.
    "skyreels-df-1.3b": Reference(
        "SkyReels-V2 DF 1.3B", "GPU not stated (diffusers' docs)", seconds=14 * 60.0, frames=97, width=960,
        height=544, steps=50,
        source="published: diffusers' docs/source/en/api/pipelines/skyreels_v2.md, the DF-1.3B-540P example "
               "(97 frames, 960x544, 30 steps, ar_step 5: 50 denoising rows) 'normally 14 min'; counted per window "
               "of the take, steps as denoising rows"),
    "skyreels-df-14b": Reference(
        "SkyReels-V2 DF 14B", "GPU not stated (scaled)", seconds=14 * 60.0 * 14 / 1.3, frames=97, width=960,
        height=544, steps=50,
        source="assumed: the DF 1.3B figure scaled by parameter count (14 / 1.3); replace with a measurement",
        origin="assumed"),
}

#: Keyframes (studio keyframes: one still per shot, drawn before any video) by a keyframe model. Stable
#: Diffusion 1.5 in PyTorch at FP16: 2.95 s an image at 50 steps on an A10 (Deci's DeciDiffusion-v1-0 model card,
#: its latency table against Stable Diffusion v1.5, 512x512). Other keyframe families are scaled from it.
KEYFRAME_REFERENCE = Reference(
    "Stable Diffusion v1.5 (keyframes)", "A10", seconds=2.95, frames=1, width=512, height=512, steps=50,
    source="published: huggingface.co/Deci/DeciDiffusion-v1-0 model card, latency table: Stable Diffusion v1.5, "
           "PyTorch FP16, 50 iterations, 2.95 s per image on an A10; used for every keyframe family (assumed)")


#: LTX2ConditionPipeline.__call__'s guidance defaults (diffusers 0.42.1; the audio scales fall back to the video's
#: when None): what a step costs unless a model's options say otherwise. tests/run/test_estimate.py checks them
#: against the installed pipeline.
LTX2_GUIDANCE_DEFAULTS: dict[str, float | None] = {
    "guidance_scale": 3.0, "stg_scale": 1.0, "modality_scale": 3.0,
    "audio_guidance_scale": 7.0, "audio_stg_scale": 1.0, "audio_modality_scale": 3.0,
}


def ltx2_passes(options: Mapping[str, Any], guidance: float | None = None) -> int:
    """Transformer passes (batch items) per LTX-2 denoising step: 2 with classifier-free guidance (video or
    audio scale above 1), else 1; one more for spatio-temporal guidance (a scale above 0) and one for modality
    isolation (a scale above 1), as LTX2ConditionPipeline decides them. ``options``: the model's (its
    ``guidance`` is the pipeline's ``guidance_scale``); ``guidance``: a stage's own guidance, if it has one."""
    scale = {**LTX2_GUIDANCE_DEFAULTS, **{k: v for k, v in options.items() if k in LTX2_GUIDANCE_DEFAULTS}}
    if options.get("guidance") is not None:
        scale["guidance_scale"] = float(options["guidance"])
    if guidance is not None:
        scale["guidance_scale"] = guidance
    for name in ("guidance_scale", "stg_scale", "modality_scale"):
        scale[f"audio_{name}"] = scale.get(f"audio_{name}") or scale[name]
    cfg = max(float(scale["guidance_scale"] or 0), float(scale["audio_guidance_scale"] or 0)) > 1
    stg = max(float(scale["stg_scale"] or 0), float(scale["audio_stg_scale"] or 0)) > 0
    modality = max(float(scale["modality_scale"] or 0), float(scale["audio_modality_scale"] or 0)) > 1
    return (2 if cfg else 1) + int(stg) + int(modality)


#: what bench/gpu_check.py measured on a GPU (committed when a GPU run happened)
MEASURED = Path(__file__).resolve().parents[2] / "bench" / "results" / "gpu_check.json"


def measured_reference(model: str, path: Path | None = None) -> Reference | None:
    """The reference clip ``bench/gpu_check.py`` measured for ``model`` (real
    architecture, on a GPU), or None when there is no such measurement. One chunk of
    the model's frames at its generation size and recommended steps: the measured
    seconds per denoising step times those steps, plus the measured rest of a call
    (text encoding, VAE decode)."""
    path = path or MEASURED
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    m = report.get("models", {}).get(model) if isinstance(report, dict) and not report.get("tiny") else None
    if not m or not m.get("seconds_per_step") or not m.get("calls") or not m.get("generation_size"):
        return None
    step, steps = float(m["seconds_per_step"]), int(m["steps_recommended"])
    rest = max(0.0, float(m["seconds_in_calls"]) / int(m["calls"]) - int(m["steps_run"]) * step)
    width, height = (int(v) for v in str(m["generation_size"]).split("x"))
    return Reference(model, str(report.get("gpu") or report.get("device")), seconds=step * steps + rest,
                     frames=int(m["frames_per_chunk"]), width=width, height=height, steps=steps,
                     source=f"measured: bench/gpu_check.py {report.get('when', '')}, real architecture with random "
                            f"weights, {step:.3f} s per step at {steps} steps, {rest:.2f} s per call besides",
                     origin="measured")


def reference_for(model: str, family: str) -> Reference:
    """The reference clip for a registry model: measured by ``bench/gpu_check.py``
    where it was, else the published figure for its family."""
    measured = measured_reference(model)
    if measured is not None:
        return measured
    lowered = model.lower()
    if family == "ltx2":
        return REFERENCES["ltx-2"]
    if family.startswith("wan-") and "wan2.2" in lowered:  # before "14b": A14B names contain it too
        return REFERENCES["wan2.2-ti2v-5b" if "ti2v" in lowered else "wan2.2-a14b"]
    if family == "skyreels-df":
        return REFERENCES["skyreels-df-14b" if "14b" in lowered else "skyreels-df-1.3b"]
    if family.startswith("wan-"):
        return REFERENCES["wan-14b" if "14b" in lowered else "wan-1.3b"]
    if family.startswith("ltx"):
        return REFERENCES["ltx-video"]
    raise StudioError(f"no render throughput known for model {model!r} (family {family!r})",
                      hint="estimates know the animatic and the wan-*, ltx-*, ltx2 and skyreels-df video families")


@dataclass(frozen=True)
class ShotEstimate:
    shot_id: str
    chain: int  # index of its continuity chain
    frames: int  # in the film
    generated: int  # frames the model generates at its own rate (chunks, context and rounding included)
    width: int  # generation size
    height: int
    steps: int | None
    seconds: float  # expected render time of its video on one GPU (or the animatic's CPU)
    fps: int  # the rate ``generated`` frames are at: the model's native rate (the film's for the animatic)
    keyframe_seconds: float = 0.0  # drawing its keyframe (studio keyframes), before and besides the video

    def to_dict(self) -> dict[str, Any]:
        return {"shot": self.shot_id, "chain": self.chain, "frames": self.frames, "generated": self.generated,
                "fps": self.fps, "size": f"{self.width}x{self.height}", "steps": self.steps,
                "seconds": round(self.seconds, 3), "keyframe_seconds": round(self.keyframe_seconds, 3)}


@dataclass
class Estimate:
    backend: str
    model: str | None
    reference: Reference
    gpus: int
    shots: list[ShotEstimate] = field(default_factory=list)
    keyframe_reference: Reference | None = None  # what draws the keyframes (None: the animatic's first frame)

    @property
    def total_seconds(self) -> float:
        """The video: every shot generated (keyframes are counted apart: :attr:`keyframe_seconds`)."""
        return sum(s.seconds for s in self.shots)

    @property
    def video_seconds(self) -> float:
        return self.total_seconds

    @property
    def keyframe_seconds(self) -> float:
        """Drawing every shot's keyframe once (``studio keyframes``): cheap next to the video."""
        return sum(s.keyframe_seconds for s in self.shots)

    @property
    def gpu_hours(self) -> float:
        """Device-hours: one device per shot while it renders."""
        return self.total_seconds / 3600

    def chains(self) -> list[float]:
        seconds: dict[int, float] = {}
        for s in self.shots:
            seconds[s.chain] = seconds.get(s.chain, 0.0) + s.seconds
        return [seconds[k] for k in sorted(seconds)]

    @property
    def longest_chain_seconds(self) -> float:
        return max(self.chains(), default=0.0)

    @property
    def makespan_seconds(self) -> float:
        return makespan(self.chains(), self.gpus)

    def to_dict(self) -> dict[str, Any]:
        r = self.reference
        return {
            "backend": self.backend, "model": self.model, "gpus": self.gpus,
            "reference": {"name": r.name, "device": r.device, "seconds": round(r.seconds, 3), "frames": r.frames,
                          "size": f"{r.width}x{r.height}", "steps": r.steps, "source": r.source,
                          "origin": r.origin},
            "shots": [s.to_dict() for s in self.shots],
            "total_seconds": round(self.total_seconds, 3),
            "video_seconds": round(self.video_seconds, 3),
            "keyframe_seconds": round(self.keyframe_seconds, 3),
            "keyframe_reference": None if self.keyframe_reference is None else {
                "name": self.keyframe_reference.name, "source": self.keyframe_reference.source},
            "gpu_hours": round(self.gpu_hours, 4),
            "longest_chain_seconds": round(self.longest_chain_seconds, 3),
            "makespan_seconds": round(self.makespan_seconds, 3),
        }


def makespan(chains: list[float], workers: int) -> float:
    """Longest-first (LPT) schedule of independent ``chains`` (seconds each) on
    ``workers``: when the last one finishes."""
    if workers < 1:
        raise StudioError(f"--gpus must be at least 1, not {workers}")
    loads = [0.0] * min(workers, max(1, len(chains)))
    heapq.heapify(loads)
    for seconds in sorted(chains, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + seconds)
    return max(loads, default=0.0)


def estimate_film(plans: list[ShotPlan], *, backend: str = "animatic", options: Mapping[str, Any] | None = None,
                  models: Mapping[str, Any] | None = None, base_dir: Any = None, gpus: int = 1) -> Estimate:
    """Per-shot render times for ``plans`` (story order) on ``backend`` with its
    ``options`` (for diffusers: the model, steps, resolution, frames_per_chunk...)."""
    if gpus < 1:
        raise StudioError(f"--gpus must be at least 1, not {gpus}")
    chain_of = _chains(plans)
    if backend == "animatic":
        ref = REFERENCES["animatic"]
        shots = [ShotEstimate(p.shot_id, chain_of[p.shot_id], p.frames, p.frames, p.width, p.height, None,
                              ref.seconds_for(p.frames, p.width, p.height, None), p.fps,
                              keyframe_seconds=ref.seconds_for(1, p.width, p.height, None)) for p in plans]
        return Estimate("animatic", None, ref, gpus, shots)
    if backend == "diffusers":
        return _diffusers(plans, dict(options or {}), models, base_dir, gpus, chain_of)
    raise StudioError(f"no estimate for backend {backend!r}", hint="use animatic or diffusers")


def _chains(plans: list[ShotPlan]) -> dict[str, int]:
    """Each shot's chain: a chain starts on a cut and runs through the continuous shots after it."""
    out: dict[str, int] = {}
    chain = -1
    for p in plans:
        if p.continuity != "continuous" or chain < 0:
            chain += 1
        out[p.shot_id] = chain
    return out


def _diffusers(plans: list[ShotPlan], options: dict[str, Any], models: Mapping[str, Any] | None, base_dir: Any,
               gpus: int, chain_of: dict[str, int]) -> Estimate:
    import math

    from studio.models import Registry
    from studio.render.diffusers.chunks import native_frames, plan_chunks
    from studio.render.diffusers.settings import (
        FAMILIES,
        check_options,
        default_overlap,
        parse_size,
        resolve_roles,
        video_family,
    )

    options = check_options({k: v for k, v in options.items() if k != "models"})
    registry = Registry.default(dict(models) if models else None, base_dir=base_dir)
    roles = resolve_roles(options, registry)
    family = video_family(roles)
    main = registry.get(options["model"])
    ref = reference_for(main.name, main.family)
    video_specs = [s for s in (roles.ltx, roles.forcing, roles.t2v, roles.i2v, roles.vace) if s is not None]

    def setting(spec: Any, name: str) -> Any:  # as the backend: option, its LoRAs' recipe, model, family
        from studio.loras import model_loras, recipe_of

        value = options.get(name)
        if value is None:
            value = recipe_of(model_loras(spec.options, spec.name)).get(name)
        return value if value is not None else spec.options.get(name, getattr(FAMILIES[spec.family], name, None))

    limit = min(int(setting(s, "frames_per_chunk")) for s in video_specs)
    overlap = options["overlap"] or default_overlap(roles, limit)
    native_fps = int(main.options.get("fps", FAMILIES[main.family].fps))  # the rate the model generates at
    steps = int(setting(main, "steps"))

    def context_for(available: int) -> int:  # as studio.render.diffusers.families decides
        n = min(overlap, available)
        if roles.kind == "skyreels-df":
            from studio.render.diffusers.windows import take_down

            return take_down(n, forcing.causal_block_size)
        if roles.kind in ("ltx", "ltx2"):
            return 0 if n < 1 else (n - 1) // family.frame_multiple * family.frame_multiple + 1
        if n and roles.vace is not None:
            return n
        return 1 if n and roles.i2v is not None else 0

    def size(plan: ShotPlan) -> tuple[int, int]:  # as DiffusersBackend.generation_size
        m = family.size_multiple
        if options["resolution"]:
            return parse_size(options["resolution"], "diffusers option 'resolution'")
        width, height = float(plan.width), float(plan.height)
        if main.options.get("resolution"):
            mw, mh = parse_size(str(main.options["resolution"]), f"model {main.name!r} option 'resolution'")
            height = math.sqrt(mw * mh / (plan.width / plan.height))
            width = height * plan.width / plan.height
        return (max(m, math.floor(width / m + 0.5) * m), max(m, math.floor(height / m + 0.5) * m))

    def stages(width: int, height: int) -> list[tuple[int, int, int, int]]:
        """(steps, width, height, passes per step) of each denoising pass of one generation at ``width`` x
        ``height``. One pass at the model's steps; with a latent upsampler two, as the backend runs them:
        stage 1 over the model's schedule (a ``sigmas`` or ``timesteps`` list runs whole) at the downscaled
        size, stage 2 (LTX-2: its ``sigmas``; LTX-Video: the refine timesteps cut by ``denoise_strength``) at
        twice that. LTX-2 steps cost as many transformer passes as its guidance takes (:func:`ltx2_passes`)."""
        from studio.render.diffusers.settings import LTX2_UPSAMPLE_DEFAULTS, UPSAMPLE_DEFAULTS

        ltx2 = main.family == "ltx2"
        model_options = {**main.options, **{k: v for k, v in options.items() if k in ("guidance",) and v is not None}}
        passes = ltx2_passes(model_options) if ltx2 else 1
        schedule = main.options.get("sigmas") or main.options.get("timesteps")
        first = steps if options.get("steps") is not None or not schedule else len(schedule)
        if not main.options.get("upsampler"):
            return [(first, width, height, passes)]
        recipe = {**(LTX2_UPSAMPLE_DEFAULTS if ltx2 else UPSAMPLE_DEFAULTS), **dict(main.options.get("upsample") or {})}
        m = family.size_multiple
        small_w = max(m, int(width * float(recipe["downscale"])) // m * m)
        small_h = max(m, int(height * float(recipe["downscale"])) // m * m)
        if ltx2:
            second = len(recipe["sigmas"])
            passes_2 = ltx2_passes(model_options, float(recipe["guidance"]))
        else:
            refine, strength = len(recipe["timesteps"]), float(recipe["denoise_strength"])
            second, passes_2 = (min(int(refine * strength), refine) if strength < 1 else refine), 1
        return [(first, small_w, small_h, passes), (second, 2 * small_w, 2 * small_h, passes_2)]

    def stage_seconds(frames: int, width: int, height: int) -> float:
        if ref.origin == "measured":  # gpu_check's step is already the whole recipe's mean step, passes included
            return ref.seconds_for(frames, width, height, sum(n for n, _, _, _ in stages(width, height)))
        return sum(ref.seconds_for(frames, w, h, n * passes) for n, w, h, passes in stages(width, height))

    from studio.render.diffusers.windows import forcing_of

    forcing = forcing_of(main.options, overlap) if roles.kind == "skyreels-df" else None

    def take_seconds(chunk: Any, width: int, height: int) -> float:
        """A diffusion forcing call, window by window: each window's frames x its denoising rows."""
        from studio.render.diffusers.windows import denoising_rows, frames_of, latents, windows

        assert forcing is not None
        total = 0.0
        for index, (start, end) in enumerate(windows(chunk.frames, forcing.base_num_frames, overlap)):
            # ready: the latent frames already clean (the given context, then each window's held overlap)
            ready = (latents(chunk.context) if chunk.context else 0) if index == 0 else latents(overlap)
            rows = denoising_rows(end - start, ready, steps, forcing.ar_step, forcing.causal_block_size)
            total += ref.seconds_for(frames_of(end - start), width, height, rows)
        return total

    def keyframe_seconds(plan: ShotPlan, width: int, height: int) -> float:
        """A keyframe: the keyframe model's one picture at the generation size and its steps, else the
        animatic's first frame (studio.run.keyframes)."""
        if roles.keyframe is None:
            return REFERENCES["animatic"].seconds_for(1, plan.width, plan.height, None)
        kf_steps = int(roles.keyframe.options.get("steps", FAMILIES[roles.keyframe.family].steps))
        return KEYFRAME_REFERENCE.seconds_for(1, width, height, kf_steps)

    shots: list[ShotEstimate] = []
    for p in plans:
        width, height = size(p)
        available = overlap if p.continuity == "continuous" and shots else 0
        chunks = plan_chunks(native_frames(p.frames, p.fps, native_fps), limit=limit, multiple=family.frame_multiple,
                             available=available, overlap=overlap, context_for=context_for)
        generated = sum(c.frames for c in chunks)
        if forcing is not None:
            seconds = sum(take_seconds(c, width, height) for c in chunks)
        else:
            seconds = sum(stage_seconds(c.frames, width, height) for c in chunks)
        shots.append(ShotEstimate(p.shot_id, chain_of[p.shot_id], p.frames, generated, width, height,
                                  sum(n for n, _, _, _ in stages(width, height)), seconds, native_fps,
                                  keyframe_seconds=keyframe_seconds(p, width, height)))
    return Estimate("diffusers", main.name, ref, gpus, shots,
                    keyframe_reference=KEYFRAME_REFERENCE if roles.keyframe is not None else None)
