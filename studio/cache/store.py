"""The content-addressed shot store.

A rendered shot lives under ``<cache>/clips/<k[:2]>/<k>.*`` where ``k`` is its cache
key (see :func:`shot_key`):

* ``<k>.mp4``: the clip;
* ``<k>.tail-<n>.png``: its last frames, lossless, what a continuous shot picks up from;
* ``<k>.thumb.jpg``: a frame from the middle, for storyboards;
* ``<k>.sound.wav``: the sound the backend made with the pictures (48 kHz 16-bit PCM,
  its channels as made), only from a backend that makes sound.

The entry's record lives in the manifest (SQLite) and is written last: an entry
without a record does not exist. Every file lands under a temporary name first, so a
crash leaves no half-written entry. Each use checks the clip against its recorded
SHA-256 (quickly by size and mtime, fully on request or when those differ); a corrupt
entry is removed and rendered again, never used.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from studio.atomic import atomic_output
from studio.audio.dsp import resample
from studio.audio.wav import SAMPLE_RATE, pcm16, wav_header
from studio.cache.manifest import Manifest, RenderRecord
from studio.errors import RenderError
from studio.render.backend import ShotSound
from studio.render.plan import canonical_hash

CACHE_ENV = "STUDIO_CACHE"


def default_cache_dir(explicit: str | Path | None = None) -> Path:
    """``--cache DIR``, else ``$STUDIO_CACHE``, else ``./cache``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path("cache")


def shot_key(plan_key: dict[str, Any], cond_key: dict[str, Any], backend: dict[str, Any],
             video: dict[str, Any]) -> str:
    """The cache key contract: everything that determines a shot's pixels and bytes."""
    return canonical_hash({"plan": plan_key, "conditioning": cond_key, "backend": backend, "video": video})


@dataclass(frozen=True)
class Clip:
    """A rendered shot in the store."""

    key: str
    shot_id: str
    path: Path
    frames: int
    fps: int
    sha256: str
    tails: tuple[Path, ...]
    thumb: Path
    render_seconds: float
    sound: Path | None = None  # the backend's sound for the shot (``<k>.sound.wav``), if it made any

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class ShotStore:
    def __init__(self, root: Path, manifest: Manifest | None = None) -> None:
        self.root = Path(root)
        self.clips = self.root / "clips"
        self.manifest = manifest or Manifest(self.root)
        self.corrupt: list[str] = []  # keys found corrupt (and removed) during this run

    def _base(self, key: str) -> Path:
        return self.clips / key[:2] / key

    def clip_path(self, key: str) -> Path:
        return self._base(key).with_suffix(".mp4")

    def _tails(self, key: str, count: int) -> tuple[Path, ...]:
        return tuple(self._base(key).with_name(f"{key}.tail-{n}.png") for n in range(count))

    def _thumb(self, key: str) -> Path:
        return self._base(key).with_name(f"{key}.thumb.jpg")

    def _sound(self, key: str) -> Path:
        return self._base(key).with_name(f"{key}.sound.wav")

    def get(self, key: str, *, verify: bool = False) -> Clip | None:
        """The stored clip for ``key``, or None when absent, incomplete or corrupt.

        The clip's bytes are checked against the recorded SHA-256: fully when
        ``verify`` is set or when its size or mtime changed since it was written."""
        record = self.manifest.render(key)
        if record is None:
            return None
        path = self.clip_path(key)
        tails = tuple(sorted(self._base(key).parent.glob(f"{key}.tail-*.png")))
        if not path.is_file() or not tails or not self._thumb(key).is_file() or not all(
                _png_complete(t, full=verify) for t in tails):
            self._discard(key)
            return None
        stat = path.stat()
        if verify or stat.st_size != record.size or stat.st_mtime_ns != record.mtime_ns:
            if file_sha256(path) != record.sha256:
                self._discard(key)
                return None
        sound = self._sound(key)
        return Clip(key, record.shot_id, path, record.frames, record.fps, record.sha256, tails,
                    self._thumb(key), record.render_seconds, sound if sound.is_file() else None)

    def remove(self, key: str) -> bool:
        """Drop the entry ``key`` (record and files), e.g. when what it was made with is
        withdrawn; return whether there was one."""
        existed = self.manifest.render(key) is not None or self.clip_path(key).exists()
        self.manifest.forget(key)
        for path in self._base(key).parent.glob(f"{key}.*"):
            path.unlink(missing_ok=True)
        return existed

    def _discard(self, key: str) -> None:
        """Remove a broken entry so it is rendered again."""
        self.corrupt.append(key)
        self.manifest.forget(key)
        for path in self._base(key).parent.glob(f"{key}.*"):
            path.unlink(missing_ok=True)

    def put(self, key: str, shot_id: str, *, film: str, seed: int, backend: str, frames: int, fps: int,
            tails: list[np.ndarray], thumb: np.ndarray, render_seconds: float,
            sound: ShotSound | None = None) -> Clip:
        """Record a clip already written at :meth:`clip_path` with its tail frames, thumbnail
        and, from a backend that made it, its sound."""
        path = self.clip_path(key)
        tail_paths = self._tails(key, len(tails))
        for tail, frame in zip(tail_paths, tails):
            with atomic_output(tail) as tmp:
                Image.fromarray(frame).save(tmp, format="PNG", compress_level=1)
        with atomic_output(self._thumb(key)) as tmp:
            Image.fromarray(thumb).save(tmp, format="JPEG", quality=88)
        sound_path = write_shot_sound(self._sound(key), sound) if sound is not None else None
        digest = file_sha256(path)
        stat = path.stat()
        self.manifest.record_render(RenderRecord(
            key=key, shot_id=shot_id, film=film, seed=seed, backend=backend, sha256=digest, size=stat.st_size,
            mtime_ns=stat.st_mtime_ns, frames=frames, fps=fps, render_seconds=round(render_seconds, 3),
            created=time.time(),
        ))
        return Clip(key, shot_id, path, frames, fps, digest, tail_paths, self._thumb(key), round(render_seconds, 3),
                    sound_path)

    def tail_frames(self, clip: Clip) -> list[np.ndarray]:
        """The clip's stored last frames, oldest first. Frames that no longer decode make
        the entry corrupt: it is removed and :class:`DamagedEntry` raised."""
        out = []
        for path in clip.tails:
            try:
                with Image.open(path) as im:
                    out.append(np.asarray(im.convert("RGB")))
            except (OSError, ValueError, SyntaxError):  # PIL: truncated, unidentified or broken
                self._discard(clip.key)
                raise DamagedEntry([clip.shot_id], "its last frames") from None
        return out

    def check_clips(self, clips: list[Clip]) -> None:
        """Hash each clip in full against its recorded digest; remove every entry that
        disagrees and raise :class:`DamagedEntry` naming their shots."""
        damaged = []
        for clip in clips:
            if not clip.path.is_file() or file_sha256(clip.path) != clip.sha256:
                self._discard(clip.key)
                damaged.append(clip.shot_id)
        if damaged:
            raise DamagedEntry(damaged, "its clip")


