"""The scene graph: typed nodes and edges, and the queries later stages use."""

from __future__ import annotations

import pytest

from studio.graph.scene_graph import SceneGraph
from studio.screenplay import load_screenplay, parse_screenplay
from tests.conftest import MINIMAL


@pytest.fixture
def lamp(example_path) -> SceneGraph:
    return SceneGraph.from_screenplay(load_screenplay(example_path))


def edges(graph: SceneGraph, kind: str) -> set[tuple[str, str]]:
    return {(u, v) for u, v, k in graph.graph.edges(keys=True) if k == kind}


def test_nodes_have_kinds(lamp):
    kinds = {}
    for _, attrs in lamp.graph.nodes(data=True):
        kinds[attrs["kind"]] = kinds.get(attrs["kind"], 0) + 1
    assert kinds == {"film": 1, "character": 3, "location": 3, "scene": 4, "shot": len(lamp.shots)}


def test_typed_edges(lamp):
    assert ("film", "scene:storm") in edges(lamp, "contains")
    assert ("scene:storm", "shot:storm-01") in edges(lamp, "contains")
    assert ("scene:dawn", "location:quay") in edges(lamp, "at")
    assert ("shot:climb-3", "character:inspector") in edges(lamp, "features")
    assert ("character:inspector", "shot:climb-3") in edges(lamp, "speaks_in")
    assert ("shot:climb-1", "shot:storm-10") in edges(lamp, "follows")
    assert edges(lamp, "continues") == {("shot:climb-2", "shot:climb-1")}
    assert len(edges(lamp, "follows")) == len(lamp.shots) - 1


def test_continuity_chains_and_render_order(lamp):
    assert ["climb-1", "climb-2"] in lamp.chains
    assert sum(len(c) for c in lamp.chains) == len(lamp.shots)
    assert len(lamp.chains) == len(lamp.shots) - 1
    order = lamp.render_order()
    assert [sid for chain in order for sid in chain] == [s.id for s in lamp.shots]
    waves = lamp.generations()
    assert len(waves) == 2 and waves[1] == ["climb-2"]
    assert lamp.continues("climb-2") == "climb-1" and lamp.continues("climb-1") is None
    assert lamp.dependents("climb-1") == ["climb-2"] and lamp.dependents("storm-03") == []


def test_shots_of_a_character(lamp):
    inspector = [s.id for s in lamp.shots_of("inspector")]
    assert inspector[:2] == ["climb-3", "climb-5"]
    assert all(s.scene != "storm" for s in lamp.shots_of("inspector"))
    for shot in lamp.shots_of("theo"):
        assert "theo" in shot.subjects or "theo" in shot.speakers


def test_runtime_and_scene_starts(lamp):
    assert lamp.runtime == pytest.approx(sum(s.duration for s in lamp.shots))
    starts = lamp.scene_starts()
    assert [s for s, _ in starts] == ["storm", "climb", "standoff", "dawn"]
    assert starts[0][1] == 0 and all(a[1] < b[1] for a, b in zip(starts, starts[1:]))


def test_a_continuous_scene_opening_joins_the_chain_before_it():
    text = MINIMAL + (
        "  - id: s2\n    location: kitchen\n    shots:\n"
        "      - {id: s2-a, size: medium, continuity: continuous}\n"
    )
    graph = SceneGraph.from_screenplay(parse_screenplay(text, "f.yaml"))
    assert graph.chains[-1][-1] == "s2-a" and len(graph.chains[-1]) == 2
