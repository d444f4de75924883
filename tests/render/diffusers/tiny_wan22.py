"""Tiny random-weight Wan 2.2 pipelines of the real diffusers classes (see :mod:`.tiny`).

- **TI2V-5B** (:func:`save_wan22_ti2v`): one ``WanTransformer3DModel`` on the Wan 2.2 VAE
  (``AutoencoderKLWan`` with ``z_dim`` 48, ``is_residual``, ``patch_size`` 2 and
  ``scale_factor_spatial`` 16: with the transformer's 2x2 patch, sizes are multiples of 32),
  saved as a ``WanPipeline`` with ``expand_timesteps`` (a pipeline config flag, in
  ``model_index.json``), as diffusers' scripts/convert_wan_to_diffusers.py saves
  Wan-AI/Wan2.2-TI2V-5B-Diffusers. ``WanImageToVideoPipeline`` loads the same folder.
- **A14B** (:func:`save_wan22_a14b`): two transformers, ``transformer`` (high noise) and
  ``transformer_2`` (low noise), split at ``boundary_ratio`` (0.875 text-to-video, 0.9
  image-to-video, as the convert script saves them), on the Wan 2.1 VAE.

The configs follow diffusers' tests/pipelines/wan/test_wan_22.py (``Wan225BPipelineFastTests``
and ``Wan22PipelineFastTests``); bf16 transformers and text encoder, float32 VAE, the UniPC
scheduler the Wan-AI repositories ship (flow shift 5.0 for TI2V-5B, 3.0 for A14B: the
convert script's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.render.diffusers.tiny import _half, _wan_scheduler, _wan_vae, t5_encoder, t5_tokenizer

#: boundary_ratio of the A14B pipelines (diffusers' scripts/convert_wan_to_diffusers.py)
BOUNDARY = {"t2v": 0.875, "i2v": 0.9}


def wan22_vae(seed: int = 0) -> Any:
    """The Wan 2.2 VAE's layout at a tiny width: 48 latent channels, 16x spatial (2x2 patch in)."""
    import torch
    from diffusers import AutoencoderKLWan

    torch.manual_seed(seed)
    return AutoencoderKLWan(
        base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True, patch_size=2,
        latents_mean=[0.0] * 48, latents_std=[1.0] * 48, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
        scale_factor_spatial=16, scale_factor_temporal=4, temperal_downsample=[False, True, True],
    ).eval()


def _transformer(seed: int, in_channels: int, out_channels: int) -> Any:
    import torch
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    return _half(WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=in_channels,
        out_channels=out_channels, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    ).eval())


def save_wan22_ti2v(folder: Path, seed: int = 0) -> Path:
    """Wan 2.2 TI2V-5B: text-to-video and (through ``WanImageToVideoPipeline``) image-to-video."""
    from diffusers import WanPipeline

    pipe = WanPipeline(transformer=_transformer(seed, 48, 48), vae=wan22_vae(seed),
                       scheduler=_wan_scheduler(flow_shift=5.0),
                       text_encoder=_half(t5_encoder(seed=seed, umt5=True)), tokenizer=t5_tokenizer(),
                       transformer_2=None, boundary_ratio=None, expand_timesteps=True)
    pipe.save_pretrained(str(folder))
    return folder


def save_wan22_a14b(folder: Path, task: str = "t2v", seed: int = 0) -> Path:
    """Wan 2.2 A14B text-to-video (``task`` "t2v") or image-to-video ("i2v": 36 input channels,
    the first frame's latents and mask beside the noise; no CLIP image encoder)."""
    from diffusers import WanImageToVideoPipeline, WanPipeline

    in_channels = 16 if task == "t2v" else 36
    parts = dict(transformer=_transformer(seed, in_channels, 16), transformer_2=_transformer(seed + 1, in_channels, 16),
                 vae=_wan_vae(seed), scheduler=_wan_scheduler(flow_shift=3.0),
                 text_encoder=_half(t5_encoder(seed=seed, umt5=True)), tokenizer=t5_tokenizer(),
                 boundary_ratio=BOUNDARY[task])
    pipe = WanPipeline(**parts) if task == "t2v" else WanImageToVideoPipeline(**parts, image_encoder=None,
                                                                              image_processor=None)
    pipe.save_pretrained(str(folder))
    return folder


BUILDERS = {
    "wan22-ti2v": save_wan22_ti2v,
    "wan22-t2v-a14b": lambda folder, seed=0: save_wan22_a14b(folder, "t2v", seed),
    "wan22-i2v-a14b": lambda folder, seed=0: save_wan22_a14b(folder, "i2v", seed),
}
