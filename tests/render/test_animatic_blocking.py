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


SCENE = """\
version: 1
film: {title: Cross, fps: 24, resolution: 320x180, seed: 5, render: {backend: animatic}}
characters:
  - {id: mara, name: Mara, description: "a lighthouse keeper in her sixties, silver hair in a braid, oilskin coat"}
  - {id: theo, name: Theo, description: "her grandson, seventeen, curly dark hair, yellow raincoat"}
locations:
  - {id: room, name: Lamp Room, description: "the lamp room of a lighthouse, glass on every side", interior: true}
scenes:
  - id: watch
    heading: INT. LAMP ROOM - NIGHT
    location: room
    time: night
    characters: [mara, theo]
    beats:
      - {speaker: mara, line: "The lamp has to burn all night."}
      - {speaker: theo, line: "Then I will stay up with you."}
      - action: Mara crosses to the window.
      - {speaker: mara, line: "Look how far the light goes."}
      - {speaker: theo, line: "All the way to the rocks."}
      - {speaker: mara, line: "And past them."}
      - action: Theo sits on the bench.
      - {speaker: theo, line: "I can see the boats from here."}
"""


def _scene(tmp_path: Path) -> list[ShotPlan]:
    (tmp_path / "cross.yaml").write_text(SCENE, encoding="utf-8")
    return plan_film(SceneGraph.from_screenplay(load_screenplay(tmp_path / "cross.yaml")))


def _marked_x(plan: ShotPlan, cid: str, frame: int) -> float | None:
    """``cid``'s place across the frame (0..1) on ``frame`` of the whole shot, from pixels:
    the centroid of what their speaking mark changes."""
    render = AnimaticBackend({"subtitles": False, "acting": False})
    line = PlannedLine("probe", cid, cid, "...", None, False, 0.0, plan.duration)
    quiet = np.asarray(list(render.render(dataclasses.replace(plan, lines=()), Conditioning()))[frame], np.float32)
    marked = np.asarray(list(render.render(dataclasses.replace(plan, lines=(line,)), Conditioning()))[frame],
                        np.float32)
    diff = np.abs(marked - quiet).sum(axis=2)
    if (diff > 80).sum() < 10:
        return None
    return float(np.nonzero(diff > 80)[1].mean()) / diff.shape[1]


def test_a_cross_changes_sides_from_then_on(tmp_path: Path) -> None:
    plans = [p for p in _scene(tmp_path) if p.size != "insert"]
    crossing = next(p for p in plans if "crosses" in p.action)
    plan = dataclasses.replace(crossing, continuity="cut", continues=None, title_card=None, film_title=None)
    # in the crossing shot she walks from Theo's left to his right
    first = _marked_x(plan, "mara", 0), _marked_x(plan, "theo", 0)
    last = _marked_x(plan, "mara", plan.frames - 1), _marked_x(plan, "theo", plan.frames - 1)
    assert None not in first + last, (first, last)
    assert first[0] < first[1] and last[0] > last[1], (first, last)
    # and every shot of the scene keeps the sides: Mara left before the cross, right after it
    before, after = plans[:plans.index(crossing)], plans[plans.index(crossing) + 1:]
    measured = {"before": 0, "after": 0}
    for group, shots, mara_left in (("before", before, True), ("after", after, False)):
        for p in shots:
            for cid in ("mara", "theo"):
                x = screen_x(p, cid)
                if x is None or abs(x - 0.5) < 0.02:
                    continue
                assert (x < 0.5) == (mara_left if cid == "mara" else not mara_left), (p.shot_id, cid, x)
                measured[group] += 1
    assert measured["before"] >= 2 and measured["after"] >= 4, measured


def _skin_pixels(frame: np.ndarray, colour: tuple[int, int, int], rows: slice | None = None) -> np.ndarray:
    """Where ``frame`` has (about) ``colour``: a mask."""
    f = np.asarray(frame, np.int16)[rows or slice(None)]
    return (np.abs(f - np.array(colour, np.int16)).max(axis=2) <= 6)


