"""Wan VACE context: how many frames a chunk must keep for the model to keep the latent
frames we mean it to.

``WanVACEPipeline.prepare_masks`` shrinks the frame mask to latent frames with
nearest-exact interpolation, so 5 kept frames of 81 keep only the first latent frame (a
still, not motion) and 6 keep two. What a user relies on: the default overlap carries
:data:`VACE_CONTEXT_LATENTS` latent frames into every chunk and continuous shot, as the
real pipeline builds its mask."""

from __future__ import annotations

import pytest
from PIL import Image

from studio.models import Registry
from studio.render.diffusers.backend import DiffusersBackend
from studio.render.diffusers.settings import VACE_CONTEXT_LATENTS, vace_kept_latents, vace_overlap
from tests.render.diffusers.helpers import models_block

torch = pytest.importorskip("torch")

SIZE = 32  # the tiny VACE's mask works on 16x16 blocks (VAE 8x, patch 2)


@pytest.fixture(scope="module")
def vace(tiny_models):  # type: ignore[no-untyped-def]
    from diffusers import WanVACEPipeline

    return WanVACEPipeline.from_pretrained(str(tiny_models["wan-vace"]))


def pipeline_kept_latents(pipe, kept: int, frames: int) -> int:  # type: ignore[no-untyped-def]
    """Leading latent frames the real pipeline keeps (mask 0) for the backend's VACE inputs."""
    from studio.render.diffusers.families import vace_inputs

    context = [Image.new("RGB", (SIZE, SIZE), (200, 100, 50))] * kept
    video, mask = vace_inputs(context, frames, SIZE, SIZE)
    _, mask, refs = pipe.preprocess_conditions(video, mask, None, 1, SIZE, SIZE, frames, torch.float32,
                                               torch.device("cpu"))
    latent = pipe.prepare_masks(mask, refs)[0]  # [blocks, latent frames, h, w]
    count = 0
    for index in range(latent.shape[1]):
        if latent[:, index].max() > 0:
            break
        count += 1
    return count


@pytest.mark.parametrize("frames", [5, 9, 17, 33, 49, 81])
def test_the_mask_rule_is_the_pipelines(vace, frames):
    assert vace.vae_scale_factor_temporal == 4
    for kept in sorted({1, 2, 3, 4, 5, 6, 7, 9, 10, 13, frames // 2, frames - 1}):
        if 1 <= kept < frames:
            assert vace_kept_latents(kept, frames) == pipeline_kept_latents(vace, kept, frames), (kept, frames)


def test_five_frames_of_81_keep_one_latent_frame_and_the_default_keeps_two(vace):
    assert pipeline_kept_latents(vace, 5, 81) == 1  # the old default: a still frame, not motion
    assert pipeline_kept_latents(vace, 9, 81) == 2
    assert vace_overlap(81) == 6 and pipeline_kept_latents(vace, 6, 81) == VACE_CONTEXT_LATENTS == 2
    # the smallest such: one frame fewer keeps fewer
    for frames in (9, 17, 33, 81):
        k = vace_overlap(frames)
        assert pipeline_kept_latents(vace, k, frames) >= VACE_CONTEXT_LATENTS > pipeline_kept_latents(vace, k - 1,
                                                                                                       frames)


@pytest.mark.parametrize("limit", [9, 17, 81])
def test_the_backends_default_overlap_keeps_two_latent_frames_in_every_chunk(vace, tiny_models, limit):
    registry = Registry()
    registry.update(models_block(tiny_models), "test")
    backend = DiffusersBackend({"model": "tiny-wan-t2v", "vace_model": "tiny-wan-vace", "frames_per_chunk": limit},
                               registry=registry)
    overlap = backend.overlap
    assert overlap == vace_overlap(limit)
    # every chunk the backend may plan (balanced chunks are legal counts up to the limit)
    chunks = [frames for frames in range(5, limit + 1, 4) if frames > overlap]
    assert chunks[-1] == limit
    for frames in chunks:
        assert pipeline_kept_latents(vace, overlap, frames) >= VACE_CONTEXT_LATENTS, frames
