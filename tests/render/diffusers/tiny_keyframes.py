"""Tiny random-weight keyframe pipelines that take reference images (see :mod:`.tiny`).

- **FLUX.2 [klein]** (:func:`save_flux2_klein`): ``Flux2Transformer2DModel`` (no guidance
  embedding), ``AutoencoderKLFlux2`` (four levels: 8x, as the real VAE), a ``Qwen3ForCausalLM``
  text encoder with 28 layers (the pipeline stacks hidden states 9, 18 and 27, as for Qwen3 4B)
  and a ``Qwen2TokenizerFast`` with a chat template, saved as a ``Flux2KleinPipeline`` with
  ``is_distilled`` (model_index.json), as black-forest-labs/FLUX.2-klein-4B ships.
- **FLUX.2 [dev]** (:func:`save_flux2_dev`): ``Flux2Transformer2DModel`` with its guidance
  embedding, the same VAE, a ``Mistral3ForConditionalGeneration`` text encoder (a Pixtral vision
  tower, 30 text layers: the pipeline stacks hidden states 10, 20 and 30, as for Mistral Small
  3.1) and its tokenizer folder as black-forest-labs/FLUX.2-dev holds a ``PixtralProcessor``
  (tokenizer files, the chat template, the image processor's config), saved as a ``Flux2Pipeline``.
- **Qwen-Image-Edit-2509 / 2511** (:func:`save_qwen_image_edit`): ``QwenImageTransformer2DModel``,
  ``AutoencoderKLQwenImage`` (8x), a ``Qwen2_5_VLForConditionalGeneration`` text encoder whose
  vision tower reads the input pictures, its tokenizer and a ``Qwen2VLProcessor``, saved as a
  ``QwenImageEditPlusPipeline``.

Configs after diffusers' tests/pipelines/flux2/test_pipeline_flux2_klein.py and
tests/pipelines/qwenimage/test_qwenimage_edit_plus.py; the tokenizers are built in memory
(word-level vocabularies with the special tokens the pipelines and processor use) instead of
the hub's tiny test tokenizers. Every part in bf16, as the model cards load them (their examples
give one ``torch_dtype=torch.bfloat16``); ``FlowMatchEulerDiscreteScheduler`` with the shifting the repositories ship.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.render.diffusers.tiny import _half

#: the ChatML template the Qwen tokenizers carry (enough of it: roles, contents, the generation prompt)
CHAT_TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
                 "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
           "<|video_pad|>"]


def qwen_tokenizer() -> Any:
    """A ``Qwen2TokenizerFast`` over a small word vocabulary, ChatML special tokens, a chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import Qwen2TokenizerFast

    words = ("a the of and in at with by to is on his her their shot wide medium close up film warm soft light "
             "night dusk day kitchen quay sea table woman man green coat brown cardigan lamp stone picture "
             "describe image user system assistant generate new key features colour shape size texture objects "
             "background then explain how text instruction should alter or modify that meets requirements "
             "while maintaining consistency original input where appropriate").split()
    vocab = {token: i for i, token in enumerate(["<unk>", *SPECIAL, *dict.fromkeys(words)])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = Qwen2TokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<|endoftext|>",
                                   eos_token="<|im_end|>", additional_special_tokens=SPECIAL[1:])
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _flow_scheduler(**shifting: Any) -> Any:
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, base_image_seq_len=256, base_shift=0.5,
                                           **shifting)


def _flux2_vae(seed: int) -> Any:
    """FLUX.2's ``AutoencoderKLFlux2`` (klein's and dev's alike) at a tiny width: four levels, 8x."""
    import torch
    from diffusers import AutoencoderKLFlux2

    torch.manual_seed(seed)
    return AutoencoderKLFlux2(
        block_out_channels=(8, 8, 8, 8), layers_per_block=1, latent_channels=4, norm_num_groups=4,
        sample_size=32, use_quant_conv=False, use_post_quant_conv=False,
    ).eval()


