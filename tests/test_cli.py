"""The `studio` command as users run it: bad input ends in a clear message, never a
traceback; good input gives a check, a shot list, a graph and new screenplays."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import MINIMAL, ROOT, run_studio
from tests.screenplay.test_safe_yaml import alias_chain, merge_key_bomb

SHIPPED = sorted((ROOT / "screenplays").glob("*.yaml")) + sorted((ROOT / "templates").glob("*.yaml"))

BAD_INPUTS = {
    "merge-key-bomb": (merge_key_bomb(25), "merge keys"),
    "alias-chain": (alias_chain(100), "deeper than"),
    "random-bytes": (bytes(range(256)) * 3, "binary"),
    "empty": ("", "empty"),
    "undefined-speaker": (MINIMAL.replace("speaker: ben", "speaker: bne"), "did you mean 'ben'?"),
    "undefined-location": (MINIMAL.replace("location: kitchen", "location: attic"), "unknown location 'attic'"),
    "negative-duration": (MINIMAL + "    shots:\n      - {id: a, size: wide, duration: -1}\n", "greater than 0"),
    "likeness-outside": (
        MINIMAL.replace("a woman in a green coat}", "x, likeness: {photos: [../../x.jpg], consent: ok}}"),
        "leaves the screenplay's folder",
    ),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_one_clear_message_per_problem(name: str, tmp_path: Path):
    content, expected = BAD_INPUTS[name]
    path = tmp_path / "bad.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    # a hang or an exponential expansion would blow through this generous timeout
    result = run_studio("check", str(path), timeout=30)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert expected in result.stderr
    problem_lines = [l for l in result.stderr.splitlines() if "error:" in l]
    assert problem_lines and all(str(path) in l for l in problem_lines)
    if name != "empty" and name != "random-bytes":
        assert all(l.split(str(path) + ":")[1].split(":")[0].isdigit() for l in problem_lines)
    assert sorted(os.listdir(tmp_path)) == ["bad.yaml"]  # nothing executed, nothing written


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_check_passes_every_shipped_screenplay(path: Path):
    result = run_studio("check", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok ")


def test_check_json(example_path, tmp_path: Path):
    result = run_studio("check", str(example_path), "--json")
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["summary"]["scenes"] == 4
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("speaker: ben", "speaker: bne"))
    result = run_studio("check", str(bad), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["ok"] is False
    assert report["problems"][0]["hint"] == "did you mean 'ben'?"


def test_shots_table_and_json(example_path):
    table = run_studio("shots", str(example_path))
    assert table.returncode == 0
    for shot_id in ("storm-01", "climb-2", "dawn-07"):
        assert shot_id in table.stdout
    data = json.loads(run_studio("shots", str(example_path), "--json").stdout)
    assert [s["id"] for s in data["shots"]][:2] == ["storm-01", "storm-02"]
    assert data["runtime_seconds"] == pytest.approx(sum(s["duration"] for s in data["shots"]))


def test_user_text_is_printed_not_interpreted(tmp_path: Path):
    path = tmp_path / "film.yaml"
    path.write_text(MINIMAL.replace("line: You waited up.", 'line: "[bold red]You[/] waited %{up}"'))
    result = run_studio("shots", str(path))
    assert "[bold red]You[/] waited %{up}" in result.stdout


def test_graph_command(example_path, tmp_path: Path):
    for name in ("g.graphml", "g.png", "g.svg"):
        result = run_studio("graph", str(example_path), "-o", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
        assert (tmp_path / name).stat().st_size > 1000


def test_new_creates_a_checkable_screenplay(tmp_path: Path):
    result = run_studio("new", 'Ann\'s "Big" Night: Part 2', "-d", str(tmp_path))
    assert result.returncode == 0, result.stderr
    path = tmp_path / "ann-s-big-night-part-2.yaml"
    check = run_studio("check", str(path), "--json")
    assert json.loads(check.stdout)["summary"]["title"] == 'Ann\'s "Big" Night: Part 2'
    again = run_studio("new", 'Ann\'s "Big" Night: Part 2', "-d", str(tmp_path))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_missing_file_and_usage_errors(tmp_path: Path):
    missing = run_studio("check", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    usage = run_studio("shots")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_unknown_voice_is_a_check_time_error_naming_the_character(tmp_path: Path):
    path = tmp_path / "film.yaml"
    path.write_text(MINIMAL.replace("description: a man in a brown cardigan}",
                                    "description: a man, voice: {engine: espeak-ng, voice: en-xx+zz9}}"))
    result = run_studio("check", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "character 'ben' (Ben): unknown espeak-ng voice 'en-xx+zz9'" in result.stderr
    assert "available espeak-ng voices:" in result.stderr


def test_loudness_option_is_checked(example_path):
    result = run_studio("render", str(example_path), "--loudness", "loud")
    assert result.returncode == 2 and "use ebu, web or a number" in result.stderr


def test_progress_bars_show_a_stage_without_the_last_shots_count():
    from types import SimpleNamespace

    from rich.console import Console
    from rich.progress import Progress

    from studio.cli_render import _Bars

    with Progress(console=Console(file=open(os.devnull, "w")), auto_refresh=False) as progress:  # noqa: SIM115
        bars = _Bars(progress)
        bars.film_started(2, 48)
        plan = SimpleNamespace(shot_id="s1-01", size="wide", frames=24)
        bars.shot_started(plan, cached=False)
        bars.frames_done(24)
        bars.shot_finished(plan, cached=False)
        bars.stage("scoring and mixing")
        tasks = {t.description: t for t in progress.tasks}
        assert tasks["scoring and mixing"].total is None and tasks["scoring and mixing"].completed == 0
        assert tasks["film"].completed == 1 and tasks["film"].total == 2
        assert "s1-01 (wide)" not in tasks  # the shot's bar became the stage's
