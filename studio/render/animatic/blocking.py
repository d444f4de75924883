"""Blocking read from the screenplay's action: who walks into or out of a shot.

:func:`movements` reads a shot's action text for what it says a present character
does: enters (``enters``, ``walks in``, ``comes in``, ``steps in``, ``arrives``,
``bursts in``) or leaves (``leaves``, ``exits``, ``walks out``, ``goes out``,
``storms out``). Nothing is guessed: a shot whose action names no such verb after a
character's name keeps its staging. :func:`walk_offset` is where a walking character
is on a frame: an entrance starts outside the frame on the side of the character's
place on the stage (so they keep their screen side) and eases onto the mark over
:data:`WALK_SECONDS`; an exit walks off that side over the shot's last
:data:`WALK_SECONDS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENTER = ("enters", "enter", "walks in", "comes in", "steps in", "arrives", "bursts in", "wanders in", "hurries in",
         "strides in", "appears in the doorway", "comes through the door")
LEAVE = ("leaves", "exits", "walks out", "goes out", "storms out", "walks off", "heads out", "hurries out")
WALK_SECONDS = 1.6  # how long a walk in or out takes (at most 45% of the shot)


@dataclass(frozen=True)
class Movement:
    """A character walking in (``kind="enter"``) or out (``"exit"``) of a shot."""

    cid: str
    kind: str


def movements(action: str, names: dict[str, str]) -> list[Movement]:
    """The entrances and exits ``action`` states for the characters ``names`` (id ->
    name; the first name alone also counts): a verb in the same sentence, after the name."""
    out: list[Movement] = []
    for sentence in re.split(r"(?<=[.!?;])\s+", action or ""):
        low = sentence.lower()
        for cid, name in sorted(names.items()):
            forms = {name.lower(), name.split()[0].lower(), name.split()[-1].lower()}
            at = min((m.start() for f in forms if f for m in re.finditer(rf"\b{re.escape(f)}\b", low)), default=None)
            if at is None:
                continue
            rest = low[at:]
            verbs = [(rest.find(v), "enter") for v in ENTER if re.search(rf"\b{re.escape(v)}\b", rest)]
            verbs += [(rest.find(v), "exit") for v in LEAVE if re.search(rf"\b{re.escape(v)}\b", rest)]
            if verbs:
                kind = min(verbs)[1]
                if all(m.cid != cid for m in out):
                    out.append(Movement(cid, kind))
    return out


def walk_seconds(duration: float) -> float:
    return min(WALK_SECONDS, 0.45 * duration)


def walk_offset(kind: str, t: float, duration: float, outside: float) -> float:
    """How far (metres, signed like ``outside``) from their mark a walking character
    is at ``t`` seconds: ``outside`` (beyond the frame's edge) at the start of an
    entrance, eased to 0; 0 until the last stretch of an exit, then out to ``outside``."""
    walk = walk_seconds(duration)
    if kind == "enter":
        u = min(1.0, max(0.0, t / walk))
        return outside * (1.0 - _ease(u))
    u = min(1.0, max(0.0, (t - (duration - walk)) / walk))
    return outside * _ease(u)


def _ease(u: float) -> float:
    """Ease out for a walk: starts at full pace and slows onto the mark."""
    return 1.0 - (1.0 - u) ** 2


# --------------------------------------------------------------------------- sits, stands, turns, crosses

SIT_SECONDS = 0.8  # sitting down or getting up
TURN_SECONDS = 0.5  # a turn: the face swings to a side, then the figure shows its back (or its face)
CROSS_PACE = 1.2  # metres a second a cross walks at most (a longer stretch of shot walks slower)


@dataclass(frozen=True)
class Posed:
    """Where a staged character is on a frame: how far seated (0 standing .. 1 on the
    seat), whether we see their back, where they look (None: as placed), how far
    (metres) from their mark, and whether a chair stands there (it does all shot long
    when they sit or stand in it)."""

    seat: float
    back: bool
    gaze: float | None
    step: float
    chair: bool


@dataclass(frozen=True)
class Staging:
    """One character's staging through a shot: their pose as it opens, the changes the
    action states (kinds from :mod:`studio.render.staging`), the gaze sign toward each
    ``toward`` target and where a cross ends (metres from the mark)."""

    seated: bool
    away: bool
    kinds: tuple[str, ...]
    toward: tuple[float, ...]  # per change: the gaze a turn to someone ends on (0 for other kinds)
    cross_to: float
    side: float  # which way the face swings in a turn (-1 / 1)

    def at(self, t: float, duration: float) -> Posed:
        """The pose ``t`` seconds into a shot of ``duration`` seconds: the changes play
        one after another, each in its share of the shot."""
        seat = 1.0 if self.seated else 0.0
        back = self.away
        gaze: float | None = None
        step = 0.0
        chair = self.seated or any(k in ("sit", "stand") for k in self.kinds)
        n = len(self.kinds)
        for j, kind in enumerate(self.kinds):
            a, b = duration * j / n, duration * (j + 1) / n
            lead = a + 0.12 * (b - a)
            if kind in ("sit", "stand"):
                target = 1.0 if kind == "sit" else 0.0
                span = min(SIT_SECONDS, 0.7 * (b - a))
                u = _clip((t - lead) / span)
                seat = seat + (target - seat) * _smooth(u)
                if t < lead:
                    break
            elif kind in ("away", "around", "toward"):
                turned = {"away": True, "around": not back, "toward": False}[kind]
                span = min(TURN_SECONDS, 0.7 * (b - a))
                u = (t - lead) / span
                if t < lead:
                    break
                if kind == "toward":
                    gaze = self.toward[j]
                if turned != back:
                    if u < 1.0:  # mid-turn: a profile toward the side they turn to
                        gaze = self.side * (1.0 if u < 0.5 else -1.0)
                    back = turned if u >= 0.5 else back
                    if u >= 1.0 and kind != "toward":
                        gaze = None
            elif kind == "cross":
                rise = min(0.6, 0.2 * (b - a)) if seat > 0 else 0.0
                u0 = _clip((t - a) / max(rise, 1e-6)) if rise else 1.0
                seat = seat * (1.0 - _smooth(u0))
                start = a + rise + 0.05 * (b - a)
                walk = max(abs(self.cross_to) / CROSS_PACE, 0.8 * (b - a) - rise)
                walk = min(walk, b - start)
                u = _clip((t - start) / max(walk, 1e-6))
                step = self.cross_to * _smooth(u)
                if u > 0:
                    back = False
                    gaze = (1.0 if self.cross_to > 0 else -1.0) if u < 1 else None
                if t < start:
                    break
            if t < b:
                break
        return Posed(round(seat * 8) / 8, back, gaze, round(step, 3), chair)


def _clip(u: float) -> float:
    return min(1.0, max(0.0, u))


def _smooth(u: float) -> float:
    """Ease in and out (a sit, a stand, a walk across)."""
    return u * u * (3.0 - 2.0 * u)
