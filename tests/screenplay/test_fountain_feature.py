"""A generated feature-length Fountain screenplay (bench/generate_fountain.py) imports,
checks and plans with every line of dialogue in the shot list and a runtime near its
page count; a short one renders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.generate_feature import generate_feature, summarize
from bench.generate_fountain import main as generate_fountain_main
from bench.generate_fountain import to_fountain
from studio.graph.scene_graph import SceneGraph
from studio.screenplay import load_screenplay
from studio.screenplay.fountain_import import import_fountain
from tests.conftest import run_studio, small


@pytest.fixture(scope="module")
def feature(tmp_path_factory) -> tuple[dict[str, Any], Path]:
    """The generated 90-minute feature: its data, and its Fountain file."""
    data = generate_feature(minutes=90, seed=0)
    path = tmp_path_factory.mktemp("feature") / "feature.fountain"
    path.write_text(to_fountain(data), encoding="utf-8")
    return data, path


def test_the_writer_is_deterministic_and_looks_like_a_screenplay(feature: tuple[dict[str, Any], Path]):
    data, path = feature
    text = path.read_text()
    assert to_fountain(generate_feature(minutes=90, seed=0)) == text
    assert text.startswith(f"Title: {data['film']['title']}\nCredit: Written by\n")
    assert "\n# ACT TWO\n" in text and "\nINT. " in text and " (CONT'D)\n" in text and "\n/*\n" in text


def test_feature_imports_whole(feature: tuple[dict[str, Any], Path]):
    data, path = feature
    imported = import_fountain(path.read_bytes(), str(path))
    expected = summarize(data)
    got = imported.data
    assert len(got["scenes"]) == expected["scenes"] == 120
    assert len(got["locations"]) == expected["locations"]
    speakers = {b["speaker"] for s in data["scenes"] for b in s["beats"] if "speaker" in b}
    assert len(got["characters"]) == len(speakers)  # everyone who speaks, once
    assert imported.dialogue_lines == expected["dialogue_lines"]
    lines = [b["line"] for s in got["scenes"] for b in s["beats"] if "speaker" in b]
    assert lines == [b["line"] for s in data["scenes"] for b in s["beats"] if "speaker" in b]  # word for word
    assert [s["time"] for s in got["scenes"]] == [s["time"] for s in data["scenes"]]  # CONTINUOUS/LATER too
    assert "\nNOBODY\n" in path.read_text() and "nobody" not in {c["id"] for c in got["characters"]}  # boneyard


def test_feature_checks_and_every_line_is_in_the_shot_list(feature: tuple[dict[str, Any], Path]):
    data, path = feature
    result = run_studio("check", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["problems"] == []
    assert report["summary"]["dialogue_lines"] == summarize(data)["dialogue_lines"]
    graph = SceneGraph.from_screenplay(load_screenplay(path))
    spoken = [line.text for shot in graph.shots for line in shot.lines]
    assert spoken == [b["line"] for s in data["scenes"] for b in s["beats"] if "speaker" in b]


def test_feature_runtime_is_near_its_page_count(feature: tuple[dict[str, Any], Path]):
    """The page-a-minute rule of thumb: measured, 74 formatted pages plan to 90.6
    minutes (the planner gives each shot a lead-in and a tail, so talk runs long)."""
    _data, path = feature
    imported = import_fountain(path.read_bytes(), str(path))
    minutes = SceneGraph.from_screenplay(load_screenplay(path)).runtime / 60
    assert 60 < imported.pages < 100
    assert abs(minutes - imported.pages) / imported.pages < 0.3, (minutes, imported.pages)


def test_a_short_generated_fountain_film_renders(tmp_path: Path):
    from studio.run.local import render_film

    path = tmp_path / "short.fountain"
    assert generate_fountain_main(["-o", str(path), "--minutes", "4", "--seed", "3", "--characters", "6"]) == 0
    screenplay = small(load_screenplay(path))
    graph = SceneGraph.from_screenplay(screenplay)
    result = render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="short", audio=False)
    assert result.film.is_file() and result.film.stat().st_size > 10_000
    assert result.report["shots_rendered"] == len(graph.shots)
    assert result.report["film_seconds"] == pytest.approx(graph.runtime, abs=0.5)
    assert 180 < graph.runtime < 300
