"""What a screenwriter writes on purpose survives the import: introductions become
descriptions, a cold open is a scene, headings keep their period and continuity, the
title page, acts, synopses and notes are kept, and dialogue forms mean what they mean."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from studio.screenplay import load_screenplay
from studio.screenplay.fountain_import import import_fountain, parse_fountain, parse_heading, to_yaml

FIXTURES = Path(__file__).parent / "fixtures"
RIVER = FIXTURES / "river-years.fountain"
ROOT = Path(__file__).resolve().parents[2]


def river() -> dict[str, Any]:
    return import_fountain(RIVER.read_bytes(), str(RIVER)).data


def by_id(items: list[dict[str, Any]], ident: str) -> dict[str, Any]:
    return next(x for x in items if x["id"] == ident)


def test_introductions_become_descriptions_and_nothing_is_invented():
    chars = river()["characters"]
    assert by_id(chars, "will")["description"] == "age 3, listens wide-eyed from his bed"
    assert by_id(chars, "edward")["description"] == "40's and handsome, sits on the edge of it"  # 'his father EDWARD BLOOM'
    assert by_id(chars, "sandra")["description"] == "30s, patient, in a blue cardigan, leans on the door frame"
    # the stranger is named in capitals ('A STRANGER watches from the trees.'): the rest of that sentence
    assert by_id(chars, "stranger")["description"] == "watches from the trees"
    # a character never written in capitals in the action gets nothing
    data = import_fountain("INT. ROOM - DAY\n\nMara waits. Theo arrives.\n\nMARA\nHi.\n\nTHEO\nHi.\n").data
    assert [c["description"] for c in data["characters"]] == ["", ""]


def test_imported_descriptions_are_marked_for_the_writer():
    lines = to_yaml(import_fountain(RIVER.read_bytes(), str(RIVER))).splitlines()
    at = lines.index("- id: will")
    assert lines[at - 1] == "# description imported from the introduction on line 20"
    at = lines.index("- id: edward")
    assert lines[at - 1] == "# description imported from the introduction on line 20"


def test_descriptions_reach_the_prompts():
    from studio.render.diffusers.prompts import film_prompts

    prompts = [p.prompt for _, p in film_prompts(load_screenplay(RIVER))]
    assert any("Will, age 3, listens wide-eyed" in p for p in prompts)
    assert any("in 1973" in p for p in prompts)  # the scene's period too


def test_a_cold_open_is_its_own_scene():
    scenes = river()["scenes"]
    assert scenes[0] == {"id": "opening", "location": "unspecified", "time": "day", "characters": [],
                         "beats": [{"action": "A river at first light. No one in sight."},
                                   {"action": '"Every story is a river."'}]}
    assert scenes[1]["id"] == "s1" and scenes[1]["location"] == "wills-bedroom"


@pytest.mark.parametrize("heading, period, continues", [
    ("INT. WILL'S BEDROOM - NIGHT (1973)", "1973", False),
    ("EXT. RIVERBANK - DAY - 1977", "1977", False),
    ("INT. HOSPITAL ROOM - NIGHT - DAY 2", "DAY 2", False),
    ("INT. KITCHEN (SUMMER 1969) - DAY", "SUMMER 1969", False),
    ("EXT. STREET - FLASHBACK - DAY", "FLASHBACK", False),
    ("INT. HALLWAY - CONTINUOUS", None, True),
    ("EXT. RIVERBANK - MOMENTS LATER", None, True),
    ("EXT. RIVERBANK - LATER", None, False),  # later is a jump, however small
    ("INT. CAR (MOVING) - NIGHT", None, False),  # an aside that is not a period
])
def test_heading_period_and_continuity(heading: str, period: str | None, continues: bool):
    slug = parse_heading(heading)
    assert (slug.period, slug.continues) == (period, continues)


def test_scenes_keep_period_continuity_act_and_synopsis():
    scenes = {s["id"]: s for s in river()["scenes"]}
    assert scenes["s1"]["period"] == "1973" and scenes["s1"]["act"] == "ACT ONE"
    assert scenes["s1"]["synopsis"] == "Edward tells the story of the fish, again."
    assert scenes["s2"]["continues"] is True and scenes["s2"]["time"] == "night"
    assert scenes["s3"]["period"] == "1977" and "act" not in scenes["s3"]  # '## The wedding' is a comment
    assert scenes["s4"]["continues"] is True
    assert scenes["s5"]["period"] == "DAY 2" and scenes["s5"]["act"] == "ACT TWO"


def test_title_page_and_notes():
    imported = import_fountain(RIVER.read_bytes(), str(RIVER))
    assert imported.data["film"] == {"title": "The River Years", "title_page": {
        "Credit": "Written by", "Author": "Ada Quill",
        "Source": "an original screenplay for the studio test suite", "Draft date": "2 December 2026",
        "Contact": "ada@example.com, +1 555 0199"}}
    lines = to_yaml(imported).splitlines()
    at = lines.index("- id: s1")  # the note written in scene s1 is a comment above it
    assert "# [[does the lamp work in 1973?]]" in lines[at - 3:at]
    assert "Go to sleep." not in "\n".join(lines)  # the boneyard stays buried


def test_dialogue_forms():
    scenes = {s["id"]: s for s in river()["scenes"]}
    talk = [b for b in scenes["s1"]["beats"] if "speaker" in b]
    assert talk == [
        {"speaker": "edward", "line": "The biggest fish in the river."},
        {"speaker": "edward", "line": "Nobody could catch it.", "parenthetical": "leaning in"},
        {"speaker": "will", "line": "Not even you?"},
        {"speaker": "edward", "line": "Not even me.", "extension": "CONT'D"},  # CONT'D: the same Edward
        # 'EDWARD AND WILL': both say it, at once; no character called 'Edward and Will'
        {"speaker": "edward", "line": "Not even you!"},
        {"speaker": "will", "line": "Not even you!", "overlaps": True},
        {"speaker": "sandra", "line": "Lights out, you two.", "extension": "O.S."},
    ]
    assert [c["id"] for c in river()["characters"]] == ["edward", "will", "sandra", "stranger"]
    dual = [b for b in scenes["s2"]["beats"] if "speaker" in b][-2:]
    assert dual == [{"speaker": "sandra", "line": "It gets bigger."},
                    {"speaker": "will", "line": "It gets bigger!", "overlaps": True}]
    # off-screen per line: Sandra (O.S.) in s1 is heard, not seen; the stranger (V.O.) likewise
    assert "sandra" not in scenes["s1"]["characters"] and "stranger" in scenes["s3"]["characters"]


def test_a_name_with_and_is_one_character_unless_each_part_speaks_alone():
    data = import_fountain("INT. PUB - NIGHT\n\nSMITH AND JONES\nCheers.\n").data
    assert [c["name"] for c in data["characters"]] == ["Smith and Jones"]


def test_a_fragment_without_headings_imports_with_a_warning():
    path = FIXTURES / "fragment.fountain"
    screenplay = parse_fountain(path.read_bytes(), str(path))
    assert len(screenplay.scenes) == 1 and screenplay.scenes[0].location == "unspecified"
    (warning,) = [w for w in screenplay.warnings if "no scene heading" in w.message]
    assert (warning.severity, warning.line) == ("warning", 1)


def test_a_continuous_scene_at_the_same_place_continues_its_last_shot():
    from studio.graph.scene_graph import SceneGraph

    text = ("INT. HOUSE - NIGHT\n\nMara waits by the door.\n\nINT. HOUSE - CONTINUOUS\n\nShe opens it.\n\n"
            "EXT. GARDEN - CONTINUOUS\n\nShe steps out.\n")
    graph = SceneGraph.from_screenplay(parse_fountain(text))
    first = {s.scene: s for s in reversed(graph.shots)}
    assert first["s2"].continuous  # same place, no time passes: one take across the cut
    assert not first["s3"].continuous  # a new place is a new set-up even when continuous in time


def test_the_feature_introduces_nine_in_ten_and_invents_none():
    sys.path.insert(0, str(ROOT))
    from bench.generate_feature import generate_feature
    from bench.generate_fountain import to_fountain

    data = generate_feature(minutes=120, seed=0)
    imported = import_fountain(to_fountain(data), "feature.fountain").data
    got = {c["name"]: c["description"] for c in imported["characters"]}
    speaking = {b["speaker"] for s in data["scenes"] for b in s["beats"] if "speaker" in b}
    written = [(k, c) for k, c in enumerate(data["characters"]) if c["id"] in speaking]
    introduced = [c for k, c in written if k % 10 != 9]  # the generator leaves every tenth unintroduced
    assert len(introduced) >= 20
    described = [c for c in introduced if got[c["name"]] == c["description"]]
    assert len(described) / len(introduced) >= 0.9
    assert all(got[c["name"]] == "" for k, c in written if k % 10 == 9)


def test_overlapping_speech_is_one_shot_with_both_speakers_starting_together():
    from studio.graph.scene_graph import SceneGraph

    text = ("INT. HALL - NIGHT\n\nSandra and Will stand in the hall.\n\nSANDRA\nIt gets bigger.\n\n"
            "WILL ^\nIt gets bigger!\n")
    graph = SceneGraph.from_screenplay(parse_fountain(text))
    (shot,) = [s for s in graph.shots if s.lines]
    assert shot.size == "two-shot" and set(shot.subjects) == {"sandra", "will"}
    sandra, will = shot.lines
    assert will.start == sandra.start  # spoken at the same time
    assert shot.duration >= max(sandra.end, will.end)


def test_acts_title_the_chapters_of_the_cut_and_the_period_is_in_the_plan():
    from studio.graph.scene_graph import SceneGraph
    from studio.render.plan import plan_film
    from studio.run.local import _chapters

    plans = plan_film(SceneGraph.from_screenplay(load_screenplay(RIVER)))
    titles = [c.title for c in _chapters(plans)]
    assert titles[1] == "ACT ONE: INT. WILL'S BEDROOM - NIGHT (1973)"
    assert titles[-1] == "ACT TWO: INT. HOSPITAL ROOM - NIGHT - DAY 2"
    assert titles[2] == "INT. HALLWAY - CONTINUOUS"
    first = next(p for p in plans if p.scene_id == "s1")
    assert first.period == "1973" and "period" in first.key_data() and "act" not in first.key_data()
    plain = next(p for p in plans if p.scene_id == "s2")
    assert "period" not in plain.key_data()  # keys of scenes without a period are as they were
