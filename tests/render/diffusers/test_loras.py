"""LoRAs, on the tiny Wan 2.1 text-to-video pipeline (tiny.py) with tiny LoRA files made offline
(a peft LoraConfig on its transformer, random weights, ``WanPipeline.save_lora_weights``).

What a user relies on: a character's LoRA changes the picture only in the shots where that
character is on screen, and the cache keys of exactly those shots; its trigger words join the
prompt there and nowhere else; a step-distillation LoRA's recipe (steps, guidance, flow shift)
is what the pipeline runs with, and the calls and the render report say so; LoRAs are loaded
before the pipeline is offloaded; a model without a LoRA loader, a LoRA file outside the
screenplay's folder, or a malformed entry is a clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from studio.consistency.cast import build_identities
from studio.errors import StudioError
from studio.graph.scene_graph import SceneGraph
from studio.loras import Lora, parse_loras
from studio.models import Registry
from studio.render.backend import Conditioning
from studio.render.diffusers.backend import DiffusersBackend
from studio.render.diffusers.prompts import shot_prompt
from studio.render.diffusers.settings import family_of
from studio.render.plan import ShotPlan, canonical_hash, plan_film
from studio.run import local
from studio.screenplay import load_screenplay
from tests.render.diffusers import tiny
from tests.render.diffusers.helpers import load_film, models_block, write_film

torch = pytest.importorskip("torch")
pytest.importorskip("peft")  # diffusers loads LoRAs through peft

ON_SCREEN = {"s1-wide": {"ana", "ben"}, "s1-ana": {"ana"}, "s2-ben": {"ben"}}


@pytest.fixture(scope="session")
def lora_files(tiny_models, tmp_path_factory) -> dict[str, Path]:
    """Two LoRAs for the tiny Wan T2V transformer: one for a character, one for the model."""
    folder = tmp_path_factory.mktemp("tiny-loras")
    return {"ana": tiny.save_wan_lora(folder / "ana.safetensors", tiny_models["wan-t2v"], seed=1),
            "fast": tiny.save_wan_lora(folder / "fast.safetensors", tiny_models["wan-t2v"], seed=2)}


def _film(folder: Path, models: dict, ana_loras: list[dict] | None = None, options: dict | None = None) -> Path:
    """The tiny film (helpers.FILM); Ana gets ``ana_loras``."""
    path = write_film(folder, options or {"model": "tiny-wan-t2v"}, models)
    if ana_loras is not None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["characters"][0]["loras"] = ana_loras
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _ana_lora(folder: Path, source: Path) -> list[dict]:
    """Ana's LoRA, copied into the film's folder (a path relative to the screenplay)."""
    (folder / "loras").mkdir(parents=True, exist_ok=True)
    (folder / "loras" / "ana.safetensors").write_bytes(source.read_bytes())
    return [{"source": "loras/ana.safetensors", "trigger": "anaxyz woman", "weight": 1.0}]


def _shots(path: Path) -> tuple[Any, dict[str, ShotPlan], dict[str, Conditioning]]:
    screenplay = load_screenplay(path)
    plans = {p.shot_id: p for p in plan_film(SceneGraph.from_screenplay(screenplay))}
    identities = build_identities(screenplay)
    conds = {sid: Conditioning(identities=local._identities_for(p, identities)) for sid, p in plans.items()}
    return screenplay, plans, conds


def _backend(screenplay: Any, **options: Any) -> DiffusersBackend:
    backend = DiffusersBackend({"model": "tiny-wan-t2v", **options})
    backend.use_models(screenplay.film.render.options["models"], screenplay.base_dir)
    backend.use_identities(build_identities(screenplay))
    return backend


def _keys(screenplay: Any, plans: dict[str, ShotPlan], conds: dict[str, Conditioning]) -> dict[str, str]:
    """Each shot's cache key, as the executor computes it."""
    backend = _backend(screenplay)
    video = {"width": screenplay.size[0], "height": screenplay.size[1], "fps": screenplay.film.fps}
    return {sid: local.shot_key(plans[sid].key_data(), conds[sid].key_data(), backend.describe(), video)
            for sid in plans}


# --------------------------------------------------------------------------- 1. a character's LoRA


