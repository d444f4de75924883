"""A film's sound, end to end: score every scene, lay the ambience, place every line,
and mix. Works on plain timing data (scene spans and line starts on the film's
clock), so it never needs to know how pictures were made."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.audio.ambience import AmbienceTrack, ambience_segments
from studio.audio.mix import EBU_R128, DialogueTrack, MixResult, PlacedLine, mix_film
from studio.audio.score import ScoreTrack, score_film, scene_cues
from studio.audio.speech import LineAudio
from studio.audio.wav import SAMPLE_RATE, wav_info
from studio.screenplay.model import Screenplay


@dataclass
class FilmSound:
    mix: MixResult
    midi: dict[str, Path] = field(default_factory=dict)
    cues_rendered: list[str] = field(default_factory=list)
    lines_placed: int = 0

    def report(self) -> dict[str, Any]:
        return {
            "loudness": self.mix.loudness,
            "stems": {k: str(v) for k, v in self.mix.stems.items()},
            "mix": str(self.mix.mix),
            "midi": {k: str(v) for k, v in self.midi.items()},
            "score_cues_rendered": self.cues_rendered,
            "lines": self.lines_placed,
        }


def make_film_sound(
    screenplay: Screenplay,
    *,
    scene_seconds: Mapping[str, float],
    line_starts: Mapping[str, float],
    lines: Mapping[str, LineAudio],
    film_seconds: float,
    cache_dir: Path,
    out_dir: Path,
    name: str,
    target_lufs: float = EBU_R128,
) -> FilmSound:
    """Score, ambience and dialogue mixed into ``<out_dir>/<name>.mix.flac`` (plus
    stems and per-scene MIDI). ``line_starts`` are seconds on the film's clock."""
    length = round(film_seconds * SAMPLE_RATE)
    score = score_film(scene_cues(screenplay, scene_seconds), cache_dir, screenplay.film.seed,
                       out_dir=out_dir / "music")
    music = ScoreTrack([(c.wav_path, c.start, c.seconds, c.lead) for c in score.cues], length=length)
    ambience = AmbienceTrack(ambience_segments(screenplay, scene_seconds), length=length)
    placed: list[PlacedLine] = []
    spans: list[tuple[int, int]] = []
    for line_id, start in line_starts.items():
        audio = lines[line_id]
        frames = wav_info(audio.path).frames
        at = round(start * SAMPLE_RATE)
        frames = min(frames, max(0, length - at))
        placed.append(PlacedLine(audio.path, at, frames))
        spans.append((at, at + frames))
    mix = mix_film(DialogueTrack(placed, length), music, ambience, spans, length, out_dir, name,
                   target_lufs=target_lufs)
    return FilmSound(mix=mix, midi=dict(score.midi_paths), cues_rendered=list(score.rendered),
                     lines_placed=len(placed))
