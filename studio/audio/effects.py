"""The effects stem: the sound a video backend made with each shot's pictures (foley,
room), each shot's sound placed at the shot's start on the film's clock.

A shot's sound is stored beside its clip (``<key>.sound.wav``, 48 kHz 16-bit PCM, see
:mod:`studio.cache.store`), exactly the shot's length, with the spans where its lines
are spoken already silenced by the backend. :class:`EffectsTrack` reads the placed
sounds block by block as stereo (a mono sound on both sides, a sound with more than
two channels by its first two); shots without sound are silence.

Levels: like the ambience bed, whose recipe is scaled to a fixed level
(:data:`studio.audio.ambience.BED_DB`) before the mixer's stem gain
(:class:`studio.audio.mix.StemLevels`), the whole stem is brought to
:data:`EFFECTS_LUFS` integrated (gated, so the silences do not count) by one gain, so
the shots keep their loudness relative to each other. A nearly silent stem is raised
by at most :data:`MAX_GAIN_DB`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.audio.loudness import LoudnessMeter
from studio.audio.mix import PlacedTrack
from studio.audio.wav import SAMPLE_RATE, wav_info

EFFECTS_LUFS = -30.0  # the stem's integrated loudness before its stem gain: the ambience bed's level
MAX_GAIN_DB = 20.0  # a quiet model sound is raised this much at most (its noise floor would come up with it)
BLOCK = SAMPLE_RATE * 10


@dataclass(frozen=True)
class ShotSoundAt:
    """A shot's sound file and where the shot sits on the film's clock (seconds)."""

    shot_id: str
    path: Path
    start: float
    seconds: float


@dataclass(frozen=True)
class PlacedSound:
    """A shot's sound on the film's clock: a 48 kHz WAV starting at ``start`` samples,
    ``frames`` long (never past the shot's end or the film's)."""

    path: Path
    start: int
    frames: int
    sha256: str

    def key(self) -> list[str | int]:
        return [self.sha256, self.start, self.frames]


def place_shot_sounds(sounds: list[ShotSoundAt], length: int) -> list[PlacedSound]:
    """Each shot's sound at the shot's first sample (``round(start * 48000)``, the way
    lines are placed), cut at the shot's end and at the film's ``length`` (samples)."""
    placed = []
    for sound in sorted(sounds, key=lambda s: (s.start, s.shot_id)):
        at = round(sound.start * SAMPLE_RATE)
        end = min(round((sound.start + sound.seconds) * SAMPLE_RATE), length)
        frames = min(wav_info(sound.path).frames, end - at)
        if frames > 0:
            placed.append(PlacedSound(sound.path, at, frames, _sha256(sound.path)))
    return placed


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class EffectsTrack(PlacedTrack):
    """Every shot's sound at its place, as stereo float32 blocks (a mono sound centred),
    times :attr:`gain`."""

    def __init__(self, sounds: list[PlacedSound], length: int) -> None:
        super().__init__(sounds, length)
        self.sounds = self.items
        self.gain = 1.0

    @staticmethod
    def _channels(x: np.ndarray) -> np.ndarray:
        return x[:, :2] if x.shape[1] >= 2 else x[:, :1]

    def read(self, start: int, n: int) -> np.ndarray:
        out = super().read(start, n)
        if self.gain != 1.0:
            out *= np.float32(self.gain)
        return out

    def normalise(self, target_lufs: float = EFFECTS_LUFS) -> float:
        """Set :attr:`gain` so the stem measures ``target_lufs`` integrated (at most
        :data:`MAX_GAIN_DB` up; unchanged when silent); return the gain in dB."""
        self.gain = 1.0
        meter = LoudnessMeter()
        for sound in self.sounds:  # the sounds back to back: the gaps between them would be gated anyway
            end = sound.start + sound.frames
            for pos in range(sound.start, end, BLOCK):
                meter.add(self.read(pos, min(BLOCK, end - pos)))
        measured = meter.integrated
        gain_db = 0.0 if math.isinf(measured) else min(target_lufs - measured, MAX_GAIN_DB)
        self.gain = 10 ** (gain_db / 20)
        return gain_db
