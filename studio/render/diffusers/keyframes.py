"""Keyframe models that take reference images themselves: FLUX.2 and Qwen-Image-Edit.

A cut's first frame drawn from the shot's prompt *and* its references, given to the
pipeline as its list of input images (``image=[...]``), each kept whole:

- **FLUX.2** (``Flux2Pipeline``, [dev]) and **FLUX.2 [klein]** (``Flux2KleinPipeline``):
  each reference is encoded by the VAE and its tokens sit beside the picture's in the
  transformer's sequence (multi-reference editing). The pipelines take no negative prompt
  (klein's unconditional pass uses ""; [dev] is guidance-distilled). A reference must be at
  least 64 pixels a side (``Flux2ImageProcessor.check_image_input``): smaller face crops are
  enlarged first.
- **Qwen-Image-Edit-2509 / 2511** (``QwenImageEditPlusPipeline``): the references are
  "Picture 1..n" to the Qwen2.5-VL text encoder (at 384x384 area) and to the VAE (at 1024x1024
  area); ``true_cfg_scale`` with a negative prompt is its guidance. It edits, so it always
  needs an input picture: a shot with no reference gets a plain grey canvas of the
  generation size, as an empty page to draw on.

The references are the on-screen characters' (face crop, else first reference image,
in the order the backend collects them), then the location's first reference image,
up to the model's ``max_references``. The pipelines have no safety checker: a keyframe is
drawn once. Generation sizes are multiples of 16 (the VAE's 8x times the 2x2 patch).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from studio.errors import RenderError, StudioError
from studio.models import ModelSpec
from studio.render.diffusers.settings import FAMILIES, keyframe_recipe

log = logging.getLogger("studio.render.diffusers")

#: the most references a call takes, by family, unless the model's ``max_references`` says otherwise:
#: FLUX.2 [dev] up to 10 reference images (Black Forest Labs' FLUX.2 announcement); klein: 4, our choice (multi-
#: reference, no published count we could read); Qwen-Image-Edit-2509's card: best with 1 to 3 input images
MAX_REFERENCES = {"flux2": 10, "flux2-klein": 4, "qwen-image-edit": 3}
#: Flux2ImageProcessor.check_image_input refuses a reference under 64 pixels a side
FLUX2_MIN_SIDE = 64


class ReferenceKeyframer:
    """A keyframe pipeline that takes its references as a list of input images."""

    has_adapter = False

    def __init__(self, pipe: Any, spec: ModelSpec) -> None:
        self.pipe = pipe
        self.family = spec.family
        family = FAMILIES[spec.family]
        self.steps, self.guidance, self.call_options = keyframe_recipe(spec)
        self.max_references = int(spec.options.get("max_references", MAX_REFERENCES[spec.family]))
        # the pipelines round a size down to vae_scale_factor * 2 (16 for the published VAEs): refuse instead
        self.size_multiple = max(int(family.size_multiple), 2 * int(getattr(pipe, "vae_scale_factor", 8)))
        self.name = spec.name

    def takes(self, count: int) -> int:
        """How many of ``count`` references one call gives the model."""
        return min(count, self.max_references)

    def draw(self, prompt: str, negative: str, width: int, height: int, references: list[Image.Image],
             generator: torch.Generator, output_type: str = "pil", *, shot_id: str = "") -> tuple[Any, int]:
        """The keyframe, and how many of ``references`` (from the first) reached the model."""
        if width % self.size_multiple or height % self.size_multiple:
            raise RenderError(f"keyframe size {width}x{height} is not a multiple of {self.size_multiple}")
        images = [im.convert("RGB") for im in references[:self.takes(len(references))]]
        kwargs: dict[str, Any] = dict(prompt=prompt, height=height, width=width, num_inference_steps=self.steps,
                                      generator=generator, output_type=output_type)
        if self.family == "qwen-image-edit":
            # its card's call: true_cfg_scale with a negative prompt (" " when there is none), guidance_scale None
            kwargs.update(image=images or [Image.new("RGB", (width, height), (128, 128, 128))],
                          negative_prompt=negative or " ", true_cfg_scale=self.guidance)
        else:
            if negative:
                log.debug("%s takes no negative prompt: %r is not used", self.name, negative)
            kwargs.update(image=[_at_least(im, FLUX2_MIN_SIDE) for im in images] or None,
                          guidance_scale=self.guidance)
        kwargs.update(self.call_options)
        output = self.pipe(**kwargs)
        return (output.images if output_type == "latent" else output.images[0]), len(images)


def stills_processor(spec: ModelSpec, where: str | Path) -> Any | None:
    """Qwen-Image-Edit's ``Qwen2VLProcessor`` for a machine without torchvision, else ``None``
    (the pipeline then loads its own).

    transformers 5 builds the processor's video processor, which needs torchvision, and checks
    its class; the image processor has a PIL backend. An image edit never gives the processor a
    video, so the processor is built here from the folder's tokenizer and image processor (PIL)
    and a video processor that refuses video."""
    import importlib.util

    if importlib.util.find_spec("torchvision") is not None:
        return None
    from transformers import AutoTokenizer, Qwen2VLImageProcessorPil

    kwargs: dict[str, Any] = {"subfolder": "processor"}
    if spec.revision and not Path(str(where)).is_dir():
        kwargs["revision"] = spec.revision
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(where), **kwargs)
        images = Qwen2VLImageProcessorPil.from_pretrained(str(where), **kwargs)
    except (OSError, ValueError) as exc:
        raise StudioError(f"keyframe model {spec.name!r}: its Qwen2-VL processor did not load from {where}: "
                          f"{str(exc).splitlines()[0]}",
                          hint="the folder needs processor/ as QwenImageEditPlusPipeline.save_pretrained "
                               "writes it") from None
    return pictures_only_processor(tokenizer, images)


def text_tokenizer(spec: ModelSpec, where: str | Path) -> Any | None:
    """FLUX.2 [dev]'s ``PixtralProcessor`` for a machine without torchvision, else ``None`` (the
    pipeline then loads its own).

    transformers builds a ``PixtralProcessor`` only with torchvision. FLUX.2 gives its text
    encoder text alone (the reference pictures go through the VAE), and a processor's
    ``apply_chat_template`` on text is its tokenizer's: the same template, rendered, then
    tokenized without adding special tokens (the template starts with the BOS). So the tokenizer
    folder's tokenizer with the processor's chat template stands in for it."""
    import importlib.util

    if importlib.util.find_spec("torchvision") is not None:
        return None
    from transformers import AutoTokenizer

    kwargs: dict[str, Any] = {"subfolder": "tokenizer"}
    if spec.revision and not Path(str(where)).is_dir():
        kwargs["revision"] = spec.revision
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(where), **kwargs)
    except (OSError, ValueError) as exc:
        raise StudioError(f"keyframe model {spec.name!r}: its tokenizer did not load from {where}: "
                          f"{str(exc).splitlines()[0]}",
                          hint="the folder needs tokenizer/ as Flux2Pipeline.save_pretrained writes it") from None
    if tokenizer.chat_template is None:
        tokenizer.chat_template = _processor_chat_template(spec, where, kwargs)
    return tokenizer


def _processor_chat_template(spec: ModelSpec, where: str | Path, kwargs: dict[str, Any]) -> str:
    """The chat template a processor keeps beside its tokenizer (chat_template.json, or
    processor_config.json's ``chat_template``; transformers reads chat_template.jinja itself)."""
    import json

    for name in ("chat_template.json", "processor_config.json"):
        if Path(str(where)).is_dir():
            path = Path(str(where)) / kwargs["subfolder"] / name
            if not path.is_file():
                continue
        else:
            from huggingface_hub import hf_hub_download
            from huggingface_hub.errors import EntryNotFoundError

            try:
                path = Path(hf_hub_download(str(where), name, subfolder=kwargs["subfolder"],
                                            revision=kwargs.get("revision")))
            except EntryNotFoundError:
                continue
        template = json.loads(path.read_text(encoding="utf-8")).get("chat_template")
        if isinstance(template, str):
            return template
    raise StudioError(f"keyframe model {spec.name!r}: its tokenizer folder has no chat template",
                      hint="install torchvision (its PixtralProcessor then loads as the repository gives it)")


def pictures_only_processor(tokenizer: Any, image_processor: Any) -> Any:
    """A ``Qwen2VLProcessor`` over ``tokenizer`` and ``image_processor`` whose video processor
    refuses video, built without torchvision."""
    from transformers import Qwen2VLProcessor
    from transformers.video_processing_utils import BaseVideoProcessor

    class PicturesOnly(BaseVideoProcessor):
        """Qwen-Image-Edit is given pictures, never video."""

        def preprocess(self, *args: Any, **kwargs: Any) -> Any:
            raise StudioError("a Qwen-Image-Edit keyframe model was given a video; it edits pictures",
                              hint="install torchvision to give a Qwen2-VL processor video")

    class PicturesProcessor(Qwen2VLProcessor):
        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            # transformers names the video processor's class only when torchvision is there
            if argument_name == "video_processor" and isinstance(argument, PicturesOnly):
                return PicturesOnly
            return super().check_argument_for_proper_class(argument_name, argument)

    return PicturesProcessor(image_processor=image_processor, tokenizer=tokenizer, video_processor=PicturesOnly())


def _at_least(image: Image.Image, side: int) -> Image.Image:
    """``image`` enlarged (keeping its aspect) until its shorter side is ``side`` pixels."""
    short = min(image.size)
    if short >= side:
        return image
    scale = side / short
    return image.resize((max(side, round(image.width * scale)), max(side, round(image.height * scale))),
                        Image.Resampling.LANCZOS)
