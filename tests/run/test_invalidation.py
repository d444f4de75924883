"""Dependency-aware invalidation: an edit re-renders exactly the shots whose inputs
changed plus the shots that continue them, and the lines whose voices changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.run.local import render_film
from studio.screenplay import parse_screenplay
from tests.conftest import small

FILM = """\
version: 1
film: {title: Chain, seed: 5}
characters:
  - {id: ana, name: Ana, description: a woman in a green coat, voice: {engine: espeak-ng, voice: en-us+f2}}
  - {id: ben, name: Ben, description: a man in a brown cardigan, voice: {engine: espeak-ng, voice: en-us+m3}}
locations:
  - {id: kitchen, name: Kitchen, description: a small kitchen at night, interior: true}
  - {id: yard, name: Yard, description: a yard with a wooden fence and trees, interior: false}
scenes:
  - id: s1
    location: kitchen
    characters: [ana, ben]
    shots:
      - {id: a1, size: wide, subjects: [ana, ben], covers: [1]}
      - {id: a2, size: close-up, subjects: [ben], covers: [2]}
      - {id: a3, size: medium, subjects: [ben], continuity: continuous, covers: [3]}
      - {id: a4, size: close-up, subjects: [ana], covers: [4]}
    beats:
      - action: Ana waits at the table.
      - {speaker: ben, line: You waited up.}
      - {speaker: ben, line: I walked the long way round.}
      - {speaker: ana, line: Somebody had to.}
  - id: s2
    location: yard
    characters: [ana]
    beats:
      - action: Ana walks out to the fence.
      - {speaker: ana, line: Still raining.}
"""


def render(tmp_path: Path, text: str, out: str):
    screenplay = small(parse_screenplay(text, str(tmp_path / "film.yaml"), base_dir=tmp_path))
    return render_film(screenplay, tmp_path / out, cache_dir=tmp_path / "cache", name="film")


@pytest.fixture
def first(tmp_path):
    result = render(tmp_path, FILM, "o0")
    assert result.report["shots_rendered"] == len(result.plans)
    return result


def test_unchanged_film_renders_and_rebuilds_nothing(tmp_path, first):
    again = render(tmp_path, FILM, "o0")
    assert again.report["shots_rendered"] == 0 and again.report["lines_synthesized"] == []
    assert again.report["cut_rebuilt"] is False and again.report["audio"]["mixed"] is False
    assert again.film.read_bytes() == first.film.read_bytes()


def test_editing_one_line_rerenders_its_shot_and_the_shots_continuing_it(tmp_path, first):
    edited = render(tmp_path, FILM.replace("You waited up.", "You stayed up."), "o1")
    assert edited.report["rendered"] == ["a2", "a3"]  # a3 continues a2
    assert edited.report["lines_synthesized"] == ["s1.2"]


def test_editing_a_line_that_nothing_continues(tmp_path, first):
    edited = render(tmp_path, FILM.replace("Somebody had to.", "Somebody really had to."), "o1")
    assert edited.report["rendered"] == ["a4"]


def test_a_character_description_changes_the_shots_they_are_in(tmp_path, first):
    edited = render(tmp_path, FILM.replace("a man in a brown cardigan", "a man in a red scarf"), "o1")
    assert edited.report["rendered"] == ["a1", "a2", "a3", "a4"]  # every shot of the scene Ben is in
    assert edited.report["lines_synthesized"] == []  # his voice did not change


def test_a_voice_changes_that_characters_lines_only(tmp_path, first):
    edited = render(tmp_path, FILM.replace("voice: en-us+m3", "voice: en-us+m5"), "o1")
    assert edited.report["lines_synthesized"] == ["s1.2", "s1.3"]
    assert set(edited.report["rendered"]) <= {"a2", "a3"}  # only where his lines' lengths changed


def test_a_location_changes_only_its_scenes(tmp_path, first):
    edited = render(tmp_path, FILM.replace("a yard with a wooden fence and trees", "a yard under snow"), "o1")
    assert edited.report["rendered"] == [p.shot_id for p in first.plans if p.scene_id == "s2"]
