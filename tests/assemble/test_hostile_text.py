"""A film whose every text field is hostile (line breaks, control characters, NUL,
SRT timing lines, EDL events, XML) renders through the real CLI, and each side output
parses back with exactly the planned cues and events (issue 21, items 6, 7, 8)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import opentimelineio as otio
import pytest

from studio.assemble.text import edl_text, mp4_tag, one_line, subtitle_text, xml_text
from tests.conftest import run_studio

# YAML double-quoted escapes: \n line feed, \a bell, \v vertical tab, \0 NUL, \e escape,
# \L U+2028, \x0c form feed
NASTY = (r"\n\n9\n00:00:00,000 --> 00:59:00,000\nFAKE CUE\n\n"
         r"\n002  AX       V     C        00:00:00:00 00:01:00:00 00:00:00:00 00:01:00:00\n"
         r"TITLE: FORGED\a\v\0\e\L\x0c</name><clip id=\"x\">&amp;]]>")

# the same in under 100 characters, for names and transitions
SHORT = r"\n\n9\n00:00:00,000 --> 00:59:00,000\nFAKE CUE\a\0\v</name>&"

HOSTILE = f"""\
version: 1
film:
  title: "Night\\0Shift {NASTY}"
  fps: 24
  resolution: 96x64
  title_cards: true
  look: "{NASTY}"
characters:
  - id: mara
    name: "M{SHORT}"
    description: "{NASTY}"
  - id: theo
    name: "Theo"
locations:
  - {{id: dock, name: "Dock{NASTY}", description: "{NASTY}", interior: false}}
scenes:
  - id: s1
    heading: "EXT. DOCK{NASTY}"
    location: dock
    characters: [mara, theo]
    beats:
      - action: "Mara waits.{NASTY}"
        focus: "lamp{NASTY}"
      - speaker: mara
        extension: V.O.
        line: "Off screen.{NASTY}"
      - speaker: theo
        parenthetical: "quiet{NASTY}"
        line: "On screen.{NASTY}"
      - speaker: theo
        line: " \\t "
      - transition: "CUT TO:{SHORT}"
  - id: s2
    heading: "INT. DOCK\\vOFFICE{NASTY}"
    location: dock
    characters: [theo]
    beats:
      - speaker: theo
        line: "Last.{NASTY}"
"""


def test_the_format_rules_leave_one_visible_line():
    raw = "A\x07B\x00\n\n9\n00:00:00,000 --> 00:59:00,000\u2028\x0b<x>\ufffe\x85"
    assert mp4_tag(raw) == "AB\n\n9\n00:00:00,000 --> 00:59:00,000\u2028<x>"
    for clean in (one_line, subtitle_text, edl_text, xml_text):
        text = clean(raw)
        assert "\n" not in text and "\x00" not in text and "\x07" not in text and "\x0b" not in text
        assert text.startswith("AB 9 00:00:00,000")
    assert "-->" not in subtitle_text(raw)
    assert "\ufffe" not in xml_text(raw)
    assert subtitle_text(" \t\n ") == ""


def _srt_blocks(text: str) -> list[list[str]]:
    return [block.splitlines() for block in text.strip("\n").split("\n\n")]


@pytest.fixture(scope="module")
def hostile_render(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("hostile")
    path = root / "hostile.yaml"
    path.write_text(HOSTILE, encoding="utf-8")
    result = run_studio("render", str(path), "-o", str(root / "out"), "--cache", str(root / "cache"),
                        "--silent", "--quiet", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    shots = json.loads(run_studio("shots", "--json", str(path)).stdout)
    return root / "out", shots


def test_subtitles_carry_exactly_the_planned_cues(hostile_render):
    out, shots = hostile_render
    spoken = [line for shot in shots["shots"] for line in shot["lines"] if line["text"].strip()]
    assert len(spoken) == 3  # the whitespace-only line is no cue
    blocks = _srt_blocks((out / "hostile.srt").read_text(encoding="utf-8"))
    assert len(blocks) == len(spoken)
    for n, (block, line) in enumerate(zip(blocks, spoken), start=1):
        assert len(block) == 3, block
        assert block[0] == str(n)
        assert re.fullmatch(r"\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d", block[1])
        assert subtitle_text(line["text"]) in block[2]
        assert not re.search(r"[\x00-\x1f\x7f]", block[2])
    assert blocks[0][2].startswith("M 9 00:00:00,000 → 00:59:00,000 FAKE CUE")  # the speaker, flattened
    assert "(V.O.): Off screen." in blocks[0][2]
    vtt = (out / "hostile.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n\n")
    cues = vtt.strip("\n").split("\n\n")[1:]
    assert len(cues) == len(spoken)
    for cue in cues:
        lines = cue.splitlines()
        assert len(lines) == 2 and lines[0].count("-->") == 1 and "-->" not in lines[1]
        assert "<clip" not in lines[1] and "&lt;/name&gt;" in lines[1]


def test_timelines_read_back_with_exactly_the_planned_events(hostile_render):
    out, shots = hostile_render
    planned = [shot["id"] for shot in shots["shots"]]
    for suffix in (".otio", ".edl", ".xml"):
        timeline = otio.adapters.read_from_file(str(out / f"hostile{suffix}"))
        clips = list(timeline.video_tracks()[0].find_clips())
        assert [c.name for c in clips] == planned, suffix
        assert timeline.name.startswith("Night"), (suffix, timeline.name)
        assert "FORGED" in timeline.name or suffix == ".edl"
    edl = (out / "hostile.edl").read_text(encoding="utf-8")
    events = [line for line in edl.splitlines() if re.match(r"^\d{3}  ", line)]
    assert len(events) == len(planned)
    title = edl.splitlines()[0]
    assert title.startswith("TITLE: Night") and not re.search(r"[\x00-\x1f]", edl.replace("\n", ""))
    xml = (out / "hostile.xml").read_text(encoding="utf-8")
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", xml)


def test_the_film_and_its_report_are_written_with_a_whole_title(hostile_render):
    out, _ = hostile_render
    assert (out / "storyboard.png").is_file()
    report = json.loads((out / "render-report.json").read_text(encoding="utf-8"))
    assert report["outputs"]["film"].endswith("hostile.mp4")
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags=title",
                            "-show_entries", "chapter_tags=title", "-of", "json", str(out / "hostile.mp4")],
                           capture_output=True, text=True, check=True)
    data = json.loads(probe.stdout)
    title = data["format"]["tags"]["title"]
    # NUL and the other control characters dropped, line breaks kept: the whole title
    assert title.startswith("NightShift \n\n9\n00:00:00,000 --> 00:59:00,000\nFAKE CUE"), title
    assert title.endswith("TITLE: FORGED\u2028</name><clip id=\"x\">&amp;]]>"), title
    assert len(data["chapters"]) == 2
