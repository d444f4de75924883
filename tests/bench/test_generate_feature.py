"""The feature-length screenplay generator (bench/generate_feature.py) makes valid,
realistic, deterministic screenplays that go through the real loader."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from studio.screenplay import load_screenplay, parse_screenplay

ROOT = Path(__file__).resolve().parents[2]
ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _load_generator() -> ModuleType:
    # bench/ is not a package: load the file. Registering the module before running it
    # lets its dataclasses resolve their (postponed) annotations.
    name = "bench_generate_feature"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "generate_feature.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def feature() -> tuple[dict[str, Any], str]:
    data = gen.generate_feature(minutes=90, seed=0)
    return data, gen.to_yaml(data)


def _dialogue(scene: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in scene["beats"] if "speaker" in b]


def test_ten_minutes_round_trips_through_the_loader() -> None:
    data = gen.generate_feature(minutes=10, seed=3)
    screenplay = parse_screenplay(gen.to_yaml(data), "gen.yaml")
    assert 12 <= len(screenplay.scenes) <= 14
    assert not screenplay.warnings
    assert len(screenplay.characters) == 30


def test_ninety_minutes_round_trips_through_the_loader(feature: tuple[dict[str, Any], str]) -> None:
    data, text = feature
    screenplay = parse_screenplay(text, "gen.yaml")
    assert not screenplay.warnings
    assert len(screenplay.scenes) == len(data["scenes"])
    assert gen.summarize(data)["words"] == sum(
        len(b.line.split()) for s in screenplay.scenes for b in s.beats if hasattr(b, "speaker")
    )


def test_ninety_minutes_has_feature_proportions(feature: tuple[dict[str, Any], str]) -> None:
    data, _ = feature
    summary = gen.summarize(data)
    assert 110 <= summary["scenes"] <= 130
    assert summary["characters"] == 30
    assert 15 <= summary["locations"] <= 25
    assert 7_000 <= summary["words"] <= 9_500  # dialogue density of a 90-page feature
    assert 8 <= summary["words"] / summary["dialogue_lines"] <= 18
    assert summary["inserts"] >= 10
    assert {s["location"] for s in data["scenes"]} == {loc["id"] for loc in data["locations"]}
    assert len({s["time"] for s in data["scenes"]}) >= 5
    transitions = [b for s in data["scenes"] for b in s["beats"] if "transition" in b]
    assert 2 <= len(transitions) <= 30 and transitions[-1]["transition"] == "FADE OUT."


def test_scenes_cast_and_music(feature: tuple[dict[str, Any], str]) -> None:
    data, _ = feature
    speakers: Counter[str] = Counter()
    for scene in data["scenes"]:
        assert 2 <= len(scene["characters"]) <= 4
        said = [b["speaker"] for b in _dialogue(scene)]
        assert set(said) <= set(scene["characters"])
        assert len(set(said)) <= 3
        speakers.update(said)
        music = scene["music"]
        assert 60 <= music["tempo"] <= 140 and music["mood"] in gen.MOODS
        assert re.fullmatch(r"[A-G][b#]? (major|minor)", music["key"])
    assert len(set(speakers)) >= 0.9 * len(data["characters"])  # nearly everyone speaks
    runs = sum(
        1 for s in data["scenes"] for a, b in zip(s["beats"], s["beats"][1:])
        if a.get("speaker") and a.get("speaker") == b.get("speaker")
    )
    assert runs > 0  # some consecutive lines by the same speaker


def test_text_looks_like_english(feature: tuple[dict[str, Any], str]) -> None:
    data, _ = feature
    lines = [b["line"] for s in data["scenes"] for b in _dialogue(s)]
    assert all(line[0].isupper() and line[-1] in '.?!"' for line in lines)
    assert not any("{" in line or "  " in line for line in lines)
    assert sum("?" in line for line in lines) > len(lines) / 5
    assert sum("," in line for line in lines) > len(lines) / 5
    assert sum('"' in line for line in lines) > 5


def test_characters_and_ids(feature: tuple[dict[str, Any], str]) -> None:
    data, text = feature
    engines = Counter(c["voice"]["engine"] for c in data["characters"])
    assert engines["piper"] and engines["espeak-ng"]
    for c in data["characters"]:
        voice = c["voice"]
        assert 0.9 <= voice["rate"] <= 1.1 and -3 <= voice["pitch"] <= 3 and voice["seed"] >= 0
        assert (voice["engine"] == "espeak-ng") == ("voice" in voice)
    ids = re.findall(r"^\s*-?\s*id: (\S+)$", text, flags=re.M)
    assert len(ids) > 200 and all(ID.match(i) for i in ids)


def test_explicit_shot_scenes_cover_all_dialogue(feature: tuple[dict[str, Any], str]) -> None:
    data, text = feature
    explicit = [s for s in data["scenes"] if "shots" in s]
    assert len(explicit) == round(len(data["scenes"]) * 0.05)
    for scene in explicit:
        beat_ids = [b["id"] for b in scene["beats"] if "id" in b]
        covered = [ref for shot in scene["shots"] for ref in shot.get("covers", [])]
        assert len(covered) == len(set(covered)) and set(covered) <= set(beat_ids)
        assert {b["id"] for b in _dialogue(scene)} <= set(covered)
        assert [shot["continuity"] for shot in scene["shots"] if "continuity" in shot] == ["continuous"]
    parsed = {s.id: s for s in parse_screenplay(text, "gen.yaml").scenes}
    assert all(parsed[s["id"]].shots for s in explicit)
    assert sum(1 for s in parsed.values() if s.shots is None) == len(parsed) - len(explicit)


def test_deterministic_for_a_seed(feature: tuple[dict[str, Any], str]) -> None:
    _, text = feature
    assert gen.to_yaml(gen.generate_feature(minutes=90, seed=0)) == text
    ten = gen.to_yaml(gen.generate_feature(minutes=10, seed=1))
    assert gen.to_yaml(gen.generate_feature(minutes=10, seed=1)) == ten
    assert gen.to_yaml(gen.generate_feature(minutes=10, seed=2)) != ten


def test_options_scale_the_film() -> None:
    data = gen.generate_feature(minutes=30, scenes=7, characters=5, seed=4, resolution="1280x720", fps=30)
    assert len(data["scenes"]) == 7 and len(data["characters"]) == 5
    assert data["film"]["resolution"] == "1280x720" and data["film"]["fps"] == 30
    assert 0.85 * 30 * gen.DIALOGUE_WORDS_PER_MINUTE <= gen.dialogue_words(data) <= 1.15 * 30 * gen.DIALOGUE_WORDS_PER_MINUTE  # words follow minutes, not scenes
    parse_screenplay(gen.to_yaml(data), "gen.yaml")
    with pytest.raises(ValueError):
        gen.generate_feature(characters=1)


def test_write_feature_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "short.yaml"
    data = gen.write_feature(path, minutes=5, seed=9)
    assert load_screenplay(path).film.title == data["film"]["title"]
    out = tmp_path / "cli.yaml"
    assert gen.main(["-o", str(out), "--minutes", "5", "--seed", "9", "--characters", "8"]) == 0
    summary = capsys.readouterr().out
    assert "7 scenes" in summary and "8 characters" in summary and "dialogue lines" in summary
    assert len(load_screenplay(out).characters) == 8