def save_flux2_klein(folder: Path, seed: int = 0) -> Path:
    """FLUX.2 [klein], step-distilled (``is_distilled``), at a tiny width."""
    import torch
    from diffusers import Flux2KleinPipeline, Flux2Transformer2DModel
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tokenizer = qwen_tokenizer()
    torch.manual_seed(seed)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=48, timestep_guidance_channels=256, axes_dims_rope=[4, 4, 4, 4],
        guidance_embeds=False,
    ).eval()
    torch.manual_seed(seed)
    text_encoder = Qwen3ForCausalLM(Qwen3Config(
        hidden_size=16, intermediate_size=16, num_hidden_layers=28, num_attention_heads=2, num_key_value_heads=2,
        head_dim=8, vocab_size=len(tokenizer), max_position_embeddings=512,
    )).eval()
    vae = _flux2_vae(seed)
    # FLUX.2's scheduler config: dynamic shifting up to 1.15 at 4096 tokens (black-forest-labs/FLUX.2-klein-4B)
    pipe = Flux2KleinPipeline(scheduler=_flow_scheduler(max_shift=1.15, max_image_seq_len=4096, shift=3.0),
                              vae=_half(vae), text_encoder=_half(text_encoder), tokenizer=tokenizer,
                              transformer=_half(transformer), is_distilled=True)
    pipe.save_pretrained(folder)
    return folder


#: Mistral Small 3.1's chat template, enough of it: the system prompt, then each user turn's text (and its
#: pictures as [IMG]) inside [INST] ... [/INST]; the content comes as a list of typed parts, as FLUX.2 gives it
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set text = namespace(v='') %}{% for part in message['content'] %}"
    "{% if part['type'] == 'text' %}{% set text.v = text.v + part['text'] %}"
    "{% elif part['type'] == 'image' %}{% set text.v = text.v + '[IMG]' %}{% endif %}{% endfor %}"
    "{% if message['role'] == 'system' %}[SYSTEM_PROMPT]{{ text.v }}[/SYSTEM_PROMPT]"
    "{% elif message['role'] == 'user' %}[INST]{{ text.v }}[/INST]"
    "{% else %}{{ text.v }}{{ eos_token }}{% endif %}{% endfor %}")
MISTRAL_SPECIAL = ["[INST]", "[/INST]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[IMG]", "[IMG_BREAK]", "[IMG_END]"]


