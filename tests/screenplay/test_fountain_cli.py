"""Fountain through the real `studio` command: import to YAML, and check and shots
straight from a .fountain file; bad input ends in one clear message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE, run_studio

FIXTURES = Path(__file__).parent / "fountain"


@pytest.fixture
def ferry(tmp_path: Path) -> Path:
    return Path(shutil.copy(FIXTURES / "night-ferry.fountain", tmp_path / "night-ferry.fountain"))


def test_import_writes_a_yaml_screenplay_that_checks(ferry: Path):
    result = run_studio("import", str(ferry))
    assert result.returncode == 0, result.stderr
    written = ferry.with_suffix(".yaml")
    assert result.stdout.startswith(f"imported {ferry} into {written}: The Night Ferry: a short film: 4 scenes")
    assert yaml.safe_load(written.read_text())["film"]["title"] == "The Night Ferry: a short film"
    check = run_studio("check", str(written))
    assert check.returncode == 0 and check.stdout.startswith("ok "), check.stderr


def test_import_never_overwrites_without_force(ferry: Path, tmp_path: Path):
    target = tmp_path / "mine.yaml"
    target.write_text("my edits\n")
    result = run_studio("import", str(ferry), "-o", str(target))
    assert result.returncode == 1 and "already exists" in result.stderr and "--force" in result.stderr
    assert target.read_text() == "my edits\n"
    assert run_studio("import", str(ferry), "-o", str(target), "--force").returncode == 0
    assert target.read_text().startswith("# Imported from night-ferry.fountain")


def test_import_to_stdout(ferry: Path):
    result = run_studio("import", str(ferry), "-o", "-")
    assert result.returncode == 0
    assert yaml.safe_load(result.stdout)["scenes"][0]["id"] == "s1"
    assert sorted(p.name for p in ferry.parent.iterdir()) == ["night-ferry.fountain"]  # nothing written


def test_check_and_shots_take_a_fountain_file(ferry: Path):
    check = run_studio("check", str(ferry), "--json")
    assert check.returncode == 0, check.stderr
    summary = json.loads(check.stdout)["summary"]
    assert (summary["title"], summary["scenes"], summary["characters"], summary["dialogue_lines"]) == (
        "The Night Ferry: a short film", 4, 3, 10)
    shots = run_studio("shots", str(ferry), "--json")
    assert shots.returncode == 0, shots.stderr
    lines = [line["text"] for shot in json.loads(shots.stdout)["shots"] for line in shot["lines"]]
    assert lines[:3] == ["Come on. Come on.", "Mara!", "You came."] and len(lines) == 10
    table = run_studio("shots", str(ferry))
    assert table.returncode == 0 and "MARA: Come on. Come on." in table.stdout


def test_check_warnings_point_at_fountain_lines():
    edges = FIXTURES / "edge-cases.fountain"
    result = run_studio("check", str(edges))
    assert result.returncode == 0
    assert f"{edges}:68:1: warning: scenes[s4]: scene s4 has no beats" in result.stderr


@pytest.mark.parametrize("content, expected", [
    (bytes(range(256)) * 3, "binary file"),
    (b"", "the file is empty"),
    (EXAMPLE.read_bytes(), "studio YAML screenplay"),
    (b"Dear diary,\n\nToday I wrote no screenplay.\n", "no scene headings and no dialogue"),
])
@pytest.mark.parametrize("command", ["check", "shots", "import"])
def test_what_is_not_fountain_is_one_clear_message(tmp_path: Path, content: bytes, expected: str, command: str):
    path = tmp_path / "bad.fountain"
    path.write_bytes(content)
    result = run_studio(command, str(path), timeout=30)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    (problem,) = [line for line in result.stderr.splitlines() if "error:" in line]
    assert problem.startswith(str(path)) and expected in problem and problem.count(": ") >= 3  # ...: fix
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.fountain"]  # nothing written


def test_import_of_a_missing_file(tmp_path: Path):
    result = run_studio("import", str(tmp_path / "nope.fountain"))
    assert result.returncode == 1 and "no such file" in result.stderr and "Traceback" not in result.stderr