def test_a_seat_lowers_the_figure_into_a_chair_and_stays_for_the_scene(tmp_path: Path) -> None:
    from studio.render.animatic.stage import scene_looks

    plans = _scene(tmp_path)
    sits = next(p for p in plans if "sits" in p.action)
    later = [p for p in plans[plans.index(sits) + 1:] if p.size != "insert"]
    assert later and all(p.member("theo").seated for p in later)
    assert not any(m.seated for p in plans[:plans.index(sits) + 1] for m in p.present)
    plan = dataclasses.replace(sits, continuity="cut", continues=None, title_card=None, film_title=None,
                               move="static", lines=(), frames=48)
    skin = scene_looks(plan)["theo"].skin
    frames = list(AnimaticBackend({"subtitles": False}).render(plan, Conditioning()))
    standing, seated = _skin_pixels(frames[0], skin), _skin_pixels(frames[-1], skin)
    assert standing.sum() > 20 and seated.sum() > 20
    top = lambda m: int(np.nonzero(m.any(axis=1))[0].min())  # noqa: E731  the forehead's row
    drop = top(seated) - top(standing)
    head = np.nonzero(standing.any(axis=1))[0]
    assert drop > 0.1 * plan.height, drop  # well down: hips onto a seat at knee height
    # a chair stands there (wood beside the seated figure), which was not in the unstaged shot
    plain = list(AnimaticBackend({"subtitles": False, "blocking": False}).render(plan, Conditioning()))
    wood = lambda f: _skin_pixels(f, (118, 82, 54)).sum() + _skin_pixels(f, (132, 92, 60)).sum()  # noqa: E731
    assert wood(frames[-1]) > wood(plain[-1]) + 20
    assert head.size  # Theo's face was in frame to measure
    # a later shot of the scene opens with him seated: his forehead sits lower than if he stood
    shot = next(p for p in later if p.size in ("medium", "medium-wide", "two-shot", "wide", "full")
                or "theo" in p.subjects)
    shot = dataclasses.replace(shot, continuity="cut", continues=None, title_card=None, film_title=None, lines=(),
                               frames=2)
    stood = dataclasses.replace(shot, present=tuple(dataclasses.replace(m, seated=False) for m in shot.present))
    a = list(AnimaticBackend({"subtitles": False}).render(shot, Conditioning()))[-1]
    b = list(AnimaticBackend({"subtitles": False}).render(stood, Conditioning()))[-1]
    assert wood(a) > wood(b) + 10
    assert a.tobytes() != b.tobytes()


def test_a_turn_away_shows_the_back_and_a_turn_to_someone_the_face() -> None:
    from studio.render.animatic.stage import scene_looks

    plan = next(p for p in _plans() if p.shot_id == "storm-09")
    plan = dataclasses.replace(plan, width=320, height=180, frames=48, continuity="cut", continues=None,
                               title_card=None, film_title=None, lines=(), move="static")
    skin = scene_looks(plan)["theo"].skin
    rows = slice(0, plan.height * 2 // 5)  # heads, above the hands

    def face(action: str, seated_away: bool = False) -> tuple[int, int]:
        p = dataclasses.replace(plan, action=action, present=tuple(
            dataclasses.replace(m, away=seated_away and m.id == "theo") for m in plan.present))
        frames = list(AnimaticBackend({"subtitles": False}).render(p, Conditioning()))
        right = slice(plan.width // 2, None)
        return (int(_skin_pixels(frames[0], skin, rows)[:, right].sum()),
                int(_skin_pixels(frames[-1], skin, rows)[:, right].sum()))

    start, end = face("Theo turns away.")
    assert start > 40 and end < 0.3 * start, (start, end)
    start, end = face("Theo turns to Mara.", seated_away=True)  # he had his back to us
    assert end > 40 and start < 0.3 * end, (start, end)
    start, end = face("Theo looks at the sea.")  # not a turn we stage: he stays as he is
    assert start == end and start > 40


def test_a_walk_steps_its_feet_and_stands_still_on_its_mark() -> None:
    """Measured from frames: while Theo walks in, the spread of his feet (the widest run of
    changed pixels in the bottom rows of his figure) swings between steps; on his mark his
    feet stand together as in the unblocked shot."""
    plan = next(p for p in _plans() if p.shot_id == "storm-09")
    plan = dataclasses.replace(plan, width=640, height=360, frames=48, continuity="cut", continues=None,
                               title_card=None, film_title=None, lines=(), move="static",
                               action="Theo enters from the stairs.", size="wide")
    frames = [np.asarray(f, np.float32) for f in AnimaticBackend({"subtitles": False}).render(plan, Conditioning())]
    empty = frames[0]  # Theo is still outside the frame

    def feet(f: np.ndarray) -> int | None:
        moved = np.abs(f - empty).sum(axis=2) > 40
        rows = np.nonzero(moved.any(axis=1))[0]
        if len(rows) < 20:
            return None
        band = moved[rows.max() - max(2, (rows.max() - rows.min()) // 14):rows.max() + 1]
        cols = np.nonzero(band.any(axis=0))[0]
        return int(cols.max() - cols.min()) if cols.min() > 0 and cols.max() < plan.width - 1 else None

    walking = [w for w in (feet(f) for f in frames[2:24]) if w is not None]
    standing = feet(frames[-1])
    assert len(walking) >= 6 and standing is not None
    assert max(walking) - min(walking) >= 4, walking  # the feet scissor as he walks
    assert max(walking) > standing + 2, (walking, standing)  # a step reaches wider than feet together
