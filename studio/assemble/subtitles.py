"""Subtitles from the planned dialogue: SRT and WebVTT, timed to the frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.assemble.text import subtitle_text
from studio.atomic import write_text
from studio.render.plan import ShotPlan


@dataclass(frozen=True)
class Cue:
    start: float  # seconds from the start of the film
    end: float
    speaker: str
    text: str
    off_screen: bool


def cues(plans: list[ShotPlan]) -> list[Cue]:
    """Every line of the film, in order, on the film's clock."""
    out: list[Cue] = []
    for plan in plans:
        offset = plan.start_frame / plan.fps
        end_of_shot = offset + plan.duration
        for line in plan.lines:
            out.append(Cue(round(offset + line.start, 3), round(min(offset + line.end, end_of_shot), 3),
                           line.speaker_name, line.text, line.off_screen))
    return out


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _shown(all_cues: list[Cue]) -> list[tuple[Cue, str, str]]:
    """Each cue with its speaker and text as the formats may hold them (one line, no
    control characters: see :mod:`studio.assemble.text`); a cue left with no text is
    no cue at all."""
    out = []
    for cue in all_cues:
        text = subtitle_text(cue.text)
        if text:
            out.append((cue, subtitle_text(cue.speaker), text))
    return out


def srt(all_cues: list[Cue]) -> str:
    blocks = []
    for n, (cue, speaker, text) in enumerate(_shown(all_cues), start=1):
        if cue.off_screen:
            text = f"{speaker.upper() or '?'} (V.O.): {text}"
        blocks.append(f"{n}\n{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}\n{text}\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webvtt(all_cues: list[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for cue, speaker, text in _shown(all_cues):
        blocks.append(f"{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}\n<v {_vtt_escape(speaker)}>"
                      f"{_vtt_escape(text)}\n")
    return "\n".join(blocks)


def write_subtitles(plans: list[ShotPlan], stem: Path) -> tuple[Path, Path]:
    """Write ``<stem>.srt`` and ``<stem>.vtt``; return their paths."""
    all_cues = cues(plans)
    srt_path = write_text(stem.with_suffix(".srt"), srt(all_cues))
    vtt_path = write_text(stem.with_suffix(".vtt"), webvtt(all_cues))
    return srt_path, vtt_path
