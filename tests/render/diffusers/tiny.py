"""Tiny random-weight versions of the real pipelines the diffusers backend drives.

Every component is the real class (WanTransformer3DModel, AutoencoderKLWan,
LTXVideoTransformer3DModel, UNet2DConditionModel, T5EncoderModel, CLIP...), built from
a tiny config with random weights and no hub access, put in ``.eval()`` mode and saved
with ``save_pretrained`` so the backend loads it back through the model registry from
a local folder, exactly as it loads real weights. The configs follow diffusers' own
tests (tests/pipelines/wan/, tests/pipelines/ltx/, tests/models/unets/).

Used by the tests (session fixtures) and by ``bench/diffusers_overhead.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WORDS = ["a", "an", "the", "of", "in", "on", "at", "to", "with", "and", "is", "are", "by", "from", "his", "her", "their", "its", "shot", "wide", "medium", "close", "up", "extreme", "full", "two", "over", "shoulder", "insert", "pov", "static", "camera", "pan", "tilt", "dolly", "zoom", "truck", "crane", "handheld", "slow", "left", "right", "interior", "exterior", "day", "night", "dawn", "dusk", "morning", "evening", "afternoon", "light", "dark", "warm", "cold", "soft", "rain", "kitchen", "room", "table", "woman", "man", "coat", "green", "brown", "cardigan", "lamp", "sea", "says", "speaks", "looks", "waits", "walks", "cinematic", "film", "grain", "blurry", "distorted", "faces", "text", "watermark", "low", "quality"]


def t5_tokenizer() -> Any:
    """A T5 tokenizer with a small in-memory vocabulary (words, then characters)."""
    from transformers import T5TokenizerFast

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("\u2581" + w, -float(i + 1)) for i, w in enumerate(dict.fromkeys(WORDS))]
    vocab += [(c, -30.0) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:'\"!?-()\u2581"]
    return T5TokenizerFast(vocab=vocab, extra_ids=0)


def t5_encoder(d_model: int = 32, seed: int = 0, *, umt5: bool = False) -> Any:
    """A T5 encoder (UMT5, as Wan uses, with ``umt5``)."""
    import torch
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    config_cls, model_cls = (UMT5Config, UMT5EncoderModel) if umt5 else (T5Config, T5EncoderModel)
    config = config_cls(vocab_size=256, d_model=d_model, d_ff=37, d_kv=8, num_layers=1, num_heads=2,
                        relative_attention_num_buckets=8)
    return model_cls(config).eval()


def _wan_vae(seed: int) -> Any:
    import torch
    from diffusers import AutoencoderKLWan

    torch.manual_seed(seed)
    return AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True]).eval()


def _wan_scheduler(flow_shift: float = 3.0) -> Any:
    """The scheduler the Wan-AI *-Diffusers repositories ship (Wan2.1-T2V-1.3B-Diffusers
    scheduler/scheduler_config.json): UniPC over flow sigmas, shift 3.0 (480p)."""
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000, flow_shift=flow_shift,
        beta_schedule="linear", beta_start=0.0001, beta_end=0.02, solver_order=2, solver_type="bh2",
        predict_x0=True, final_sigmas_type="zero", lower_order_final=True, timestep_spacing="linspace",
    )


def _half(module: Any) -> Any:
    """Stored in bfloat16, as the Wan repositories store their transformer and text encoder
    (their VAE stays float32)."""
    import torch

    return module.to(torch.bfloat16)


def save_wan_t2v(folder: Path, seed: int = 0, *, rope_max_seq_len: int = 32) -> Path:
    """Wan text-to-video; ``rope_max_seq_len`` patches at most along each axis (16 pixels a patch)."""
    import torch
    from diffusers import WanPipeline, WanTransformer3DModel

    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=rope_max_seq_len,
    ).eval()
    pipe = WanPipeline(transformer=_half(transformer), vae=_wan_vae(seed), scheduler=_wan_scheduler(),
                       text_encoder=_half(t5_encoder(seed=seed, umt5=True)), tokenizer=t5_tokenizer())
    pipe.save_pretrained(str(folder))
    return folder


def save_wan_i2v(folder: Path, seed: int = 0) -> Path:
    """Wan 2.1 image-to-video, with its CLIP image encoder (as the 14B model has)."""
    import torch
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32, image_dim=4,
    ).eval()
    torch.manual_seed(seed)
    image_encoder = CLIPVisionModel(CLIPVisionConfig(
        hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2, image_size=32,
        intermediate_size=16, patch_size=1,
    )).eval()
    pipe = WanImageToVideoPipeline(
        transformer=_half(transformer), vae=_wan_vae(seed), scheduler=_wan_scheduler(),
        text_encoder=_half(t5_encoder(seed=seed, umt5=True)), tokenizer=t5_tokenizer(),
        image_encoder=_half(image_encoder), image_processor=CLIPImageProcessor(crop_size=32, size=32),
    )
    pipe.save_pretrained(str(folder))
    return folder


def save_wan_vace(folder: Path, seed: int = 0) -> Path:
    import torch
    from diffusers import WanVACEPipeline, WanVACETransformer3DModel

    torch.manual_seed(seed)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=3, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32, vace_layers=[0, 2], vace_in_channels=96,
    ).eval()
    pipe = WanVACEPipeline(transformer=_half(transformer), vae=_wan_vae(seed), scheduler=_wan_scheduler(),
                           text_encoder=_half(t5_encoder(seed=seed, umt5=True)), tokenizer=t5_tokenizer())
    pipe.save_pretrained(str(folder))
    return folder


def save_ltx_condition(folder: Path, seed: int = 0) -> Path:
    """LTX-Video with the real model's compression (32x spatial, 8x temporal: 8k+1 frames)."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )

    torch.manual_seed(seed)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4, attention_head_dim=8,
        cross_attention_dim=32, num_layers=1, caption_channels=32,
    ).eval()
    torch.manual_seed(seed)
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False),
        decoder_inject_noise=(False, False, False, False, False), upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1), timestep_conditioning=False, patch_size=4, patch_size_t=1,
        encoder_causal=True, decoder_causal=False,
    ).eval()
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    pipe = LTXConditionPipeline(transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(),
                                text_encoder=t5_encoder(seed=seed), tokenizer=t5_tokenizer())
    pipe.save_pretrained(str(folder))
    return folder


