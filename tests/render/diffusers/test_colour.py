"""Colour along a continuity chain (issue 14, defect 8): each continuation's context
frames are matched to the colour of the chain's start, so colour does not drift hop
after hop.

What a user relies on: the Lab conversion is exact; matching removes a colour cast from
a real photograph; the diffusers backend gives the pipeline matched context frames
(and other latents) when ``colour_match`` is on, and the cache key says which; the
executor gives every continuous shot the colour of its chain's first hand-over, read
from the store; a continuation with both Wan roles available uses VACE's multi-frame
context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from studio.consistency.cast import build_identities
from studio.render.backend import Conditioning, load_backend
from studio.render.diffusers import backend as diffusers_backend
from studio.render.diffusers.backend import DiffusersBackend, frame_digest
from studio.render.diffusers.colour import (
    cast_delta_e,
    colour_anchor,
    delta_e,
    lab_to_srgb,
    match_colour,
    srgb_to_lab,
)
from studio.run import local
from studio.run.local import render_film
from tests.render.diffusers.helpers import load_film, models_block, write_film

torch = pytest.importorskip("torch")
skimage_data = pytest.importorskip("skimage.data")

VACE = {"model": "tiny-wan-t2v", "vace_model": "tiny-wan-vace", "frames_per_chunk": 9}


# --------------------------------------------------------------------------- colour science


def test_lab_round_trip_is_exact_for_8bit_colours():
    rng = np.random.default_rng(0)
    colours = np.concatenate([rng.integers(0, 256, (50_000, 3), dtype=np.uint8),
                              np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], np.uint8)])
    back = np.clip(lab_to_srgb(srgb_to_lab(colours)) * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.array_equal(back, colours)
    # reference values (CIE 15, D65): white, black, sRGB red
    np.testing.assert_allclose(srgb_to_lab(np.array([255, 255, 255], np.uint8)), [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(srgb_to_lab(np.array([0, 0, 0], np.uint8)), [0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(srgb_to_lab(np.array([255, 0, 0], np.uint8)), [53.24, 80.09, 67.20], atol=0.02)


def _cast(image: np.ndarray) -> np.ndarray:
    """A warm cast with lifted contrast: what a drifting continuation looks like."""
    x = image.astype(np.float64) / 255
    x = (x - 0.5) * 1.15 + 0.5  # contrast creep
    x = x * np.array([1.12, 1.0, 0.86]) + np.array([0.03, 0.0, -0.02])  # warm shift
    return np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)


def test_matching_removes_a_colour_cast_from_a_real_photograph():
    original = skimage_data.astronaut()
    cast = _cast(original)
    before = delta_e(cast, original)
    (matched,) = match_colour([cast], colour_anchor([original]))
    after = delta_e(matched, original)
    assert before > 12  # a cast anyone sees (2.3 is just noticeable)
    # a gain per RGB channel is not a pure Lab shift, so a per-pixel residue stays; the cast itself is gone
    assert after < before / 2
    assert cast_delta_e([cast], [original]) > 10 and cast_delta_e([matched], [original]) < 1
    # matching frames to their own colour changes nothing visible
    (same,) = match_colour([original], colour_anchor([original]))
    assert delta_e(same, original) < 0.5


def test_matching_keeps_what_differs_between_context_frames():
    original = skimage_data.astronaut()
    darker = (original * 0.7).astype(np.uint8)
    anchor = colour_anchor([original, darker])
    a, b = match_colour([_cast(original), _cast(darker)], anchor)
    # corrected together: the second frame stays darker than the first
    assert srgb_to_lab(b)[..., 0].mean() < srgb_to_lab(a)[..., 0].mean() - 10
    assert delta_e(a, original) < delta_e(_cast(original), original) / 2
    assert delta_e(b, darker) < delta_e(_cast(darker), darker) / 2


# --------------------------------------------------------------------------- the backend


def _backend(tiny_models: dict[str, Path], options: dict[str, Any], folder: Path) -> DiffusersBackend:
    return load_backend("diffusers", options, models=models_block(tiny_models), base_dir=folder)  # type: ignore


def _chain_film(folder: Path, options: dict[str, Any], tiny_models: dict[str, Path]) -> Path:
    """The tiny film with a chain of three shots (a cut and two continuous shots)."""
    path = write_film(folder, options, models_block(tiny_models))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["scenes"][0]["shots"].append({"id": "s1-ben", "size": "medium", "move": "static", "subjects": ["ben"],
                                       "duration": 1, "continuity": "continuous"})
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def chain(tiny_models, tmp_path_factory) -> dict[str, Any]:
    """The three-shot chain rendered by render_film with Wan VACE, colour_match on."""
    folder = tmp_path_factory.mktemp("colour-chain")
    made: list[DiffusersBackend] = []
    real = local.load_backend

    def keep(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    screenplay = load_film(_chain_film(folder, VACE, tiny_models))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(local, "load_backend", keep)
        result = render_film(screenplay, folder / "out", cache_dir=folder / "cache", name="chain", audio=False)
    return {"screenplay": screenplay, "result": result, "backend": made[-1], "folder": folder}


def _tails(clip: Any) -> list[np.ndarray]:
    return [np.asarray(Image.open(path).convert("RGB")) for path in clip.tails]


def test_context_frames_given_to_the_pipeline_are_matched_to_the_chain_anchor(chain, tiny_models, tmp_path):
    result, screenplay = chain["result"], chain["screenplay"]
    plan = result.plans[1]  # s1-ana continues s1-wide
    assert plan.continuity == "continuous"
    drifted = [_cast(f) for f in _tails(result.clips[0])]
    anchor = colour_anchor(_tails(result.clips[0]))
    cond = Conditioning(identities=local._identities_for(plan, build_identities(screenplay)),
                        previous_frames=drifted, chain_anchor=anchor)
    given: dict[bool, tuple[str, ...]] = {}
    latents: dict[bool, Any] = {}
    for match in (True, False):
        backend = _backend(tiny_models, {**VACE, "colour_match": match}, tmp_path)
        frames = list(backend.render(plan, cond))
        assert len(frames) == plan.frames
        given[match] = backend.calls[0].context_frames
        latents[match] = backend.first_chunk(plan, cond)
        width, height = backend.generation_size(plan)
    # the context: the last frames of the shot before, as many as the first call continues from
    resized = [diffusers_backend._resize(f, width, height) for f in drifted][-backend.calls[0].context:]
    assert given[False] == tuple(frame_digest(f) for f in resized)
    assert given[True] == tuple(frame_digest(f) for f in match_colour(resized, anchor))
    assert given[True] != given[False]
    assert not torch.equal(latents[True], latents[False])


def test_colour_match_is_in_the_cache_key_and_an_anchor_only_when_set(tiny_models, tmp_path):
    on = _backend(tiny_models, VACE, tmp_path).describe()
    off = _backend(tiny_models, {**VACE, "colour_match": False}, tmp_path).describe()
    assert on["options"]["colour_match"] is True and on != off
    assert "chain_anchor" not in Conditioning().key_data()  # shots without an anchor keep their keys
    assert Conditioning(chain_anchor=(50.0, 0, 0, 20.0, 5.0, 5.0)).key_data()["chain_anchor"][0] == 50.0


def test_every_continuous_shot_gets_its_chains_first_hand_over_colour(chain):
    result, backend = chain["result"], chain["backend"]
    assert [p.shot_id for p in result.plans[:3]] == ["s1-wide", "s1-ana", "s1-ben"]
    head_anchor = colour_anchor(_tails(result.clips[0]))
    third = result.plans[2]
    call = next(c for c in backend.calls if c.shot_id == "s1-ben" and c.chunk == 0)
    width, height = backend.generation_size(third)
    # the third shot continues the second, in the colour of the first's last frames
    context = [diffusers_backend._resize(f, width, height) for f in _tails(result.clips[1])][-call.context:]
    assert call.context_frames == tuple(frame_digest(f) for f in match_colour(context, head_anchor))
    assert call.context_frames != tuple(frame_digest(f) for f in context)
    # and the executor read that anchor from the store, as a resumed run or a Ray worker would
    job = local.prepare_film(chain["screenplay"], chain["folder"] / "again", store=local.ShotStore(
        chain["folder"] / "cache"), cache_dir=chain["folder"] / "cache", name="chain", audio=False)
    cond, _key = local.shot_conditioning(job, job.plans[2], result.clips[1])
    assert cond.chain_anchor == head_anchor


def test_a_continuation_uses_vace_context_when_both_wan_roles_exist(tiny_models, tmp_path):
    folder = tmp_path / "both"
    options = {"model": "tiny-wan-t2v", "i2v_model": "tiny-wan-i2v", "vace_model": "tiny-wan-vace",
               "frames_per_chunk": 9}
    made: list[DiffusersBackend] = []
    real = local.load_backend

    def keep(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    screenplay = load_film(write_film(folder, options, models_block(tiny_models)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(local, "load_backend", keep)
        render_film(screenplay, folder / "out", cache_dir=folder / "cache", name="both", audio=False)
    backend = made[-1]
    continued = [c for c in backend.calls if c.shot_id == "s1-ana" and c.chunk == 0]
    assert continued and continued[0].mode == "vace"
    assert continued[0].context == backend.overlap > 1  # several frames of context, not I2V's one


def test_a_ray_worker_finds_the_same_chain_colour_as_the_local_executor(chain):
    from studio.run.ray_executor import ShotWorker, _spec

    folder, result = chain["folder"], chain["result"]
    job = local.prepare_film(chain["screenplay"], folder / "ray", store=local.ShotStore(folder / "cache"),
                             cache_dir=folder / "cache", name="chain", audio=False)
    worker = ShotWorker(_spec(job, {}))
    assert worker.error is None
    # a worker holds only the plans it is sent: the shot, the one it continues, and its chain's head
    outcome = worker.produce(2, job.plans[2], result.clips[1], job.plans[1], (0, job.plans[0]))
    assert outcome.outcome.key == result.clips[2].key  # the same key: the same anchor
    assert not outcome.outcome.rendered  # so the clip the local run made is used


def test_the_ray_driver_sends_each_shot_its_chains_head(chain, tmp_path):
    from studio.run.ray_executor import _produce_shots, _spec
    from tests.run.test_ray_schedule import InlinePool

    class FreshWorkers(InlinePool):
        """Every shot on a new worker, which knows only the plans it is sent (as on a cluster)."""

        def next_done(self):  # type: ignore[no-untyped-def]
            if self.worker is not None:
                self.worker.job.store.manifest.close()
                self.worker = None
            return super().next_done()

    store = local.ShotStore(tmp_path / "cache")  # a fresh cache: every shot goes to a worker
    try:
        job = local.prepare_film(chain["screenplay"], tmp_path / "out", store=store, cache_dir=tmp_path / "cache",
                                 name="chain", audio=False)
        pool = FreshWorkers(lambda: _spec(job, {}), size=1)
        outcomes = _produce_shots(job, pool, 0)
        pool.worker.job.store.manifest.close()
    finally:
        store.manifest.close()
    assert "s1-ben" in pool.handed
    # every shot, the third of the chain included, has the local executor's key (so its chain colour)
    assert [o.key for o in outcomes] == [c.key for c in chain["result"].clips]
