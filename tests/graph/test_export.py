"""Exports: GraphML that networkx reads back, and pictures people can read."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from PIL import Image

from studio.errors import StudioError
from studio.graph.export import export_graph, render_svg
from studio.graph.scene_graph import SceneGraph
from studio.screenplay import load_screenplay


@pytest.fixture
def lamp(example_path) -> SceneGraph:
    return SceneGraph.from_screenplay(load_screenplay(example_path))


def test_graphml_round_trip(lamp, tmp_path: Path):
    path = export_graph(lamp, tmp_path / "film.graphml")
    back = nx.read_graphml(path, force_multigraph=True)
    assert back.number_of_nodes() == lamp.graph.number_of_nodes()
    assert back.number_of_edges() == lamp.graph.number_of_edges()
    assert back.nodes["shot:climb-2"]["continuity"] == "continuous"
    assert back.nodes["character:mara"]["label"] == "Mara"


def test_png_picture(lamp, tmp_path: Path):
    path = export_graph(lamp, tmp_path / "film.png")
    with Image.open(path) as image:
        width, height = image.size
        colours = len(set(image.convert("RGB").resize((200, 100)).getdata()))
    assert width >= 900 and height >= 4 * 60
    assert colours > 20  # text, cards and character colours, not a blank sheet


def test_svg_picture_names_every_shot_and_escapes_text(lamp, tmp_path: Path):
    svg = render_svg(lamp)
    for shot in lamp.shots:
        assert f">{shot.id}<" in svg or shot.id[:5] in svg
    assert "INT. LAMP ROOM - NIGHT" in svg
    export_graph(lamp, tmp_path / "film.svg")
    assert (tmp_path / "film.svg").read_text().startswith("<svg")


def test_unknown_format_is_a_clear_error(lamp, tmp_path: Path):
    with pytest.raises(StudioError, match=r"\.graphml, \.svg or \.png"):
        export_graph(lamp, tmp_path / "film.dot")
