"""The mutated-screenplay fuzz at a small count: only StudioError escapes (issue 21)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.fuzz_screenplays import HOSTILE, fuzz, mutate  # noqa: E402


def test_two_hundred_mutants_raise_only_studio_errors():
    result = fuzz(200, seed=21)
    assert result["tracebacks"] == []
    assert result["ok"] + result["refused"] == 200
    assert result["refused"] > 50 and result["ok"] > 0  # the mutations reach validation and beyond


def test_the_mutator_is_seeded_and_hostile():
    import random

    first = [mutate(random.Random(7)) for _ in range(3)]
    assert first == [mutate(random.Random(7)) for _ in range(3)]
    assert "\udfff" in HOSTILE and any(isinstance(v, str) and "-->" in v for v in HOSTILE)
