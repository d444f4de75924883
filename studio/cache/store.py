"""The content-addressed shot store.

A rendered shot lives under ``<cache>/clips/<k[:2]>/<k>.*`` where ``k`` is its cache
key (see ``ShotPlan.key`` and :func:`shot_key`):

* ``<k>.mp4``: the clip;
* ``<k>.tail-<n>.png``: its last frames, lossless, what a continuous shot picks up from;
* ``<k>.thumb.jpg``: a frame from the middle, for storyboards;
* ``<k>.json``: the entry's record, written last: an entry without it does not exist.

Every file lands under a temporary name first (see :mod:`studio.atomic`), so a crash
leaves no half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from studio.atomic import atomic_output, write_text
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
    width: int
    height: int
    sha256: str
    tails: tuple[Path, ...]
    thumb: Path
    render_seconds: float

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
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.clips = self.root / "clips"

    def _base(self, key: str) -> Path:
        return self.clips / key[:2] / key

    def clip_path(self, key: str) -> Path:
        return self._base(key).with_suffix(".mp4")

    def get(self, key: str) -> Clip | None:
        """The stored clip for ``key``, or None when absent or incomplete."""
        record = self._base(key).with_suffix(".json")
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        clip = Clip(
            key=key, shot_id=data["shot_id"], path=Path(data["path"]) if os.path.isabs(data["path"])
            else self.root / data["path"], frames=data["frames"], fps=data["fps"], width=data["width"],
            height=data["height"], sha256=data["sha256"],
            tails=tuple(self.root / t for t in data["tails"]), thumb=self.root / data["thumb"],
            render_seconds=data.get("render_seconds", 0.0),
        )
        if not clip.path.is_file() or not all(t.is_file() for t in clip.tails) or not clip.thumb.is_file():
            return None
        return clip

    def put(self, key: str, shot_id: str, *, frames: int, fps: int, width: int, height: int,
            tails: list[np.ndarray], thumb: np.ndarray, render_seconds: float) -> Clip:
        """Record a clip already written at :meth:`clip_path` with its tail frames and thumbnail."""
        base = self._base(key)
        path = self.clip_path(key)
        tail_paths = []
        for n, frame in enumerate(tails):
            tail = base.with_name(f"{key}.tail-{n}.png")
            with atomic_output(tail) as tmp:
                Image.fromarray(frame).save(tmp, format="PNG", compress_level=1)
            tail_paths.append(tail)
        thumb_path = base.with_name(f"{key}.thumb.jpg")
        with atomic_output(thumb_path) as tmp:
            Image.fromarray(thumb).save(tmp, format="JPEG", quality=88)
        clip = Clip(key, shot_id, path, frames, fps, width, height, file_sha256(path), tuple(tail_paths),
                    thumb_path, round(render_seconds, 3))
        record = {k: v for k, v in asdict(clip).items() if k != "key"}
        record["path"] = str(path.relative_to(self.root))
        record["tails"] = [str(t.relative_to(self.root)) for t in tail_paths]
        record["thumb"] = str(thumb_path.relative_to(self.root))
        write_text(base.with_suffix(".json"), json.dumps(record, indent=1, sort_keys=True))
        return clip

    def tail_frames(self, clip: Clip) -> list[np.ndarray]:
        """The clip's stored last frames, oldest first."""
        out = []
        for path in clip.tails:
            with Image.open(path) as im:
                out.append(np.asarray(im.convert("RGB")))
        return out
