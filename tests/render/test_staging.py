"""Staging read from the action: what it says, and nothing it does not (issue 18)."""

from __future__ import annotations

from pathlib import Path

from studio.graph.scene_graph import SceneGraph
from studio.render.plan import plan_film
from studio.render.staging import Change, Pose, changes, staged
from studio.screenplay import load_screenplay

NAMES = {"mara": "Mara", "theo": "Theo", "inspector": "Inspector Hale"}


def test_changes_read_only_what_the_action_says() -> None:
    assert changes("Mara sits down.", NAMES) == [Change("mara", "sit")]
    assert changes("Theo gets to his feet and walks across the room.", NAMES) == [
        Change("theo", "stand"), Change("theo", "cross")]
    assert changes("Mara crosses to Theo, who sits.", NAMES) == [Change("mara", "cross"), Change("theo", "sit")]
    assert changes("Mara faces Theo and sits.", NAMES) == [Change("mara", "toward", "theo"), Change("mara", "sit")]
    assert changes("Hale turns away. Mara turns around.", NAMES) == [Change("inspector", "away"),
                                                                     Change("mara", "around")]
    # not staging: arms crossed, a turn toward a thing, nobody named, an unknown verb
    assert changes("Theo crosses his arms.", NAMES) == []
    assert changes("Mara turns to the window.", NAMES) == []
    assert changes("Someone sits in the dark.", NAMES) == []
    assert changes("Mara stares at the lamp.", NAMES) == []


def test_a_cross_swaps_sides_and_poses_carry() -> None:
    order, poses = staged(["mara", "theo"], {}, [Change("mara", "sit")])
    assert order == ["mara", "theo"] and poses == {"mara": Pose(seated=True)}
    order, poses = staged(order, poses, [Change("mara", "cross")])  # she gets up to cross
    assert order == ["theo", "mara"] and poses == {}
    order, _ = staged(["a", "b", "c"], {}, [Change("c", "cross")])
    assert order == ["c", "a", "b"]
    _, poses = staged(["a", "b"], {}, [Change("b", "away"), Change("a", "around")])
    assert poses == {"b": Pose(away=True), "a": Pose(away=True)}
    _, poses = staged(["a", "b"], {"b": Pose(away=True)}, [Change("b", "toward", "a")])
    assert poses == {}


def test_plans_carry_the_staging_and_keep_their_keys_without_it() -> None:
    sp = load_screenplay(Path(__file__).resolve().parents[2] / "screenplays" / "the-last-lamp.yaml")
    plans = plan_film(SceneGraph.from_screenplay(sp))
    # the example's action stages nobody: every member keeps its order slot and no pose
    for p in plans:
        assert all(not m.seated and not m.away for m in p.present)
        assert all("seated" not in m and "away" not in m for m in p.key_data()["present"])
