"""Extreme Fountain input is read (or refused) in bounded time and memory.

Each case runs in a fresh child process that reads and validates the file the way
``studio check FILE.fountain`` does and reports its own time and peak memory
(``VmHWM``, the high-water mark of its own address space: not ``ru_maxrss``, which Linux
carries across fork and exec from the test run), so the bound covers exactly the import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import json, sys, time
from studio.errors import StudioError
from studio.screenplay.fountain_import import parse_fountain
raw = open(sys.argv[1], "rb").read()
start = time.process_time()
try:
    screenplay = parse_fountain(raw, sys.argv[1])
    outcome = f"read: {len(screenplay.scenes)} scenes, {len(screenplay.characters)} characters"
except StudioError as exc:
    outcome = "refused: " + str(exc)
seconds = time.process_time() - start
peak_mb = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "outcome": outcome}))
"""


def _measure(tmp_path: Path, text: str) -> dict[str, object]:
    path = tmp_path / "extreme.fountain"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("repeats", [10_000, 40_000])
def test_unclosed_note_openers_read_in_linear_time(tmp_path: Path, repeats: int) -> None:
    # was 7.7 s at 10k and 122 s at 40k: the notes regex backtracked over every '[['
    got = _measure(tmp_path, "INT. ROOM - DAY\n\nBOB\nHi.\n\n" + "[[" * repeats)
    assert str(got["outcome"]).startswith("read: 1 scenes"), got
    assert got["seconds"] < 2.0 and got["peak_mb"] < 500, got


def test_a_hundred_thousand_headings_are_refused_at_once(tmp_path: Path) -> None:
    got = _measure(tmp_path, "".join(f"INT. PLACE {i} - DAY\n\nAction {i}.\n\n" for i in range(100_000)))
    assert "100000 scene headings, over the 5000" in str(got["outcome"]), got
    assert got["seconds"] < 2.0 and got["peak_mb"] < 500, got


def test_nine_thousand_speakers_are_refused_quickly(tmp_path: Path) -> None:
    # (50,000 speakers are 100,000 lines: refused sooner, by the line limit)
    cues = "".join(f"SPEAKER {chr(65 + i % 26)}{i}\nHello.\n\n" for i in range(9_000))
    got = _measure(tmp_path, "INT. ROOM - DAY\n\n" + cues)
    assert "more than 2000 different characters" in str(got["outcome"]), got
    assert got["seconds"] < 2.0 and got["peak_mb"] < 500, got


def test_as_many_scenes_and_speakers_as_allowed_still_read(tmp_path: Path) -> None:
    # the limits are not reached by a long film: 5,000 places and 2,000 speakers read
    scenes = "".join(f"INT. PLACE {i} - DAY\n\nSPEAKER {i % 2000}\nLine {i}.\n\n" for i in range(5000))
    got = _measure(tmp_path, scenes)
    assert got["outcome"] == "read: 5000 scenes, 2000 characters", got
    assert got["seconds"] < 4.0 and got["peak_mb"] < 500, got


@pytest.mark.parametrize("unit", ["/*a", "/_a", " *a", "(**a", " ***a"])
def test_emphasis_that_never_closes_reads_in_linear_time(tmp_path: Path, unit: str) -> None:
    # the fuzz's case fountain 349 (seed 0): '/*a' 20,000 times in an action line took 35 s to import
    # (5,000 times: up to 3.3 s): the emphasis regexes tried every opener against the rest of the line
    line = unit * 20_000
    got = _measure(tmp_path, f"INT. ROOM - DAY\n\n{line}\n\nBOB\n{line}\n")
    assert str(got["outcome"]).startswith("read: 1 scenes"), got
    assert got["seconds"] < 2.0 and got["peak_mb"] < 500, got


def test_more_lines_than_a_screenplay_holds_are_refused_at_once(tmp_path: Path) -> None:
    # 8 MB of one-word action paragraphs: 2.7 million beats to import, check and plan (the fuzz's
    # case fountain 9808 had 160,000 lines: 2.7 s); refused before parsing
    got = _measure(tmp_path, "INT. ROOM - DAY\n\nBOB\nHi.\n\n" + "X\n\n" * 2_700_000)
    assert "more than 20000 lines with text" in str(got["outcome"]), got
    assert got["seconds"] < 2.0 and got["peak_mb"] < 500, got


def test_as_many_lines_as_allowed_still_read(tmp_path: Path) -> None:
    got = _measure(tmp_path, "INT. ROOM - DAY\n\nBOB\nHi.\n\n" + "X\n\n" * 19_996)
    assert got["outcome"] == "read: 1 scenes, 1 characters", got
    assert got["seconds"] < 4.0 and got["peak_mb"] < 500, got


def test_headings_are_counted_in_files_with_cr_line_endings(tmp_path: Path) -> None:
    # the fuzz's case fountain 3008: 20,000 headings with CR endings passed the count (it saw one
    # line) and took 33 s to import
    got = _measure(tmp_path, ("BOB\nHi.\n\n" + "INT. A\n\n" * 20_000).replace("\n", "\r"))
    assert "20000 scene headings, over the 5000" in str(got["outcome"]), got
    assert got["seconds"] < 2.0 and got["peak_mb"] < 500, got
