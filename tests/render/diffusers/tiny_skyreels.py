"""A tiny random-weight SkyReels-V2 diffusion forcing model of the real classes.

``SkyReelsV2Transformer3DModel`` with the configuration of diffusers' own tests
(tests/pipelines/skyreels_v2/test_skyreels_v2_df*.py: patch (1, 2, 2), 2 heads of 12,
16 latent channels in and out, 2 layers), plus ``inject_sample_info=True`` as
SkyReels-V2-DF-1.3B-540P has it (diffusers' scripts/convert_skyreelsv2_to_diffusers.py:
its fps embedding tells 16 fps from 24); the Wan VAE (``AutoencoderKLWan``, 8x in space,
4x in time: 4k+1 frames), a UMT5 text encoder, and the scheduler class the pipelines are
written for and the Diffusers repositories are used with: ``UniPCMultistepScheduler`` over
flow sigmas (the pipelines' ``scheduler`` argument; every example of diffusers'
skyreels_v2.md sets ``UniPCMultistepScheduler.from_config(..., flow_shift=8.0)`` for
text-to-video). Transformer and text encoder stored in bfloat16, the VAE in float32, as the
docs load them. Saved with ``save_pretrained`` as the ``SkyReelsV2DiffusionForcingPipeline``
folder the backend loads through the model registry; the image-to-video and
video-to-video pipelines are built from the same parts.
"""

from __future__ import annotations

from pathlib import Path

from tests.render.diffusers.tiny import _half, _wan_scheduler, _wan_vae, t5_encoder, t5_tokenizer

#: the tiny model's window: 17 frames (5 latent frames), where the real 540P models have 97 (25)
TINY_BASE_FRAMES = 17


def tiny_transformer_config(rope_max_seq_len: int = 32) -> dict:
    """The tiny ``SkyReelsV2Transformer3DModel`` (diffusers' DF tests, with the 1.3B's fps embedding)."""
    return dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16,
                out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
                qk_norm="rms_norm_across_heads", rope_max_seq_len=rope_max_seq_len, inject_sample_info=True)


def save_skyreels_df(folder: Path, seed: int = 0) -> Path:
    """The tiny SkyReels-V2 DF pipeline, saved (text-to-video; i2v and v2v share its parts)."""
    import torch
    from diffusers import SkyReelsV2DiffusionForcingPipeline, SkyReelsV2Transformer3DModel

    torch.manual_seed(seed)
    transformer = SkyReelsV2Transformer3DModel(**tiny_transformer_config()).eval()
    pipe = SkyReelsV2DiffusionForcingPipeline(
        transformer=_half(transformer), vae=_wan_vae(seed), scheduler=_wan_scheduler(flow_shift=8.0),
        text_encoder=_half(t5_encoder(seed=seed, umt5=True)), tokenizer=t5_tokenizer())
    pipe.save_pretrained(str(folder))
    return folder


def models_block(folder: Path, *, fps: int = 8, **options: object) -> dict[str, dict]:
    """A registry entry for the tiny model: the card's recipe shape (synchronous, overlap_history and
    addnoise_condition as recommended) at the tiny window; ``fps``: its native rate."""
    return {"tiny-skyreels-df": {
        "family": "skyreels-df", "source": str(folder), "dtype": "bfloat16",
        "options": {"steps": 2, "guidance": 4.0, "max_sequence_length": 32, "fps": fps, "flow_shift": 8.0,
                    "frames_per_chunk": 1457, "base_num_frames": TINY_BASE_FRAMES, "overlap_history": 5,
                    "ar_step": 0, "causal_block_size": 1, "addnoise_condition": 20, **options}}}
