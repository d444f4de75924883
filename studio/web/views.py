"""What each page shows, as plain dictionaries for the templates (the templates
escape every value: user text never reaches the HTML unescaped)."""

from __future__ import annotations

from typing import Any

from studio.errors import StudioError
from studio.graph.export import SIZE_ABBREVIATIONS, character_colour
from studio.run.status import FilmStatus, ShotStatus
from studio.screenplay.model import Screenplay
from studio.web.session import Studio, card_version


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def characters(screenplay: Screenplay, ids: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    known = {c.id: c for c in screenplay.characters}
    return [{"id": cid, "name": known[cid].name if cid in known else cid, "colour": _hex(character_colour(cid))}
            for cid in ids]


def keyframe(shot_id: str, selected: dict[str, Any] | None) -> dict[str, Any] | None:
    """The card's keyframe: its take, approval, the picture's URL (by shot: the server
    looks the key up in the lockfile; the key in the query only busts the browser's
    cache) and the other takes to pick from."""
    if selected is None:
        return None
    key = selected.get("key")
    return {"take": selected["take"], "approved": bool(selected["approved"]), "takes": list(selected["takes"]),
            "url": f"/keyframe/{shot_id}.png?k={key[:16]}" if key else None}


def card(shot: ShotStatus, screenplay: Screenplay, previous: str | None,
         selected_keyframe: dict[str, Any] | None = None) -> dict[str, Any]:
    plan = shot.plan
    thumb = shot.thumb_clip
    if plan.lines:
        first = plan.lines[0]
        caption = {"speaker": first.speaker_name, "text": first.text,
                   "more": len(plan.lines) - 1, "parenthetical": first.parenthetical or ""}
    else:
        caption = {"speaker": "", "text": (f"Insert: {plan.focus}" if plan.focus else plan.action or plan.description),
                   "more": 0, "parenthetical": ""}
    return {
        "id": shot.shot_id,
        "scene": plan.scene_id,
        "number": plan.number,
        "take": shot.take,
        "stale": shot.stale,
        "reason": shot.reason,
        "version": card_version(shot, selected_keyframe),
        "keyframe": keyframe(shot.shot_id, selected_keyframe),
        "thumb": f"/thumb/{thumb.key}.jpg" if thumb else None,
        "size": SIZE_ABBREVIATIONS.get(plan.size, plan.size),
        "size_name": plan.size,
        "move": plan.move,
        "period": plan.period,
        "continuous": plan.continuity == "continuous",
        "continues": previous if plan.continuity == "continuous" else None,
        "characters": characters(screenplay, plan.subjects),
        "caption": caption,
        "seconds": f"{plan.duration:.1f}",
        "qa_score": None if shot.qa_score is None else f"{shot.qa_score:.2f}",
        "qa_flagged": shot.qa_flagged,
    }


def board(status: FilmStatus, screenplay: Screenplay,
          keyframes: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The storyboard: scenes in story order, each with its shots' cards (and their
    selected keyframes, :meth:`Studio.keyframes`)."""
    keyframes = keyframes or {}
    scenes: list[dict[str, Any]] = []
    previous: str | None = None
    for shot in status.shots:
        plan = shot.plan
        if not scenes or scenes[-1]["id"] != plan.scene_id:
            scene = next((s for s in screenplay.scenes if s.id == plan.scene_id), None)
            scenes.append({"id": plan.scene_id, "heading": plan.scene_heading,
                           "characters": characters(screenplay, list(scene.characters) if scene else []),
                           "cards": [], "seconds": 0.0})
        scenes[-1]["cards"].append(card(shot, screenplay, previous, keyframes.get(shot.shot_id)))
        scenes[-1]["seconds"] += plan.duration
        previous = shot.shot_id
    for scene in scenes:
        scene["seconds"] = f"{scene['seconds']:.1f}"
    return scenes


def summary(studio: Studio) -> dict[str, Any]:
    status = studio.status()
    seconds = sum(s.plan.duration for s in status.shots)
    out: dict[str, Any] = {
        "shots": len(status.shots), "stale": len(status.stale), "scenes": len({s.plan.scene_id for s in status.shots}),
        "runtime": f"{int(seconds // 60)}:{int(seconds % 60):02d}", "estimate": None,
    }
    try:
        estimate = film_estimate(studio, gpus=1)
    except StudioError:
        return out
    stale = set(status.stale)
    remaining = sum(s.seconds for s in estimate.shots if s.shot_id in stale)
    out["estimate"] = {"stale_seconds": _duration(remaining), "device": estimate.reference.device,
                       "backend": estimate.backend}
    return out


def film_estimate(studio: Studio, *, backend: str | None = None, model: str | None = None, gpus: int = 1) -> Any:
    from studio.run.estimate import estimate_film

    status = studio.status()
    screenplay = studio.current_screenplay()
    backend = backend or studio.config.backend or screenplay.film.render.backend
    # the screenplay's render options are for its own backend
    own = screenplay.film.render.backend == "diffusers" and backend == "diffusers"
    options = {k: v for k, v in screenplay.film.render.options.items() if k != "models"} if own else {}
    if model and backend == "diffusers":
        options["model"] = model
    return estimate_film([s.plan for s in status.shots], backend=backend, options=options,
                         models=screenplay.film.render.options.get("models"), base_dir=screenplay.base_dir, gpus=gpus)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


duration = _duration
