"""Fountain syntax as screenwriters write it: every element of the spec, and the
edge cases where a line could be two things, come out as the element they mean."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.screenplay.fountain import (
    Action,
    Heading,
    Lyrics,
    Section,
    Synopsis,
    Transition,
    page_count,
    parse_fountain_text,
    strip_markup,
)

FIXTURES = Path(__file__).parent / "fountain"


def elements(text: str) -> list:
    return parse_fountain_text(textwrap.dedent(text)).elements


def kinds(text: str) -> list[str]:
    return [type(el).__name__ for el in elements(text)]


# --------------------------------------------------------------------------- title page


def test_title_page_keys_values_and_indented_continuations():
    doc = parse_fountain_text((FIXTURES / "night-ferry.fountain").read_text())
    fields = {f.key: f.lines for f in doc.title_page}
    assert fields["Title"] == ("The Night Ferry", "a short film")  # markup stripped, two lines
    assert fields["Credit"] == ("Written by",)
    assert fields["Author"] == ("A. Writer",)
    assert fields["Draft date"] == ("1 March 2026",)
    assert fields["Contact"] == ("writer@example.com", "+1 555 0100")  # tab-indented lines
    assert doc.title() == "The Night Ferry: a short film"
    assert isinstance(doc.elements[0], Section)  # the body starts after the blank line


def test_a_script_opening_on_fade_in_has_no_title_page():
    doc = parse_fountain_text("FADE IN:\n\nINT. HOUSE - DAY\n\nQuiet.\n")
    assert doc.title_page == []
    assert [type(el).__name__ for el in doc.elements] == ["Heading", "Action"]  # FADE IN: dropped


def test_key_value_lines_after_the_title_page_are_action():
    els = elements("""\
        Title: Real

        Title: is just a word here.
        """)
    assert els == [Action("Title: is just a word here.", 3)]


# --------------------------------------------------------------------------- scene headings


@pytest.mark.parametrize("line", [
    "INT. HOUSE - DAY", "EXT. HOUSE - DAY", "EST. CITY - NIGHT", "INT./EXT. CAR - DAY", "INT/EXT CAR - DAY",
    "I/E VAN - DAY", "int. house - day", "EXT HOUSE - DAY", "EXT/INT. PORCH - DAY", "INT.  TWO SPACES - DAY",
])
def test_scene_heading_prefixes(line: str):
    (heading,) = elements(f"{line}\n")
    assert isinstance(heading, Heading) and heading.text == line and not heading.forced


def test_forced_heading_and_scene_numbers():
    els = elements("""\
        .FLASHBACK - YEARS AGO

        INT. HOUSE - DAY #12A#

        ...and an ellipsis is not a heading.
        """)
    assert els[0] == Heading("FLASHBACK - YEARS AGO", 1, 1, None, True)
    assert els[1] == Heading("INT. HOUSE - DAY", 3, 1, "12A", False)
    assert els[2] == Action("...and an ellipsis is not a heading.", 5)


def test_int_inside_action_is_action():
    els = elements("""\
        He reads the sign on the door.
        INT. HOUSE - DAY is painted on it.

        Interior designers love it.
        """)
    assert kinds_of(els) == ["Action", "Action"]
    assert "INT. HOUSE - DAY is painted" in els[0].text


def test_heading_without_a_blank_line_below_still_starts_the_scene():
    els = elements("""\
        INT. HOUSE - DAY
        Mara waits.
        """)
    assert kinds_of(els) == ["Heading", "Action"]
    assert (els[1].text, els[1].line) == ("Mara waits.", 2)
    # in lower case, a 'heading' running into text is prose
    assert kinds_of(elements("Int. design is his passion\nand his curse.\n")) == ["Action"]


def kinds_of(els: list) -> list[str]:
    return [type(el).__name__ for el in els]


# --------------------------------------------------------------------------- characters and dialogue


def test_character_extensions_forced_names_and_dual_dialogue():
    els = elements("""\
        EDWARD (V.O.) (CONT'D)
        I was there.

        @McCLANE
        Yippee ki-yay.

        HANS (on the radio)
        What was it you said?

        MARA ^
        At the same time.
        """)
    assert [(d.name, d.extensions, d.dual, d.forced) for d in els] == [
        ("EDWARD", ("V.O.", "CONT'D"), False, False),
        ("McCLANE", (), False, True),
        ("HANS", ("on the radio",), False, False),
        ("MARA", (), True, False),
    ]


def test_a_capitals_line_followed_by_a_blank_line_is_action():
    els = elements("""\
        THE LIGHTS GO OUT.

        EDWARD
        Who's there?
        """)
    assert kinds_of(els) == ["Action", "Dialogue"]


def test_capitals_ending_in_a_colon_and_numbers_are_never_characters():
    assert kinds_of(elements("TITLE OVER:\nThe year is 1999.\n")) == ["Action"]
    assert kinds_of(elements("23\nskidoo\n")) == ["Action"]
    assert kinds_of(elements("R2D2\nBeep.\n")) == ["Dialogue"]  # one letter is enough


def test_parentheticals_lyrics_and_the_two_space_line_inside_dialogue():
    # (not dedented: textwrap.dedent would empty the line of two spaces)
    (d,) = parse_fountain_text(
        "MARA\n(quietly, not\nlooking up)\nI said I would.\n  \nI always do.\n(beat)\n~Row, row, row your boat\n"
    ).elements
    assert [(p.kind, p.text, p.line) for p in d.parts] == [
        ("parenthetical", "quietly, not looking up", 2),
        ("line", "I said I would.", 4),
        ("line", "I always do.", 6),  # the two-space line kept the speech going
        ("parenthetical", "beat", 7),
        ("lyric", "Row, row, row your boat", 8),
    ]


def test_indented_cues_and_dialogue_are_still_dialogue(tmp_path: Path):
    (d,) = elements("\tEDWARD\n    (whispering)\n    Anyone there?\n")
    assert d.name == "EDWARD" and d.column == 5  # a tab is four spaces
    assert [p.text for p in d.parts] == ["whispering", "Anyone there?"]


def test_a_line_of_spaces_ends_action_but_not_dialogue():
    els = elements("First paragraph.\n    \nSecond paragraph.\n")
    assert [el.text for el in els] == ["First paragraph.", "Second paragraph."]


# --------------------------------------------------------------------------- transitions, centered, lyrics


def test_transitions_natural_forced_and_centered_is_not_one():
    els = elements("""\
        CUT TO:

        >Burn to white.

        > THE END <

        FADE OUT.
        """)
    assert els == [
        Transition("CUT TO:", 1),
        Transition("Burn to white.", 3, 1, True),
        Action("THE END", 5, 1, centered=True),
        Transition("FADE OUT.", 7),  # an unforced ending writers use
    ]


def test_a_transition_not_followed_by_a_blank_line():
    els = elements("""\
        DISSOLVE TO:
        EXT. ROAD - DAWN

        Mist.
        """)
    assert kinds_of(els) == ["Transition", "Heading", "Action"]


def test_lower_case_ending_in_to_is_not_a_transition():
    assert kinds_of(elements("He walks to:\n")) == ["Action"]


def test_lyrics_on_their_own():
    (lyrics,) = elements("~Willy Wonka! Willy Wonka!\n~The amazing chocolatier!\n")
    assert lyrics == Lyrics(("Willy Wonka! Willy Wonka!", "The amazing chocolatier!"), 1)


# --------------------------------------------------------------------------- structure, notes, boneyard


def test_sections_and_synopses():
    els = elements("""\
        # ACT ONE
        ## The setup

        = Mara waits.

        INT. HOUSE - DAY
        """)
    assert els[:3] == [Section("ACT ONE", 1, 1), Section("The setup", 2, 2), Synopsis("Mara waits.", 4)]


def test_notes_and_boneyard_are_removed_and_lines_keep_their_numbers():
    els = elements("""\
        INT. HOUSE - DAY

        /* a whole scene
        in the boneyard

        EDWARD
        Cut.
        */

        EDWARD
        [[a note on its own line]]
        Still speaking [[inline note]].
        [[a note
        over two lines]]
        Done.
        """)
    assert kinds_of(els) == ["Heading", "Dialogue"]
    d = els[1]
    assert (d.line, [p.text for p in d.parts]) == (10, ["Still speaking.", "Done."])
    assert [p.line for p in d.parts] == [12, 15]


def test_page_breaks_are_ignored():
    assert kinds_of(elements("Before.\n\n===\n\nAfter.\n")) == ["Action", "Action"]


# --------------------------------------------------------------------------- markup and line endings


@pytest.mark.parametrize("written, plain", [
    ("*italic*", "italic"), ("**bold**", "bold"), ("***bold italic***", "bold italic"), ("_underline_", "underline"),
    ("_**THE END**_", "THE END"), (r"\*literal\*", "*literal*"), ("snake_case_name", "snake_case_name"),
    ("5 * 3", "5 * 3"), ("**bold *and italic***", "bold and italic"), ("*open at the end", "open at the end"),
])
def test_emphasis_is_stripped(written: str, plain: str):
    assert strip_markup(written) == plain


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(["*", "**", "***", "****", "_", "__", " ", "a", "é", "1", "/", "(", "\n", "\t", "."]),
                max_size=16).map("".join))
def test_emphasis_is_removed_as_the_regexes_alone_remove_it(text: str):
    # the linear removal (issue 21) reads every line exactly as the two regexes did, only faster
    from studio.screenplay import fountain as f

    assert f._unwrap(text, f._STARS, f._STARS_OPEN, f._STARS_CLOSE, 2) == f._STARS.sub(r"\2", text)
    assert f._unwrap(text, f._UNDERLINE, f._UNDERLINE_OPEN, f._UNDERLINE_CLOSE, 1) == f._UNDERLINE.sub(r"\1", text)


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
def test_crlf_cr_and_a_bom_parse_like_lf(ending: str):
    text = (FIXTURES / "night-ferry.fountain").read_text()
    assert parse_fountain_text("\ufeff" + text.replace("\n", ending)) == parse_fountain_text(text)


def test_page_count_follows_the_formatted_page():
    # a heading at the top of a page, then 26 one-line paragraphs each after a blank line
    one_page = "INT. ROOM - DAY\n\n" + "\n\n".join(f"Line {i}." for i in range(26))
    assert page_count(parse_fountain_text(one_page)) == pytest.approx((1 + 26 * 2) / 55)
    long_speech = "INT. ROOM - DAY\n\nMARA\n" + "word " * 700  # ~100 dialogue lines at 35 columns
    pages = page_count(parse_fountain_text(long_speech))
    assert 1.9 < pages < 2.2
    assert page_count(parse_fountain_text("")) == 0
