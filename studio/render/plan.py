"""ShotPlan: everything a backend needs to draw one shot, as plain frozen data.

A plan is computed from the scene graph alone, so its hash (with the conditioning
hashes and the backend's own description) is the shot's cache key. Fields that only
say *where* the shot sits in the film (``number``, ``start_frame``) are left out of
the key: moving a scene does not re-render its shots.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from studio.graph.coverage import present_characters
from studio.graph.scene_graph import SceneGraph
from studio.graph.shots import Shot
from studio.render.staging import Pose, changes, staged
from studio.screenplay.model import ActionBeat, Screenplay
from studio.screenplay.title_page import opening_credit

TIME_WORDS = {
    "dawn": "DAWN", "morning": "MORNING", "day": "DAY", "afternoon": "AFTERNOON",
    "dusk": "DUSK", "evening": "EVENING", "night": "NIGHT",
}


@dataclass(frozen=True)
class CastMember:
    """A character as a shot needs it. ``slot`` is the character's place on the scene's
    stage (0, 1, 2, ... in the scene's order of characters until the action has someone
    cross to the other side); ``seated`` and ``away`` are their pose as the shot opens,
    from what the scene's earlier action says (see :mod:`studio.render.staging`)."""

    id: str
    name: str
    description: str
    slot: int
    likeness: str | None = None
    seated: bool = False
    away: bool = False  # their back to the camera


@dataclass(frozen=True)
class PlannedLine:
    """A line of dialogue in a shot; ``start``/``end`` are seconds from the shot start."""

    id: str
    speaker: str
    speaker_name: str
    text: str
    parenthetical: str | None
    off_screen: bool
    start: float
    end: float


@dataclass(frozen=True)
class Framing:
    """Where a shot's camera ends up: what a continuous shot picks up from."""

    size: str
    move: str
    subjects: tuple[str, ...]
    location_id: str
    scene_id: str
    seed: int


@dataclass(frozen=True)
class ShotPlan:
    shot_id: str
    scene_id: str
    scene_heading: str
    location_id: str
    location_name: str
    location_description: str
    interior: bool | None
    time_of_day: str
    size: str
    move: str
    continuity: str
    subjects: tuple[str, ...]
    present: tuple[CastMember, ...]
    lines: tuple[PlannedLine, ...]
    action: str
    description: str
    focus: str | None
    fps: int
    width: int
    height: int
    frames: int
    seed: int
    look: str
    negative: str
    continues: Framing | None = None  # the framing of the shot this one continues
    title_card: str | None = None  # scene heading shown over the first seconds
    film_title: str | None = None  # the film's title, shown over the film's first shot
    transition_out: str | None = None
    # the location's reference images (resolved paths): a keyframe model that takes references sees the first
    location_references: tuple[str, ...] = ()
    period: str = ""  # the scene's period ('1973', 'DAY 2'); prompts and cards show it
    act: str = ""  # the act the scene opens ('ACT TWO'): a chapter title in the cut, not part of the key
    film_credit: str = ""  # under the film's title on the first shot: 'Written by Ada Quill'
    # position in the film: not part of the cache key
    number: int = 0
    start_frame: int = 0

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    @property
    def framing(self) -> Framing:
        return Framing(self.size, self.move, self.subjects, self.location_id, self.scene_id, self.seed)

    def member(self, character_id: str) -> CastMember | None:
        return next((m for m in self.present if m.id == character_id), None)

    def key_data(self) -> dict[str, Any]:
        """What determines the shot's pixels (its position in the film does not)."""
        data = asdict(self)
        data.pop("number")
        data.pop("start_frame")
        if self.location_references:  # by content; absent without: keys stay as they were
            data["location_references"] = [file_hash(path) for path in self.location_references]
        else:
            data.pop("location_references")
        if not self.period:  # absent without: keys stay as they were
            data.pop("period")
        data.pop("act")
        for member in data["present"]:  # a pose only when staged: keys stay as they were
            for pose in ("seated", "away"):
                if not member[pose]:
                    member.pop(pose)
        if not self.film_credit:  # absent without: keys stay as they were
            data.pop("film_credit")
        return data

    def key(self) -> str:
        return canonical_hash(self.key_data())


#: shot sizes wide enough to hold everyone present in the scene
WIDE_SIZES = {"extreme-wide", "wide", "full", "medium-wide", "two-shot"}


def on_screen(plan: ShotPlan) -> list[str]:
    """Characters the frame holds: the subjects, and in a wide size everyone present (an
    insert holds nobody). What a character's look (and LoRA) reaches."""
    if plan.size == "insert":
        return []
    ids = list(plan.subjects)
    if plan.size in WIDE_SIZES:
        ids += [m.id for m in plan.present]
    return list(dict.fromkeys(ids))


def canonical_hash(data: Any) -> str:
    """sha256 of the canonical JSON of ``data`` (sorted keys, no spaces)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_hash(path: str) -> str:
    """sha256 of a file's bytes (a missing file hashes its path: the asset check reports it)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return canonical_hash(["missing", path])


