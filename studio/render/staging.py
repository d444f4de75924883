"""Staging read from the screenplay's action: who sits, stands, turns or crosses.

:func:`changes` reads an action line for what it says a present character does to
their place: sits (``sits``, ``takes a seat``, ``sinks into``), stands (``stands``,
``gets up``, ``rises``, ``gets to her feet``), turns away (``turns away``, ``turns
her back``), turns to someone (``turns to Theo``, ``faces Theo``; to a thing it is
not a turn we can stage), turns around (the other way from how they face) or crosses
(``crosses to the window``, ``crosses the room``, ``walks across``; not ``crosses her
arms``). A verb counts in the same sentence after the character's name and before
another character's name; a character with no such verb keeps their staging.

:func:`staged` carries a scene's staging from beat to beat: the stage order (left to
right, the ``slot`` each shot stands a character on) and each one's pose (seated,
turned away). A cross moves the character to the far end of the other side, so from
that beat on the scene's shots keep the new screen sides (the 180-degree rule is kept
across cuts: nobody jumps sides without being seen to cross).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SIT = ("sits down", "sits", "takes a seat", "sinks into", "sinks onto", "sinks down", "perches on", "settles into",
       "drops into a chair", "slumps into")
STAND = ("stands up", "stands", "gets up", "rises", "gets to her feet", "gets to his feet", "gets to their feet",
         "jumps up", "springs up", "leaps up")
AWAY = ("turns away", "turns her back", "turns his back", "turns their back", "looks away")
AROUND = ("turns around", "turns round", "spins around", "spins round", "whirls around", "wheels around")
TOWARD = ("turns to", "turns toward", "turns towards", "faces", "turns back to")
CROSS = ("crosses", "walks across", "moves across", "strides across", "hurries across", "paces across")
NOT_A_CROSS = re.compile(r"crosses\s+(?:his|her|their|its|my|both)\s+(?:arms|legs|fingers|ankles|hands)|"
                         r"crosses\s+(?:out|off|herself|himself|themselves|paths?|the\s+line|a\s+line|one'?s?)\b")
KINDS = ("sit", "stand", "away", "around", "toward", "cross")


@dataclass(frozen=True)
class Change:
    """What one character does to their staging: ``kind`` is one of :data:`KINDS`;
    ``toward`` is whom they turn to (a character id) for ``"toward"``."""

    cid: str
    kind: str
    toward: str | None = None


@dataclass(frozen=True)
class Pose:
    """How a character is placed at a moment of a scene."""

    seated: bool = False
    away: bool = False  # turned away from the camera (their back to us)


def _forms(name: str) -> set[str]:
    parts = name.lower().split()
    return {f for f in (name.lower(), parts[0] if parts else "", parts[-1] if parts else "") if f}


def _name_spans(low: str, names: Mapping[str, str]) -> list[tuple[int, int, str]]:
    """Where each character is named in ``low`` (start, end, id), in order."""
    spans = []
    for cid, name in sorted(names.items()):
        for f in _forms(name):
            spans += [(m.start(), m.end(), cid) for m in re.finditer(rf"\b{re.escape(f)}\b", low)]
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[tuple[int, int, str]] = []
    for s in spans:  # a longer form at the same place wins ("inspector hale" over "hale")
        if not out or s[0] >= out[-1][1]:
            out.append(s)
    return out


def _verbs(segment: str, table: Iterable[str], kind: str) -> list[tuple[int, str]]:
    return [(m.start(), kind) for v in table for m in re.finditer(rf"\b{re.escape(v)}\b", segment)]


def changes(action: str, names: Mapping[str, str]) -> list[Change]:
    """The staging changes ``action`` states for the characters ``names`` (id -> name;
    a first or last name alone also counts), in the order it states them."""
    out: list[Change] = []
    for sentence in re.split(r"(?<=[.!?;])\s+", action or ""):
        low = sentence.lower()
        spans = _name_spans(low, names)
        # "Mara faces Theo and sits": Theo is what she faces, the verbs after him are still hers
        objects = {k for k, (a, b, _) in enumerate(spans)
                   if re.search(r"\b(?:to|towards?|faces|at|with|past)\s+(?:the\s+)?$", low[:a])
                   and re.match(r"\s*,?\s*and\b", low[b:])}
        for k, (_, end, cid) in enumerate(spans):
            if k in objects or any(s[2] == cid for s in spans[:k]):
                continue  # a later mention of the same person: their first one reads on
            stop = next((s[0] for j, s in enumerate(spans[k + 1:], k + 1) if s[2] != cid and j not in objects),
                        len(low))
            segment = low[end:stop]
            found = _verbs(segment, SIT, "sit") + _verbs(segment, STAND, "stand") + _verbs(segment, AWAY, "away")
            found += _verbs(segment, AROUND, "around")
            found += [(at, "cross") for at, _ in _verbs(segment, CROSS, "cross")
                      if not NOT_A_CROSS.match(segment, at)]
            # turning to someone: the verb ends the segment, the one named next is whom
            nxt = next((s for s in spans[k + 1:] if s[2] != cid), None)
            for at, _ in _verbs(segment, TOWARD, "toward"):
                gap = low[end + at:nxt[0]] if nxt else ""
                if nxt and re.fullmatch(r"(?:turns back to|turns to|turns towards?|faces)\s+(?:the\s+)?", gap):
                    found.append((at, "toward:" + nxt[2]))
            taken: list[tuple[int, str]] = []
            for at, kind in sorted(found):
                # "sits down" also contains "sits": one verb per place in the text
                if taken and at < taken[-1][0] + 4:
                    continue
                taken.append((at, kind))
            for _, kind in taken:
                if kind.startswith("toward:"):
                    out.append(Change(cid, "toward", kind.split(":", 1)[1]))
                else:
                    out.append(Change(cid, kind))
    return out


def staged(order: list[str], poses: Mapping[str, Pose],
           steps: Iterable[Change]) -> tuple[list[str], dict[str, Pose]]:
    """The stage order (left to right) and poses after ``steps``. A cross puts the
    character at the far end of the other side (left of centre crosses to the right;
    the centre of an odd group crosses right); standing up to cross is implied."""
    order = list(order)
    out = dict(poses)
    for ch in steps:
        if ch.cid not in order:
            continue
        pose = out.get(ch.cid, Pose())
        if ch.kind == "sit":
            pose = Pose(True, pose.away)
        elif ch.kind == "stand":
            pose = Pose(False, pose.away)
        elif ch.kind == "away":
            pose = Pose(pose.seated, True)
        elif ch.kind == "around":
            pose = Pose(pose.seated, not pose.away)
        elif ch.kind == "toward":
            pose = Pose(pose.seated, False)
        elif ch.kind == "cross":
            i = order.index(ch.cid)
            order.remove(ch.cid)
            if i <= (len(order)) / 2:  # left of centre (or the centre): to the right end
                order.append(ch.cid)
            else:
                order.insert(0, ch.cid)
            pose = Pose(False, False)
        out[ch.cid] = pose
    return order, {c: p for c, p in out.items() if p != Pose()}
