"""Safe loading: hostile YAML is refused quickly, with a located message."""

from __future__ import annotations

import os
import random

import pytest

from studio.errors import ScreenplayError
from studio.screenplay.safe_yaml import MAX_BYTES, MAX_DEPTH, load_yaml


def merge_key_bomb(levels: int = 25) -> str:
    lines = ["m0: &m0 {a: 1, b: 2}"]
    for n in range(1, levels + 1):
        lines.append(f"m{n}: &m{n} {{<<: [*m{n - 1}, *m{n - 1}]}}")
    return "\n".join(lines) + "\n"


def alias_chain(levels: int = 100) -> str:
    lines = ["a0: &a0 [x]"]
    for n in range(1, levels + 1):
        lines.append(f"a{n}: &a{n} [*a{n - 1}]")
    return "\n".join(lines) + "\n"


def alias_bomb(levels: int = 12) -> str:
    """A billion-laughs bomb without merge keys: each level lists the previous ten times."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for n in range(1, levels + 1):
        refs = ", ".join([f"*l{n - 1}"] * 10)
        lines.append(f"l{n}: &l{n} [{refs}]")
    return "\n".join(lines) + "\n"


def problem_of(text: str | bytes):
    with pytest.raises(ScreenplayError) as info:
        load_yaml(text, "hostile.yaml")
    assert info.value.problems, "the error must carry at least one problem"
    return info.value.problems[0]


def test_merge_key_bomb_is_refused_at_its_first_merge_key():
    text = merge_key_bomb()
    assert len(text.encode()) < 1000
    problem = problem_of(text)
    assert "merge keys" in problem.message
    assert (problem.file, problem.line) == ("hostile.yaml", 2)


def test_alias_chain_of_100_levels_is_refused():
    problem = problem_of(alias_chain(100))
    assert "deeper than" in problem.message
    assert problem.line > 1


def test_alias_expansion_bomb_is_refused():
    problem = problem_of(alias_bomb())
    assert "expand" in problem.message


def test_a_few_aliases_are_fine():
    data, _ = load_yaml("voice: &v {engine: piper}\nother: *v\n")
    assert data == {"voice": {"engine": "piper"}, "other": {"engine": "piper"}}


def test_nesting_depth_is_capped():
    text = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    assert "nesting" in problem_of(text).message


def test_file_size_is_capped():
    assert "limit" in problem_of(b"a: b\n" + b"#" * MAX_BYTES).message


def test_random_bytes_are_refused():
    rng = random.Random(7)
    for _ in range(50):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        try:
            load_yaml(blob, "noise.yaml")
        except ScreenplayError as exc:
            assert exc.problems[0].file == "noise.yaml"
    problem = problem_of(os.urandom(64) + b"\x00")
    assert "binary" in problem.message


def test_empty_file_is_refused():
    assert "empty" in problem_of("").message
    assert "empty" in problem_of("   \n# just a comment\n").message or "no YAML" in problem_of("# c\n").message


def test_python_tags_are_refused():
    problem = problem_of("film: !!python/object/apply:os.system ['echo hacked']\n")
    assert "tag" in problem.message or "cannot read" in problem.message


def test_duplicate_keys_are_reported_with_both_lines():
    data, source = load_yaml("a: 1\nb: 2\na: 3\n", "dup.yaml")
    assert data == {"a": 1, "b": 2}
    (problem,) = source.problems
    assert problem.line == 3 and "first at line 1" in problem.message


def test_positions_point_at_values():
    data, source = load_yaml("film:\n  title: X\nscenes:\n  - id: s1\n    beats:\n      - action: go\n")
    assert source.locate(("scenes", 0, "beats", 0, "action")) == (6, 17)
    assert source.locate(("film", "title"), key=True) == (2, 3)
    # an unknown path falls back to its nearest known ancestor
    assert source.locate(("scenes", 0, "nope", 3)) == (4, 5)


def test_syntax_errors_carry_line_and_column():
    problem = problem_of("film:\n  title: [unclosed\nscenes: 1\n")
    assert problem.line >= 2 and problem.column > 0
    assert "invalid YAML" in problem.message
