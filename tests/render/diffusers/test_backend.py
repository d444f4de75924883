"""The diffusers backend, for real, on tiny random-weight pipelines of the real classes
(built in tiny.py, saved with save_pretrained, loaded through the model registry from
local folders with HF_HUB_OFFLINE=1, one torch thread).

What a user relies on: a film renders end to end with each family and every clip has
the plan's frames, size and fps; a continuous shot is generated from the last frames
of the shot before (and those frames change what is generated); characters'
references reach VACE, LTX-Video and the keyframe's IP-Adapter; the same seed gives
the same output; a long shot is made in chunks that join into exactly its frames."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from studio.consistency.cast import build_identities
from studio.errors import StudioError
from studio.models import Registry
from studio.render.backend import Conditioning, load_backend
from studio.render.diffusers.backend import DiffusersBackend, frame_digest
from studio.run import local
from studio.run.local import render_film
from tests.render.diffusers import tiny
from tests.render.diffusers.helpers import CONFIGS, FPS, SIZE, load_film, models_block, write_film

torch = pytest.importorskip("torch")


@dataclass
class Rendered:
    screenplay: Any
    result: Any
    backend: DiffusersBackend
    folder: Path

    def plan(self, shot_id: str):  # type: ignore[no-untyped-def]
        return next(p for p in self.result.plans if p.shot_id == shot_id)

    def calls(self, shot_id: str) -> list:
        return [c for c in self.backend.calls if c.shot_id == shot_id]

    def cond(self, shot_id: str, previous: list[np.ndarray] | None = None, identities=None) -> Conditioning:
        plan = self.plan(shot_id)
        ids = identities if identities is not None else build_identities(self.screenplay)
        return Conditioning(identities=local._identities_for(plan, ids), previous_frames=list(previous or []))

    def tails(self, shot_id: str) -> list[np.ndarray]:
        """The frames the executor kept of ``shot_id`` for the shot that continues it."""
        clip = self.result.clips[[p.shot_id for p in self.result.plans].index(shot_id)]
        return [np.asarray(Image.open(path).convert("RGB")) for path in clip.tails]


def render(folder: Path, options: dict, models: dict, **film: Any) -> Rendered:
    """Render the tiny film with ``render_film`` (no sound), keeping the backend it made."""
    made: list[DiffusersBackend] = []
    real = local.load_backend

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    screenplay = load_film(write_film(folder, options, models, **film))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(local, "load_backend", spy)
        result = render_film(screenplay, folder / "out", cache_dir=folder / "cache", name="tiny", audio=False)
    return Rendered(screenplay, result, made[-1], folder)


@pytest.fixture(scope="session")
def films(tiny_models, tmp_path_factory) -> dict[str, Rendered]:
    """The tiny film rendered once per configuration (see helpers.CONFIGS)."""
    return {name: render(tmp_path_factory.mktemp(name), options, models_block(tiny_models))
            for name, options in CONFIGS.items()}


def ffprobe(path: Path) -> dict:
    exe = shutil.which("ffprobe")
    if exe is None:
        pytest.skip("ffprobe is not installed")
    out = subprocess.run([exe, "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json",
                          str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


MODES = {
    "wan-i2v": {"s1-wide": "t2v", "s1-ana": "i2v", "s2-ben": "t2v"},
    "wan-vace": {"s1-wide": "vace", "s1-ana": "vace", "s2-ben": "vace"},
    "ltx": {"s1-wide": "ltx-condition", "s1-ana": "ltx-condition", "s2-ben": "ltx-condition"},
    "wan-keyframe": {"s1-wide": "i2v", "s1-ana": "i2v", "s2-ben": "i2v"},
}
CONTEXT = {"wan-i2v": 1, "wan-vace": 5, "ltx": 9, "wan-keyframe": 1}  # frames a continuous shot starts from


@pytest.mark.parametrize("config", list(CONFIGS))
def test_a_film_renders_end_to_end(films, config):
    r = films[config]
    report = r.result.report
    assert report["backend"]["name"] == "diffusers" and report["shots_rendered"] == 3
    for plan, clip in zip(r.result.plans, r.result.clips):
        stream = next(s for s in ffprobe(clip.path)["streams"] if s["codec_type"] == "video")
        assert (stream["width"], stream["height"]) == SIZE
        assert stream["r_frame_rate"] == f"{FPS}/1"
        assert int(stream["nb_read_frames"]) == plan.frames == clip.frames
        calls = r.calls(plan.shot_id)
        assert [c.chunk for c in calls] == list(range(len(calls)))
        assert sum(c.new for c in calls) == plan.frames
        assert {c.mode for c in calls} == {MODES[config][plan.shot_id]}
    film = ffprobe(r.result.film)
    assert abs(float(film["format"]["duration"]) - sum(p.frames for p in r.result.plans) / FPS) <= 1 / FPS
    # the pipelines loaded once, for the whole film
    assert r.backend.stats.shots == 3 and r.backend.stats.calls == len(r.backend.calls)


def test_long_shots_in_a_film_are_chunked(films):
    r = films["wan-vace"]  # frames_per_chunk 9: every 12-frame shot takes several calls
    for plan in r.result.plans:
        calls = r.calls(plan.shot_id)
        assert len(calls) >= 2 and all(c.frames <= 9 for c in calls)
        history = list(calls[0].context_frames)
        for call in calls:  # each chunk continues from the last frames made before it
            assert call.context_frames == (tuple(history[-call.context:]) if call.context else ())
            history += call.kept
        assert [c.context for c in calls[1:]] == [5] * (len(calls) - 1)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_a_continuous_shot_starts_from_the_last_frames_before_it(films, config):
    r = films[config]
    cut, continuous, later = (r.calls(s)[0] for s in ("s1-wide", "s1-ana", "s2-ben"))
    k = CONTEXT[config]
    assert continuous.context == k and len(continuous.context_frames) == k
    # the very frames the executor kept of the shot before, as the backend received them
    assert continuous.previous == tuple(frame_digest(f) for f in r.tails("s1-wide")[-k:])
    assert r.backend.tail_frames >= k if config in ("wan-vace", "ltx") else r.backend.tail_frames == 1
    assert cut.context == later.context == 0 and cut.previous == later.previous == ()
    assert cut.keyframe == later.keyframe == (config == "wan-keyframe") and not continuous.keyframe


@pytest.mark.parametrize("config", ["wan-i2v", "wan-vace", "ltx"])
def test_the_frames_before_change_what_is_generated(films, config):
    r = films[config]
    tails = r.tails("s1-wide")
    plan = r.plan("s1-ana")
    latents = r.backend.first_chunk(plan, r.cond("s1-ana", tails))
    assert torch.equal(latents, r.backend.first_chunk(plan, r.cond("s1-ana", tails)))
    other = [np.ascontiguousarray(255 - f) for f in tails]
    changed = r.backend.first_chunk(plan, r.cond("s1-ana", other))
    assert changed.shape == latents.shape and (changed - latents).abs().max() > 1e-3
    # only the last frames matter: an older frame outside the context changes nothing
    older = [np.zeros_like(tails[0])] + tails
    assert torch.equal(latents, r.backend.first_chunk(plan, r.cond("s1-ana", older)))


def _swap_reference(r: Rendered, character: str, folder: Path) -> dict:
    """The film's identities with ``character``'s reference image replaced by another."""
    image = np.zeros((32, 32, 3), np.uint8)
    image[:, :16] = (250, 20, 200)
    path = folder / f"other-{character}.png"
    Image.fromarray(image).save(path)
    identities = build_identities(r.screenplay)
    identities[character] = replace(identities[character], references=(str(path),), reference_hashes=("x",))
    return identities


@pytest.mark.parametrize("config", ["wan-vace"])  # LTX-Video: test_ltx.py (references never become frames)
def test_a_characters_reference_reaches_the_video_model(films, config, tmp_path):
    r = films[config]
    assert r.calls("s1-wide")[0].references == ("ana", "ben") and r.calls("s2-ben")[0].references == ("ben",)
    plan = r.plan("s1-wide")
    latents = r.backend.first_chunk(plan, r.cond("s1-wide"))
    swapped = r.backend.first_chunk(plan, r.cond("s1-wide", identities=_swap_reference(r, "ana", tmp_path)))
    assert swapped.shape == latents.shape and (swapped - latents).abs().max() > 1e-4
    # without references the model is not given any
    bare = DiffusersBackend({**CONFIGS[config], "max_references": 0}, registry=r.backend.registry)
    assert not torch.equal(bare.first_chunk(plan, r.cond("s1-wide")), latents)


def test_wan_without_vace_says_references_are_unused(films):
    assert all(c.references == () for c in films["wan-i2v"].backend.calls)


def test_a_characters_face_reaches_the_keyframe_ip_adapter(films, tmp_path):
    r = films["wan-keyframe"]
    assert r.calls("s1-wide")[0].keyframe_reference == "ana" and r.calls("s2-ben")[0].keyframe_reference == "ben"
    plan = r.plan("s2-ben")
    latents = r.backend.keyframe(plan, r.cond("s2-ben"), output_type="latent")
    assert torch.equal(latents, r.backend.keyframe(plan, r.cond("s2-ben"), output_type="latent"))
    swapped = r.backend.keyframe(plan, r.cond("s2-ben", identities=_swap_reference(r, "ben", tmp_path)),
                                 output_type="latent")
    assert (swapped - latents).abs().max() > 1e-4


def test_same_seed_same_output_other_seed_other_output(films, tiny_models, tmp_path):
    r = films["wan-vace"]
    plan, cond = r.plan("s1-wide"), r.cond("s1-wide")
    latents = r.backend.first_chunk(plan, cond)
    assert torch.equal(latents, r.backend.first_chunk(plan, cond))
    assert (r.backend.first_chunk(replace(plan, seed=plan.seed + 1), cond) - latents).abs().max() > 1e-3
    # a whole film, rendered again from scratch (fresh backend, fresh cache): the same clips
    again = render(tmp_path / "again", CONFIGS["wan-i2v"], models_block(tiny_models))
    first = films["wan-i2v"]
    assert [c.sha256 for c in again.result.clips] == [c.sha256 for c in first.result.clips]
    assert [c.kept for c in again.backend.calls] == [c.kept for c in first.backend.calls]
    reseeded = render(tmp_path / "reseeded", CONFIGS["wan-i2v"], models_block(tiny_models), seed=8)
    assert all(a.sha256 != b.sha256 for a, b in zip(reseeded.result.clips, first.result.clips))


@pytest.mark.parametrize("config, limit", [("wan-vace", 9), ("wan-i2v", 9), ("ltx", 17)])
def test_a_long_shot_is_chunked_and_joined_exactly(films, tiny_models, config, limit):
    registry = Registry()
    registry.update(models_block(tiny_models), "test")
    # colour matching off: the context frames are compared digest by digest (test_colour.py has it on)
    backend = DiffusersBackend({**CONFIGS[config], "frames_per_chunk": limit, "colour_match": False},
                               registry=registry)
    r = films[config]
    width, height = backend.generation_size(r.plan("s1-ana"))
    # at the generation size, the frames the backend yields are the very frames it kept
    plan = replace(r.plan("s1-ana"), frames=30, width=width, height=height)
    rng = np.random.default_rng(0)
    previous = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(9)]
    frames = list(backend.render(plan, r.cond("s1-ana", previous)))
    assert len(frames) == 30 and all(f.shape == (height, width, 3) and f.dtype == np.uint8 for f in frames)
    calls = backend.calls
    assert len(calls) >= 3 and all(c.frames <= limit for c in calls)
    kept = [d for c in calls for d in c.kept]
    assert [frame_digest(f) for f in frames] == kept  # nothing repeated, nothing missing
    history = [frame_digest(f) for f in previous]
    for call in calls:  # every chunk continued from the last frames before it
        assert call.context >= 1 and call.context_frames == tuple(history[-call.context:])
        history += call.kept
    assert [c.context for c in calls][1:] == [CONTEXT[config]] * (len(calls) - 1)


def test_generation_size(films):
    wan, ltx = films["wan-vace"].backend, films["ltx"].backend
    plan = films["wan-vace"].plan("s1-wide")  # a 40x24 film
    assert wan.generation_size(plan) == (48, 32) and ltx.generation_size(plan) == (32, 32)
    sized = DiffusersBackend({**CONFIGS["wan-vace"], "resolution": "64x48"}, registry=wan.registry)
    assert sized.generation_size(plan) == (64, 48)
    with pytest.raises(StudioError, match="'resolution' 50x32 is not a multiple of 16"):
        DiffusersBackend({**CONFIGS["wan-vace"], "resolution": "50x32"}, registry=wan.registry).generation_size(plan)


def test_describe_keys_the_models_weights(films, tiny_models, tmp_path):
    backend = films["wan-vace"].backend
    description = backend.describe()
    assert set(description["models"]) == {"t2v", "vace"}
    assert description["models"]["vace"]["source"] == "local" and description["models"]["vace"]["content"]
    assert description["libraries"]["diffusers"] and "offload" not in description["options"]
    # other weights in the same folder name: another key
    models = models_block(tiny_models)
    models["tiny-wan-vace"] = {**models["tiny-wan-vace"], "source": str(tiny.save_wan_vace(tmp_path / "v", seed=1))}
    other = load_backend("diffusers", CONFIGS["wan-vace"], models=models)
    assert other.describe()["models"]["vace"] != description["models"]["vace"]
    assert other.describe()["models"]["t2v"] == description["models"]["t2v"]


def test_option_and_model_errors_are_clear(tiny_models):
    models = models_block(tiny_models)
    with pytest.raises(StudioError, match="unknown diffusers option 'stepz'"):
        load_backend("diffusers", {"stepz": 3}, models=models)
    with pytest.raises(StudioError, match="'offload' must be one of"):
        load_backend("diffusers", {"offload": "gpu"}, models=models)
    with pytest.raises(StudioError, match="'steps' must be int or null"):
        load_backend("diffusers", {"steps": "many"}, models=models)
    with pytest.raises(StudioError, match="family 'wan-t2v'; option 'vace_model' needs wan-vace"):
        load_backend("diffusers", {"model": "tiny-wan-t2v", "vace_model": "tiny-wan-t2v"}, models=models)
    with pytest.raises(StudioError, match="'vace_model' is for Wan models"):
        load_backend("diffusers", {"model": "tiny-ltx", "vace_model": "tiny-wan-vace"}, models=models)
    with pytest.raises(StudioError, match="is image-to-video: it cannot start a shot from nothing"):
        load_backend("diffusers", {"model": "tiny-wan-i2v"}, models=models)
    with pytest.raises(StudioError, match="no model named 'tiny-wan-t2w'"):
        load_backend("diffusers", {"model": "tiny-wan-t2w"}, models=models)
    with pytest.raises(StudioError, match="unknown wan-t2v options \\['stepz'\\]"):
        load_backend("diffusers", {"model": "m"}, models={"m": {"family": "wan-t2v", "source": "/x", "options": {
            "stepz": 2}}})
    with pytest.raises(StudioError, match="offload 'model' moves models between a GPU and the CPU"):
        load_backend("diffusers", {"model": "tiny-wan-t2v", "offload": "model", "device": "cpu"},
                     models=models).load()


def test_a_model_not_on_disk_is_a_clear_error_offline(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    backend = load_backend("diffusers", {"model": "wan2.1-t2v-1.3b"})
    assert backend.describe()["models"]["t2v"]["snapshot"] is None
    with pytest.raises(StudioError, match="not on this machine and HF_HUB_OFFLINE is set"):
        backend.load()


def test_check_and_animatic_renders_never_import_torch(tiny_models, tmp_path):
    film = write_film(tmp_path, CONFIGS["wan-vace"], models_block(tiny_models))
    code = (
        "import sys\n"
        "from studio.cli import main\n"
        f"assert main(['check', {str(film)!r}]) == 0\n"
        "from studio.render.backend import load_backend\n"
        "load_backend('animatic', {})\n"
        "b = load_backend('diffusers', {'model': 'wan2.1-t2v-1.3b', 'vace_model': 'wan2.1-vace-1.3b'})\n"
        "assert b.overlap == 6 and b.tail_frames == 16 and b.describe()['models']['t2v']['revision'] is None\n"
        "loaded = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
