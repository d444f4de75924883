"""LTX-2: picture and sound from one model, with every line generated around the
character's own voice.

What a user relies on: a shot with dialogue is generated with the lines, as studio's
voices spoke them, held as clean audio tokens at every denoising step (so the mouths
follow the voice); a different line gives a different picture; a shot without dialogue
holds nothing; the two-stage distilled recipe runs whole; a continuous shot starts from
the frames before it; the film's dialogue is the voices' own, byte for byte."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from studio.graph.scene_graph import SceneGraph
from studio.models import BUILTIN, Registry
from studio.render.backend import Conditioning, ShotSpeech
from studio.render.diffusers.backend import DiffusersBackend, frame_digest
from studio.render.plan import plan_film
from tests.render.diffusers import tiny
from tests.render.diffusers.helpers import load_film, write_film

torch = pytest.importorskip("torch")

SIZE = (96, 64)  # a legal size for the tiny LTX-2 (x32); the two-stage one generates at 128x64 (x64)
FPS = 8
RATE = 48000


@pytest.fixture(scope="module")
def ltx2_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-ltx2")
    return {"ltx2": tiny.save_ltx2(root / "ltx2"), "upsampler": tiny.save_ltx2_upsampler(root / "upsampler")}


def models_block(folders: dict[str, Path]) -> dict[str, dict]:
    video = {"steps": 2, "guidance": 4.0, "max_sequence_length": 32, "frames_per_chunk": 25, "fps": FPS}
    return {
        "tiny-ltx2": {"family": "ltx2", "source": str(folders["ltx2"]), "options": video},
        "tiny-ltx2-distilled": {"family": "ltx2", "source": str(folders["ltx2"]),
                                "options": {**video, "guidance": 1.0, "steps": 3, "sigmas": [1.0, 0.909375, 0.725],
                                            "stg_scale": 0.0, "modality_scale": 1.0, "audio_guidance_scale": 1.0,
                                            "audio_stg_scale": 0.0, "audio_modality_scale": 1.0,
                                            "upsampler": "tiny-ltx2-upsampler",
                                            "upsample": {"sigmas": [0.909375, 0.725]}}},
        "tiny-ltx2-upsampler": {"family": "ltx2-upsampler", "source": str(folders["upsampler"]),
                                "options": {"subfolder": "latent_upsampler"}},
    }


def _backend(folders: dict[str, Path], model: str = "tiny-ltx2", **options: Any) -> DiffusersBackend:
    registry = Registry()
    registry.update(models_block(folders), "test")
    resolution = "128x64" if "distilled" in model else "96x64"
    backend = DiffusersBackend({"model": model, "resolution": resolution, **options}, registry=registry)
    backend.load()
    return backend


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict:
    screenplay = load_film(write_film(tmp_path_factory.mktemp("plans"), {}, {}, size=SIZE))
    return {p.shot_id: p for p in plan_film(SceneGraph.from_screenplay(screenplay))}


def _speech(plan, hz: float = 220.0, span: tuple[float, float] = (0.2, 0.6)) -> ShotSpeech:  # type: ignore[no-untyped-def]
    """A line (a tone) spoken over ``span`` seconds of the shot, silence elsewhere."""
    t = np.arange(round(plan.frames / plan.fps * RATE)) / RATE
    samples = (0.3 * np.sin(2 * math.pi * hz * t) * ((t >= span[0]) & (t < span[1]))).astype(np.float32)
    return ShotSpeech(samples, RATE, (span,), hashlib.sha256(samples.tobytes()).hexdigest())


class Watch:
    """What the transformer is given at every call (after studio's hold, which runs first)."""

    def __init__(self, transformer: Any) -> None:
        self.seen: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]] = []
        self.handle = transformer.register_forward_pre_hook(self, with_kwargs=True)

    def __call__(self, module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        sigma = kwargs.get("audio_sigma")
        self.seen.append((kwargs["audio_hidden_states"].detach().float().clone(),
                          kwargs["audio_timestep"].detach().float().clone(),
                          None if sigma is None else sigma.detach().float().clone()))

    def close(self) -> None:
        self.handle.remove()


def _encoded(pipe: Any, speech: ShotSpeech, plan: Any, frames: int) -> torch.Tensor:
    """The speech through the pipeline's audio VAE (the posterior's mean), normalised with its
    statistics and packed: what the transformer must see for the spoken span."""
    from studio.render.diffusers.speech import log_mel

    n = round(frames / plan.fps * RATE)
    samples = np.zeros(n, np.float32)
    samples[:min(n, len(speech.samples))] = speech.samples[:n]
    vae = pipe.audio_vae
    mel = log_mel(samples, RATE, target_rate=16000, hop=160, n_mels=64, channels=2)
    with torch.no_grad():
        latents = vae.encode(mel.to(vae.dtype)).latent_dist.mode().float()
    count = round(frames / plan.fps * 25)
    latents = latents[:, :, :count]
    packed = latents.transpose(1, 2).flatten(2, 3)
    return (packed - vae.latents_mean.float()) / vae.latents_std.float()


def test_the_registry_holds_ltx2_with_its_authors_recipes():
    from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES, STAGE_2_DISTILLED_SIGMA_VALUES

    full, distilled = BUILTIN["ltx-2"], BUILTIN["ltx-2-distilled"]
    assert full.family == distilled.family == "ltx2" and full.source == "Lightricks/LTX-2"
    # Lightricks' LTX_2_PARAMS: 40 steps, guidance 3, STG 1 on block 29, rescale 0.7, modality 3, audio guidance 7
    assert (full.options["steps"], full.options["guidance"], full.options["stg_scale"]) == (40, 3.0, 1.0)
    assert full.options["spatio_temporal_guidance_blocks"] == [29] and full.options["audio_guidance_scale"] == 7.0
    # diffusers' ltx2.md distilled recipe: its sigmas, stage 2 over STAGE_2_DISTILLED_SIGMA_VALUES, no guidance
    assert distilled.options["sigmas"] == DISTILLED_SIGMA_VALUES and distilled.options["steps"] == 8
    assert distilled.options["upsample"]["sigmas"] == STAGE_2_DISTILLED_SIGMA_VALUES
    assert distilled.options["guidance"] == distilled.options["audio_guidance_scale"] == 1.0
    assert distilled.options["stg_scale"] == 0.0 and distilled.options["modality_scale"] == 1.0
    assert BUILTIN[distilled.options["upsampler"]].family == "ltx2-upsampler"
    for spec in (full, distilled):  # LTX-2.0 checkpoints: the legacy cross-modal timestep
        assert spec.options["use_cross_timestep"] is False
    from studio.render.diffusers.settings import FAMILIES, family_of

    assert FAMILIES["ltx2"].fps == 24 and FAMILIES["ltx2"].frame_multiple == 8
    for spec in (full, distilled):
        family_of(spec, ("ltx2",), "test")  # every option is one the family knows


@pytest.mark.parametrize("model", ["tiny-ltx2", "tiny-ltx2-distilled"])
def test_spoken_lines_are_held_clean_at_every_step(ltx2_models, plans, model):
    backend = _backend(ltx2_models, model)
    plan = plans["s1-wide"]
    speech = _speech(plan)
    watch = Watch(backend._video.pipe.transformer)
    try:
        frames = list(backend.render(plan, Conditioning(speech=speech)))
    finally:
        watch.close()
    assert len(frames) == plan.frames
    call = backend.calls[-1]
    hold = backend._video.holds[-1]
    held = hold.held
    # latent frame i is [i/25, (i+1)/25) s: the span 0.2-0.6 s is frames 5 to 14
    assert held.nonzero().flatten().tolist() == list(range(5, 15)) and call.held == 10
    expected = _encoded(backend._video.pipe, speech, plan, call.frames)
    steps = 2 if model == "tiny-ltx2" else 3 + 2  # stage 1 and stage 2
    assert hold.calls == len(watch.seen) >= steps  # every transformer call: each step, each guidance pass
    for audio, timestep, sigma in watch.seen:
        assert audio.shape[1] == held.shape[0]
        for row in audio:  # every row of the batch (guidance passes included)
            torch.testing.assert_close(row[held], expected[0][held].to(row.dtype), rtol=2e-2, atol=2e-2)
        assert bool((timestep[:, held] == 0).all())  # held: timestep 0, as ltx-core's frozen audio
    first_timestep = watch.seen[0][1]
    assert bool((first_timestep[:, ~held] > 0).all())  # the rest of the sound is generated
    # the generated part moves from step to step; the held part never does
    assert not torch.equal(watch.seen[0][0][0][~held], watch.seen[-1][0][0][~held])
    assert torch.equal(watch.seen[0][0][0][held], watch.seen[-1][0][0][held])


def test_a_lines_audio_changes_the_shots_picture(ltx2_models, plans):
    backend = _backend(ltx2_models)
    plan = plans["s1-wide"]
    one = backend.first_chunk(plan, Conditioning(speech=_speech(plan, 220.0)))
    again = backend.first_chunk(plan, Conditioning(speech=_speech(plan, 220.0)))
    other = backend.first_chunk(plan, Conditioning(speech=_speech(plan, 330.0)))
    silent = backend.first_chunk(plan, Conditioning())
    assert torch.equal(one, again)  # same speech, same seed: the same latents
    assert not torch.equal(one, other)  # another line: another picture
    assert not torch.equal(one, silent)


def test_a_shot_without_dialogue_holds_nothing(ltx2_models, plans):
    backend = _backend(ltx2_models)
    plan = plans["s2-ben"]
    watch = Watch(backend._video.pipe.transformer)
    try:
        list(backend.render(plan, Conditioning()))
    finally:
        watch.close()
    assert all(c.held == 0 for c in backend.calls) and backend._video.holds == []
    assert all(timestep.ndim == 1 for _audio, timestep, _sigma in watch.seen)  # one noise level: all generated


def test_the_sound_the_model_made_comes_with_the_shot(ltx2_models, plans):
    backend = _backend(ltx2_models)
    plan = plans["s1-ana"]
    list(backend.render(plan, Conditioning(speech=_speech(plan, span=(0.4, 0.9)))))
    sound = backend.take_sound(plan.shot_id)
    assert sound is not None and sound.sample_rate == 24000
    assert sound.samples.shape == (round(plan.frames / plan.fps * 24000), 2) and sound.samples.dtype == np.float32
    rate = sound.sample_rate
    spoken = sound.samples[round(0.45 * rate):round(0.85 * rate)]
    assert float(np.abs(spoken).max()) < 1e-6  # the model's copy of the line is not kept: the voice is
    assert float(np.abs(sound.samples[:round(0.3 * rate)]).max()) > 0  # its sound elsewhere is
    assert backend.take_sound(plan.shot_id) is None  # handed over once


# --------------------------------------------------------------------------- a film with dialogue

FILM = """\
version: 1
film:
  title: The Lamp Room
  fps: 8
  resolution: 96x64
  seed: 3
characters:
  - {id: mara, name: Mara, description: an old woman in a green coat, voice: {engine: espeak-ng, voice: en-us+f3}}
  - {id: theo, name: Theo, description: a young man in a brown cardigan, voice: {engine: espeak-ng, voice: en-us+m3}}
locations:
  - {id: room, name: Lamp Room, description: a lighthouse lamp room at night, interior: true}
scenes:
  - id: s1
    location: room
    time: night
    characters: [mara, theo]
    shots:
      - {id: s1-wide, size: wide, move: static, subjects: [mara, theo], duration: 2, covers: [1]}
      - {id: s1-theo, size: close-up, move: static, subjects: [theo], duration: 2.5, continuity: continuous,
         covers: [2]}
      - {id: s1-lens, size: insert, move: static, subjects: [], duration: 1}
    beats:
      - speaker: mara
        line: Listen.
      - speaker: theo
        line: I hear it.
      - action: The lens turns.
"""


@pytest.fixture(scope="module")
def film(ltx2_models, tmp_path_factory) -> dict[str, Any]:
    from studio.run import local

    folder = tmp_path_factory.mktemp("ltx2-film")
    data = yaml.safe_load(FILM)
    data["film"]["render"] = {"backend": "diffusers", "options": {"model": "tiny-ltx2", "resolution": "96x64",
                                                                   "models": models_block(ltx2_models)}}
    path = folder / "film.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    screenplay = load_film(path)
    made: list[Any] = []
    real = local.load_backend

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(local, "load_backend", spy)
        result = local.render_film(screenplay, folder / "out", cache_dir=folder / "cache", name="lamp")
    plain = folder / "animatic.yaml"  # the same film on the animatic backend
    plain.write_text(FILM, encoding="utf-8")
    animatic = local.render_film(load_film(plain), folder / "animatic", cache_dir=folder / "cache", name="lamp")
    return {"screenplay": screenplay, "result": result, "backend": made[-1], "animatic": animatic}


def test_a_film_with_dialogue_renders_with_ltx2(film):
    from tests.render.diffusers.test_backend import ffprobe

    result, backend = film["result"], film["backend"]
    assert result.report["shots_rendered"] == 3
    for plan, clip in zip(result.plans, result.clips):
        stream = next(s for s in ffprobe(clip.path)["streams"] if s["codec_type"] == "video")
        assert (stream["width"], stream["height"]) == SIZE and stream["r_frame_rate"] == f"{FPS}/1"
        assert int(stream["nb_read_frames"]) == plan.frames == clip.frames
        calls = [c for c in backend.calls if c.shot_id == plan.shot_id]
        assert sum(c.new for c in calls) == plan.frames and {c.mode for c in calls} == {"ltx2"}
        spoken = bool(plan.lines)
        assert any(c.held for c in calls) == spoken  # the lines are held where they are spoken, nowhere else
    plans = {p.shot_id: p for p in result.plans}
    assert plans["s1-wide"].lines and not plans["s1-lens"].lines


def test_a_continuous_ltx2_shot_starts_from_the_frames_before_it(film):
    from PIL import Image

    result, backend = film["result"], film["backend"]
    ids = [p.shot_id for p in result.plans]
    before = result.clips[ids.index("s1-wide")]
    tails = [np.asarray(Image.open(p).convert("RGB")) for p in before.tails]
    first = next(c for c in backend.calls if c.shot_id == "s1-theo")
    assert first.context == 9  # one latent frame's worth plus the first: 8k+1
    assert first.previous == tuple(frame_digest(f) for f in tails[-9:])
    cut = next(c for c in backend.calls if c.shot_id == "s1-wide")
    assert cut.context == 0 and cut.previous == ()


def test_the_films_dialogue_is_the_voices_own(film):
    stems, animatic = film["result"].report["audio"]["stems"], film["animatic"].report["audio"]["stems"]
    digest = [hashlib.sha256(Path(s["dialogue"]).read_bytes()).hexdigest() for s in (stems, animatic)]
    assert digest[0] == digest[1]  # LTX-2 generated around the voices; the dialogue stem is theirs, unchanged


def test_a_voice_change_re_renders_the_shots_it_speaks_in(film, tmp_path):
    """The speech is in the shot's key: another voice for Theo re-renders the shot he speaks in
    (and nothing else) on LTX-2, while the animatic, which draws no mouths, re-renders nothing."""
    from studio.run import local

    result = film["result"]
    folder = Path(result.film).parent.parent
    data = yaml.safe_load((folder / "film.yaml").read_text(encoding="utf-8"))
    data["characters"][1]["voice"]["pitch"] = 4
    path = folder / "film-pitch.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    screenplay = load_film(path)
    again = local.render_film(screenplay, tmp_path / "out", cache_dir=folder / "cache", name="lamp")
    before = {p.shot_id: p for p in result.plans}
    after = {p.shot_id: p for p in again.plans}
    assert {k: p.frames for k, p in before.items()} == {k: p.frames for k, p in after.items()}  # same timing
    keys = {p.shot_id: c.key for p, c in zip(result.plans, result.clips)}
    new_keys = {p.shot_id: c.key for p, c in zip(again.plans, again.clips)}
    assert {s for s in keys if keys[s] != new_keys[s]} == {"s1-theo"}
    assert again.report["shots_rendered"] == 1


def test_identity_reaches_ltx2_through_the_keyframe_at_frame_0(ltx2_models, plans, tiny_models, caplog, tmp_path):
    """A cut starts from the keyframe (the keyframe model, steered by the first character's face
    through its IP-Adapter) as an image condition at latent index 0; references are never
    conditions of their own (a condition mid-clip becomes a frame)."""
    import logging

    from studio.consistency.cast import build_identities
    from studio.run import local
    from tests.render.diffusers.helpers import models_block as base_block

    registry = Registry()
    registry.update({**base_block(tiny_models), **models_block(ltx2_models)}, "test")
    backend = DiffusersBackend({"model": "tiny-ltx2", "resolution": "96x64", "keyframe_model": "tiny-sd"},
                               registry=registry)
    backend.load()
    given: list[list[Any]] = []
    real = backend._video.conditions
    backend._video.conditions = lambda request: given.append(real(request)) or given[-1]  # type: ignore[method-assign]
    screenplay = load_film(write_film(tmp_path, {}, {}, size=SIZE))
    identities = build_identities(screenplay)
    plan = plans["s1-wide"]
    cond = Conditioning(identities=local._identities_for(plan, identities))
    with caplog.at_level(logging.INFO, logger="studio.render.diffusers"):
        list(backend.render(plan, cond))
    call = backend.calls[-1]
    assert call.keyframe and call.keyframe_reference == plan.subjects[0] and call.references == ()
    assert len(given[0]) == 1 and given[0][0].index == 0 and given[0][0].strength == 1.0
    assert not isinstance(given[0][0].frames, list)  # one picture: the keyframe, at frame 0
    assert "LTX-2 takes no character references as conditions" in caplog.text


def test_the_sound_ltx2_made_becomes_the_effects_stem(ltx2_models, film, tmp_path):
    """``film.sound.effects: model``: the sound LTX-2 made with each shot is stored beside its clip
    and mixed as an effects stem (silent under the spoken lines); the dialogue stem is still the
    voices', and the mix meets its loudness target."""
    from studio.audio.mix import measure_ebur128
    from studio.audio.wav import wav_info
    from studio.run import local

    folder = Path(film["result"].film).parent.parent
    data = yaml.safe_load((folder / "film.yaml").read_text(encoding="utf-8"))
    data["film"]["sound"] = {"effects": "model"}
    path = tmp_path / "film.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = local.render_film(load_film(path), tmp_path / "out", cache_dir=folder / "cache", name="lamp")
    assert result.report["shots_rendered"] == 0  # the clips (and their sound) came from the cache
    for plan, clip in zip(result.plans, result.clips):
        assert clip.sound is not None and wav_info(clip.sound).frames == plan.frames * 48000 // plan.fps
    audio = result.report["audio"]
    assert set(audio["stems"]) == {"dialogue", "music", "ambience", "effects"} and audio["shot_sounds"] == 3
    dialogue = film["result"].report["audio"]["stems"]["dialogue"]
    assert hashlib.sha256(Path(audio["stems"]["dialogue"]).read_bytes()).hexdigest() == \
        hashlib.sha256(Path(dialogue).read_bytes()).hexdigest()
    loudness = measure_ebur128(result.film)
    assert abs(loudness["integrated_lufs"] - (-23.0)) <= 1.0 and loudness["true_peak_dbtp"] <= -1.0
