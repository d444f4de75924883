"""How the animatic's people act on a frame: the face each one shows.

A :class:`FaceState` is what a face does on one frame: its mouth shape (see
:mod:`~studio.render.animatic.lipsync`), its expression and how strongly it shows it,
and whether the eyes are shut in a blink. :func:`expression_of` reads a line's
expression from its parenthetical, then its words; :func:`blink_frames` places seeded
blinks every few seconds; :func:`expression_at` holds a line's expression through the
line and eases it back over :data:`EASE_SECONDS` after it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from studio.render.animatic.palette import stable_int, unit

EXPRESSIONS = ("neutral", "angry", "sad", "afraid", "happy", "surprised", "whispering", "shouting")
#: expression -> words (prefixes) that call for it, parenthetical first, then the line itself
CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("whispering", ("whisper", "hushed", "murmur", "under his breath", "under her breath", "sotto")),
    ("shouting", ("shout", "yell", "scream", "bellow", "roar", "loud")),
    ("angry", ("angr", "furious", "fierce", "rage", "snap", "bitter", "cold", "seeth", "irritat", "annoy")),
    ("sad", ("sad", "tear", "cry", "crying", "sob", "grief", "mournful", "quiet grief", "heartbroken", "soft")),
    ("afraid", ("afraid", "scared", "fright", "terrif", "nervous", "anxious", "panic", "trembl", "fear")),
    ("surprised", ("surpris", "astonish", "shock", "startl", "amazed", "stunned", "gasp")),
    ("happy", ("happ", "delight", "joy", "laugh", "smil", "grin", "cheer", "excited", "eager", "thrilled", "warm")),
)
EASE_SECONDS = 0.6  # an expression fades back to neutral over this after its line
BLINK_EVERY = (2.5, 5.5)  # seconds between blinks (seeded within this range)
BLINK_FRAMES = 3  # how long the eyes stay shut
NO_BLINK_SECONDS = 1.0  # a close-up's first second never blinks: the audience is finding the eyes


@dataclass(frozen=True)
class FaceState:
    """A face on one frame. ``strength`` is how much of ``expression`` shows (0..1, in
    quarters so a shot has few distinct faces to draw)."""

    mouth: str = "rest"
    level: float = 1.0  # how far an open mouth opens (0..1, in quarters): the voice's loudness
    expression: str = "neutral"
    strength: float = 1.0
    blink: bool = False
    nod: float = 0.0  # a listener's nod: how far the head dips (0..1)
    step: float = 0.0  # metres along x from the figure's mark (walking in or out, see blocking)
    gaze: float | None = None  # where the eyes turn (-1..1) when not where the figure faces: to the speaker
    seat: float | None = None  # how far seated (0..1) when the action stages it; None: as placed
    back: bool | None = None  # their back to us (a turn away); None: as placed
    chair: bool = False  # a chair stands where they are (they sit or stand in this shot)
    arm: float = 0.0  # a gesture: how far the arm toward their gaze is raised (0..1, in quarters)
    stride: float = 0.0  # walking: where the legs are in their cycle (-1..1, 0 feet together; see figures)


NEUTRAL = FaceState()


def expression_of(parenthetical: str | None, text: str = "") -> str:
    """The expression a line is delivered with: the parenthetical decides; without one,
    an exclamation with a cue word in the line (or ``!`` alone: surprised), else neutral."""
    p = re.sub(r"[^a-z ]", " ", (parenthetical or "").lower())
    for name, words in CUES:
        if any(re.search(rf"\b{re.escape(w)}", p) for w in words):
            return name
    if parenthetical and parenthetical.strip():
        return "neutral"
    if "!" in text:
        t = re.sub(r"[^a-z ]", " ", text.lower())
        for name, words in CUES:
            if name in ("angry", "happy", "afraid") and any(re.search(rf"\b{re.escape(w)}", t) for w in words):
                return name
        return "surprised"
    return "neutral"


def expression_at(t: float, lines: Sequence[tuple[float, float, str]]) -> tuple[str, float]:
    """The expression (and its strength) of someone whose lines are ``(start, end,
    expression)``: held through a line, easing back over :data:`EASE_SECONDS` after it."""
    best = ("neutral", 0.0)
    for start, end, expr in lines:
        if expr == "neutral":
            continue
        if start <= t < end:
            return expr, 1.0
        if end <= t < end + EASE_SECONDS:
            k = 1.0 - (t - end) / EASE_SECONDS
            k = round(k * 4) / 4
            if k > best[1]:
                best = (expr, k)
    return best if best[1] > 0 else ("neutral", 1.0)


def blink_frames(seed: int, cid: str, frames: int, fps: float, close_up: bool) -> frozenset[int]:
    """The frames on which ``cid``'s eyes are shut: a blink every 2.5-5.5 s, placed by
    ``seed`` (the same shot blinks the same way), none in a close-up's first second."""
    out: set[int] = set()
    k = 0
    t = unit(stable_int("blink", cid, seed), "first") * BLINK_EVERY[0]
    while t * fps < frames:
        first = int(round(t * fps))
        if not (close_up and t < NO_BLINK_SECONDS):
            out.update(range(first, min(frames, first + BLINK_FRAMES)))
        k += 1
        lo, hi = BLINK_EVERY
        t += lo + (hi - lo) * unit(stable_int("blink", cid, seed), str(k))
    return frozenset(out)


GESTURE_RISE = 0.2  # seconds: the arm comes up before the emphasised word
GESTURE_HOLD = 0.35  # and stays up from its start
GESTURE_FALL = 0.3  # then comes down


def emphasised(text: str) -> list[int]:
    """Character offsets (in ``text`` with its whitespace collapsed, as it is spoken)
    of the words a line stresses: in CAPITALS (two letters or more, not when most of
    the line is in capitals: that is shouting), between ``*`` or ``_``, or ending in
    ``!``. At most one per word."""
    spoken = " ".join(text.split())
    words = [(m.start(), m.group()) for m in re.finditer(r"\S+", spoken)]
    letters = [w for _, w in words if re.search(r"[A-Za-z]{2,}", w)]
    caps = [w for w in letters if re.sub(r"[^A-Za-z]", "", w).isupper()]
    shouting = len(caps) * 2 > len(letters)
    out = []
    for at, w in words:
        core = re.sub(r"^[\"'(\[]+|[\"')\].,;:?]+$", "", w)
        bare = re.sub(r"[^A-Za-z]", "", core)
        marked = bool(re.fullmatch(r"([*_]).+\1[!?.,;:]*", core))
        loud = not shouting and len(bare) >= 2 and bare.isupper()
        if marked or loud or core.endswith("!"):
            out.append(at)
    return out


def gesture_at(t: float, starts: Sequence[float]) -> float:
    """How far the arm is raised (0..1, in quarters) at ``t`` seconds for emphasised
    words starting at ``starts``: up over :data:`GESTURE_RISE` before each, held
    :data:`GESTURE_HOLD`, down over :data:`GESTURE_FALL`."""
    best = 0.0
    for s in starts:
        if s - GESTURE_RISE <= t < s:
            k = 1.0 - (s - t) / GESTURE_RISE
        elif s <= t < s + GESTURE_HOLD:
            k = 1.0
        elif s + GESTURE_HOLD <= t < s + GESTURE_HOLD + GESTURE_FALL:
            k = 1.0 - (t - s - GESTURE_HOLD) / GESTURE_FALL
        else:
            continue
        best = max(best, k)
    return round(best * 4) / 4
