"""The model registry: which weights each generator uses, where they live, and how
they load.

A model is named in the registry and described by a :class:`ModelSpec`: its family
(what code loads it), its source (a Hugging Face hub id or a local folder), revision,
dtype, device and family options (steps, guidance, frames per chunk, offload...).
Specs come from three places, later ones overriding earlier ones by name:

1. the built-in entries below (well-known public models, by hub id);
2. a user file, ``$STUDIO_MODELS`` or ``~/.config/studio/models.yaml``;
3. the screenplay's ``film.render.options.models``.

Loading follows diffusers' and transformers' own convention,
``Class.from_pretrained(source, revision=..., torch_dtype=...)``, and honours
``HF_HUB_OFFLINE``: offline, nothing is fetched and a model whose weights are not on
disk is a clear error saying where to put them. Loaded models are kept for the run,
so a pipeline loads once and serves every shot.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from studio.errors import StudioError

USER_FILE_ENV = "STUDIO_MODELS"
DTYPES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str
    source: str  # a hub id ("org/name") or a local folder
    revision: str | None = None
    dtype: str = "float32"
    device: str = "auto"  # "auto": cuda when available, else cpu
    options: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    size: str = ""  # parameters, as its card gives them ("1.3B", "19B + 12B text encoder")
    vram: str = ""  # the GPU memory its card (or our count) says it needs, and how placed

    #: what a spec says about the model that changes no output: never in a cache key
    ABOUT = ("description", "device", "size", "vram")

    @property
    def is_local(self) -> bool:
        return self.source.startswith((".", "/", "~")) or Path(self.source).expanduser().is_dir()

    def local_folder(self) -> Path | None:
        """Where the weights are on this machine, or None when they are not here."""
        if self.is_local:
            folder = Path(self.source).expanduser()
            return folder if folder.is_dir() else None
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(self.source, revision=self.revision, local_files_only=True))
        except Exception:  # noqa: BLE001 - any failure here means "not on disk"
            return None

    def key(self) -> dict[str, Any]:
        """What about the model changes its output (for cache keys): for a local folder
        the hash of its config files, since the path alone says nothing."""
        data = {k: v for k, v in asdict(self).items() if k not in self.ABOUT}
        data["options"] = dict(self.options)
        if self.is_local:
            folder = self.local_folder()
            data["source"] = "local"
            data["content"] = folder_digest(folder) if folder else None
        return data

    def torch_dtype(self) -> Any:
        import torch

        return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[self.dtype]

    def torch_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"


def folder_digest(folder: Path) -> str:
    """A digest of a saved model folder: its small files whole, and for large weight
    files their size plus their first and last MiB (cheap even for 30 GB of weights,
    and different for any two differently trained checkpoints)."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        h.update(path.relative_to(folder).as_posix().encode())
        feed_file(h, path)
    return h.hexdigest()


def feed_file(h: Any, path: Path) -> None:
    """Feed one weight file to the hash ``h`` as :func:`folder_digest` does: its size, then
    its bytes whole up to 4 MiB, else its first and last MiB."""
    size = path.stat().st_size
    h.update(str(size).encode())
    with open(path, "rb") as f:
        if size <= 4 << 20:
            h.update(f.read())
        else:
            h.update(f.read(1 << 20))
            f.seek(-(1 << 20), os.SEEK_END)
            h.update(f.read())