def mistral_tokenizer() -> Any:
    """A fast tokenizer over a small word vocabulary with Mistral's special tokens and chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ("a the of and in at with by to is on his her their shot wide medium close up film warm soft light "
             "night dusk day kitchen quay sea table woman man green coat brown cardigan lamp stone you are an ai "
             "that reasons about describe image descriptions give structured responses maintaining factual accuracy "
             "avoiding embellishments").split()
    vocab = {token: i for i, token in enumerate(["<unk>", "<s>", "</s>", "<pad>", *MISTRAL_SPECIAL,
                                                 *dict.fromkeys(words)])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                        pad_token="<pad>", additional_special_tokens=MISTRAL_SPECIAL)
    tokenizer.chat_template = MISTRAL_TEMPLATE
    return tokenizer


def save_flux2_dev(folder: Path, seed: int = 0) -> Path:
    """FLUX.2 [dev] (``Flux2Pipeline``, guidance-distilled: a guidance embedding) at a tiny width."""
    import torch
    from diffusers import Flux2Pipeline, Flux2Transformer2DModel
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration

    tokenizer = mistral_tokenizer()
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in ("<s>", "</s>", "<pad>", "[IMG]")}
    torch.manual_seed(seed)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=48, timestep_guidance_channels=256, axes_dims_rope=[4, 4, 4, 4],
        guidance_embeds=True,
    ).eval()
    torch.manual_seed(seed)
    config = Mistral3Config(
        text_config={"model_type": "mistral", "vocab_size": len(tokenizer), "hidden_size": 16, "intermediate_size": 37,
                     "max_position_embeddings": 512, "num_attention_heads": 4, "num_hidden_layers": 30,
                     "num_key_value_heads": 2, "head_dim": 4, "rms_norm_eps": 1e-05, "rope_theta": 1000000000.0,
                     "sliding_window": None, "bos_token_id": ids["<s>"], "eos_token_id": ids["</s>"],
                     "pad_token_id": ids["<pad>"]},
        vision_config={"model_type": "pixtral", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 4,
                       "intermediate_size": 37, "image_size": 30, "patch_size": 6, "num_channels": 3},
        bos_token_id=ids["<s>"], eos_token_id=ids["</s>"], pad_token_id=ids["<pad>"], image_seq_length=4,
        vision_feature_layer=-1, image_token_index=ids["[IMG]"],
    )
    text_encoder = Mistral3ForConditionalGeneration(config).eval()
    vae = _flux2_vae(seed)
    # FLUX.2's scheduler config: dynamic shifting up to 1.15 at 4096 tokens (black-forest-labs/FLUX.2-dev)
    pipe = Flux2Pipeline(scheduler=_flow_scheduler(max_shift=1.15, max_image_seq_len=4096, shift=3.0),
                         vae=_half(vae), text_encoder=_half(text_encoder), tokenizer=tokenizer,
                         transformer=_half(transformer))
    pipe.save_pretrained(folder)
    # the tokenizer folder as the real repository holds its PixtralProcessor: the tokenizer with the chat
    # template, the image processor's config and the processor's own; transformers builds a PixtralProcessor
    # object only with torchvision, so it is written part by part
    from transformers import PixtralImageProcessorPil

    PixtralImageProcessorPil(patch_size=6).save_pretrained(folder / "tokenizer")
    (folder / "tokenizer" / "processor_config.json").write_text(json.dumps({
        "processor_class": "PixtralProcessor", "patch_size": 6, "spatial_merge_size": 2, "image_token": "[IMG]",
        "image_break_token": "[IMG_BREAK]", "image_end_token": "[IMG_END]"}, indent=2))
    index = json.loads((folder / "model_index.json").read_text())
    index["tokenizer"] = ["transformers", "PixtralProcessor"]
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))
    return folder


def save_qwen_image_edit(folder: Path, seed: int = 0) -> Path:
    """Qwen-Image-Edit-2509 / 2511 (``QwenImageEditPlusPipeline``) at a tiny width."""
    import torch
    from diffusers import AutoencoderKLQwenImage, QwenImageEditPlusPipeline, QwenImageTransformer2DModel
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
    )

    tokenizer = qwen_tokenizer()
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL}
    torch.manual_seed(seed)
    transformer = QwenImageTransformer2DModel(
        patch_size=2, in_channels=16, out_channels=4, num_layers=2, attention_head_dim=16, num_attention_heads=3,
        joint_attention_dim=16, guidance_embeds=False, axes_dims_rope=(8, 4, 4),
    ).eval()
    torch.manual_seed(seed)
    z_dim = 4
    vae = AutoencoderKLQwenImage(
        base_dim=z_dim * 6, z_dim=z_dim, dim_mult=[1, 2, 4, 4], num_res_blocks=1,
        temperal_downsample=[False, True, True], latents_mean=[0.0] * z_dim, latents_std=[1.0] * z_dim,
    ).eval()
    torch.manual_seed(seed)
    config = Qwen2_5_VLConfig(
        text_config={"hidden_size": 16, "intermediate_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
                     "num_key_value_heads": 2, "vocab_size": len(tokenizer),
                     "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
                     "rope_theta": 1000000.0},
        vision_config={"depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": 16},
        hidden_size=16, vocab_size=len(tokenizer), image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    text_encoder = Qwen2_5_VLForConditionalGeneration(config).eval()
    # Qwen-Image's scheduler config (Qwen/Qwen-Image-Edit-2509 scheduler_config.json): exponential dynamic shifting
    scheduler = _flow_scheduler(max_shift=0.9, max_image_seq_len=8192, shift=1.0, shift_terminal=0.02,
                                time_shift_type="exponential")
    pipe = QwenImageEditPlusPipeline(transformer=_half(transformer), vae=_half(vae), scheduler=scheduler,
                                     text_encoder=_half(text_encoder), tokenizer=tokenizer, processor=None)
    pipe.save_pretrained(folder)
    # the processor as the real repository holds it (processor/: the tokenizer and the image
    # processor's config, model_index naming transformers' Qwen2VLProcessor), written part by part:
    # transformers builds a Qwen2VLProcessor object only with torchvision
    qwen_tokenizer().save_pretrained(folder / "processor")
    Qwen2VLImageProcessorPil().save_pretrained(folder / "processor")
    index = json.loads((folder / "model_index.json").read_text())
    index["processor"] = ["transformers", "Qwen2VLProcessor"]
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))
    return folder


BUILDERS = {"flux2": save_flux2_dev, "flux2-klein": save_flux2_klein, "qwen-image-edit": save_qwen_image_edit}
