"""Shots and the dialogue lines they carry: the unit every later stage works on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WORDS_PER_SECOND = 2.6  # measured speech of screen dialogue, at voice rate 1.0
LINE_LEAD_IN = 0.35  # seconds of picture before the first line of a shot
LINE_GAP = 0.4  # seconds between two lines in one shot
LINE_TAIL = 0.55  # seconds held after the last line
PAUSE_PARENTHETICALS = {"beat": 1.0, "pause": 1.0, "a beat": 1.0, "long pause": 2.0, "silence": 1.5}
SLOW_PARENTHETICALS = ("whisper", "quiet", "soft", "slow", "hesitant", "crying", "tearful", "sad")
FAST_PARENTHETICALS = ("shout", "yell", "fast", "angry", "urgent", "excited", "quick")


def speech_seconds(text: str, parenthetical: str | None = None, rate: float = 1.0) -> float:
    """Estimated seconds to speak ``text``: words at screen pace, punctuation pauses,
    and the delivery the parenthetical asks for."""
    words = len(re.findall(r"[\w'’-]+", text))
    seconds = words / (WORDS_PER_SECOND * max(rate, 0.1))
    seconds += 0.25 * len(re.findall(r"[.!?;:—–]\s+\S", text))  # pauses between sentences
    seconds += 0.12 * text.count(",")
    p = (parenthetical or "").strip().lower()
    seconds += PAUSE_PARENTHETICALS.get(p, 0.0)
    if any(w in p for w in SLOW_PARENTHETICALS):
        seconds *= 1.15
    elif any(w in p for w in FAST_PARENTHETICALS):
        seconds *= 0.92
    return round(max(seconds, 0.6), 3)


@dataclass(frozen=True)
class Line:
    """One line of dialogue, placed in the shot that carries it.

    ``start`` and ``end`` are seconds from the start of the shot."""

    id: str
    speaker: str
    text: str
    parenthetical: str | None
    off_screen: bool
    beat: int  # 1-based beat number in its scene
    seconds: float  # speech length (estimate, or measured once the voice exists)
    start: float = 0.0
    end: float = 0.0


@dataclass(frozen=True)
class Shot:
    """A planned shot. Durations are seconds and always a whole number of frames;
    ``number`` counts shots across the film from 1; ``beats`` are the 1-based scene
    beats the shot covers."""

    id: str
    scene: str
    number: int
    size: str
    move: str
    subjects: tuple[str, ...]
    duration: float  # seconds, a whole number of frames: frames / fps
    frames: int = 0
    continuity: str = "cut"
    description: str = ""
    action: str = ""
    focus: str | None = None
    lines: tuple[Line, ...] = ()
    beats: tuple[int, ...] = ()
    transition: str | None = None
    derived: bool = True
    speech_seconds: float = 0.0
    stretched_from: float | None = None  # the written duration, when dialogue made it longer
    source_line: int = 0  # line in the screenplay file where the shot (or its first beat) is
    notes: tuple[str, ...] = field(default=())

    @property
    def continuous(self) -> bool:
        return self.continuity == "continuous"

    @property
    def speakers(self) -> tuple[str, ...]:
        seen: list[str] = []
        for line in self.lines:
            if line.speaker not in seen:
                seen.append(line.speaker)
        return tuple(seen)

    @property
    def first_line(self) -> str:
        return self.lines[0].text if self.lines else ""