def shot_seed(film_seed: int, shot_id: str) -> int:
    """A stable per-shot seed: the film's seed mixed with the shot's id."""
    return (film_seed * 1_000_003 + zlib.crc32(shot_id.encode())) % 2**32


def scene_heading(screenplay: Screenplay, scene_id: str) -> str:
    scene = next(s for s in screenplay.scenes if s.id == scene_id)
    if scene.heading:
        return scene.heading
    loc = screenplay.location(scene.location)
    prefix = {True: "INT.", False: "EXT.", None: "INT./EXT."}[loc.interior]
    period = f" - {scene.period}" if scene.period else ""
    return f"{prefix} {(loc.name or loc.id).upper()} - {TIME_WORDS.get(scene.time, scene.time.upper())}{period}"


def plan_shot(graph: SceneGraph, shot: Shot, *, start_frame: int = 0, seed: int | None = None,
              previous_seed: int | None = None) -> ShotPlan:
    """The plan of one shot of ``graph``; ``seed`` overrides the shot's own (a take),
    ``previous_seed`` the seed of the shot it continues."""
    sp = graph.screenplay
    scene = next(s for s in sp.scenes if s.id == shot.scene)
    loc = sp.location(scene.location)
    width, height = sp.size
    order, poses = scene_staging(sp, scene, min(shot.beats) if shot.beats else 1)
    present = tuple(
        CastMember(cid, sp.character(cid).name, sp.character(cid).description, order.index(cid),
                   _likeness_name(sp, cid), poses.get(cid, Pose()).seated, poses.get(cid, Pose()).away)
        for cid in present_characters(scene)
    )
    continues = None
    index = graph.shots.index(shot)
    if shot.continuous and index > 0:
        prev = graph.shots[index - 1]
        prev_scene = next(s for s in sp.scenes if s.id == prev.scene)
        continues = Framing(prev.size, prev.move, prev.subjects, prev_scene.location, prev.scene,
                            previous_seed if previous_seed is not None else shot_seed(sp.film.seed, prev.id))
    first_in_scene = index == 0 or graph.shots[index - 1].scene != shot.scene
    return ShotPlan(
        shot_id=shot.id,
        scene_id=shot.scene,
        scene_heading=scene_heading(sp, shot.scene),
        location_id=loc.id,
        location_name=loc.name or loc.id,
        location_description=loc.description,
        interior=loc.interior,
        time_of_day=scene.time,
        size=shot.size,
        move=shot.move,
        continuity=shot.continuity,
        subjects=shot.subjects,
        present=present,
        lines=tuple(
            PlannedLine(line.id, line.speaker, sp.character(line.speaker).name, line.text, line.parenthetical,
                        line.off_screen, line.start, line.end)
            for line in shot.lines
        ),
        action=shot.action,
        description=shot.description,
        focus=shot.focus,
        fps=sp.film.fps,
        width=width,
        height=height,
        frames=shot.frames,
        seed=seed if seed is not None else shot_seed(sp.film.seed, shot.id),
        look=sp.film.look,
        negative=sp.film.negative,
        continues=continues,
        title_card=scene_heading(sp, shot.scene) if sp.film.title_cards and first_in_scene else None,
        film_title=sp.film.title if index == 0 else None,
        film_credit=opening_credit(sp.film.title_page) if index == 0 else "",
        transition_out=shot.transition,
        location_references=_location_references(sp, loc.references),
        period=scene.period or "",
        act=scene.act or "",
        number=shot.number,
        start_frame=start_frame,
    )


def scene_staging(sp: Screenplay, scene: Any, before: int) -> tuple[list[str], dict[str, Pose]]:
    """The stage order (left to right) and poses of ``scene``'s characters before its
    beat ``before`` (1-based): what the action beats before it say they did."""
    order = list(present_characters(scene))
    names = {cid: sp.character(cid).name for cid in order}
    poses: dict[str, Pose] = {}
    for beat in scene.beats[:max(0, before - 1)]:
        if isinstance(beat, ActionBeat):
            order, poses = staged(order, poses, changes(beat.action, names))
    return order, poses


def _location_references(sp: Screenplay, references: list[str]) -> tuple[str, ...]:
    if not references or sp.base_dir is None:
        return tuple(references)
    from studio.screenplay import resolve_asset

    return tuple(str(resolve_asset(r, Path(sp.base_dir), allow_outside=bool(getattr(sp, "_allow_outside", False))))
                 for r in references)


def _likeness_name(sp: Screenplay, character_id: str) -> str | None:
    likeness = sp.character(character_id).likeness
    return likeness if isinstance(likeness, str) else None


def plan_film(graph: SceneGraph, seeds: Mapping[str, int] | None = None) -> list[ShotPlan]:
    """Plans for every shot of the film, in story order; ``seeds`` picks a shot's take."""
    seeds = seeds or {}
    plans: list[ShotPlan] = []
    start = 0
    for shot in graph.shots:
        plan = plan_shot(graph, shot, start_frame=start, seed=seeds.get(shot.id),
                         previous_seed=plans[-1].seed if plans else None)
        plans.append(plan)
        start += plan.frames
    return plans
