"""A long take's arithmetic under diffusion forcing (SkyReels-V2): which frame counts one call
may generate, the windows the pipeline denoises them in, and the checks of a model's settings.
Pure arithmetic, no torch (the settings check it without loading anything).

SkyReels-V2's diffusion forcing pipelines (diffusers' ``SkyReelsV2DiffusionForcing*Pipeline``)
generate ``num_frames`` frames in one call, window after window: the first window is
``base_num_frames`` frames (the model's context: 97 at 540P, 121 at 720P), every later one
starts from the last ``overlap_history`` frames of the latents made so far, held nearly clean
(noised to the timestep ``addnoise_condition``), and adds up to ``base_num_frames -
overlap_history`` frames. The windows are counted in latent frames: the Wan VAE packs 4 frames
into one, the first alone (``(frames - 1) // 4 + 1``). With asynchronous denoising (``ar_step`` >
0), a window is denoised in causal blocks of ``causal_block_size`` latent frames, each block
``ar_step`` steps behind the one before; every window's latent frames must then be a whole number
of blocks (SkyReels-V2's README), so a take's latent frames are too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studio.errors import StudioError

TEMPORAL = 4  # the Wan VAE's temporal compression

#: the SkyReels-V2 README's recommendations for long takes (synchronous generation)
CARD = {"base_num_frames": 97, "overlap_history": 17, "ar_step": 0, "addnoise_condition": 20,
        "causal_block_size": 1}


@dataclass(frozen=True)
class Forcing:
    """A model's long-take settings (the pipelines' arguments of the same names)."""

    base_num_frames: int
    overlap_history: int
    ar_step: int
    addnoise_condition: float
    causal_block_size: int


def latents(frames: int) -> int:
    """Latent frames of ``frames`` frames (4k+1 frames: k+1)."""
    return (frames - 1) // TEMPORAL + 1


def frames_of(latent: int) -> int:
    """Frames decoded from ``latent`` latent frames."""
    return (latent - 1) * TEMPORAL + 1


def is_take(frames: int, block: int = 1) -> bool:
    """Can one call generate exactly ``frames`` frames (4k+1, whole causal blocks)?"""
    return frames >= 1 and (frames - 1) % TEMPORAL == 0 and latents(frames) % block == 0


def take_up(frames: int, block: int = 1) -> int:
    """The fewest frames >= ``frames`` one call can generate."""
    count = 1 if frames <= 1 else -(-(frames - 1) // TEMPORAL) + 1
    return frames_of(-(-count // block) * block)


def take_down(frames: int, block: int = 1) -> int:
    """The most frames <= ``frames`` one call can generate (0: none)."""
    count = latents(frames) // block * block if frames >= 1 else 0
    return frames_of(count) if count >= 1 else 0


def windows(frames: int, base: int, overlap: int) -> list[tuple[int, int]]:
    """The latent frames ``[first, end)`` of each window the pipelines denoise for a call of
    ``frames`` frames (a video-to-video call's are its context plus its new frames): the first
    window ``base`` frames, every later one starting ``overlap`` frames back. As the pipelines'
    ``prepare_latents`` and their count of iterations decide them."""
    total, size, held = latents(frames), latents(base), latents(overlap)
    if total <= size:
        return [(0, total)]
    out = [(0, size)]
    done = size
    while done < total:
        new = min(total - done, size - held)
        out.append((done - held, done + new))
        done += new
    return out


def full_windows(frames: int, base: int, overlap: int) -> int:
    """The fewest frames >= ``frames`` whose windows are all ``base`` frames long.
    ``SkyReelsV2DiffusionForcingImageToVideoPipeline`` (diffusers 0.42.1) fails on a shorter last
    window (it builds the window's schedule for ``base_num_frames`` latent frames, then indexes
    past the shorter window: IndexError): a long take started by a keyframe is generated to whole
    windows and the surplus dropped."""
    total, size, held = latents(frames), latents(base), latents(overlap)
    if total <= size:
        return frames
    step = size - held
    return frames_of(size + -(-(total - size) // step) * step)


def denoising_rows(window: int, ready: int, steps: int, ar_step: int, block: int) -> int:
    """Transformer passes (per guidance branch) that denoise one window of ``window`` latent
    frames whose first ``ready`` are already clean: the rows of the pipelines'
    ``generate_timestep_matrix`` (``steps``, plus ``ar_step`` for each block after the first
    in asynchronous mode)."""
    blocks, done = window // block, ready // block
    iterations = steps + 1
    row = [iterations if i < done else 0 for i in range(blocks)]
    rows = 0
    while not all(r >= iterations - 1 for r in row):
        new = [0] * blocks
        for i in range(blocks):
            new[i] = row[i] + 1 if i == 0 or row[i - 1] >= iterations - 1 else new[i - 1] - ar_step
        row = [max(0, min(iterations, r)) for r in new]
        rows += 1
    return rows


def forcing_of(spec_options: Mapping[str, Any], overlap: int | None = None) -> Forcing:
    """A model's long-take settings, the card's where it gives none; ``overlap``: the render's."""
    value = {**CARD, **{k: spec_options[k] for k in CARD if spec_options.get(k) is not None}}
    if overlap is not None:
        value["overlap_history"] = overlap
    return Forcing(int(value["base_num_frames"]), int(value["overlap_history"]), int(value["ar_step"]),
                   float(value["addnoise_condition"]), int(value["causal_block_size"]))


def check_forcing(spec: Any, options: Mapping[str, Any]) -> Forcing:
    """A ``skyreels-df`` model's settings, checked now rather than mid-film: a StudioError naming
    the option otherwise."""
    for name in ("i2v_model", "vace_model"):
        if options.get(name):
            raise StudioError(f"diffusers option {name!r} is for Wan models; {spec.name!r} is SkyReels-V2 "
                              "diffusion forcing", hint="it continues shots and starts keyframes itself: remove it")
    for name in CARD:
        value = spec.options.get(name)
        kinds = (int, float) if name == "addnoise_condition" else (int,)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds) or value < 0):
            raise StudioError(f"model {spec.name!r}: {name} must be a number of 0 or more, not {value!r}",
                              hint=f"the SkyReels-V2 README recommends {name}: {CARD[name]}")
    forcing = forcing_of(spec.options, options.get("overlap"))
    where = f"model {spec.name!r}"
    block, base, overlap = forcing.causal_block_size, forcing.base_num_frames, forcing.overlap_history
    if block < 1:
        raise StudioError(f"{where}: causal_block_size must be at least 1", hint="1 (synchronous), 5 with ar_step 5")
    if not is_take(base, block) or base < 5:
        raise StudioError(f"{where}: base_num_frames {base} is not 4k+1 frames in whole causal blocks of {block} "
                          "latent frames", hint="97 at 540P, 121 at 720P (SkyReels-V2 README)")
    if not is_take(overlap, block) or overlap >= base:
        raise StudioError(f"{where}: overlap_history {overlap} must be 4k+1 frames in whole causal blocks of {block}"
                          f" latent frames, and fewer than base_num_frames {base}",
                          hint="17 or 37 (SkyReels-V2 README); the render option 'overlap' sets it too")
    return forcing