# Well-known public models. Nothing here is downloaded by studio itself: fetch them
# with `huggingface-cli download <source>` (or point `source` at a local folder).
BUILTIN: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        # Wan 2.1 recipes are its authors' (Wan-Video/Wan2.1 generate.py): 50 steps for text-to-video and VACE,
        # 40 for image-to-video; flow shift 3.0 for image-to-video at 480p, 16 for VACE; guidance 5.0, except
        # T2V-1.3B, for which the Wan2.1 README gives guidance 6 and shift 8 (8-12) at 480p. All generate at 16 fps
        # (Wan2.1 shared_config.py sample_fps), bf16 transformer, float32 VAE and CLIP image encoder.
        ModelSpec("wan2.1-t2v-1.3b", "wan-t2v", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", dtype="bfloat16",
                  options={"steps": 50, "guidance": 6.0, "frames_per_chunk": 81, "resolution": "832x480",
                           "flow_shift": 8.0},
                  description="Wan 2.1 text-to-video, 1.3B (about 8 GB VRAM with offload)",
                  size="1.3B", vram="8.19 GB (Wan2.1 README)"),
        ModelSpec("wan2.1-i2v-14b-480p", "wan-i2v", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", dtype="bfloat16",
                  options={"steps": 40, "guidance": 5.0, "frames_per_chunk": 81, "resolution": "832x480",
                           "flow_shift": 3.0},
                  description="Wan 2.1 image-to-video, 14B, 480p",
                  size="14B", vram="35 GB or more (diffusers' Wan docs); less with sequential offload"),
        ModelSpec("wan2.1-vace-1.3b", "wan-vace", "Wan-AI/Wan2.1-VACE-1.3B-diffusers", dtype="bfloat16",
                  options={"steps": 50, "guidance": 5.0, "frames_per_chunk": 81, "resolution": "832x480",
                           "flow_shift": 16.0},
                  description="Wan 2.1 VACE (reference images and frame conditioning), 1.3B",
                  size="1.3B", vram="about 8 GB, as the 1.3B text-to-video"),
        # Wan 2.2 (Wan-Video/Wan2.2). TI2V-5B: one 5B transformer on the Wan 2.2 VAE (16x spatial, 48 channels:
        # sizes in multiples of 32), text-to-video and image-to-video from one checkpoint (its pipeline config sets
        # ``expand_timesteps``; WanImageToVideoPipeline loads the same repository and conditions on the first
        # frame's latents). Recipe from wan/configs/wan_ti2v_5B.py: 50 steps, guidance 5.0, shift 5.0, 121 frames at
        # 24 fps; 1280x704 (SUPPORTED_SIZES: 1280*704 / 704*1280). bf16 transformer and UMT5 (the configs'
        # param_dtype / t5_dtype), VAE float32 as diffusers' Wan docs advise. The Wan2.2 README: 24 GB VRAM with its
        # offload (an RTX 4090: 535 s for a 720p text-to-video clip, 525 s image-to-video; assets/comp_effic.png).
        ModelSpec("wan2.2-ti2v-5b", "wan-t2v", "Wan-AI/Wan2.2-TI2V-5B-Diffusers", dtype="bfloat16",
                  options={"steps": 50, "guidance": 5.0, "frames_per_chunk": 121, "resolution": "1280x704",
                           "flow_shift": 5.0, "fps": 24},
                  description="Wan 2.2 TI2V-5B text-to-video, 720p at 24 fps (about 24 GB VRAM with offload)",
                  size="5B", vram="24 GB with its offload (Wan2.2 README); 43.5 GiB peak at 1280x704 with "
                  "offload: none on an H200 (bench/gpu_check.py, 2026-12-04)"),
        ModelSpec("wan2.2-ti2v-5b-i2v", "wan-i2v", "Wan-AI/Wan2.2-TI2V-5B-Diffusers", dtype="bfloat16",
                  options={"steps": 50, "guidance": 5.0, "frames_per_chunk": 121, "resolution": "1280x704",
                           "flow_shift": 5.0, "fps": 24},
                  description="Wan 2.2 TI2V-5B image-to-video (the same weights): continues from the last frame",
                  size="5B", vram="24 GB with its offload (Wan2.2 README); 43.5 GiB peak at 1280x704 with "
                  "offload: none on an H200 (bench/gpu_check.py, 2026-12-04)"),
        # Wan 2.2 A14B: two 14B experts, ``transformer`` for the high-noise steps (t >= boundary_ratio * 1000) and
        # ``transformer_2`` for the rest; the boundary is in the pipeline config (0.875 text-to-video, 0.9
        # image-to-video: diffusers' scripts/convert_wan_to_diffusers.py, as wan/configs ``boundary``). Recipes
        # from wan/configs/wan_t2v_A14B.py and wan_i2v_A14B.py: 40 steps; guidance (high, low) (4.0, 3.0) for
        # text-to-video, (3.5, 3.5) for image-to-video (``sample_guide_scale`` lists low noise first); shift 12.0 /
        # 5.0; 81 frames at 16 fps (shared_config.py); 1280x720 (the README's commands; 832x480 is supported too).
        # The Wan2.2 README: 80 GB of VRAM on one GPU with its offload; an H100: 1042 s (t2v) / 1056 s (i2v) a
        # 720p clip at 59.8 GB peak, 327 s / 328 s at 480p (41 GB) (assets/comp_effic.png).
        ModelSpec("wan2.2-t2v-a14b", "wan-t2v", "Wan-AI/Wan2.2-T2V-A14B-Diffusers", dtype="bfloat16",
                  options={"steps": 40, "guidance": 4.0, "guidance_2": 3.0, "frames_per_chunk": 81,
                           "resolution": "1280x720", "flow_shift": 12.0},
                  description="Wan 2.2 T2V-A14B text-to-video, two 14B experts, 720p (80 GB VRAM class)",
                  size="2 x 14B experts", vram="80 GB with its offload; 59.8 GB peak at 720p (Wan2.2 README); "
                  "beside the other A14B pair with offload: none, out of memory on an H200 (117.5 GiB of bf16 "
                  "weights: bench/gpu_check.py, 2026-12-04)"),
        ModelSpec("wan2.2-i2v-a14b", "wan-i2v", "Wan-AI/Wan2.2-I2V-A14B-Diffusers", dtype="bfloat16",
                  options={"steps": 40, "guidance": 3.5, "guidance_2": 3.5, "frames_per_chunk": 81,
                           "resolution": "1280x720", "flow_shift": 5.0},
                  description="Wan 2.2 I2V-A14B image-to-video, two 14B experts, 720p (80 GB VRAM class)",
                  size="2 x 14B experts", vram="80 GB with its offload; 59.8 GB peak at 720p (Wan2.2 README); "
                  "beside the other A14B pair with offload: none, out of memory on an H200 (117.5 GiB of bf16 "
                  "weights: bench/gpu_check.py, 2026-12-04)"),
        # Wan 2.2 VACE-Fun A14B (alibaba-pai, on the T2V-A14B experts): WanVACEPipeline with transformer_2 and
        # boundary_ratio 0.875, in diffusers format as converted by diffusers' scripts/convert_wan_to_diffusers.py
        # (model type Wan2.2-VACE-Fun-14B; a Hugging Face staff upload, not Wan-AI's). Recipe: VideoX-Fun
        # examples/wan2.2_vace_fun/predict_*.py: 50 steps, guidance 5.0 (one scale for both experts), shift 12.0,
        # 81 frames at 16 fps, 832x480.
        ModelSpec("wan2.2-vace-fun-a14b", "wan-vace", "linoyts/Wan2.2-VACE-Fun-14B-diffusers", dtype="bfloat16",
                  options={"steps": 50, "guidance": 5.0, "frames_per_chunk": 81, "resolution": "832x480",
                           "flow_shift": 12.0},
                  description="Wan 2.2 VACE-Fun A14B (references and frame conditioning), two 14B experts, 480p",
                  size="2 x 14B experts", vram="as Wan 2.2 A14B: 80 GB class"),
        # LTX-Video 0.9.5: LTXConditionPipeline's own 50 steps; guidance 5.0 ("for any [not guidance-distilled]
        # model ... higher, like 5.0": diffusers' ltx_video.md); 24 fps; bf16 for every part (the same page)
        ModelSpec("ltx-video-0.9.5", "ltx-condition", "Lightricks/LTX-Video-0.9.5", dtype="bfloat16",
                  options={"steps": 50, "guidance": 5.0, "frames_per_chunk": 161, "resolution": "768x512"},
                  description="LTX-Video 0.9.5 with LTXConditionPipeline",
                  size="2B", vram="about 15 GiB of bf16 weights with its T5 (gpu_check --count)"),
        # SkyReels-V2 diffusion forcing (studio/render/diffusers/forcing.py): a long take in one generation. Recipe of
        # its authors' generate_video_df.py (SkyworkAI/SkyReels-V2): 30 steps, guidance 6.0, shift 8.0, 24 fps, 544x960
        # at 540P; the README's long-video settings: synchronous (ar_step 0, causal_block_size 1), base_num_frames 97
        # at 540P and 121 at 720P, overlap_history 17, addnoise_condition 20 (diffusers' skyreels_v2.md and the
        # pipelines' docstrings give the same). One call makes up to 1457 frames, the README's 60-second take. Peak
        # VRAM at 540P per the README: 14.7 GB (1.3B), 51.2 GB (14B); bf16 transformer, float32 VAE (diffusers' docs).
        ModelSpec("skyreels-v2-df-1.3b-540p", "skyreels-df", "Skywork/SkyReels-V2-DF-1.3B-540P-Diffusers",
                  dtype="bfloat16",
                  options={"steps": 30, "guidance": 6.0, "flow_shift": 8.0, "resolution": "960x544",
                           "frames_per_chunk": 1457, "base_num_frames": 97, "overlap_history": 17, "ar_step": 0,
                           "causal_block_size": 1, "addnoise_condition": 20},
                  description="SkyReels-V2 diffusion forcing 1.3B, 540P: long takes in one generation (about "
                              "14.7 GB peak VRAM)",
                  size="1.3B", vram="14.7 GB peak at 540P (SkyReels-V2 README)"),
        ModelSpec("skyreels-v2-df-14b-540p", "skyreels-df", "Skywork/SkyReels-V2-DF-14B-540P-Diffusers",
                  dtype="bfloat16",
                  options={"steps": 30, "guidance": 6.0, "flow_shift": 8.0, "resolution": "960x544",
                           "frames_per_chunk": 1457, "base_num_frames": 97, "overlap_history": 17, "ar_step": 0,
                           "causal_block_size": 1, "addnoise_condition": 20},
                  description="SkyReels-V2 diffusion forcing 14B, 540P: long takes in one generation (about "
                              "51.2 GB peak VRAM)",
                  size="14B", vram="51.2 GB peak at 540P (SkyReels-V2 README)"),
        ModelSpec("skyreels-v2-df-14b-720p", "skyreels-df", "Skywork/SkyReels-V2-DF-14B-720P-Diffusers",
                  dtype="bfloat16",
                  options={"steps": 30, "guidance": 6.0, "flow_shift": 8.0, "resolution": "1280x720",
                           "frames_per_chunk": 1457, "base_num_frames": 121, "overlap_history": 17, "ar_step": 0,
                           "causal_block_size": 1, "addnoise_condition": 20},
                  description="SkyReels-V2 diffusion forcing 14B, 720P: long takes in one generation (peak VRAM "
                              "not published; above the 540P's 51.2 GB)",
                  size="14B", vram="not published; above the 540P's 51.2 GB"),
        ModelSpec("mms-tts-eng", "vits", "facebook/mms-tts-eng",
                  description="Meta MMS text-to-speech, English (VITS)", size="36M"),
        ModelSpec("musicgen-small", "musicgen", "facebook/musicgen-small",
                  options={"guidance": 3.0, "max_seconds": 30},
                  description="Meta MusicGen small (300M), text-to-music", size="300M"),
        # LTX-Video 0.9.8 13B distilled, the recipe of diffusers' ltx_video.md (its 0.9.8 example): guidance 1
        # (guidance- and timestep-distilled), the first pass's timesteps at 2/3 size, the latent upsampler 2x
        # (adain 1.0, tone map 0.6), then a short pass (denoise 0.999 over [1000, 909, 725, 421, 0]);
        # decode_timestep 0.05, decode_noise_scale 0.025, image_cond_noise_scale 0.0 as there.
        ModelSpec("ltx-video-0.9.8-distilled", "ltx-condition", "Lightricks/LTX-Video-0.9.8-13B-distilled",
                  dtype="bfloat16",
                  options={"steps": 8, "guidance": 1.0, "frames_per_chunk": 161, "resolution": "832x480",
                           "timesteps": [1000, 993, 987, 981, 975, 909, 725, 0.03], "guidance_rescale": 0.7,
                           "decode_timestep": 0.05, "decode_noise_scale": 0.025, "image_cond_noise_scale": 0.0,
                           "upsampler": "ltx-video-0.9.8-upsampler",
                           "upsample": {"downscale": 2 / 3, "adain_factor": 1.0, "tone_map_compression_ratio": 0.6,
                                        "denoise_strength": 0.999, "timesteps": [1000, 909, 725, 421, 0]}},
                  description="LTX-Video 0.9.8 13B distilled, with its latent upsampler (bf16 weights about "
                              "26 GB: model offload on 24 GB cards)",
                  size="13B", vram="about 26 GB of bf16 weights: model offload on 24 GB cards"),
        # the 0.9.8 spatial latent upsampler as diffusers' ltx_video.md loads it (LTXLatentUpsamplerModel)
        ModelSpec("ltx-video-0.9.8-upsampler", "ltx-upsampler", "a-r-r-o-w/LTX-0.9.8-Latent-Upsampler",
                  dtype="bfloat16", description="LTX-Video 0.9.8 spatial latent upsampler (2x)", size="0.13B"),
        # LTX-2 (picture and sound from one model). The full 19B model with its authors' LTX-2.0 parameters
        # (Lightricks/LTX-2 ltx-pipelines utils/constants.py LTX_2_PARAMS): 40 steps; video guidance 3.0, STG 1.0
        # on block 29, rescale 0.7, modality 3.0; audio guidance 7.0 (the pipeline's default); legacy LTX-2.0
        # cross-modal timesteps (use_cross_timestep False, LTX2ConditionPipeline's docstring); 121 frames at 24
        # fps, 768x512, one stage (its second stage needs the distilled LoRA). Weights: a 19B transformer (about
        # 38 GB in bf16) and a Gemma 3 12B text encoder (about 24 GB): diffusers' ltx2.md runs it with sequential
        # offload; model offload wants about 48 GB of VRAM.
        ModelSpec("ltx-2", "ltx2", "Lightricks/LTX-2", dtype="bfloat16",
                  options={"steps": 40, "guidance": 3.0, "frames_per_chunk": 121, "resolution": "768x512",
                           "stg_scale": 1.0, "spatio_temporal_guidance_blocks": [29], "guidance_rescale": 0.7,
                           "modality_scale": 3.0, "audio_guidance_scale": 7.0, "use_cross_timestep": False},
                  description="LTX-2 19B, picture and sound (about 62 GB of bf16 weights with its Gemma 3 12B)",
                  size="19B + Gemma 3 12B",
                  vram="63 GiB of bf16 weights (gpu_check --count): sequential offload; ~48 GB for model offload; "
                       "68.9 GiB peak at 768x512 with offload: none on an H200 (bench/gpu_check.py, 2026-12-04)"),
        # LTX-2 19B distilled, two stages as diffusers' ltx2.md "Distilled checkpoint generation": stage 1 at half
        # size over DISTILLED_SIGMA_VALUES (8 steps), the latent upsampler 2x, stage 2 over
        # STAGE_2_DISTILLED_SIGMA_VALUES (3 steps); no guidance of any kind (its authors' distilled.py denoises
        # with SimpleDenoiser: no CFG, STG or modality guidance, for the picture or the sound); 768x512 becomes
        # 1536x1024
        ModelSpec("ltx-2-distilled", "ltx2", "rootonchair/LTX-2-19b-distilled", dtype="bfloat16",
                  options={"steps": 8, "guidance": 1.0, "frames_per_chunk": 121, "resolution": "1536x1024",
                           "sigmas": [1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875],
                           "stg_scale": 0.0, "modality_scale": 1.0, "audio_guidance_scale": 1.0,
                           "audio_stg_scale": 0.0, "audio_modality_scale": 1.0, "use_cross_timestep": False,
                           "upsampler": "ltx-2-distilled-upsampler",
                           "upsample": {"downscale": 0.5, "sigmas": [0.909375, 0.725, 0.421875], "guidance": 1.0}},
                  description="LTX-2 19B distilled, two stages with its latent upsampler (picture and sound)",
                  size="19B + Gemma 3 12B",
                  vram="63 GiB of bf16 weights (gpu_check --count): sequential offload; ~48 GB for model offload; "
                       "82.6 GiB peak at 1536x1024 with offload: none on an H200 (bench/gpu_check.py, 2026-12-04)"),
        ModelSpec("ltx-2-distilled-upsampler", "ltx2-upsampler", "rootonchair/LTX-2-19b-distilled",
                  dtype="bfloat16", options={"subfolder": "latent_upsampler"},
                  description="LTX-2 spatial latent upsampler (2x), as the distilled repository ships it", size="0.5B"),
        # ----- keyframe models that take the characters' and the location's reference images (keyframe_model;
        # studio/render/diffusers/keyframes.py). They draw at the video model's generation size (multiples of 16).
        # FLUX.2 [klein] 4B / 9B, step-distilled (model_index.json: is_distilled true): 4 steps at guidance 1.0, as
        # diffusers' tests/pipelines/flux2/test_pipeline_flux2_klein.py runs black-forest-labs/FLUX.2-klein-4B and
        # the model cards advise; bf16 (the cards' example). VRAM: Black Forest Labs' klein release (about 13 GB for
        # 4B, 29 GB for 9B); Qwen3 4B / 8B text encoders.
        ModelSpec("flux2-klein-4b", "flux2-klein", "black-forest-labs/FLUX.2-klein-4B", dtype="bfloat16",
                  options={"steps": 4, "guidance": 1.0},
                  description="FLUX.2 [klein] 4B keyframes: the characters' and location's references as input "
                              "images, 4 steps",
                  size="4B + Qwen3 4B text encoder", vram="about 13 GB (Black Forest Labs)"),
        ModelSpec("flux2-klein-9b", "flux2-klein", "black-forest-labs/FLUX.2-klein-9B", dtype="bfloat16",
                  options={"steps": 4, "guidance": 1.0},
                  description="FLUX.2 [klein] 9B keyframes with references, 4 steps",
                  size="9B + Qwen3 8B text encoder", vram="about 29 GB (Black Forest Labs)"),
        # FLUX.2 [dev]: Flux2Pipeline's example (diffusers' pipeline_flux2.py; the model card): 50 steps (28 a good
        # trade-off, the card), guidance 4.0 (guidance-distilled: an embedded scale, one pass a step); bf16. A 32B
        # transformer and Mistral Small 3.1 24B: about 112 GB of bf16 weights, model offload on an 80 GB card.
        ModelSpec("flux2-dev", "flux2", "black-forest-labs/FLUX.2-dev", dtype="bfloat16",
                  options={"steps": 50, "guidance": 4.0},
                  description="FLUX.2 [dev] 32B keyframes with up to 10 references (about 112 GB of bf16 weights)",
                  size="32B + Mistral Small 3.1 24B", vram="about 112 GB of bf16 weights: offload: model"),
        # Qwen-Image-Edit-2511 (QwenImageEditPlusPipeline, several input images): its model card's call, 40 steps,
        # true_cfg_scale 4.0 with negative_prompt " ", guidance_scale 1.0; bf16. A 20B MMDiT and Qwen2.5-VL 7B:
        # about 57 GB of bf16 weights.
        ModelSpec("qwen-image-edit-2511", "qwen-image-edit", "Qwen/Qwen-Image-Edit-2511", dtype="bfloat16",
                  options={"steps": 40, "guidance": 4.0, "call_options": {"guidance_scale": 1.0}},
                  description="Qwen-Image-Edit-2511 keyframes: references as Picture 1..3 (20B; about 57 GB of "
                              "bf16 weights)",
                  size="20B + Qwen2.5-VL 7B", vram="about 57 GB of bf16 weights: offload: model below 80 GB"),
        # ----- LoRAs (studio.loras): a published step-distillation LoRA on Wan 2.1 T2V 14B, with its recipe.
        # lightx2v's StepDistill-CfgDistill LoRA (rank 64) from their repository
        # lightx2v/Wan2.1-T2V-14B-StepDistill-CfgDistill-Lightx2v (loras/), distilled with Self-Forcing (DMD) to 4
        # steps without classifier-free guidance: their distill configs run infer_steps 4 (timesteps 1000, 750, 500,
        # 250), enable_cfg false (guidance 1.0 here: WanPipeline then makes one pass a step), sample_shift 5.0.
        # The base model's own recipe (Wan2.1 generate.py for t2v-14B: 50 steps, guidance 5.0, shift 5.0) stays in
        # its options: the LoRA's recipe replaces it while the LoRA is active.
        ModelSpec("wan2.1-t2v-14b-lightx2v", "wan-t2v", "Wan-AI/Wan2.1-T2V-14B-Diffusers", dtype="bfloat16",
                  options={"steps": 50, "guidance": 5.0, "frames_per_chunk": 81, "resolution": "832x480",
                           "flow_shift": 5.0,
                           "loras": [{"source": "lightx2v/Wan2.1-T2V-14B-StepDistill-CfgDistill-Lightx2v",
                                      "weight_name": "loras/Wan21_T2V_14B_lightx2v_cfg_step_distill_lora_rank64"
                                                     ".safetensors",
                                      "adapter_name": "lightx2v", "weight": 1.0,
                                      "recipe": {"steps": 4, "guidance": 1.0, "flow_shift": 5.0}}]},
                  description="Wan 2.1 text-to-video 14B with lightx2v's 4-step distillation LoRA (no CFG)",
                  size="14B + LoRA rank 64", vram="as Wan 2.1 14B: 35 GB or more (diffusers' Wan docs)"),
    ]
}


