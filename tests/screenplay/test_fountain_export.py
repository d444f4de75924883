"""``studio export``: a screenplay back in Fountain, and importing that gives the same
screenplay (round trip) for every fixture, the Final Draft one and a 120-page feature."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from studio.screenplay import load_screenplay
from studio.screenplay.fdx_import import parse_fdx
from studio.screenplay.fountain_export import left_out, to_fountain
from studio.screenplay.fountain_import import import_fountain, parse_fountain

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
FOUNTAINS = sorted([*HERE.joinpath("fountain").glob("*.fountain"), *HERE.joinpath("fixtures").glob("*.fountain")])


def _round_trip(screenplay, file: str) -> None:  # type: ignore[no-untyped-def]
    again = parse_fountain(to_fountain(screenplay), file)
    assert again.model_dump() == screenplay.model_dump()


@pytest.mark.parametrize("path", FOUNTAINS, ids=lambda p: p.name)
def test_every_fountain_fixture_round_trips(path: Path):
    _round_trip(parse_fountain(path.read_bytes(), str(path)), str(path))


def test_the_final_draft_fixture_round_trips_through_fountain():
    path = HERE / "fixtures" / "river-years.fdx"
    _round_trip(parse_fdx(path.read_bytes(), str(path)), str(path))


def test_a_120_page_feature_round_trips():
    sys.path.insert(0, str(ROOT))
    from bench.fountain_import import TARGET_PAGES, _minutes_for_pages
    from bench.generate_feature import generate_feature
    from bench.generate_fountain import to_fountain as write_feature

    text = write_feature(generate_feature(minutes=_minutes_for_pages(TARGET_PAGES, seed=0), seed=0))
    imported = import_fountain(text, "feature.fountain")
    assert imported.pages >= TARGET_PAGES - 2
    _round_trip(parse_fountain(text, "feature.fountain"), "feature.fountain")


def test_text_fountain_would_misread_is_escaped():
    text = ("INT. LAB - DAY\n\nShe types snake\\_case and 2 \\* 3 \\[\\[not a note]] /\\* nor this \\*/.\n\n"
            "!EXT. THIS IS ACTION\n\n!SHOUTED ACTION\n\n\\#hashtag\n\n@McKENNA\n(beat)\n\\~not a lyric\n")
    screenplay = parse_fountain(text)
    beats = [b.model_dump(exclude_defaults=True) for b in screenplay.scenes[0].beats]
    assert beats[0] == {"action": "She types snake_case and 2 * 3 [[not a note]] /* nor this */."}
    assert beats[1:3] == [{"action": "EXT. THIS IS ACTION"}, {"action": "SHOUTED ACTION"}]
    _round_trip(screenplay, "<input>")


def test_a_yaml_screenplay_exports_and_says_what_fountain_cannot_hold(tmp_path: Path):
    source = ROOT / "screenplays"
    path = next(p for p in sorted(source.glob("*.yaml")))
    screenplay = load_screenplay(path)
    text = to_fountain(screenplay)
    again = parse_fountain(text, "export.fountain")
    # what Fountain holds comes back: scenes, their dialogue in order, the speakers' names
    assert len(again.scenes) == len(screenplay.scenes)
    said = [(screenplay.character(b.speaker).name, b.line) for s in screenplay.scenes for b in s.beats
            if hasattr(b, "speaker")]
    assert [(again.character(b.speaker).name, b.line) for s in again.scenes for b in s.beats
            if hasattr(b, "speaker")] == said
    assert any("voice" in what or "descriptions" in what for what in left_out(screenplay))


def test_cli_export_then_import(tmp_path: Path):
    fixture = HERE / "fixtures" / "river-years.fountain"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    yaml_path = tmp_path / "river.yaml"
    run = [sys.executable, "-m", "studio"]
    done = subprocess.run([*run, "import", str(fixture), "-o", str(yaml_path)], capture_output=True, text=True,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "4 characters (4 described by their introduction)" in done.stdout
    out = tmp_path / "river.fountain"
    done = subprocess.run([*run, "export", str(yaml_path), "-o", str(out)], capture_output=True, text=True,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert load_screenplay(out).model_dump() == load_screenplay(fixture).model_dump()
    done = subprocess.run([*run, "export", str(yaml_path), "-o", str(out)], capture_output=True, text=True,
                          env=env, cwd=tmp_path)
    assert done.returncode != 0 and "already exists" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
