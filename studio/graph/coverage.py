"""The coverage planner: a director's first shot list for every scene.

Scenes with explicit ``shots:`` keep them as written (their dialogue placed by
``covers``). Other scenes are covered the way a first-time shot list is drawn up:

* an establishing shot whenever the story arrives at a new location;
* action lines as medium or wide shots of whoever they mention (wide when people
  move through the space), plus an insert when an action singles out an object;
* dialogue as shot/reverse-shot: one shot per speaker turn, over-the-shoulder the
  first time each side of a two-person exchange speaks, close-ups after that; a
  group exchange opens on a master; off-screen voices play over the listeners.

Durations come from the speech they carry (audio is the timing master: a shot is
never shorter than its lines) and from the length of the action. Shot ids are
``<scene>-<nn>``: stable for a given scene text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from studio.graph.shots import LINE_GAP, LINE_LEAD_IN, LINE_TAIL, Line, Shot, speech_seconds
from studio.screenplay.model import ActionBeat, DialogueBeat, Scene, Screenplay, ShotSpec, TransitionBeat

ESTABLISHING_SECONDS = 3.5
INSERT_SECONDS = 2.2
MIN_SHOT_SECONDS = 1.5
_MOVEMENT = re.compile(
    r"\b(walk|walks|run|runs|climb|climbs|clatter|clatters|hurr(y|ies)|cross(es)?|enter(s)?|"
    r"exit(s)?|leave(s)?|drive(s)?|limp(s)?|chase(s)?|rush(es)?|storm(s)? (in|out)|arrive(s)?|"
    r"reach(es)?|step(s)? (in|out)|wander(s)?|pace(s)?)\b",
    re.IGNORECASE,
)
_INSERT = re.compile(r"\b(?:close on|insert(?: on| of)?:?|we see)\s+((?:the|a|an|his|her|their)\s+[\w'-]+(?:\s+[\w'-]+)?)",
                     re.IGNORECASE)
_EMOTIONAL = ("whisper", "quiet", "soft", "tear", "cry", "trembl", "gentl", "hesitant", "sad")


def frame_count(seconds: float, fps: int) -> int:
    """Whole frames covering ``seconds`` (a shot never ends mid-frame or early)."""
    return max(1, math.ceil(round(seconds * fps, 6)))


def action_seconds(text: str) -> float:
    """Seconds an action line plays on screen: reading pace, between 2.5 and 7 s."""
    words = len(re.findall(r"[\w'’-]+", text))
    return round(min(7.0, max(2.5, 1.2 + 0.3 * words)), 3)


def _mentions(text: str, screenplay: Screenplay, candidates: list[str]) -> list[str]:
    """Characters an action line names, in the order it names them."""
    found: list[tuple[int, str]] = []
    for cid in candidates:
        char = screenplay.character(cid)
        words = char.name.split() or [cid]  # a validated name has a visible word; be safe anyway
        names = {char.name, words[0], words[-1], cid}
        best = None
        for name in names:
            m = re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE)
            if m and (best is None or m.start() < best):
                best = m.start()
        if best is not None:
            found.append((best, cid))
    return [cid for _, cid in sorted(found)]


def _focus(beat: ActionBeat) -> str | None:
    if beat.focus:
        return beat.focus
    m = _INSERT.search(beat.action)
    return m.group(1) if m else None


@dataclass
class _Draft:
    size: str
    move: str
    subjects: tuple[str, ...]
    beats: list[int]
    description: str = ""
    action: str = ""
    focus: str | None = None
    dialogue: list[tuple[int, DialogueBeat]] | None = None
    transition: str | None = None
    fixed_duration: float | None = None
    continuity: str = "cut"
    spec_id: str | None = None


def present_characters(scene: Scene) -> list[str]:
    """Who is in the scene: the listed characters, then any on-screen speaker not listed."""
    present = list(scene.characters)
    for beat in scene.beats:
        if isinstance(beat, DialogueBeat) and not beat.off_screen and beat.speaker not in present:
            present.append(beat.speaker)
    return present


def _action_draft(beat: ActionBeat, number: int, screenplay: Screenplay, present: list[str]) -> list[_Draft]:
    named = _mentions(beat.action, screenplay, present)
    subjects = tuple(named or present[:3])
    moving = bool(_MOVEMENT.search(beat.action))
    if moving or len(subjects) >= 3 or not subjects:
        size, move = "wide", ("pan-right" if moving else "static")
    elif len(subjects) == 2:
        size, move = "two-shot", "static"
    else:
        size, move = "medium", "dolly-in"
    drafts = [_Draft(size, move, subjects, [number], action=beat.action)]
    focus = _focus(beat)
    if focus:
        drafts.append(_Draft("insert", "static", (), [number], action=beat.action, focus=focus,
                             description=f"Insert: {focus}."))
    return drafts


def _dialogue_drafts(run: list[tuple[int, DialogueBeat]], present: list[str]) -> list[_Draft]:
    """Shot/reverse-shot over a run of consecutive dialogue beats."""
    turns: list[list[tuple[int, DialogueBeat]]] = []
    for number, beat in run:
        # a line spoken over the one before (dual dialogue, a joint cue) shares its shot
        if turns and (turns[-1][-1][1].speaker == beat.speaker or beat.overlaps):
            turns[-1].append((number, beat))
        else:
            turns.append([(number, beat)])
    speakers = [b.speaker for _, b in run if not b.off_screen]
    voices = list(dict.fromkeys(speakers))
    group = len(set(voices) | set(present)) >= 3 and len(voices) >= 2
    drafts: list[_Draft] = []
    seen: set[str] = set()
    for k, turn in enumerate(turns):
        speaker = turn[0][1].speaker
        parenthetical = " ".join((b.parenthetical or "") for _, b in turn).lower()
        emotional = any(w in parenthetical for w in _EMOTIONAL)
        listeners = [c for c in voices + present if c != speaker]
        listener = next(iter(dict.fromkeys(listeners)), None)
        move = "dolly-in" if emotional else "static"
        together = tuple(dict.fromkeys(b.speaker for _, b in turn if not b.off_screen))
        if len(together) >= 2:  # overlapping speech: every speaker in frame
            size, subjects = ("two-shot" if len(together) == 2 else "medium-wide"), together[:4]
            seen.update(together)
            drafts.append(_Draft(size, move, subjects, [n for n, _ in turn], dialogue=turn))
            continue
        if turn[0][1].off_screen:
            subjects = tuple(c for c in present if c != speaker)[:2]
            size = "medium" if subjects else "wide"
            move = "static"
        elif group and k == 0:
            size, subjects = "medium-wide", tuple(dict.fromkeys([speaker] + present))[:4]
        elif len(voices) == 2 and speaker not in seen and listener:
            size, subjects = "over-the-shoulder", (speaker, listener)
        elif len(voices) <= 1 and k == 0 and listener:
            size, subjects = "medium", (speaker,)
        else:
            size, subjects = ("close-up" if emotional or len(voices) == 2 else "medium-close-up"), (speaker,)
        seen.add(speaker)
        drafts.append(_Draft(size, move, subjects, [n for n, _ in turn], dialogue=turn))
    return drafts


def _derive(scene: Scene, screenplay: Screenplay, new_location: bool) -> list[_Draft]:
    present = present_characters(scene)
    interior = screenplay.location(scene.location).interior
    drafts: list[_Draft] = []
    beats = list(enumerate(scene.beats, start=1))
    if new_location or not beats:
        establishing = _Draft(
            "wide" if interior else "extreme-wide",
            "dolly-in" if interior else "pan-right",
            tuple(present[:4]),
            [],
            description=f"Establishing: {screenplay.location(scene.location).name or scene.location}.",
        )
        if beats and isinstance(beats[0][1], ActionBeat) and not _focus(beats[0][1]):
            number, beat = beats.pop(0)
            establishing.beats.append(number)
            establishing.action = beat.action
            named = _mentions(beat.action, screenplay, present)
            if named:
                establishing.subjects = tuple(named)
        drafts.append(establishing)
    run: list[tuple[int, DialogueBeat]] = []
    for number, beat in beats:
        if isinstance(beat, DialogueBeat):
            run.append((number, beat))
            continue
        if run:
            drafts += _dialogue_drafts(run, present)
            run = []
        if isinstance(beat, ActionBeat):
            drafts += _action_draft(beat, number, screenplay, present)
        elif isinstance(beat, TransitionBeat) and drafts:
            drafts[-1].transition = beat.transition
    if run:
        drafts += _dialogue_drafts(run, present)
    return drafts


def _explicit(scene: Scene) -> list[_Draft]:
    shots: list[ShotSpec] = list(scene.shots or [])
    by_id = {b.id: n for n, b in enumerate(scene.beats, start=1) if b.id}
    drafts: list[_Draft] = []
    for spec in shots:
        numbers = sorted(by_id[r] if isinstance(r, str) else r for r in spec.covers)
        if len(shots) == 1 and not spec.covers:
            numbers = list(range(1, len(scene.beats) + 1))
        covered = [(n, scene.beats[n - 1]) for n in numbers]
        dialogue = [(n, b) for n, b in covered if isinstance(b, DialogueBeat)]
        actions = [b.action for _, b in covered if isinstance(b, ActionBeat)]
        focus = next((_focus(b) for _, b in covered if isinstance(b, ActionBeat) and _focus(b)), None)
        transition = next((b.transition for _, b in covered if isinstance(b, TransitionBeat)), None)
        drafts.append(_Draft(
            spec.size, spec.move, tuple(spec.subjects), numbers,
            description=spec.description, action=" ".join(actions) or spec.description,
            focus=focus if spec.size == "insert" else None, dialogue=dialogue or None,
            transition=transition, fixed_duration=spec.duration, continuity=spec.continuity, spec_id=spec.id,
        ))
    # transitions written as beats after the last covered beat close the scene
    tail = [b for b in scene.beats if isinstance(b, TransitionBeat)]
    if drafts and tail and not any(d.transition for d in drafts):
        drafts[-1].transition = tail[-1].transition
    return drafts


def line_id(scene: Scene, number: int) -> str:
    beat = scene.beats[number - 1]
    return beat.id if beat.id else f"{scene.id}.{number}"


def plan_scene_shots(
    scene: Scene,
    screenplay: Screenplay,
    *,
    new_location: bool,
    first_number: int,
    speech: Mapping[str, float] | None = None,
) -> list[Shot]:
    """Shots of one scene, numbered from ``first_number``.

    ``speech`` maps line ids to measured speech seconds (from the synthesized voices);
    lines not in it use the words-per-second estimate."""
    speech = speech or {}
    drafts = _explicit(scene) if scene.shots else _derive(scene, screenplay, new_location)
    shots: list[Shot] = []
    source = screenplay.source
    for k, draft in enumerate(drafts):
        number = first_number + k
        lines: list[Line] = []
        t = LINE_LEAD_IN
        for n, beat in draft.dialogue or []:
            lid = line_id(scene, n)
            rate = screenplay.character(beat.speaker).voice.rate
            seconds = speech.get(lid) or speech_seconds(beat.line, beat.parenthetical, rate)
            # an overlapping line starts with the line it is spoken over
            start = lines[-1].start if beat.overlaps and lines else t
            lines.append(Line(lid, beat.speaker, beat.line, beat.parenthetical, beat.off_screen, n,
                              seconds, round(start, 3), round(start + seconds, 3)))
            t = max(t, start + seconds + LINE_GAP)
        spoken = round(t - LINE_GAP + LINE_TAIL, 3) if lines else 0.0
        if draft.fixed_duration is not None:
            estimate = draft.fixed_duration
        elif draft.size == "insert":
            estimate = INSERT_SECONDS
        elif draft.action and not lines:
            estimate = action_seconds(draft.action)
        elif not lines:
            estimate = ESTABLISHING_SECONDS
        else:
            estimate = 0.0
        if draft.action and lines and draft.fixed_duration is None:
            estimate = action_seconds(draft.action)
        frames = frame_count(max(estimate, spoken, MIN_SHOT_SECONDS), screenplay.film.fps)
        duration = round(frames / screenplay.film.fps, 6)
        stretched = (
            draft.fixed_duration
            if draft.fixed_duration is not None and frames > frame_count(draft.fixed_duration, screenplay.film.fps)
            else None
        )
        line_no = 0
        if source is not None:
            # by identity: list.index compares pydantic models field by field (O(scenes) deep
            # comparisons a shot: half a second on a feature, in every editor check)
            scene_index = next((i for i, s in enumerate(screenplay.scenes) if s is scene), None)
            if scene_index is None:  # a copy of one of its scenes
                scene_index = screenplay.scenes.index(scene)
            if draft.spec_id is not None:
                spec_index = [s.id for s in scene.shots or []].index(draft.spec_id)
                line_no = source.locate(("scenes", scene_index, "shots", spec_index))[0]
            elif draft.beats:
                line_no = source.locate(("scenes", scene_index, "beats", draft.beats[0] - 1))[0]
            else:
                line_no = source.locate(("scenes", scene_index))[0]
        shots.append(Shot(
            id=draft.spec_id or f"{scene.id}-{k + 1:02d}",
            scene=scene.id,
            number=number,
            size=draft.size,
            move=draft.move,
            subjects=draft.subjects,
            duration=duration,
            frames=frames,
            continuity=draft.continuity,
            description=draft.description,
            action=draft.action,
            focus=draft.focus,
            lines=tuple(lines),
            beats=tuple(draft.beats),
            transition=draft.transition,
            derived=draft.spec_id is None,
            speech_seconds=round(sum(line.seconds for line in lines), 3),
            stretched_from=stretched,
            source_line=line_no,
        ))
    return shots


def plan_shots(screenplay: Screenplay, speech: Mapping[str, float] | None = None) -> list[Shot]:
    """The film's shot list in story order."""
    shots: list[Shot] = []
    previous_location: str | None = None
    for scene in screenplay.scenes:
        scene_shots = plan_scene_shots(
            scene,
            screenplay,
            new_location=scene.location != previous_location,
            first_number=len(shots) + 1,
            speech=speech,
        )
        if scene.continues and scene_shots and shots and scene.location == previous_location and not scene.shots:
            # CONTINUOUS at the same place: no cut in time or space, one take across the scenes
            scene_shots[0] = replace(scene_shots[0], continuity="continuous")
        shots += scene_shots
        previous_location = scene.location
    _check_ids(shots, screenplay)
    return shots


def _check_ids(shots: list[Shot], screenplay: Screenplay) -> None:
    from studio.errors import Problem, ScreenplayError

    seen: dict[str, Shot] = {}
    problems: list[Problem] = []
    file = screenplay.source.file if screenplay.source else ""
    for shot in shots:
        if shot.id in seen:
            other = seen[shot.id]
            problems.append(Problem(
                f"shot id {shot.id!r} is also the id the planner gives a shot of scene {other.scene}",
                file=file, line=shot.source_line, field=f"scenes[{shot.scene}].shots[{shot.id}].id",
                hint="rename it; planned shots are named <scene>-<nn>",
            ))
        seen[shot.id] = shot
    if problems:
        raise ScreenplayError(problems, file)

