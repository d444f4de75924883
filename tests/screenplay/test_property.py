"""Thousands of mutated screenplays: only the project's own error type ever escapes,
and whatever validates can also be planned into shots."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.errors import StudioError
from studio.graph.scene_graph import SceneGraph
from studio.screenplay import parse_screenplay

ROOT = Path(__file__).resolve().parents[2]
BASE_TEXT = (ROOT / "screenplays" / "the-last-lamp.yaml").read_text(encoding="utf-8")
BASE = yaml.safe_load(BASE_TEXT)

values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
        st.text(max_size=20), st.sampled_from(["mara", "theo", "lamp-room", "close-up", "continuous", "<<", "*x"]),
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _mutate(data, data_strategy):
    data = copy.deepcopy(data)
    paths = [p for p in _paths(data) if p]
    for _ in range(data_strategy.draw(st.integers(1, 4))):
        path = data_strategy.draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = data_strategy.draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
        try:
            if action == "replace":
                parent[key] = data_strategy.draw(values)
            elif action == "delete":
                del parent[key]
            elif action == "add" and isinstance(parent, dict):
                parent[data_strategy.draw(st.text(max_size=10))] = data_strategy.draw(values)
            elif action == "duplicate" and isinstance(parent, list):
                parent.insert(key, copy.deepcopy(parent[key]))
        except (KeyError, IndexError, TypeError):
            pass
        paths = [p for p in _paths(data) if p] or [("version",)]
    return data


def _attempt(text: str | bytes) -> None:
    try:
        screenplay = parse_screenplay(text, "mutant.yaml")
        SceneGraph.from_screenplay(screenplay)
    except StudioError:
        pass


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_data_only_raises_studio_errors(data):
    mutant = _mutate(BASE, data)
    _attempt(yaml.safe_dump(mutant, allow_unicode=True, sort_keys=False))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(0, len(BASE_TEXT)),
    span=st.integers(0, 40),
    insert=st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@` \n\tabcz019<")), max_size=12),
)
def test_mutated_text_only_raises_studio_errors(cut, span, insert):
    _attempt(BASE_TEXT[:cut] + insert + BASE_TEXT[cut + span:])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_studio_errors(blob):
    _attempt(blob)
