"""Keyframe models that take reference images (FLUX.2 [klein], Qwen-Image-Edit), on tiny
random-weight pipelines of the real classes (tiny_keyframes.py: saved with save_pretrained,
loaded through the model registry offline).

What a user relies on: with such a keyframe model, every cut's first frame is drawn at the
planned generation size; the on-screen characters' references and the location's reference
are among the pictures the model is given, and the render record says which reached it; a
film renders end to end with an image-to-video model started from these keyframes; the
built-in entries carry the model cards' recipes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from studio.consistency.cast import build_identities
from studio.graph.scene_graph import SceneGraph
from studio.models import BUILTIN, Registry
from studio.render.backend import Conditioning
from studio.render.diffusers.backend import DiffusersBackend
from studio.render.diffusers.settings import FAMILIES, KEYFRAME_FAMILIES, check_options, resolve_roles
from studio.render.plan import plan_film
from studio.run import local
from tests.render.diffusers import test_backend, tiny_keyframes
from tests.render.diffusers.helpers import SIZE, load_film, models_block, write_film
from tests.render.diffusers.test_backend import ffprobe, render

torch = pytest.importorskip("torch")

KITCHEN = (20, 60, 200)  # the kitchen's reference picture: a blue that no character's reference has


@pytest.fixture(scope="module", params=sorted(tiny_keyframes.BUILDERS))
def keyframe_model(request, tmp_path_factory) -> tuple[str, Path]:
    family = request.param
    if family == "qwen-image-edit":
        # QwenImageEditPlusPipeline VAE-encodes every reference picture at about 1024x1024
        # (its VAE_IMAGE_SIZE), whatever the model's size. In bfloat16, the dtype the card
        # gives, a Conv3d on a CPU without bfloat16 units (AVX2 only, as some CI hosts) ran
        # 50x slower than in float32 (3.8 s against 0.075 s at 128x128, 24 channels): one
        # keyframe took over 20 minutes. The wiring under test does not depend on that size,
        # so these tests encode the references at 64x64 instead.
        from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as edit_plus

        patch = pytest.MonkeyPatch()
        patch.setattr(edit_plus, "VAE_IMAGE_SIZE", 64 * 64)
        request.addfinalizer(patch.undo)
    return family, tiny_keyframes.BUILDERS[family](tmp_path_factory.mktemp("tiny-keyframes") / family)


def _models(tiny_models: dict[str, Path], family: str, folder: Path) -> dict[str, dict]:
    return {**models_block(tiny_models),
            "tiny-keyframe": {"family": family, "source": str(folder), "dtype": "bfloat16",
                              "options": {"steps": 2, "guidance": 4.0}}}


def _film_with_location_reference(folder: Path, options: dict, models: dict) -> Path:
    """The tiny film, its kitchen with a reference picture."""
    path = write_film(folder, options, models)
    Image.fromarray(np.full((48, 64, 3), KITCHEN, np.uint8)).save(folder / "refs" / "kitchen.png")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["locations"][0]["references"] = ["refs/kitchen.png"]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _spy(pipe: Any) -> list[dict[str, Any]]:
    """Every call's keyword arguments, the pipeline still running."""
    calls: list[dict[str, Any]] = []
    real = pipe.__call__

    class Spied(type(pipe)):  # type: ignore[misc, valid-type]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            calls.append(kwargs)
            return real(*args, **kwargs)

    pipe.__class__ = Spied
    return calls


def _holds(images: list[Image.Image], colour: tuple[int, int, int]) -> bool:
    """One of ``images`` is mostly ``colour`` (a reference survives resizing whole)."""
    for image in images:
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
        if (np.abs(pixels - colour).max(axis=1) < 8).mean() > 0.4:
            return True
    return False


