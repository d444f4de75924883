"""SkyReels-V2 diffusion forcing: a long take, or a continuous chain, in one generation.

The ``skyreels-df`` family drives diffusers' three SkyReels-V2 diffusion forcing pipelines,
built once from the same loaded parts (transformer, VAE, UMT5, scheduler):

- ``SkyReelsV2DiffusionForcingPipeline`` (text-to-video) starts a cut;
- ``SkyReelsV2DiffusionForcingImageToVideoPipeline`` starts a cut from its keyframe (the
  image becomes the first latent frame, and so the take's first frame);
- ``SkyReelsV2DiffusionForcingVideoToVideoPipeline`` continues a continuous shot from the
  frames before it (``video``: their last ``overlap_history`` frames become the held start
  of its first window).

A shot longer than the model's window is not cut into chained clips: one call generates it
all, the pipeline moving its own window along (:mod:`.windows`: ``base_num_frames`` a window,
``overlap_history`` frames held from the window before, noised to ``addnoise_condition``).
Up to ``frames_per_chunk`` frames (60 seconds at 24 fps by default) are one call.

The video-to-video pipeline returns the ``video`` it was given, then the decoded take, whose
first ``overlap_history`` frames re-decode the held context: the given frames are dropped
here, so every family's output reads the same (context reproduced first, then new frames),
and the backend drops the context as it does for the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from studio.errors import StudioError
from studio.models import ModelSpec
from studio.render.diffusers.chunks import Chunk, plan_chunks
from studio.render.diffusers.families import Request, Tell, _frames, frame_rule, rehook, shift_schedule, size_rule
from studio.render.diffusers.settings import FAMILIES
from studio.render.diffusers.windows import (
    forcing_of,
    full_windows,
    is_take,
    take_down,
    take_up,
    windows,
)

log = logging.getLogger("studio.render.diffusers")


@dataclass
class Window:
    """What one generation call's windows were, as the transformer saw them (for tests and records):
    each transformer pass's latent frames and the timestep of each."""

    mode: str
    frames: int  # the call's num_frames
    passes: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)