def save_ltx_upsampler(folder: Path, seed: int = 0) -> Path:
    """LTX-Video's spatial latent upsampler (``LTXLatentUpsamplerModel``, 2x) for the tiny LTX's 8 latent
    channels; saved alone, as a-r-r-o-w/LTX-0.9.8-Latent-Upsampler is (the backend pairs it with the video
    model's VAE in an ``LTXLatentUpsamplePipeline``)."""
    import torch
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    torch.manual_seed(seed)
    model = LTXLatentUpsamplerModel(in_channels=8, mid_channels=32, num_blocks_per_stage=1, dims=3,
                                    spatial_upsample=True, temporal_upsample=False).eval()
    model.save_pretrained(str(folder))
    return folder


def _clip_tokenizer() -> Any:
    from transformers import CLIPTokenizer

    # byte-level characters (GPT-2's byte-to-unicode table) as the vocabulary, no merges
    visible = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    extra = [b for b in range(256) if b not in visible]
    chars = [chr(b) for b in visible] + [chr(256 + n) for n in range(len(extra))]
    vocab = {c: i for i, c in enumerate(chars)}
    for c in chars:
        vocab.setdefault(c + "</w>", len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def save_sd_keyframe(folder: Path, seed: int = 0) -> Path:
    """Stable Diffusion (text-to-image) for keyframes, with a CLIP image processor so an
    IP-Adapter can be attached."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPImageProcessor, CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=2, attention_head_dim=2,
    ).eval()
    torch.manual_seed(seed)
    vae = AutoencoderKL(block_out_channels=[4, 8], in_channels=3, out_channels=3, norm_num_groups=2,
                        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
                        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4).eval()
    torch.manual_seed(seed)
    tokenizer = _clip_tokenizer()
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=len(tokenizer) - 2, eos_token_id=len(tokenizer) - 1, hidden_size=32, intermediate_size=37,
        layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=2, pad_token_id=1,
        vocab_size=len(tokenizer), max_position_embeddings=77,
    )).eval()
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   scheduler=scheduler, safety_checker=None,
                                   feature_extractor=CLIPImageProcessor(crop_size=32, size=32),
                                   image_encoder=None, requires_safety_checker=False)
    pipe.save_pretrained(str(folder))
    return folder


def save_ip_adapter(folder: Path, sd_folder: Path, seed: int = 0) -> Path:
    """An IP-Adapter for the tiny Stable Diffusion at ``sd_folder``: its weights as
    ``ip-adapter.safetensors`` and its CLIP image encoder in ``image_encoder/``, the
    layout of h94/IP-Adapter."""
    import torch
    from diffusers import UNet2DConditionModel
    from diffusers.models.attention_processor import IPAdapterAttnProcessor
    from diffusers.models.embeddings import ImageProjection
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    unet = UNet2DConditionModel.from_pretrained(str(sd_folder), subfolder="unet")
    cross = unet.config.cross_attention_dim
    torch.manual_seed(seed)
    flat: dict[str, torch.Tensor] = {}
    key_id = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = unet.config.block_out_channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(unet.config.block_out_channels))[int(name[len("up_blocks.")])]
        else:
            hidden = unet.config.block_out_channels[int(name[len("down_blocks.")])]
        sd = IPAdapterAttnProcessor(hidden_size=hidden, cross_attention_dim=cross, scale=1.0).state_dict()
        flat[f"ip_adapter.{key_id}.to_k_ip.weight"] = sd["to_k_ip.0.weight"].contiguous()
        flat[f"ip_adapter.{key_id}.to_v_ip.weight"] = sd["to_v_ip.0.weight"].contiguous()
        key_id += 2
    projection = ImageProjection(cross_attention_dim=cross, image_embed_dim=cross, num_image_text_embeds=4)
    sd = projection.state_dict()
    flat.update({"image_proj.proj.weight": sd["image_embeds.weight"], "image_proj.proj.bias": sd["image_embeds.bias"],
                 "image_proj.norm.weight": sd["norm.weight"], "image_proj.norm.bias": sd["norm.bias"]})
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in flat.items()}, str(folder / "ip-adapter.safetensors"))
    torch.manual_seed(seed)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=8, projection_dim=cross, num_hidden_layers=1, num_attention_heads=2, image_size=32,
        intermediate_size=16, patch_size=4,
    )).eval()
    encoder.save_pretrained(str(folder / "image_encoder"))
    return folder


def safety_checker(seed: int = 0) -> Any:
    """A real ``StableDiffusionSafetyChecker`` with a tiny CLIP vision tower (32x32 input)."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig

    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config={"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                     "vocab_size": 99},
        vision_config={"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 4},
        projection_dim=8,
    )
    return StableDiffusionSafetyChecker(config).eval()


def save_sd_checked(folder: Path, sd_folder: Path, checker: Any, concept: Any = None, threshold: float = -2.0) -> Path:
    """The tiny Stable Diffusion at ``sd_folder`` saved with ``checker`` as its safety
    checker. Every one of its concepts becomes the embedding ``concept`` (as it is) with
    the threshold ``threshold``: the checker flags an image whose cosine to ``concept``
    is above it (at -2 every image, since cosines are at least -1), and nothing is
    special care."""
    import torch
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPImageProcessor

    with torch.no_grad():
        if concept is not None:
            checker.concept_embeds.copy_(torch.as_tensor(concept).reshape(1, -1).expand_as(checker.concept_embeds))
        checker.concept_embeds_weights.fill_(threshold)
        checker.special_care_embeds_weights.fill_(2.0)  # above any cosine: never
    pipe = StableDiffusionPipeline.from_pretrained(str(sd_folder), safety_checker=checker,
                                                   feature_extractor=CLIPImageProcessor(crop_size=32, size=32),
                                                   requires_safety_checker=True)
    pipe.save_pretrained(str(folder))
    return folder


BUILDERS = {
    "wan-t2v": save_wan_t2v,
    "wan-i2v": save_wan_i2v,
    "wan-vace": save_wan_vace,
    "ltx-condition": save_ltx_condition,
    "sd": save_sd_keyframe,
}


GEMMA_WORDS = WORDS + ["theo", "mara", "night", "lighthouse", "keeper", "listen", "hear", "sound", "voice"]


def gemma_tokenizer() -> Any:
    """A Gemma tokenizer (``GemmaTokenizerFast``) over a small in-memory word vocabulary, padding on the
    left as LTX-2's pipelines pad Gemma prompts."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GemmaTokenizerFast

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}
    for word in dict.fromkeys(GEMMA_WORDS):
        vocab[word] = len(vocab)
    for c in "abcdefghijklmnopqrstuvwxyz0123456789.,;:'\"!?-()":
        vocab.setdefault(c, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    return GemmaTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                              unk_token="<unk>", padding_side="left", add_bos_token=True, add_eos_token=False)


def gemma3_encoder(seed: int = 0, hidden: int = 32, layers: int = 2) -> Any:
    """A tiny ``Gemma3ForConditionalGeneration`` (text and SigLIP vision towers), the class LTX-2's
    pipelines take as their text encoder (the real one: Gemma 3 12B)."""
    import torch
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3TextConfig, SiglipVisionConfig

    torch.manual_seed(seed)
    text = Gemma3TextConfig(vocab_size=160, hidden_size=hidden, intermediate_size=32, num_hidden_layers=layers,
                            num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=256,
                            sliding_window=64, pad_token_id=0, bos_token_id=2, eos_token_id=1)
    vision = SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                image_size=28, patch_size=14)
    config = Gemma3Config(text_config=text.to_dict(), vision_config=vision.to_dict(), mm_tokens_per_image=4,
                          boi_token_index=150, eoi_token_index=151, image_token_index=152)
    return Gemma3ForConditionalGeneration(config).eval()


def save_ltx2(folder: Path, seed: int = 0) -> Path:
    """LTX-2 (``LTX2ConditionPipeline``) with the real model's rules where they shape the calls: a video VAE
    compressing 32x in space and 8x in time (8k+1 frames), an audio VAE on 16 kHz stereo log-mel spectrograms
    of 64 bins at hop 160 compressing 4x in time and in mel bins (25 latent frames a second; 2 latent
    channels x 16 bins = the transformer's 32 audio features, where the real model has 8 x 16 = 128: diffusers
    keeps the audio latents' statistics per packed feature, as many as the VAE's base channels), a vocoder
    out to 24 kHz, Gemma 3 as the text
    encoder, and the scheduler class the real repository ships (FlowMatchEulerDiscreteScheduler). Stored in
    bfloat16 as the LTX-2 repositories store their weights."""
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2ConditionPipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    text_encoder = gemma3_encoder(seed)
    hidden, layers = text_encoder.config.text_config.hidden_size, text_encoder.config.text_config.num_hidden_layers
    torch.manual_seed(seed)
    transformer = LTX2VideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, audio_in_channels=32, audio_out_channels=32, audio_num_attention_heads=2,
        audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=2, qk_norm="rms_norm_across_heads",
        caption_channels=hidden, rope_double_precision=False, rope_type="split",
    ).eval()
    torch.manual_seed(seed)
    connectors = LTX2TextConnectors(
        caption_channels=hidden, text_proj_in_factor=layers + 1, video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8, video_connector_num_layers=1,
        video_connector_num_learnable_registers=None, audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32, rope_theta=10000.0,
        rope_double_precision=False, causal_temporal_positioning=False, rope_type="split",
    ).eval()
    torch.manual_seed(seed)
    vae = AutoencoderKLLTX2Video(  # the real layout: down spatial, temporal, then spatiotemporal twice (32x, 8x)
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        down_block_types=("LTX2VideoDownBlock3D",) * 4, decoder_block_out_channels=(8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, True), decoder_spatio_temporal_scaling=(True, True, True),
        decoder_inject_noise=(False, False, False, False),
        downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
        upsample_type=("spatiotemporal",) * 3, upsample_residual=(False, False, False), upsample_factor=(1, 1, 1),
        timestep_conditioning=False, patch_size=4, patch_size_t=1, encoder_causal=True, decoder_causal=False,
        spatial_compression_ratio=32, temporal_compression_ratio=8,
    ).eval()
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    torch.manual_seed(seed)
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=32, output_channels=2, ch_mult=(1, 2, 4), num_res_blocks=1, attn_resolutions=None,
        in_channels=2, resolution=64, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True, mel_bins=64,
    ).eval()
    torch.manual_seed(seed)
    vocoder = LTX2Vocoder(
        in_channels=2 * 64, hidden_channels=32, out_channels=2, upsample_kernel_sizes=[12, 10, 4, 4, 4],
        upsample_factors=[6, 5, 2, 2, 2], resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1, output_sampling_rate=24000,
    ).eval()
    pipe = LTX2ConditionPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05,
                                                  base_image_seq_len=1024, max_image_seq_len=4096,
                                                  shift_terminal=0.1),
        vae=vae, audio_vae=audio_vae, text_encoder=text_encoder, tokenizer=gemma_tokenizer(),
        connectors=connectors, transformer=transformer, vocoder=vocoder,
    )
    pipe.to(torch.bfloat16)
    pipe.save_pretrained(str(folder))
    return folder


def save_ltx2_upsampler(folder: Path, seed: int = 0) -> Path:
    """LTX-2's 2x spatial latent upsampler for the tiny LTX-2's 8 latent channels, saved in a
    ``latent_upsampler/`` subfolder as the LTX-2 repositories ship it."""
    import torch
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

    torch.manual_seed(seed)
    model = LTX2LatentUpsamplerModel(in_channels=8, mid_channels=32, num_blocks_per_stage=1).eval()
    model.to(torch.bfloat16).save_pretrained(str(Path(folder) / "latent_upsampler"))
    return folder


def save_wan_lora(path: Path, model_folder: Path, seed: int = 0, *, rank: int = 4) -> Path:
    """A LoRA file for the Wan transformer saved in ``model_folder`` (as diffusers' tests/lora/utils.py
    makes them): a peft ``LoraConfig`` on the attention projections, random weights (``init_lora_weights=
    False``: B is not zero, so the LoRA changes the output), saved with ``WanPipeline.save_lora_weights``."""
    import torch
    from diffusers import WanPipeline, WanTransformer3DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    transformer = WanTransformer3DModel.from_pretrained(str(model_folder), subfolder="transformer",
                                                        torch_dtype=torch.bfloat16).eval()
    torch.manual_seed(seed)
    transformer.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False,
                                       target_modules=["to_q", "to_k", "to_v", "to_out.0"]), adapter_name="made")
    layers = get_peft_model_state_dict(transformer, adapter_name="made")
    WanPipeline.save_lora_weights(str(path.parent), transformer_lora_layers=layers, weight_name=path.name)
    return path