def test_keyframes_are_drawn_at_the_generation_size_with_the_references(keyframe_model, tiny_models, tmp_path):
    family, folder = keyframe_model
    registry = Registry()
    registry.update(_models(tiny_models, family, folder), "test")
    backend = DiffusersBackend({"model": "tiny-wan-i2v", "keyframe_model": "tiny-keyframe"}, registry=registry)
    backend.load()
    calls = _spy(backend._keyframer.pipe)
    screenplay = load_film(_film_with_location_reference(tmp_path, {}, {}))
    identities = build_identities(screenplay)
    plans = {p.shot_id: p for p in plan_film(SceneGraph.from_screenplay(screenplay))}
    assert plans["s1-wide"].location_references[0].endswith("kitchen.png")
    for shot_id, plan in plans.items():
        cond = Conditioning(identities=local._identities_for(plan, identities))
        keyframe = backend.keyframe(plan, cond)
        width, height = backend.generation_size(plan)
        assert keyframe.size == (width, height) and width % 16 == 0 and height % 16 == 0, shot_id
        given = calls[-1]["image"]
        assert calls[-1]["height"] == height and calls[-1]["width"] == width
        # the characters' references, by content: ana's green, ben's brown; the kitchen's blue in scene s1
        ana, ben = (40, 160, 60), (140, 90, 40)
        on_screen = {"s1-wide": [ana, ben], "s1-ana": [ana], "s2-ben": [ben]}[shot_id]
        assert all(_holds(given, colour) for colour in on_screen), shot_id
        assert _holds(given, KITCHEN) == (plan.location_id == "kitchen"), shot_id
        assert len(given) == len(on_screen) + (plan.location_id == "kitchen")


def test_a_film_renders_with_an_image_to_video_model_started_from_the_keyframes(keyframe_model, tiny_models,
                                                                                tmp_path):
    family, folder = keyframe_model
    options = {"model": "tiny-wan-i2v", "keyframe_model": "tiny-keyframe"}
    models = _models(tiny_models, family, folder)
    with pytest.MonkeyPatch.context() as mp:  # render() writes the film with the kitchen's reference
        mp.setattr(test_backend, "write_film", lambda f, o, m, **kw: _film_with_location_reference(f, o, m))
        r = render(tmp_path, options, models)
    for plan, clip in zip(r.result.plans, r.result.clips):
        stream = next(s for s in ffprobe(Path(clip.path))["streams"] if s["codec_type"] == "video")
        assert int(stream["nb_read_frames"]) == plan.frames and (stream["width"], stream["height"]) == SIZE
    wide = r.calls("s1-wide")[0]
    assert wide.keyframe and wide.mode == "i2v" and wide.keyframe_reference == "ana"
    assert wide.keyframe_references == ("ana", "ben", "location:kitchen")
    assert r.calls("s2-ben")[0].keyframe_references == ("ben",)
    assert not r.calls("s1-ana")[0].keyframe  # a continuous shot continues the frames before it


def test_max_references_caps_what_one_keyframe_takes(tiny_models, tmp_path):
    folder = tiny_keyframes.save_flux2_klein(tmp_path / "klein")
    models = _models(tiny_models, "flux2-klein", folder)
    models["tiny-keyframe"]["options"]["max_references"] = 1
    registry = Registry()
    registry.update(models, "test")
    backend = DiffusersBackend({"model": "tiny-wan-i2v", "keyframe_model": "tiny-keyframe"}, registry=registry)
    backend.load()
    calls = _spy(backend._keyframer.pipe)
    screenplay = load_film(_film_with_location_reference(tmp_path, {}, {}))
    plan = next(p for p in plan_film(SceneGraph.from_screenplay(screenplay)) if p.shot_id == "s1-wide")
    backend.keyframe(plan, Conditioning(identities=local._identities_for(plan, build_identities(screenplay))))
    assert len(calls[-1]["image"]) == 1 and _holds(calls[-1]["image"], (40, 160, 60))


def test_a_location_reference_is_in_the_shot_key_only_when_given(tmp_path):
    screenplay = load_film(write_film(tmp_path / "a", {}, {}))
    plain = {p.shot_id: p for p in plan_film(SceneGraph.from_screenplay(screenplay))}
    assert "location_references" not in plain["s1-wide"].key_data()  # keys of films without stay as they were
    referenced = load_film(_film_with_location_reference(tmp_path / "b", {}, {}))
    plans = {p.shot_id: p for p in plan_film(SceneGraph.from_screenplay(referenced))}
    before = plans["s1-wide"].key()
    assert plans["s2-ben"].key() == plain["s2-ben"].key()  # the quay has no reference
    Image.fromarray(np.full((48, 64, 3), (200, 20, 20), np.uint8)).save(tmp_path / "b" / "refs" / "kitchen.png")
    assert plans["s1-wide"].key() != before  # by content


