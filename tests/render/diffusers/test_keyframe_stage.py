"""Keyframes first on the diffusers backend (tiny random-weight Stable Diffusion + IP-Adapter
as the keyframe model, Wan image-to-video as the video model): the keyframe model draws
every shot's keyframe, a character's reference reaches it, and the render starts each
cut from the selected keyframe instead of drawing its own."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from studio.consistency.cast import build_identities
from studio.render.backend import Conditioning
from studio.run import local
from studio.run.keyframes import BackendKeyframes, keyframe_model
from studio.run.local import keyframes_for_film, render_film
from tests.render.diffusers.helpers import CONFIGS, load_film, models_block, write_film

torch = pytest.importorskip("torch")


def _spying(made: list) -> Any:
    real = local.load_backend

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    return spy


def test_keyframes_come_from_the_keyframe_model_and_start_the_video(tiny_models, tmp_path, monkeypatch):
    screenplay = load_film(write_film(tmp_path, CONFIGS["wan-keyframe"], models_block(tiny_models)))
    made: list = []
    monkeypatch.setattr(local, "load_backend", _spying(made))
    lock = tmp_path / "film.lock"
    result = keyframes_for_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="tiny",
                                lockfile=lock, audio=False)
    backend = made[-1]
    assert isinstance(keyframe_model(backend), BackendKeyframes)
    width, height = backend.generation_size(local.plan_film(local.SceneGraph.from_screenplay(screenplay, {}))[0])
    for shot in result.shots:
        assert shot.keyframe.keyframer == "diffusers"
        assert shot.keyframe.picture().shape == (height, width, 3)
    # a character's reference reaches the keyframe model (its IP-Adapter)
    plan = next(p for p in local.plan_film(local.SceneGraph.from_screenplay(screenplay, {})) if p.shot_id == "s2-ben")
    identities = build_identities(screenplay)
    cond = Conditioning(identities=local._identities_for(plan, identities))
    drawn = keyframe_model(backend).draw(plan, cond)
    assert np.array_equal(drawn, next(s for s in result.shots if s.shot_id == "s2-ben").keyframe.picture())
    other = tmp_path / "other.png"
    from PIL import Image

    picture = np.zeros((32, 32, 3), np.uint8)
    picture[:, :16] = (250, 20, 200)
    Image.fromarray(picture).save(other)
    swapped = {cid: replace(i, references=(str(other),), reference_hashes=("x",)) for cid, i in
               cond.identities.items()}
    assert not np.array_equal(drawn, keyframe_model(backend).draw(plan, Conditioning(identities=swapped)))

    # the render starts each cut from its selected keyframe: no keyframe is drawn while rendering
    rendered = render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="tiny", audio=False,
                           lockfile=lock)
    video = made[-1]
    assert rendered.report["keyframes"]["shots"] == 3 and video.stats.keyframe_seconds == 0.0
    calls = {c.shot_id: c for c in video.calls if c.chunk == 0}
    assert calls["s1-wide"].keyframe and calls["s2-ben"].keyframe and not calls["s1-ana"].keyframe
    assert calls["s1-wide"].mode == "i2v" and calls["s1-wide"].keyframe_reference is None
    # and the keyframe it is given is what the video starts from
    first = rendered.plans[0]
    kf = result.shots[0].keyframe.picture()
    cond = Conditioning(identities=local._identities_for(first, identities), keyframe=kf)
    latents = video.first_chunk(first, cond)
    assert torch.equal(latents, video.first_chunk(first, cond))
    changed = video.first_chunk(first, replace(cond, keyframe=np.ascontiguousarray(255 - kf)))
    assert (changed - latents).abs().max() > 1e-4
