"""A film's sound, end to end: score every scene, lay the ambience, place every line
(and, with ``film.sound.effects: model``, every shot's own sound from the video model
as the effects stem), and mix. Works on plain timing data (scene spans, line starts and
shot sounds on the film's clock), so it never needs to know how pictures were made.

The finished mix is content-addressed like everything else: its key covers every line,
cue and ambience segment with its place, every shot sound (the SHA-256 of its bytes)
with its place, the levels and the loudness target. An unchanged film reuses the cached
mix, its stems and its AAC encode (the cut then muxes audio by stream copy), so
rebuilding the cut after re-rendering a shot does not re-mix or re-encode the sound.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.assemble.ffmpeg import ffmpeg_version
from studio.atomic import write_text
from studio.audio.ambience import AmbienceTrack, ambience_segments
from studio.audio.effects import EFFECTS_LUFS, MAX_GAIN_DB, EffectsTrack, ShotSoundAt, place_shot_sounds
from studio.audio.mix import (
    TRUE_PEAK_MARGIN,
    DialogueTrack,
    Ducking,
    PlacedLine,
    StemLevels,
    mix_film,
)
from studio.audio.score import RENDER_VERSION, ScoreResult, ScoreTrack, scene_cues, score_film
from studio.audio.speech import LineAudio
from studio.audio.wav import SAMPLE_RATE, wav_info
from studio.render.plan import canonical_hash
from studio.screenplay.model import Screenplay

MIX_VERSION = 3  # bump when the mix's processing changes its output (3: ambience envelopes every 32 samples)
STEMS = ("dialogue", "music", "ambience", "effects")  # effects: only with film.sound.effects 'model'

log = logging.getLogger("studio.audio")


@dataclass
class FilmSound:
    key: str
    mix: Path  # FLAC, in the output folder
    aac: Path  # the delivery encode (in the cache), muxed into the film by stream copy
    stems: dict[str, Path]
    loudness: dict[str, Any]
    midi: dict[str, Path] = field(default_factory=dict)
    cue_keys: dict[str, str] = field(default_factory=dict)
    cues_rendered: list[str] = field(default_factory=list)
    mixed: bool = False  # False: the mix came from the cache
    lines_placed: int = 0
    shot_sounds_placed: int | None = None  # shots heard in the effects stem (None: no effects stem)

    def report(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "mixed": self.mixed,
            "loudness": self.loudness,
            "mix": str(self.mix),
            "stems": {k: str(v) for k, v in self.stems.items()},
            "midi": {k: str(v) for k, v in self.midi.items()},
            "score_cues_rendered": self.cues_rendered,
            "lines": self.lines_placed,
            "shot_sounds": self.shot_sounds_placed,
        }


def _score(screenplay: Screenplay, scene_seconds: Mapping[str, float], cache_dir: Path,
           out_dir: Path) -> ScoreResult:
    cues = scene_cues(screenplay, scene_seconds)
    if screenplay.film.sound.music == "model":
        from studio.audio.music_transformers import score_film_with_model
        from studio.models import Registry

        registry = Registry.default(screenplay.film.render.options.get("models"), base_dir=screenplay.base_dir)
        return score_film_with_model(cues, cache_dir, screenplay.film.seed, registry,
                                     screenplay.film.sound.music_model)
    return score_film(cues, cache_dir, screenplay.film.seed, out_dir=out_dir / "music")


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
    shot_sounds: Sequence[ShotSoundAt] = (),
) -> FilmSound:
    """Score, ambience and dialogue (and, with ``film.sound.effects: model``, the shots'
    own sound) mixed to ``film.sound.loudness`` into ``<out_dir>/<name>.mix.flac`` plus
    stems (and per-scene MIDI for the MIDI score). ``line_starts`` are seconds on the
    film's clock; ``shot_sounds`` each shot's sound with its place on that clock (the
    shots without sound left out)."""
    target = screenplay.film.sound.loudness
    with_effects = screenplay.film.sound.effects == "model"
    length = round(film_seconds * SAMPLE_RATE)
    score = _score(screenplay, scene_seconds, cache_dir, out_dir)
    segments = ambience_segments(screenplay, scene_seconds)
    placed: list[PlacedLine] = []
    spans: list[tuple[int, int]] = []
    line_keys = []
    for line_id, start in sorted(line_starts.items(), key=lambda kv: (kv[1], kv[0])):
        audio = lines[line_id]
        at = round(start * SAMPLE_RATE)
        frames = min(wav_info(audio.path).frames, max(0, length - at))
        placed.append(PlacedLine(audio.path, at, frames))
        spans.append((at, at + frames))
        line_keys.append([audio.key, at, frames])
    ducking, levels = Ducking(), StemLevels()
    inputs: dict[str, Any] = {
        "version": MIX_VERSION, "score_version": RENDER_VERSION, "ffmpeg": ffmpeg_version(), "length": length,
        "lines": line_keys,
        "cues": [[c.key, c.start, c.seconds, c.lead] for c in score.cues],
        "ambience": [[s, d, recipe.key(), seed] for s, d, recipe, seed in segments],
        # the effects level counts only with an effects stem: a film without one keeps its mix key
        "ducking": asdict(ducking), "levels": {k: v for k, v in asdict(levels).items() if k != "effects"},
        "target": target, "true_peak": -1.0, "margin": TRUE_PEAK_MARGIN,
    }
    effects: EffectsTrack | None = None
    if with_effects:
        effects = EffectsTrack(place_shot_sounds(list(shot_sounds), length), length)
        if not effects.sounds:
            log.warning("film.sound.effects is 'model', but the backend made no sound with any shot: "
                        "the effects stem is silent")
        inputs["effects"] = {"sounds": [s.key() for s in effects.sounds], "level": levels.effects,
                             "lufs": EFFECTS_LUFS, "max_gain": MAX_GAIN_DB}
    key = canonical_hash(inputs)
    entry = cache_dir / "mix" / key[:2] / key
    mixed = False
    if not (entry / "loudness.json").is_file():
        music = ScoreTrack([(c.wav_path, c.start, c.seconds, c.lead) for c in score.cues], length=length)
        ambience = AmbienceTrack(segments, length=length)
        _mix_into(entry, DialogueTrack(placed, length), music, ambience, spans, length, target, ducking, levels,
                  effects)
        mixed = True
    loudness = json.loads((entry / "loudness.json").read_text(encoding="utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    mix = _publish(entry / "film.mix.flac", out_dir / f"{name}.mix.flac")
    stems = {stem: _publish(entry / f"film.{stem}.flac", out_dir / f"{name}.{stem}.flac")
             for stem in STEMS if stem != "effects" or effects is not None}
    if effects is None:
        (out_dir / f"{name}.effects.flac").unlink(missing_ok=True)  # an earlier render's, with effects
    return FilmSound(key=key, mix=mix, aac=entry / "film.m4a", stems=stems, loudness=loudness,
                     midi=dict(score.midi_paths), cue_keys={c.scene_id: c.key for c in score.cues},
                     cues_rendered=list(score.rendered), mixed=mixed, lines_placed=len(placed),
                     shot_sounds_placed=len(effects.sounds) if effects is not None else None)


def _mix_into(entry: Path, dialogue: DialogueTrack, music: ScoreTrack, ambience: AmbienceTrack,
              spans: list[tuple[int, int]], length: int, target: float, ducking: Ducking,
              levels: StemLevels, effects: EffectsTrack | None = None) -> None:
    """Mix into a fresh folder and move it into place whole (a crash leaves nothing)."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{entry.name[:16]}.", suffix=".part", dir=entry.parent))
    try:
        effects_gain = effects.normalise() if effects is not None else None
        result = mix_film(dialogue, music, ambience, spans, length, work, "film", target_lufs=target,
                          ducking=ducking, levels=levels, effects=effects)
        if effects_gain is not None:
            result.loudness["effects_gain_db"] = round(effects_gain, 2)
        write_text(work / "loudness.json", json.dumps(result.loudness, indent=1, sort_keys=True))
        try:
            os.rename(work, entry)
        except OSError:
            if not (entry / "loudness.json").is_file():
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _publish(source: Path, target: Path) -> Path:
    """Put a cached file at ``target``: a hard link when possible (no copy), else a copy."""
    tmp = target.with_name(f".{target.name}.part")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return target
