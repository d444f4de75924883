"""Blocking, measured from rendered frames: screen sides across a scene's cuts, and
an entrance from outside the frame (issue 18)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from studio.graph.scene_graph import SceneGraph
from studio.render.animatic import AnimaticBackend
from studio.render.animatic.blocking import Movement, movements, walk_offset
from studio.render.backend import Conditioning
from studio.render.plan import PlannedLine, ShotPlan, plan_film
from studio.screenplay import load_screenplay

EXAMPLE = Path(__file__).resolve().parents[2] / "screenplays" / "the-last-lamp.yaml"
NAMES = {"mara": "Mara", "theo": "Theo", "inspector": "Inspector Hale"}


def _plans() -> list[ShotPlan]:
    return plan_film(SceneGraph.from_screenplay(load_screenplay(EXAMPLE)))


def _still(plan: ShotPlan, **changes) -> ShotPlan:  # noqa: ANN003
    return dataclasses.replace(plan, width=320, height=180, frames=2, continuity="cut", continues=None,
                               title_card=None, film_title=None, **changes)


def screen_x(plan: ShotPlan, cid: str) -> float | None:
    """Where ``cid`` is across the frame (0 left .. 1 right), measured from pixels: the
    centroid of what changes when they are marked speaking (their light and rim)."""
    render = AnimaticBackend({"subtitles": False, "acting": False})
    line = PlannedLine("probe", cid, cid, "...", None, False, 0.0, plan.duration)
    quiet = np.asarray(list(render.render(_still(plan, lines=()), Conditioning()))[-1], np.float32)
    marked = np.asarray(list(render.render(_still(plan, lines=(line,)), Conditioning()))[-1], np.float32)
    diff = np.abs(marked - quiet).sum(axis=2)
    if (diff > 80).sum() < 10:
        return None
    xs = np.nonzero(diff > 80)[1]
    return float(xs.mean()) / diff.shape[1]


def test_each_character_keeps_its_screen_side_across_the_scene() -> None:
    scene = [p for p in _plans() if p.scene_id == "storm" and p.size != "insert"]
    sides: dict[str, set[bool]] = {"mara": set(), "theo": set()}
    measured = 0
    for plan in scene:
        for cid in sides:
            x = screen_x(plan, cid)
            if x is None or not any(m.id == cid for m in plan.present):
                continue
            if abs(x - 0.5) < 0.02:
                continue  # centred: on neither side, so on no wrong side
            sides[cid].add(x < 0.5)
            measured += 1
    assert measured >= 8
    assert sides["mara"] == {True} and sides["theo"] == {False}, sides


def test_movements_read_only_what_the_action_says() -> None:
    assert movements("Theo enters, dripping.", NAMES) == [Movement("theo", "enter")]
    assert movements("Hale walks in. Mara leaves without a word.", NAMES) == [
        Movement("inspector", "enter"), Movement("mara", "exit")]
    assert movements("Mara stares at the door.", NAMES) == []
    assert movements("The door opens and someone enters.", NAMES) == []
    assert walk_offset("enter", 0.0, 5.0, -3.0) == -3.0 and walk_offset("enter", 2.0, 5.0, -3.0) == 0.0
    assert walk_offset("exit", 0.0, 5.0, 3.0) == 0.0 and walk_offset("exit", 5.0, 5.0, 3.0) == 3.0


def test_an_entrance_comes_in_from_outside_the_frame() -> None:
    plan = next(p for p in _plans() if p.shot_id == "storm-09")  # a two-shot of Mara and Theo
    plan = dataclasses.replace(plan, width=320, height=180, frames=48, continuity="cut", continues=None,
                               title_card=None, film_title=None, lines=(), move="static",
                               action="Theo enters from the stairs.")
    frames = [np.asarray(f, np.float32) for f in AnimaticBackend({"subtitles": False}).render(plan, Conditioning())]
    still = [np.asarray(f, np.float32) for f in AnimaticBackend({"subtitles": False, "blocking": False})
             .render(plan, Conditioning())]
    # at the end Theo stands on his mark, as in the unblocked shot
    assert np.abs(frames[-1] - still[-1]).mean() < 0.5
    # on the first frame he is nowhere in it: where he ends up is empty set
    gone = np.abs(frames[0] - still[-1]).sum(axis=2) > 30
    cols = np.nonzero(gone.any(axis=0))[0]
    assert len(cols) > 0 and cols.mean() / plan.width > 0.5  # Theo stands right of Mara
    # he comes in from the right edge: his leading columns move leftwards over time
    lefts = []
    for f in frames[1:20]:
        moved = np.abs(f - frames[0]).sum(axis=2) > 30
        c = np.nonzero(moved.any(axis=0))[0]
        if len(c):
            lefts.append(c.min())
    assert lefts and lefts[0] > 0.85 * plan.width
    assert all(a >= b for a, b in zip(lefts, lefts[1:])) and lefts[-1] < lefts[0]


@pytest.mark.parametrize("option", ["acting", "blocking"])
def test_plain_board_options(option: str) -> None:
    assert AnimaticBackend({option: False}).describe()["options"][option] is False