def user_file() -> Path:
    env = os.environ.get(USER_FILE_ENV)
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "studio" / "models.yaml"


def _spec(name: str, data: Any, where: str) -> ModelSpec:
    if not isinstance(data, Mapping):
        raise StudioError(f"{where}: model {name!r} must be a mapping", hint="give family and source")
    known = {"family", "source", "revision", "dtype", "device", "options", "description", "size", "vram"}
    unknown = set(data) - known
    if unknown:
        raise StudioError(f"{where}: model {name!r} has unknown keys {sorted(unknown)}",
                          hint=f"known keys: {', '.join(sorted(known))}")
    for required in ("family", "source"):
        if not isinstance(data.get(required), str) or not data[required]:
            raise StudioError(f"{where}: model {name!r} needs {required!r}")
    dtype = data.get("dtype", "float32")
    if dtype not in DTYPES:
        raise StudioError(f"{where}: model {name!r} has dtype {dtype!r}", hint=f"use one of {', '.join(DTYPES)}")
    options = data.get("options", {}) or {}
    if not isinstance(options, Mapping):
        raise StudioError(f"{where}: model {name!r} options must be a mapping")
    return ModelSpec(name=name, family=data["family"], source=str(data["source"]), revision=data.get("revision"),
                     dtype=dtype, device=str(data.get("device", "auto")), options=dict(options),
                     description=str(data.get("description", "")), size=str(data.get("size", "")),
                     vram=str(data.get("vram", "")))