def test_keyframe_models_are_checked_and_the_built_ins_carry_their_cards_recipes():
    for name, family, steps, guidance in (("flux2-klein-4b", "flux2-klein", 4, 1.0),
                                          ("flux2-klein-9b", "flux2-klein", 4, 1.0),
                                          ("flux2-dev", "flux2", 50, 4.0),
                                          ("qwen-image-edit-2511", "qwen-image-edit", 40, 4.0)):
        spec = BUILTIN[name]
        assert spec.family == family and spec.family in KEYFRAME_FAMILIES and spec.dtype == "bfloat16"
        assert spec.options["steps"] == steps and spec.options["guidance"] == guidance and spec.size and spec.vram
        assert FAMILIES[family].size_multiple == 16
        roles = resolve_roles(check_options({"model": "wan2.1-i2v-14b-480p", "keyframe_model": name}), Registry())
        assert roles.keyframe == spec and roles.ip_adapter is None
    assert BUILTIN["qwen-image-edit-2511"].options["call_options"] == {"guidance_scale": 1.0}


def test_qwen_image_edit_loads_without_torchvision_and_refuses_video(tmp_path):
    """transformers builds the Qwen2-VL processor's video processor with torchvision; studio builds
    the processor from the folder's tokenizer and PIL image processor instead, and it still turns a
    picture into the vision tokens the text encoder reads."""
    import importlib.util

    from studio.errors import StudioError
    from studio.render.diffusers.keyframes import stills_processor

    assert importlib.util.find_spec("torchvision") is None, "this machine has torchvision: nothing to show"
    folder = tiny_keyframes.save_qwen_image_edit(tmp_path / "qwen")
    processor = stills_processor(BUILTIN["qwen-image-edit-2511"], folder)
    assert type(processor.image_processor).__name__ == "Qwen2VLImageProcessorPil"
    picture = Image.fromarray(np.full((64, 64, 3), KITCHEN, np.uint8))
    out = processor(text=["<|vision_start|><|image_pad|><|vision_end|>the kitchen"], images=[picture],
                    padding=True, return_tensors="pt")
    pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    merged = int(out["image_grid_thw"][0].prod()) // processor.image_processor.merge_size ** 2
    assert int((out["input_ids"][0] == pad).sum()) == merged > 1
    with pytest.raises(StudioError, match="video"):
        processor.video_processor(videos=[np.zeros((2, 32, 32, 3), np.uint8)])


@pytest.mark.parametrize("where", ["chat_template.jinja", "chat_template.json", "nowhere"])
def test_flux2_dev_without_torchvision_tokenizes_with_its_processors_chat_template(tmp_path, where):
    """FLUX.2 [dev]'s tokenizer folder is a PixtralProcessor's, which transformers builds only with
    torchvision; studio loads its tokenizer with the processor's chat template (wherever the
    processor kept it), so the text encoder reads the same system prompt and [INST] turn."""
    import json

    from studio.errors import StudioError
    from studio.render.diffusers.keyframes import text_tokenizer

    folder = tiny_keyframes.save_flux2_dev(tmp_path / "dev")
    jinja = folder / "tokenizer" / "chat_template.jinja"
    assert jinja.read_text(encoding="utf-8") == tiny_keyframes.MISTRAL_TEMPLATE
    if where != "chat_template.jinja":
        jinja.unlink()
    if where == "chat_template.json":
        (folder / "tokenizer" / where).write_text(json.dumps({"chat_template": tiny_keyframes.MISTRAL_TEMPLATE}))
    if where == "nowhere":
        with pytest.raises(StudioError, match="no chat template"):
            text_tokenizer(BUILTIN["flux2-dev"], folder)
        return
    tokenizer = text_tokenizer(BUILTIN["flux2-dev"], folder)
    messages = [[{"role": "system", "content": [{"type": "text", "text": "describe the image"}]},
                 {"role": "user", "content": [{"type": "text", "text": "a woman in a green coat"}]}]]
    ids = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, padding="max_length",
                                        truncation=True, max_length=24)["input_ids"][0]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert tokens[:6] == ["<s>", "[SYSTEM_PROMPT]", "describe", "the", "image", "[/SYSTEM_PROMPT]"]
    assert tokens[6:13] == ["[INST]", "a", "woman", "in", "a", "green", "coat"] and tokens[13] == "[/INST]"
    assert tokens.count("<s>") == 1 and set(tokens[14:]) == {"<pad>"}
