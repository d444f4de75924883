"""Prompts: a shot described in words a video model was trained on.

A prompt reads like a cinematographer's note, in a fixed order (models weigh the
start of a prompt most):

1. the shot size and who it holds ("Medium close-up of Mara"), or the object of an insert;
2. where and when: interior/exterior, the location's description, the light of the time of day,
   the scene's period ("in 1973");
3. each character on screen by their canonical appearance (the identity's prompt
   fragment, the same words in every shot), after the trigger words of its LoRAs;
4. what happens: the action, the shot's description, who speaks and how;
5. the camera move;
6. the film's look.

The negative prompt is the film's ``negative`` (what its look avoids), or a plain
default; the backend appends each model family's published default negative to it
(:func:`with_model_negative`), since those are the words its checkpoints were tuned
against. Pure functions of the plan and the identities: no torch here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from studio.consistency.identity import Identity
from studio.render.plan import WIDE_SIZES, ShotPlan, on_screen

DEFAULT_NEGATIVE = "blurry, low quality, distorted faces, deformed hands, text, watermark"

SIZES = {
    "extreme-wide": "Extreme wide shot",
    "wide": "Wide shot",
    "full": "Full shot",
    "medium-wide": "Medium wide shot",
    "medium": "Medium shot",
    "medium-close-up": "Medium close-up",
    "close-up": "Close-up",
    "extreme-close-up": "Extreme close-up",
    "over-the-shoulder": "Over-the-shoulder shot",
    "two-shot": "Two-shot",
    "insert": "Insert shot",
    "pov": "Point-of-view shot",
}

MOVES = {
    "static": "Static camera, locked off on a tripod.",
    "pan": "The camera pans slowly across the scene.",
    "pan-left": "The camera pans slowly to the left.",
    "pan-right": "The camera pans slowly to the right.",
    "tilt": "The camera tilts slowly.",
    "tilt-up": "The camera tilts up.",
    "tilt-down": "The camera tilts down.",
    "dolly": "The camera dollies slowly.",
    "dolly-in": "Slow dolly in toward the subject.",
    "dolly-out": "Slow dolly out, away from the subject.",
    "zoom": "Slow zoom.",
    "zoom-in": "Slow zoom in.",
    "zoom-out": "Slow zoom out.",
    "truck-left": "The camera trucks left, tracking sideways.",
    "truck-right": "The camera trucks right, tracking sideways.",
    "crane-up": "Crane shot, the camera rises.",
    "crane-down": "Crane shot, the camera descends.",
    "handheld": "Handheld camera with a subtle, natural shake.",
}

LIGHT = {
    "dawn": "at dawn, soft pink early light",
    "morning": "in the morning, fresh clear daylight",
    "day": "during the day, natural daylight",
    "afternoon": "in the afternoon, warm slanting sunlight",
    "dusk": "at dusk, fading golden light",
    "evening": "in the evening, low warm light",
    "night": "at night, dark, lit by practical lights",
}



@dataclass(frozen=True)
class ShotPrompt:
    prompt: str
    negative: str


def shot_prompt(plan: ShotPlan, identities: Mapping[str, Identity] | None = None) -> ShotPrompt:
    """The prompt and negative prompt of a shot; ``identities`` give each character's
    canonical appearance (a character without one is described from the plan)."""
    identities = identities or {}
    shown = on_screen(plan)
    names = {m.id: m.name for m in plan.present}
    sentences = [_framing(plan, [names.get(cid, cid) for cid in shown]) + ", " + _place(plan) + "."]
    people = [_appearance(plan, cid, identities) for cid in shown]
    if people:
        sentences.append("; ".join(people) + ".")
    for text in dict.fromkeys(t for t in (plan.action, plan.description) if t):
        sentences.append(_sentence(text))
    for line in plan.lines:
        if line.off_screen:
            continue
        how = f", {line.parenthetical}" if line.parenthetical else ""
        sentences.append(f'{line.speaker_name} speaks{how}: "{" ".join(line.text.split())}"')
    sentences.append(MOVES.get(plan.move, f"Camera: {plan.move}."))
    if plan.look:
        sentences.append(_sentence(plan.look))
    negative = " ".join(plan.negative.split()) or DEFAULT_NEGATIVE
    return ShotPrompt(" ".join(sentences), negative)


def with_model_negative(negative: str, model_negative: str) -> str:
    """``negative`` (the film's) followed by a model family's default negative prompt, unless
    it already ends with it or there is none: the film's words come first, the model's are
    kept rather than replaced."""
    negative, model_negative = " ".join(negative.split()), " ".join(model_negative.split())
    if not model_negative or negative.endswith(model_negative):
        return negative
    if not negative:
        return model_negative
    return f"{negative.rstrip(',;. ')}, {model_negative}"


def _framing(plan: ShotPlan, names: list[str]) -> str:
    size = SIZES.get(plan.size, plan.size.replace("-", " ").capitalize())
    if plan.size == "insert" and plan.focus:
        return f"{size} of {plan.focus}"
    if plan.size == "pov" and names:
        return f"{size} from {names[0]}'s eyes"
    if plan.size == "over-the-shoulder" and len(names) >= 2:
        return f"{size} over {names[1]}'s shoulder onto {names[0]}"
    if not names:
        return f"{size} of {plan.location_name}" if plan.size in WIDE_SIZES else size
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{size} of {who}"


def _place(plan: ShotPlan) -> str:
    where = " ".join((plan.location_description or plan.location_name).split()).rstrip(".")
    side = {True: "interior, ", False: "exterior, ", None: ""}[plan.interior]
    light = LIGHT.get(plan.time_of_day, plan.time_of_day)
    when = f", in {plan.period}" if plan.period else ""
    return f"{side}{where}, {light}{when}"


def _appearance(plan: ShotPlan, cid: str, identities: Mapping[str, Identity]) -> str:
    identity = identities.get(cid)
    member = plan.member(cid)
    if identity is not None and identity.prompt:
        words = " ".join(identity.prompt.split())
    elif member is None:
        words = cid
    else:
        words = f"{member.name}, {' '.join(member.description.split())}" if member.description else member.name
    # the words the character's LoRAs were trained on come first
    triggers = [lora.trigger for lora in identity.loras if lora.trigger] if identity is not None else []
    return ", ".join([*triggers, words])


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?", '"')) else text + "."


def film_prompts(screenplay) -> list[tuple[ShotPlan, ShotPrompt]]:  # type: ignore[no-untyped-def]
    """Every shot of ``screenplay`` with its prompt, in story order, as the diffusers backend
    sends it to the video model: the film's negative followed by the family's default for
    the screenplay's ``model`` (durations are the planner's estimates: prompts do not depend
    on them)."""
    from studio.consistency.cast import build_identities
    from studio.graph.scene_graph import SceneGraph
    from studio.models import Registry
    from studio.render.diffusers.settings import DEFAULT_MODEL, FAMILIES
    from studio.render.plan import plan_film

    options = screenplay.film.render.options
    registry = Registry.default(options.get("models"), base_dir=screenplay.base_dir)
    family = FAMILIES[registry.get(str(options.get("model", DEFAULT_MODEL))).family]

    plans = plan_film(SceneGraph.from_screenplay(screenplay))
    identities = build_identities(screenplay)
    prompts = []
    for plan in plans:
        prompt = shot_prompt(plan, identities)
        prompts.append((plan, ShotPrompt(prompt.prompt, with_model_negative(prompt.negative, family.negative))))
    return prompts
