"""Negative prompts: the film's ``negative`` keeps its words, and each model family's
published default negative (the words its checkpoints were tuned against) follows them
instead of being dropped: Wan's Chinese default from Wan2.1's shared_config.py, LTX-Video's
from diffusers' docs; Stable Diffusion publishes none."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from studio.models import Registry
from studio.render.diffusers.backend import DiffusersBackend
from studio.render.diffusers.prompts import DEFAULT_NEGATIVE, with_model_negative
from studio.render.diffusers.settings import FAMILIES, LTX_NEGATIVE, WAN_NEGATIVE
from tests.render.diffusers.helpers import CONFIGS, FPS, models_block

torch = pytest.importorskip("torch")


def test_a_model_negative_is_appended_not_substituted():
    assert with_model_negative("blurry, text", "worst quality, jittery") == "blurry, text, worst quality, jittery"
    assert with_model_negative("blurry, text.", "worst quality") == "blurry, text, worst quality"
    assert with_model_negative("", "worst quality") == "worst quality"
    assert with_model_negative("blurry,  text", "") == "blurry, text"
    once = with_model_negative("blurry", LTX_NEGATIVE)
    assert with_model_negative(once, LTX_NEGATIVE) == once  # never twice


def test_each_family_has_its_published_default():
    assert WAN_NEGATIVE.startswith("色调艳丽，过曝，静态") and WAN_NEGATIVE.endswith("背景人很多，倒着走")
    assert LTX_NEGATIVE == "worst quality, inconsistent motion, blurry, jittery, distorted"
    assert {FAMILIES[f].negative for f in ("wan-t2v", "wan-i2v", "wan-vace")} == {WAN_NEGATIVE}
    assert FAMILIES["ltx-condition"].negative == LTX_NEGATIVE and FAMILIES["sd"].negative == ""


def _render(tiny_models: dict[str, Path], config: str, tmp_path: Path) -> DiffusersBackend:
    from tests.render.diffusers.test_backend import render

    return render(tmp_path, CONFIGS[config], models_block(tiny_models)).backend


@pytest.mark.parametrize("config, family_negative", [("wan-vace", WAN_NEGATIVE), ("ltx", LTX_NEGATIVE)])
def test_the_video_model_gets_the_films_negative_then_its_own(tiny_models, tmp_path, config, family_negative):
    backend = _render(tiny_models, config, tmp_path)
    # the tiny film's negative is "blurry, text"
    assert {c.negative for c in backend.calls} == {f"blurry, text, {family_negative}"}


def test_the_keyframe_model_gets_the_films_negative(tiny_models, tmp_path):
    from studio.graph.scene_graph import SceneGraph
    from studio.render.backend import Conditioning
    from studio.render.plan import plan_film
    from tests.render.diffusers.helpers import load_film, write_film

    registry = Registry()
    registry.update(models_block(tiny_models), "test")
    backend = DiffusersBackend(CONFIGS["wan-keyframe"], registry=registry)
    screenplay = load_film(write_film(tmp_path, {}, {}, fps=FPS))
    plan = plan_film(SceneGraph.from_screenplay(screenplay))[0]
    backend.load()
    assert backend._negative(backend._setup(plan, Conditioning(), keyframe=False), "sd") == "blurry, text"
    # a film without a negative: the plain default, then the family's
    bare = replace(plan, negative="")
    shot = backend._setup(bare, Conditioning(), keyframe=False)
    assert backend._negative(shot, "wan-i2v") == f"{DEFAULT_NEGATIVE}, {WAN_NEGATIVE}"