class Registry:
    """Named model specs, and the models loaded from them during one run."""

    def __init__(self, specs: Mapping[str, ModelSpec] | None = None) -> None:
        self.specs: dict[str, ModelSpec] = dict(BUILTIN if specs is None else specs)
        self._loaded: dict[str, Any] = {}

    @classmethod
    def default(cls, extra: Mapping[str, Any] | None = None, *, base_dir: Path | None = None) -> Registry:
        """Built-ins, then the user's file, then ``extra`` (the screenplay's models)."""
        registry = cls()
        path = user_file()
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise StudioError(f"{path}: invalid YAML: {exc}".splitlines()[0]) from None
            registry.update(data.get("models", data) if isinstance(data, Mapping) else {}, str(path), path.parent)
        if extra:
            registry.update(extra, "film.render.options.models", base_dir)
        return registry

    def update(self, entries: Mapping[str, Any], where: str, base_dir: Path | None = None) -> None:
        for name, data in entries.items():
            spec = _spec(str(name), data, where)
            if base_dir is not None and spec.source.startswith("."):
                spec = replace(spec, source=str((base_dir / spec.source).resolve()))
            if base_dir is not None and isinstance(spec.options.get("loras"), list):  # relative LoRA files too
                spec = replace(spec, options={**spec.options, "loras": [
                    {**e, "source": str((base_dir / e["source"]).resolve())}
                    if isinstance(e, Mapping) and str(e.get("source", "")).startswith(".") else e
                    for e in spec.options["loras"]]})
            self.specs[spec.name] = spec

    def add(self, spec: ModelSpec) -> None:
        self.specs[spec.name] = spec
        self._loaded.pop(spec.name, None)

    def get(self, name: str) -> ModelSpec:
        if name not in self.specs:
            import difflib

            close = difflib.get_close_matches(name, list(self.specs), n=1)
            raise StudioError(f"no model named {name!r} in the registry",
                              hint=f"did you mean {close[0]!r}?" if close else
                              f"configure it in {user_file()} or film.render.options.models")
        return self.specs[name]

    def names(self, family_prefix: str = "") -> list[str]:
        return sorted(n for n, s in self.specs.items() if s.family.startswith(family_prefix))

    def load(self, name: str, loader: Callable[[ModelSpec, str | Path], Any]) -> Any:
        """The model ``name``, loaded once per registry with ``loader(spec, where)``,
        where ``where`` is a local folder, or the hub id when online."""
        if name not in self._loaded:
            spec = self.get(name)
            self._loaded[name] = loader(spec, resolve_source(spec))
        return self._loaded[name]

    def provide(self, name: str, model: Any) -> None:
        """Serve ``model`` as the loaded model ``name`` for this run, instead of loading
        it from its source: ``bench/gpu_check.py`` hands over pipelines it built at the
        real architecture with random weights (no weights on disk, nothing to read)."""
        self.get(name)
        self._loaded[name] = model


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def resolve_source(spec: ModelSpec) -> str | Path:
    """A local folder when the weights are on disk; the hub id when they are not and
    we may fetch; else a clear error."""
    folder = spec.local_folder()
    if folder is not None:
        return folder
    if spec.is_local:
        raise StudioError(f"model {spec.name!r}: folder {spec.source} does not exist",
                          hint="point source at a folder written by save_pretrained")
    if offline():
        raise StudioError(
            f"model {spec.name!r} ({spec.source}) is not on this machine and HF_HUB_OFFLINE is set",
            hint=f"download it first (`huggingface-cli download {spec.source}`) or set source to a local folder",
        )
    return spec.source