def test_a_character_lora_changes_only_the_shots_where_the_character_is_on_screen(tiny_models, lora_files,
                                                                                  tmp_path):
    models = models_block(tiny_models)
    plain, plans, conds = _shots(_film(tmp_path / "plain", models))
    cast, _, cast_conds = _shots(_film(tmp_path / "lora", models, _ana_lora(tmp_path / "lora", lora_files["ana"])))
    without, with_lora = _backend(plain), _backend(cast)
    for sid, plan in plans.items():
        before = without.first_chunk(plan, conds[sid])
        after = with_lora.first_chunk(plan, cast_conds[sid])
        assert before.shape == after.shape
        if "ana" in ON_SCREEN[sid]:
            assert not torch.equal(before, after), f"{sid}: Ana is on screen, her LoRA must change the picture"
        else:
            assert torch.equal(before, after), f"{sid}: Ana is not on screen, her LoRA must change nothing"
    # her LoRA is switched, not unloaded: loaded once, active only while she is in frame
    loras = with_lora._loras["tiny-wan-t2v"]
    assert list(loras.loaded) == ["ana"] and loras.loaded["ana"].character == "ana"
    assert loras.wanted(["ben"]) == () and loras.wanted(["ana", "ben"]) == (("ana", 1.0),)


def test_her_trigger_words_join_the_prompt_only_where_she_is_on_screen(tiny_models, lora_files, tmp_path):
    folder = tmp_path / "film"
    _, plans, conds = _shots(_film(folder, models_block(tiny_models), _ana_lora(folder, lora_files["ana"])))
    prompts = {sid: shot_prompt(plan, conds[sid].identities).prompt for sid, plan in plans.items()}
    assert "anaxyz woman, Ana, a woman in a green coat" in prompts["s1-ana"]
    assert "anaxyz woman" in prompts["s1-wide"]
    assert "anaxyz" not in prompts["s2-ben"]


def test_a_character_lora_is_in_the_keys_of_her_shots_only(tiny_models, lora_files, tmp_path):
    models = models_block(tiny_models)
    keys = _keys(*_shots(_film(tmp_path / "plain", models)))
    folder = tmp_path / "lora"
    with_lora = _keys(*_shots(_film(folder, models, _ana_lora(folder, lora_files["ana"]))))
    assert {sid for sid in keys if keys[sid] != with_lora[sid]} == {"s1-wide", "s1-ana"}
    # other LoRA weights in the same file: by content, not by path
    (folder / "loras" / "ana.safetensors").write_bytes(lora_files["fast"].read_bytes())
    retrained = _keys(*_shots(folder / "film.yaml"))
    assert {sid for sid in keys if retrained[sid] != with_lora[sid]} == {"s1-wide", "s1-ana"}
    assert retrained["s2-ben"] == keys["s2-ben"]


def test_a_character_in_the_scene_but_out_of_frame_keeps_the_shots_key(tiny_models, lora_files, tmp_path):
    """Ben is in scene s1 but out of frame in Ana's medium shot: his LoRA is in the keys of the wide shot
    (which holds everyone present) and of his own shot, not of hers."""
    models = models_block(tiny_models)
    keys = _keys(*_shots(_film(tmp_path / "plain", models)))
    folder = tmp_path / "ben"
    path = _film(folder, models)
    (folder / "loras").mkdir(parents=True, exist_ok=True)
    (folder / "loras" / "ben.safetensors").write_bytes(lora_files["ana"].read_bytes())
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["characters"][1]["loras"] = [{"source": "loras/ben.safetensors", "weight": 1.0}]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    screenplay, plans, conds = _shots(path)
    assert "ben" in {m.id for m in plans["s1-ana"].present} and "ben" in conds["s1-ana"].identities
    with_lora = _keys(screenplay, plans, conds)
    assert {sid for sid in keys if keys[sid] != with_lora[sid]} == {"s1-wide", "s2-ben"}


def test_a_character_lora_outside_the_screenplays_folder_needs_the_users_word(tiny_models, lora_files, tmp_path):
    from studio.errors import ScreenplayError

    folder = tmp_path / "film"
    path = _film(folder, models_block(tiny_models), [{"source": str(lora_files["ana"])}])
    with pytest.raises(ScreenplayError, match="leaves the screenplay's folder"):
        load_screenplay(path)
    screenplay = load_screenplay(path, allow_outside=True)
    (lora,) = build_identities(screenplay)["ana"].loras
    assert lora.source == str(lora_files["ana"].resolve()) and lora.adapter_name == "ana"