class ForcingVideo:
    """SkyReels-V2 diffusion forcing for one film: text-, image- and video-to-video from one model."""

    kind = "skyreels-df"

    def __init__(self, pipe: Any, spec: ModelSpec, overlap: int, tell: Tell) -> None:
        import diffusers

        self.pipe = pipe
        self.spec = spec
        family = FAMILIES["skyreels-df"]
        self.forcing = forcing_of(spec.options, overlap)
        self.overlap = overlap
        self.tell = tell
        self.block = self.forcing.causal_block_size
        self.frame_multiple = frame_rule(pipe, family.frame_multiple)
        if self.frame_multiple != 4:
            raise StudioError(f"model {spec.name!r} has a VAE of {self.frame_multiple}x in time; SkyReels-V2's is 4x",
                              hint="check the model's family")
        self.size_multiple = size_rule(pipe, family.size_multiple)
        parts = {name: module for name, module in pipe.components.items()}
        self.i2v = diffusers.SkyReelsV2DiffusionForcingImageToVideoPipeline(**parts)
        self.v2v = diffusers.SkyReelsV2DiffusionForcingVideoToVideoPipeline(**parts)
        for other in (self.i2v, self.v2v):
            other.set_progress_bar_config(disable=True)
        self.calls: list[Window] = []  # each call's windows, as the transformer saw them
        pipe.transformer.register_forward_pre_hook(self._saw, with_kwargs=True)

    def _saw(self, module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        if self.calls:
            hidden, timestep = kwargs.get("hidden_states"), kwargs.get("timestep")
            if hidden is not None and timestep is not None:
                self.calls[-1].passes.append((int(hidden.shape[2]), tuple(int(t) for t in timestep[0].tolist())))

    # ------------------------------------------------------------- planning

    @property
    def takes_keyframe(self) -> bool:
        if self.block > 1:  # the keyframe's one latent frame is not a whole causal block: the pipeline drops it
            self.tell("df-no-keyframe", f"{self.spec.name}: asynchronous diffusion forcing (causal_block_size "
                                        f"{self.block}) cannot start from a keyframe: cuts start from the prompt")
            return False
        return True

    def context_for(self, available: int) -> int:
        """How many of ``available`` frames a video-to-video call holds: up to ``overlap_history``, 4k+1,
        whole causal blocks."""
        return take_down(min(self.overlap, available), self.block)

    def plan_chunks(self, total: int, *, limit: int, multiple: int, available: int, overlap: int,
                    context_for: Any) -> list[Chunk]:
        """The calls for a take of ``total`` frames: one, unless it is longer than ``limit``
        (``frames_per_chunk``) frames; each a frame count the pipelines generate exactly."""
        if self.block == 1:
            return plan_chunks(total, limit=limit, multiple=multiple, available=available, overlap=overlap,
                               context_for=context_for)
        top = take_down(limit, self.block)
        chunks: list[Chunk] = []
        remaining, available = total, min(available, overlap)
        while remaining > 0:
            context = context_for(available)
            if top - context < 1:
                raise StudioError(f"frames_per_chunk {limit} leaves no new frames after {context} of context",
                                  hint="raise frames_per_chunk")
            new = min(remaining, top - context)
            chunks.append(Chunk(context, new, take_up(context + new, self.block)))
            remaining -= new
            available = min(overlap, available + new)
        return chunks

    # ------------------------------------------------------------- calling

    def mode(self, request: Request) -> str:
        if request.context:
            return "df-v2v"
        return "df-i2v" if request.keyframe is not None else "df-t2v"

    def takes_references(self, request: Request) -> bool:
        if request.references:
            self.tell("df-no-references", "SkyReels-V2 takes no character references: they steer the keyframe "
                                          "(set keyframe_model with an IP-Adapter)")
        return False

    def __call__(self, request: Request, output_type: str = "np") -> tuple[str, Any]:
        mode = self.mode(request)
        if not is_take(request.frames, self.block):
            raise StudioError(f"{request.frames} frames is not a take SkyReels-V2 generates exactly "
                              f"(4k+1, whole causal blocks of {self.block})", hint="report it: a planning bug")
        pipe = {"df-t2v": self.pipe, "df-i2v": self.i2v, "df-v2v": self.v2v}[mode]
        self._place(pipe)
        if request.flow_shift is not None:
            shift_schedule(pipe, request.flow_shift, self.tell)
        with _held_noise(request.generator):
            return self._call(pipe, mode, request, output_type)

    def _call(self, pipe: Any, mode: str, request: Request, output_type: str) -> tuple[str, Any]:
        forcing, frames = self.forcing, request.frames
        common = dict(prompt=request.prompt, negative_prompt=request.negative, height=request.height,
                      width=request.width, num_inference_steps=request.steps, guidance_scale=request.guidance,
                      generator=request.generator, max_sequence_length=request.max_sequence_length,
                      base_num_frames=forcing.base_num_frames, ar_step=forcing.ar_step,
                      addnoise_condition=forcing.addnoise_condition, causal_block_size=forcing.causal_block_size,
                      fps=request.fps, output_type=output_type, **request.call_options)
        if mode == "df-v2v":
            given = list(request.context)
            # the held context: every given frame (the planner gave at most overlap_history, 4k+1)
            self.calls.append(Window(mode, frames))
            output = pipe(video=given, num_frames=frames, overlap_history=len(given), **common)
            video = _frames(output, output_type)
            if output_type != "latent":  # the given frames come back first, as they were: drop them
                video = video[len(given):]
            return mode, video
        if mode == "df-i2v":
            frames = full_windows(frames, forcing.base_num_frames, forcing.overlap_history)
            self.calls.append(Window(mode, frames))
            output = pipe(image=request.keyframe, num_frames=frames, overlap_history=forcing.overlap_history,
                          **common)
        else:
            self.calls.append(Window(mode, frames))
            output = pipe(num_frames=frames, overlap_history=forcing.overlap_history, **common)
        video = _frames(output, output_type)
        return mode, video if output_type == "latent" else video[:request.frames]

    def windows_of(self, frames: int) -> list[tuple[int, int]]:
        """The windows (latent frames) a call of ``frames`` frames is denoised in."""
        return windows(frames, self.forcing.base_num_frames, self.forcing.overlap_history)

    def _place(self, pipe: Any) -> None:
        """The pipeline about to run holds the offload chain (its parts are the loaded pipeline's)."""
        if pipe is self.pipe or not getattr(self.pipe, "_all_hooks", None):
            rehook(pipe)
            return
        if not getattr(pipe, "_all_hooks", None):  # first use under model offload: hook this pipeline's chain
            pipe.enable_model_cpu_offload(device=self.pipe._offload_device)
        else:
            rehook(pipe)


@contextmanager
def _held_noise(generator: Any) -> Iterator[None]:
    """The pipelines noise the held frames (``addnoise_condition``) with ``torch.randn_like``, from
    torch's global generators, not the call's: seed those from the call's generator for the call
    (and put them back after), so the same seed gives the same take."""
    import torch

    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