class DamagedEntry(RenderError):
    """Cached shots whose files no longer match what was recorded (a flipped byte with
    size and mtime kept, a truncated frame); their entries are already removed, so the
    next attempt renders them anew."""

    def __init__(self, shots: list[str], what: str) -> None:
        self.shots = list(shots)
        names = ", ".join(self.shots)
        super().__init__(f"the cache entry of shot{'s' if len(shots) > 1 else ''} {names} was damaged "
                         f"({what} no longer matches what was stored); it was removed",
                         hint="run the same command again: the shot is rendered anew")


_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _png_complete(path: Path, *, full: bool = False) -> bool:
    """Whether the PNG at ``path`` is whole: it ends with its IEND chunk (a truncated
    file does not); with ``full``, every chunk's CRC is checked too."""
    try:
        with open(path, "rb") as f:
            if f.seek(0, os.SEEK_END) < len(_PNG_END):
                return False
            f.seek(-len(_PNG_END), os.SEEK_END)
            if f.read() != _PNG_END:
                return False
        if full:
            with Image.open(path) as im:
                im.verify()
    except (OSError, ValueError, SyntaxError):
        return False
    return True


def write_shot_sound(path: Path, sound: ShotSound) -> Path:
    """Write a shot's sound as a 48 kHz 16-bit PCM WAV with its channels as given,
    resampled when made at another rate and clipped to [-1, 1]."""
    samples = np.asarray(sound.samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2 or samples.shape[1] < 1:
        raise RenderError(f"a backend's sound for a shot is shaped {samples.shape}, not (frames, channels)",
                          hint="this is a backend bug: report it")
    if sound.sample_rate != SAMPLE_RATE:
        samples = resample(samples, sound.sample_rate, SAMPLE_RATE)
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(wav_header(len(samples), samples.shape[1]))
            f.write(pcm16(np.clip(samples, -1.0, 1.0)))
    return path
