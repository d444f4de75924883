"""Fountain screenplays become studio screenplays: scenes, locations, characters and
beats as a writer means them, validated like YAML, with problems on Fountain lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from studio.errors import ScreenplayError, StudioError
from studio.graph.scene_graph import SceneGraph
from studio.screenplay import load_screenplay, parse_screenplay
from studio.screenplay.fountain_import import display_name, import_fountain, parse_heading, to_yaml
from studio.screenplay.validate import validate
from tests.conftest import EXAMPLE

FIXTURES = Path(__file__).parent / "fountain"
FERRY = FIXTURES / "night-ferry.fountain"
EDGES = FIXTURES / "edge-cases.fountain"


def data_of(path: Path) -> dict[str, Any]:
    return import_fountain(path.read_bytes(), str(path)).data


def scene(data: dict[str, Any], ident: str) -> dict[str, Any]:
    return next(s for s in data["scenes"] if s["id"] == ident)


# --------------------------------------------------------------------------- the whole film


def test_the_night_ferry_imports_as_a_writer_means_it():
    data = data_of(FERRY)
    assert data["film"] == {"title": "The Night Ferry: a short film", "title_page": {
        "Credit": "Written by", "Author": "A. Writer", "Source": "an original screenplay for the studio test suite",
        "Draft date": "1 March 2026", "Contact": "writer@example.com, +1 555 0100"}}
    assert data["characters"] == [
        # her introduction: 'MARA (40s), in a yellow raincoat, waits by a bollard.'
        {"id": "mara", "name": "Mara", "description": "40s, in a yellow raincoat, waits by a bollard"},
        {"id": "theo", "name": "Theo", "description": ""},  # THEO, THEO (O.S.), THEO (CONT'D), THEO (V.O.)
        {"id": "mckenna", "name": "McKENNA", "description": ""},  # forced with @, case kept
    ]
    assert data["locations"] == [
        {"id": "harbour-pier", "name": "Harbour - Pier", "interior": False},  # one place, two scenes
        {"id": "ferry-cabin", "name": "Ferry - Cabin", "interior": True},
        {"id": "flashback-the-pier-years-ago", "name": "Flashback - the Pier, Years Ago"},  # forced: no INT/EXT
    ]
    assert [(s["id"], s["location"], s["time"]) for s in data["scenes"]] == [
        ("s1", "harbour-pier", "night"),
        ("s2", "ferry-cabin", "night"),  # CONTINUOUS keeps the clock
        ("s2a", "flashback-the-pier-years-ago", "night"),  # unnumbered after #2#
        ("s3", "harbour-pier", "dawn"),
    ]


def test_dialogue_parentheticals_extensions_and_dual_dialogue():
    s1, s2 = data_of(FERRY)["scenes"][:2]
    assert s1["beats"] == [
        {"action": "Rain hammers the empty pier. MARA (40s), in a yellow raincoat, waits by a bollard."},
        {"action": "A lamp flickers, then dies. The sign says *NO FISHING*."},  # note dropped, escapes kept
        {"speaker": "mara", "line": "Come on. Come on.", "parenthetical": "to herself"},
        {"speaker": "theo", "line": "Mara!", "extension": "O.S."},
        {"action": "Theo jogs up the pier, out of breath."},
        {"speaker": "theo", "line": "You came.", "extension": "CONT'D"},
        # a parenthetical between lines splits the speech into two beats
        {"speaker": "mara", "line": "I said I would."},
        {"speaker": "mara", "line": "I always do.", "parenthetical": "beat"},
        {"transition": "CUT TO:"},
    ]
    assert s2["beats"][1:7] == [
        {"speaker": "theo", "line": "Where will you go?"},
        {"speaker": "mara", "line": "Anywhere but here.", "overlaps": True},  # dual dialogue: over Theo's line
        {"speaker": "theo", "line": "Take me with you.", "parenthetical": "quietly, not looking at her"},
        {"action": "Mara nods."},  # a cue with only a parenthetical is business, not speech
        {"action": "♪ Row, row, row your boat / gently down the stream ♪"},  # lyrics on their own
        {"speaker": "mckenna", "line": "Tickets, please."},
    ]
    assert s2["beats"][-1] == {"action": "THE END OF ACT ONE"}  # centered text is action


def test_scene_characters_are_on_screen_speakers_and_those_the_action_names():
    data = data_of(FERRY)
    assert scene(data, "s1")["characters"] == ["mara", "theo"]  # Theo is O.S. first, then arrives
    assert scene(data, "s2a")["characters"] == ["mara"]  # named in action only
    assert scene(data, "s3")["characters"] == ["theo", "mara"]  # Theo's V.O. alone would not count


def test_edge_cases_import():
    data = data_of(EDGES)
    s1 = scene(data, "s1")
    assert s1["beats"][:5] == [
        {"action": "THE LIGHTS GO OUT."},  # capitals, then a blank line: action
        {"action": "The keeper checks the log. INT. is stencilled on the door, for no reason anyone remembers."},
        {"speaker": "edward", "line": "Is anyone there? Hello?", "parenthetical": "whispering"},  # indented, 2 spaces
        {"speaker": "edward", "line": "I was alone that night. Or so I thought.", "extension": "V.O."},  # notes gone
        {"action": "Indented action, four spaces in."},
    ]
    assert s1["beats"][5] == {"transition": "DISSOLVE TO:"}  # not followed by a blank line
    assert "cellar" not in [loc["id"] for loc in data["locations"]]  # the boneyard scene is gone
    assert [c["id"] for c in data["characters"]] == ["edward", "obrien", "dr-okafor", "room-2b"]
    assert [c["name"] for c in data["characters"]][1:3] == ["O'Brien", "Dr. Okafor"]
    assert [(s["id"], s["time"]) for s in data["scenes"]] == [
        ("s1", "night"), ("s2", "night"), ("s3", "night"), ("s4", "dusk"), ("s5", "afternoon"), ("s6", "dusk"),
        ("s12a", "day"),
    ]
    interiors = {loc["id"]: loc.get("interior") for loc in data["locations"]}
    assert interiors == {"lighthouse-lamp-room": True, "lighthouse": False, "lighthouse-island": None,
                         "keepers-van": None, "van": None}
    s3 = scene(data, "s3")
    assert s3["beats"][1] == {"speaker": "edward", "line": "Let there be light."}  # a trailing (beat) says nothing


# --------------------------------------------------------------------------- headings and names


@pytest.mark.parametrize("heading, interior, place, time", [
    ("INT. HOUSE - KITCHEN - NIGHT", True, "HOUSE - KITCHEN", "night"),
    ("EXT. HOUSE - DAY", False, "HOUSE", "day"),
    ("INT./EXT. CAR (MOVING) - DUSK", None, "CAR", "dusk"),
    ("I/E VAN - SUNRISE", None, "VAN", "dawn"),
    ("EST. CITY - EARLY MORNING", None, "CITY", "morning"),
    ("INT. OFFICE - LATE AFTERNOON", True, "OFFICE", "afternoon"),
    ("EXT. PORCH - EVENING", False, "PORCH", "evening"),
    ("INT. BIG TOP - NIGHT - CONTINUOUS", True, "BIG TOP", "night"),
    ("EXT. ROAD - MOMENTS LATER", False, "ROAD", None),
    ("EXT. ROAD - LATER", False, "ROAD", None),
    ("INT. ROOM - SAME", True, "ROOM", None),
    ("INT. WILL'S BEDROOM - NIGHT (1973)", True, "WILL'S BEDROOM", "night"),
    ("EXT. BACK YARD - DAY [FLASHBACK]", False, "BACK YARD", "day"),
    ("EXT. SWAMP - DAY TO NIGHT", False, "SWAMP", "day"),
    ("EXT. TOWN - MAGIC HOUR", False, "TOWN", "dusk"),
    ("INT. HOUSE-NIGHT", True, "HOUSE", "night"),
    ("EXT. FURTHER ALONG - ROUGH PATH", False, "FURTHER ALONG - ROUGH PATH", None),
])
def test_headings_give_place_interior_and_time(heading: str, interior: bool | None, place: str, time: str | None):
    slug = parse_heading(heading)
    assert (slug.interior, slug.place, slug.time) == (interior, place, time)


@pytest.mark.parametrize("written, shown", [
    ("EDWARD", "Edward"), ("DR. OKAFOR", "Dr. Okafor"), ("O'BRIEN", "O'Brien"), ("WILL'S DATE", "Will's Date"),
    ("MARY-JANE", "Mary-Jane"), ("EDWARD AND WILL", "Edward and Will"), ("McCLANE", "McCLANE"), ("黒澤", "黒澤"),
])
def test_character_names_for_people(written: str, shown: str):
    assert display_name(written) == shown


def test_same_place_inside_and_out_leaves_interior_to_the_headings():
    data = import_fountain("INT. HOUSE - DAY\n\nIn.\n\nEXT. HOUSE - NIGHT\n\nOut.\n").data
    assert data["locations"] == [{"id": "house", "name": "House"}]


def test_ids_are_valid_and_unique_whatever_the_names():
    text = "".join(
        f"INT. {place} - DAY\n\n{cue}\nHello.\n\n"
        for place, cue in [("ÉCOLE", "@黒澤"), ("ECOLE", "ÉLODIE"), ("!!!", "@Élodie"), ("Q", "A" * 90)]
    )
    data = import_fountain(text).data
    ids = [c["id"] for c in data["characters"]]
    assert ids == ["character-1", "elodie", "a" * 60]  # ÉLODIE and @Élodie are one character
    assert [loc["id"] for loc in data["locations"]] == ["ecole", "unspecified", "q"]  # ÉCOLE is ECOLE
    assert data["characters"][1]["name"] == "Élodie"  # the forced spelling names her
    validate(data, import_fountain(text).source)


def test_scene_numbers_become_ids_only_when_unique():
    text = "INT. A - DAY #5#\n\nA.\n\nINT. B - DAY #5#\n\nB.\n\nINT. C - DAY #I-1-A#\n\nC.\n\nINT. D - DAY\n\nD.\n"
    assert [s["id"] for s in import_fountain(text).data["scenes"]] == ["s1", "s2", "i-1-a", "i-1-aa"]


def test_opening_before_the_first_heading_and_a_film_with_no_heading():
    data = import_fountain("Title: T\n\nA cold open.\n\nINT. HOUSE - DAY\n\nInside.\n").data
    # a cold open is its own scene, at an unnamed place, before the first heading's
    assert [s["beats"] for s in data["scenes"]] == [[{"action": "A cold open."}], [{"action": "Inside."}]]
    assert data["scenes"][0]["location"] == "unspecified" and data["scenes"][1]["location"] == "house"
    data = import_fountain("MARA\nHello?\n\nTHEO\nHi.\n", "two-voices.fountain").data
    assert data["film"]["title"] == "Two voices"  # from the file name
    assert data["locations"] == [{"id": "unspecified", "name": "Unspecified"}]
    assert [b["speaker"] for b in data["scenes"][0]["beats"]] == ["mara", "theo"]


def test_long_text_is_split_to_fit_the_format():
    words = " ".join(["word"] * 3000)  # 14,999 characters: over the 5,000 a beat holds
    data = import_fountain(f"INT. ROOM - DAY\n\n{words}\n\nMARA\n{words}\n").data
    beats = data["scenes"][0]["beats"]
    assert len(beats) == 6 and all(len(b.get("action", b.get("line", ""))) <= 5000 for b in beats)
    assert sum(len(b.get("line", "").split()) for b in beats) == 3000  # nothing lost


# --------------------------------------------------------------------------- validation and errors


def test_load_screenplay_reads_fountain_and_warnings_point_at_fountain_lines():
    screenplay = load_screenplay(EDGES)
    assert screenplay.film.title == "Edge Cases"
    # the three headings with nothing under them are warned about, on their own lines
    assert [(w.file, w.line) for w in screenplay.warnings] == [(str(EDGES), 68), (str(EDGES), 70), (str(EDGES), 72)]
    graph = SceneGraph.from_screenplay(screenplay)
    assert sum(len(s.lines) for s in graph.shots) == 7  # every dialogue beat is spoken in some shot


def test_validation_problems_carry_the_fountain_line():
    imported = import_fountain(FERRY.read_bytes(), str(FERRY))
    beat = imported.data["scenes"][0]["beats"][3]  # THEO (O.S.) / Mara! on lines 28-29
    beat["speaker"] = "teho"
    with pytest.raises(ScreenplayError) as caught:
        validate(imported.data, imported.source)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(FERRY), 28, "scenes[s1].beats[4].speaker")
    assert "did you mean 'theo'?" in problem.hint
    assert imported.source.locate(("scenes", 0, "beats", 2, "parenthetical")) == (25, 1)
    assert imported.source.locate(("scenes", 0, "beats", 2, "line")) == (26, 1)


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"   \n\n\t\n", "the file is empty"),
    (bytes(range(256)), "binary file"),
    (b"INT. HOUSE - DAY\n\n\xff\xfe broken\n", "not valid UTF-8"),
    (b"INT. HOUSE - DAY\n\n" + bytes(range(1, 9)) * 4, "control character"),
    (EXAMPLE.read_bytes(), "studio YAML screenplay"),
    (b"Just some prose about my day.\n\nMore prose.\n", "no scene headings and no dialogue"),
    (b"Title: Only a title page\nAuthor: Me\n", "no scene headings and no dialogue"),
    (b"/* everything\nin the boneyard */\n", "no scene headings and no dialogue"),
])
def test_what_is_not_fountain_is_a_clear_error(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "script.fountain"
    path.write_bytes(content)
    with pytest.raises(ScreenplayError) as caught:
        load_screenplay(path)
    (problem,) = caught.value.problems
    assert message in problem.message and problem.file == str(path) and problem.hint
    assert isinstance(caught.value, StudioError)


# --------------------------------------------------------------------------- YAML out


@pytest.mark.parametrize("path", [FERRY, EDGES], ids=lambda p: p.name)
def test_written_yaml_holds_the_same_screenplay_and_validates(path: Path):
    imported = import_fountain(path.read_bytes(), str(path))
    text = to_yaml(imported)
    assert yaml.safe_load(text) == imported.data
    assert parse_screenplay(text, "imported.yaml").model_dump() == load_screenplay(path).model_dump()


def test_written_yaml_keeps_title_page_sections_and_synopses_as_comments():
    text = to_yaml(import_fountain(FERRY.read_bytes(), str(FERRY)))
    lines = text.splitlines()
    assert "# Author: A. Writer" in lines and "# Contact: writer@example.com, +1 555 0100" in lines
    at = lines.index("- id: s1")  # '# ACT ONE' is the scene's act; the synopsis above it and the note stay
    assert lines[at - 2: at] == ["# = Mara waits for a ferry that may never come.", "# [[check: is the sign legible?]]"]
    assert lines[at + 2] == "  act: ACT ONE"
    at = lines.index("- id: s2")  # a deeper section stays a comment; a synopsis below a heading is the scene's
    assert lines[at - 1] == "# ## The crossing"
    assert "  synopsis: They talk at last." in lines[at:at + 8]


def test_a_stray_control_character_is_dropped_not_fatal():
    action = "Mara waits by the window, watching the rain run down the glass. Nobody comes."
    text = f"INT. HOUSE - DAY\n\n{action}\n\x1a"  # an old editor's end-of-file mark
    assert import_fountain(text).data["scenes"][0]["beats"] == [{"action": action}]
