"""Prompts composed from the screenplay, and the `studio prompts` / `studio models`
commands that show them and the configured models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

from studio.consistency.identity import Identity
from studio.render.diffusers.prompts import DEFAULT_NEGATIVE, film_prompts, shot_prompt
from studio.screenplay import load_screenplay
from tests.conftest import EXAMPLE, ROOT
from tests.render.diffusers.helpers import write_film


def _lamp():
    screenplay = load_screenplay(EXAMPLE)
    return screenplay, film_prompts(screenplay)


def test_a_prompt_reads_like_a_shot_description():
    screenplay, prompts = _lamp()
    _, prompt = prompts[0]
    text = prompt.prompt
    # size and who, then where and when, each character's canonical appearance, action, camera, look
    assert text.startswith("Wide shot of Mara and Theo, interior, the glass lamp room")
    assert "at night, dark, lit by practical lights." in text
    mara = screenplay.character("mara")
    assert f"Mara, {' '.join(mara.description.split())}" in text
    assert "Rain hammers the glass." in text
    assert "Slow dolly in toward the subject." in text or "Static camera" in text
    assert text.rstrip(".").endswith(screenplay.film.look.rstrip("."))
    order = [text.index(part) for part in ("Wide shot", "interior", "Mara, ", "Rain hammers", screenplay.film.look)]
    assert order == sorted(order)
    # the film's negative first; the video model's family default follows it (test below)
    assert prompt.negative.startswith(screenplay.film.negative)
    # every shot has one, and dialogue is said by who speaks on screen
    assert len(prompts) == len({p.shot_id for p, _ in prompts})
    spoken = next((p, pr) for p, pr in prompts if p.lines and not p.lines[0].off_screen)
    line = spoken[0].lines[0]
    assert f'{line.speaker_name} speaks' in spoken[1].prompt and line.text.split()[0] in spoken[1].prompt


def test_identities_give_the_appearance_and_sizes_choose_who_is_described():
    _, prompts = _lamp()
    plan = next(p for p, _ in prompts if p.size == "close-up" and p.subjects)
    who = plan.subjects[0]
    identity = Identity(who, prompt="Someone, a face from the likeness bank", seed=1)
    text = shot_prompt(plan, {who: identity}).prompt
    assert "Someone, a face from the likeness bank" in text
    others = [m.name for m in plan.present if m.id not in plan.subjects]
    assert all(f"{name}, " not in text for name in others)  # a close-up does not describe the room
    insert = next((p for p, _ in prompts if p.size == "insert"), None)
    if insert is not None:
        assert shot_prompt(insert).prompt.startswith(f"Insert shot of {insert.focus}")


def test_off_screen_lines_and_the_default_negative():
    _, prompts = _lamp()
    plan = next(p for p, _ in prompts if p.lines)
    hidden = replace(plan, lines=tuple(replace(line, off_screen=True) for line in plan.lines), negative="",
                     look="")
    prompt = shot_prompt(hidden)
    assert "speaks" not in prompt.prompt
    assert prompt.negative == DEFAULT_NEGATIVE


def _studio(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env}, check=False)


def test_studio_prompts_prints_every_shot(tmp_path):
    result = _studio("prompts", str(EXAMPLE), "--json", env={})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    _, prompts = _lamp()
    assert [s["shot"] for s in data["shots"]] == [p.shot_id for p, _ in prompts]
    assert data["shots"][0]["prompt"] == prompts[0][1].prompt
    assert data["shots"][0]["negative"] == prompts[0][1].negative
    table = _studio("prompts", str(EXAMPLE), env={"COLUMNS": "200"})
    assert table.returncode == 0 and "storm-01" in table.stdout and "Wide shot of Mara" in table.stdout


def test_studio_models_says_which_weights_are_here(tmp_path):
    weights = tmp_path / "weights" / "my-wan"
    weights.mkdir(parents=True)
    (weights / "model_index.json").write_text("{}")
    film = write_film(tmp_path, {"model": "my-wan", "vace_model": "wan2.1-vace-1.3b"},
                      {"my-wan": {"family": "wan-t2v", "source": "./weights/my-wan", "size": "1.3B",
                                  "options": {"fps": 12, "loras": [{"source": "./grain.safetensors",
                                                                    "adapter_name": "grain"}]}}})
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf" / "hub"),
           "STUDIO_MODELS": str(tmp_path / "absent.yaml")}
    result = _studio("models", str(film), "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)["models"]}
    assert rows["my-wan"]["local"] == str(weights) and rows["my-wan"]["used_as"] == ["model"]
    assert rows["wan2.1-vace-1.3b"]["local"] is None and rows["wan2.1-vace-1.3b"]["used_as"] == ["vace_model"]
    assert rows["ltx-video-0.9.5"]["family"] == "ltx-condition" and rows["ltx-video-0.9.5"]["used_as"] == []
    # per entry: its size, VRAM need, native fps and LoRAs
    assert (rows["my-wan"]["size"], rows["my-wan"]["fps"], rows["my-wan"]["loras"]) == ("1.3B", 12, ["grain"])
    assert rows["wan2.1-t2v-1.3b"]["fps"] == 16 and "8.19 GB" in rows["wan2.1-t2v-1.3b"]["vram"]
    assert rows["ltx-2"]["fps"] == 24 and rows["ltx-2-distilled-upsampler"]["fps"] is None
    assert rows["musicgen-small"]["fps"] is None and rows["musicgen-small"]["size"] == "300M"
    plain = _studio("models", env={**env, "COLUMNS": "200"})
    assert plain.returncode == 0 and "wan2.1-t2v-1.3b" in plain.stdout and "my-wan" not in plain.stdout
    assert all(column in plain.stdout for column in ("size", "VRAM", "fps", "LoRAs"))


def test_studio_prompts_shows_the_negative_the_video_model_gets():
    """The film's negative, then the default model's family negative (Wan 2.1's, for the example)."""
    from studio.render.diffusers.settings import WAN_NEGATIVE

    screenplay, prompts = _lamp()
    film_negative = shot_prompt(prompts[0][0]).negative
    assert prompts[0][1].negative.startswith(film_negative.rstrip(",;. ")) and film_negative
    assert prompts[0][1].negative.endswith(WAN_NEGATIVE)
