"""The mutated-screenplay fuzz at a small count: only StudioError escapes (issue 21),
for YAML, Fountain and Final Draft files alike."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.fuzz_screenplays import HOSTILE, fuzz, mutant, mutate  # noqa: E402


def test_two_hundred_yaml_mutants_raise_only_studio_errors():
    result = fuzz(200, seed=21)
    assert result["tracebacks"] == []
    assert result["ok"] + result["refused"] == 200
    assert result["refused"] > 50 and result["ok"] > 0  # the mutations reach validation and beyond


@pytest.mark.parametrize("fmt", ["fountain", "fdx"])
def test_mutated_fountain_and_final_draft_files_raise_only_studio_errors(fmt: str):
    result = fuzz(120, seed=21, fmt=fmt)
    assert result["tracebacks"] == []
    assert result["ok"] + result["refused"] == 120
    assert result["refused"] >= 5 and result["ok"] >= 20  # some refused, some imported and planned


def test_the_mutator_is_seeded_and_hostile():
    import random

    first = [mutate(random.Random(7)) for _ in range(3)]
    assert first == [mutate(random.Random(7)) for _ in range(3)]
    assert "\udfff" in HOSTILE and any(isinstance(v, str) and "-->" in v for v in HOSTILE)


@pytest.mark.parametrize("fmt", ["yaml", "fountain", "fdx"])
def test_each_case_comes_from_its_number_alone(fmt: str):
    cases = [mutant(fmt, 3, n) for n in range(12)]
    assert [mutant(fmt, 3, n) for n in (11, 4, 0)] == [cases[11], cases[4], cases[0]]  # any order, any one
    assert len(set(cases)) >= 10  # and they differ from one another


def test_a_case_replays_alone_from_the_command_line(tmp_path: Path):
    out = tmp_path / "case.fdx"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "fuzz_screenplays.py"), "--format", "fdx",
                           "--seed", "3", "--case", "5", "--write", str(out)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "fdx case 5 (seed 3):" in done.stdout and "Traceback" not in done.stderr
    assert out.read_bytes() == mutant("fdx", 3, 5)


def test_the_fuzz_case_that_took_35_seconds_replays_in_under_two(tmp_path: Path):
    # fountain case 349 (seed 0): '/*a' repeated 20,000 times in action; the emphasis regexes
    # tried every opener against the rest of the line (35 s before the fix)
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "fuzz_screenplays.py"), "--format", "fountain",
                           "--seed", "0", "--case", "349"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr  # non-zero: over 2 s, or a traceback
    match = re.search(r"fountain case 349 \(seed 0\): (ok|refused) in (\d+) ms", done.stdout)
    assert match is not None, done.stdout
    assert int(match.group(2)) < 2000
    assert b"/*a" * 1000 in mutant("fountain", 0, 349)  # still the case that was slow