# --------------------------------------------------------------------------- 2. a step-distillation LoRA's recipe


def test_a_step_distillation_loras_recipe_is_what_the_pipeline_runs(tiny_models, lora_files, tmp_path):
    from diffusers import WanPipeline

    models = models_block(tiny_models)
    models["tiny-wan-t2v"]["options"]["loras"] = [
        {"source": str(lora_files["fast"]), "adapter_name": "fast", "recipe": {"steps": 1, "guidance": 1.0,
                                                                               "flow_shift": 7.0}}]
    folder = tmp_path / "film"
    screenplay = load_film(_film(folder, models, _ana_lora(folder, lora_files["ana"])))
    seen: list[dict[str, Any]] = []
    real = WanPipeline.__call__

    def spy(pipe: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append({"steps": kwargs["num_inference_steps"], "guidance": kwargs["guidance_scale"],
                     "flow_shift": pipe.scheduler.config.flow_shift, "active": pipe.get_active_adapters(),
                     "disabled": any(getattr(m, "disable_adapters", False) for m in pipe.transformer.modules()
                                     if hasattr(m, "lora_A"))})
        return real(pipe, *args, **kwargs)

    made: list[DiffusersBackend] = []
    load = local.load_backend
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(WanPipeline, "__call__", spy)
        mp.setattr(local, "load_backend", lambda *a, **k: made.append(load(*a, **k)) or made[-1])
        result = local.render_film(screenplay, folder / "out", cache_dir=folder / "cache", name="tiny", audio=False)
    calls = made[-1].calls
    assert seen and all(s["steps"] == 1 and s["guidance"] == 1.0 and s["flow_shift"] == 7.0 for s in seen)
    assert all(not s["disabled"] for s in seen)
    for call, s in zip(calls, seen):
        assert (call.steps, call.guidance, call.flow_shift) == (1, 1.0, 7.0)
        wanted = {"fast", "ana"} if "ana" in ON_SCREEN[call.shot_id] else {"fast"}
        assert {name for name, _ in call.loras} == wanted == set(s["active"]), call.shot_id
    report = result.report["backend"]["loras"]
    assert report == {"t2v": {"adapters": {"fast": 1.0}, "recipe": {"steps": 1, "guidance": 1.0, "flow_shift": 7.0}}}
    # a render option still wins over the LoRA's recipe
    backend = DiffusersBackend({"model": "tiny-wan-t2v", "steps": 3, "models": models})
    assert backend.describe()["loras"]["t2v"]["recipe"] == {"steps": 3, "guidance": 1.0, "flow_shift": 7.0}


def test_without_its_lora_the_model_renders_with_its_own_recipe(tiny_models):
    backend = DiffusersBackend({"model": "tiny-wan-t2v", "models": models_block(tiny_models)})
    assert "loras" not in backend.describe()  # keys of films without LoRAs are as they were
    spec = backend.registry.get("tiny-wan-t2v")
    assert (backend._setting(spec, "steps"), backend._setting(spec, "guidance")) == (2, 4.0)


def test_the_built_in_lightx2v_entry_carries_its_published_recipe():
    spec = Registry().get("wan2.1-t2v-14b-lightx2v")
    family_of(spec, ("wan-t2v",), "option 'model'")
    backend = DiffusersBackend({"model": "wan2.1-t2v-14b-lightx2v"}, registry=Registry())
    recipe = backend.describe()["loras"]["t2v"]
    assert recipe == {"adapters": {"lightx2v": 1.0}, "recipe": {"steps": 4, "guidance": 1.0, "flow_shift": 5.0}}
    key = backend.describe()["models"]["t2v"]["options"]["loras"][0]
    assert key["source"] == "lightx2v/Wan2.1-T2V-14B-StepDistill-CfgDistill-Lightx2v"
    assert key["weight_name"] == "loras/Wan21_T2V_14B_lightx2v_cfg_step_distill_lora_rank64.safetensors"


# --------------------------------------------------------------------------- 3. loading


def test_loras_are_loaded_before_the_pipeline_is_offloaded(tiny_models, lora_files, tmp_path, monkeypatch):
    """With model offload the transformer's hook must cover its LoRA layers: they are in place
    when ``enable_model_cpu_offload`` runs (hooks only act when a part runs, so they install for
    CUDA on a machine without one)."""
    from diffusers import WanPipeline

    at_offload: list[dict[str, list[str]]] = []
    real = WanPipeline.enable_model_cpu_offload

    def spy(pipe: Any, *args: Any, **kwargs: Any) -> Any:
        at_offload.append(pipe.get_list_adapters())
        return real(pipe, *args, **kwargs)

    monkeypatch.setattr(WanPipeline, "enable_model_cpu_offload", spy)
    models = models_block(tiny_models)
    models["tiny-wan-t2v"]["options"]["loras"] = [{"source": str(lora_files["fast"]), "adapter_name": "fast"}]
    folder = tmp_path / "film"
    screenplay = load_film(_film(folder, models, _ana_lora(folder, lora_files["ana"])))
    backend = _backend(screenplay, device="cuda", offload="model")
    backend.load()
    assert at_offload and at_offload[0] == {"transformer": ["fast", "ana"]}
    pipe = backend.registry._loaded["tiny-wan-t2v"]
    assert hasattr(pipe.transformer, "_hf_hook")
    lora_layers = [m for m in pipe.transformer.modules() if hasattr(m, "lora_A") and "ana" in m.lora_A]
    assert lora_layers and all(m.lora_A["ana"].weight.device.type == "cpu" for m in lora_layers)


def test_a_pipeline_without_a_lora_loader_is_a_clear_error():
    from studio.render.diffusers.loras import PipelineLoras

    with pytest.raises(StudioError, match="takes no LoRAs"):
        PipelineLoras(object(), "some-model").load([Lora(source="/x.safetensors", adapter_name="x")])


def test_a_lora_for_another_architecture_is_a_clear_error(tiny_models, lora_files, tmp_path):
    from studio.render.diffusers.families import LoadSettings, load_pipeline
    from studio.render.diffusers.loras import PipelineLoras

    registry = Registry()
    registry.update(models_block(tiny_models), "test")
    spec = registry.get("tiny-ltx")
    with pytest.raises(StudioError, match="did not load into model 'tiny-ltx'"):
        load_pipeline(spec, tiny_models["ltx-condition"], LoadSettings(), adapters=lambda pipe: PipelineLoras(
            pipe, spec.name).load([Lora(source=str(lora_files["ana"]), adapter_name="ana")]))


@pytest.mark.parametrize(("entry", "message"), [
    ({"source": "x.safetensors", "recipe": {"stepz": 4}}, "recipe has unknown keys"),
    ({"source": "x.safetensors", "recipe": {"steps": 0}}, "steps must be a whole number"),
    ({"source": "x.safetensors", "weight": "strong"}, "weight must be a number"),
    ({"source": "not a hub id"}, "neither a file or folder here nor a hub id"),
    ({"weight": 1.0}, "needs a source"),
    ({"source": "x.safetensors", "scale": 1}, "unknown keys"),
])
def test_malformed_model_loras_are_errors(entry, message):
    with pytest.raises(StudioError, match=message):
        parse_loras([entry], "model 'm'", owner="m")


def test_a_flow_shift_recipe_is_for_wan_models(tiny_models, lora_files):
    registry = Registry()
    block = models_block(tiny_models)
    block["tiny-ltx"]["options"]["loras"] = [{"source": str(lora_files["fast"]), "recipe": {"flow_shift": 5.0}}]
    registry.update(block, "test")
    with pytest.raises(StudioError, match="flow_shift"):
        family_of(registry.get("tiny-ltx"), ("ltx-condition",), "option 'model'")


def test_a_lora_key_follows_the_file_content_not_its_path(lora_files, tmp_path):
    copy = tmp_path / "elsewhere.safetensors"
    copy.write_bytes(lora_files["ana"].read_bytes())
    first = Lora(source=str(lora_files["ana"]), adapter_name="ana").key()
    assert Lora(source=str(copy), adapter_name="ana").key() == first
    assert canonical_hash(Lora(source=str(lora_files["fast"]), adapter_name="ana").key()) != canonical_hash(first)
