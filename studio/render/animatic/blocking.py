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
