"""Validation: every problem at once, each located and with a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.errors import ScreenplayError
from studio.screenplay import load_screenplay, parse_screenplay
from tests.conftest import MINIMAL


def problems_of(text: str, **kw):
    with pytest.raises(ScreenplayError) as info:
        parse_screenplay(text, "film.yaml", **kw)
    return [p for p in info.value.problems if p.severity == "error"]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_minimal_screenplay_loads():
    screenplay = parse_screenplay(MINIMAL, "film.yaml")
    assert screenplay.film.title == "Two Rooms"
    assert screenplay.film.fps == 24 and screenplay.size == (854, 480)
    assert [c.id for c in screenplay.characters] == ["ana", "ben"]
    assert screenplay.scenes[0].beats[1].speaker == "ben"


def test_dialogue_by_an_undefined_character_names_line_and_suggests():
    text = MINIMAL.replace("speaker: ben", "speaker: bne")
    (problem,) = problems_of(text)
    assert problem.line == line_of(text, "speaker: bne")
    assert problem.column == 18
    assert "unknown character 'bne' in scene s1" in problem.message
    assert problem.hint == "did you mean 'ben'?"
    assert problem.field == "scenes[s1].beats[2].speaker"
    assert str(problem).startswith(f"film.yaml:{problem.line}:18: error: scenes[s1].beats[2].speaker: unknown")


def test_scene_at_an_undefined_location():
    text = MINIMAL.replace("location: kitchen", "location: kitchn")
    (problem,) = problems_of(text)
    assert "unknown location 'kitchn'" in problem.message and "kitchen" in problem.hint
    assert problem.line == line_of(text, "location: kitchn")


def test_negative_duration():
    text = MINIMAL + "    shots:\n      - {id: a, size: wide, duration: -2}\n"
    (problem,) = problems_of(text)
    assert "greater than 0" in problem.message and "-2" in problem.message
    assert problem.line == line_of(text, "duration: -2")


def test_likeness_path_leaving_the_folder(tmp_path: Path):
    text = MINIMAL.replace(
        "description: a woman in a green coat}",
        "description: a woman, likeness: {photos: [../../etc/passwd], consent: I agree}}",
    )
    (problem,) = problems_of(text, base_dir=tmp_path)
    assert "leaves the screenplay's folder" in problem.message
    assert "--allow-outside-assets" in problem.hint
    assert problem.line == line_of(text, "etc/passwd")


def test_outside_assets_are_allowed_when_the_user_says_so(tmp_path: Path):
    outside = tmp_path / "photo.jpg"
    outside.write_bytes(b"not really a jpeg")
    inner = tmp_path / "project"
    inner.mkdir()
    text = MINIMAL.replace(
        "description: a woman in a green coat}",
        "description: a woman, references: [../photo.jpg]}",
    )
    assert problems_of(text, base_dir=inner)
    screenplay = parse_screenplay(text, "film.yaml", base_dir=inner, allow_outside=True)
    assert screenplay.characters[0].references == ["../photo.jpg"]


def test_missing_asset_is_an_error(tmp_path: Path):
    text = MINIMAL.replace("interior: true}", "interior: true, references: [plates/kitchen.png]}")
    (problem,) = problems_of(text, base_dir=tmp_path)
    assert "file not found" in problem.message


def test_every_problem_is_reported_at_once():
    text = (
        MINIMAL.replace("title: Two Rooms", "title: Two Rooms\n  fpss: 24")
        .replace("speaker: ben", "speaker: bne")
        .replace("location: kitchen", "location: kitchn")
        .replace("- action: Ana waits at the table.", "- action: Ana waits.\n        colour: red")
    )
    problems = problems_of(text)
    messages = " | ".join(p.message for p in problems)
    assert "unknown key 'fpss'" in messages
    assert "unknown character 'bne'" in messages
    assert "unknown location 'kitchn'" in messages
    assert "unknown key 'colour'" in messages
    assert len({p.line for p in problems}) == 4


def test_unknown_keys_get_suggestions():
    text = MINIMAL.replace("title: Two Rooms", "titel: Two Rooms")
    problems = problems_of(text)
    assert any(p.message == "unknown key 'titel'" and p.hint == "did you mean 'title'?" for p in problems)
    assert any("missing required field 'title'" in p.message for p in problems)


def test_duplicate_ids_are_errors():
    text = MINIMAL.replace("{id: ben, name: Ben", "{id: ana, name: Ben")
    problems = problems_of(text)
    assert any("duplicate character id 'ana'" in p.message for p in problems)


def test_enum_values_suggest_the_nearest():
    text = MINIMAL.replace("    characters: [ana, ben]\n", "    characters: [ana, ben]\n    time: dusks\n")
    (problem,) = problems_of(text)
    assert problem.hint == "did you mean 'dusk'?"


def test_a_beat_of_no_known_kind():
    text = MINIMAL.replace("- action: Ana waits at the table.", "- mood: gloomy")
    (problem,) = problems_of(text)
    assert "a beat needs" in problem.message


def test_wrong_version_is_refused_first():
    (problem,) = problems_of(MINIMAL.replace("version: 1", "version: 2"))
    assert "version" in problem.message


def test_top_level_must_be_a_mapping():
    (problem,) = problems_of("- just\n- a list\n")
    assert "expected a mapping" in problem.message


def test_explicit_shots_must_cover_every_line():
    text = MINIMAL + (
        "    shots:\n"
        "      - {id: a, size: wide}\n"
        "      - {id: b, size: close-up, subjects: [ben], covers: [2]}\n"
    )
    problems = problems_of(text)
    assert [p.message for p in problems] == ["dialogue beat 3 of scene s1 is not covered by any shot"]


def test_explicit_shot_cover_errors():
    text = MINIMAL + (
        "    shots:\n"
        "      - {id: a, size: wide, covers: [2, 3]}\n"
        "      - {id: b, size: close-up, continuity: continuous, covers: [3, 9, nope]}\n"
    )
    messages = [p.message for p in problems_of(text)]
    assert any("already covered" in m for m in messages)
    assert any("has no beat 9" in m for m in messages)
    assert any("unknown beat id 'nope'" in m for m in messages)


def test_first_shot_cannot_be_continuous():
    text = MINIMAL + "    shots:\n      - {id: a, size: wide, continuity: continuous}\n"
    (problem,) = problems_of(text)
    assert "first shot" in problem.message


def test_odd_resolution_is_refused():
    (problem,) = problems_of(MINIMAL.replace("title: Two Rooms", "title: Two Rooms\n  resolution: 853x480"))
    assert "even" in problem.message


def test_load_screenplay_reports_missing_files(tmp_path: Path):
    with pytest.raises(ScreenplayError) as info:
        load_screenplay(tmp_path / "nope.yaml")
    assert "no such file" in str(info.value)


def test_screenplay_remembers_where_values_came_from(write):
    screenplay = load_screenplay(write(MINIMAL))
    assert screenplay.source.locate(("scenes", 0, "beats", 1, "speaker"))[0] == line_of(MINIMAL, "speaker: ben")
    assert screenplay.base_dir == write(MINIMAL).parent
