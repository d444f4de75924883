"""The content-addressed keyframe store: a shot's first frame, drawn before its video.

A keyframe lives under ``<cache>/keyframes/<k[:2]>/<k>.*`` where ``k`` is its key
(:func:`keyframe_key`):

* ``<k>.png``: the picture, lossless (its pixels are in the key of the shot's video);
* ``<k>.json``: its record (shot, seed, SHA-256 of the PNG, what drew it, how long it
  took), written last: a keyframe without a record does not exist;
* ``<k>.qa.json``: its identity check, when one was made (:mod:`studio.consistency.qa`).

Takes of a shot's keyframe are recorded in the manifest (``keyframe_takes``); the
lockfile selects one per shot (:class:`studio.cache.lockfile.LockedKeyframe`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from studio.atomic import atomic_output, write_text
from studio.cache.store import file_sha256
from studio.render.plan import canonical_hash

KEYFRAME_VERSION = 1  # bump when the same inputs would store a different keyframe


def keyframe_key(plan_key: dict[str, Any], cond_key: dict[str, Any], keyframer: dict[str, Any],
                 size: tuple[int, int]) -> str:
    """Everything that determines a keyframe's pixels: the shot's plan (its seed is the
    keyframe take's), its identities, what draws it and the picture's size."""
    return canonical_hash({"keyframe": KEYFRAME_VERSION, "plan": plan_key, "conditioning": cond_key,
                           "keyframer": keyframer, "size": list(size)})


@dataclass(frozen=True)
class Keyframe:
    """A stored keyframe."""

    key: str
    shot_id: str
    path: Path  # <k>.png
    seed: int
    sha256: str
    keyframer: str  # the name of what drew it ("animatic", "diffusers")
    seconds: float  # drawing time

    def picture(self) -> np.ndarray:
        """The keyframe as an RGB uint8 array."""
        with Image.open(self.path) as im:
            return np.asarray(im.convert("RGB"))


class KeyframeStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "keyframes"

    def _base(self, key: str) -> Path:
        return self.root / key[:2] / key

    def path(self, key: str) -> Path:
        return self._base(key).with_suffix(".png")

    def _record(self, key: str) -> Path:
        return self._base(key).with_suffix(".json")

    def get(self, key: str) -> Keyframe | None:
        """The stored keyframe ``key``, or None when absent or its picture changed."""
        try:
            record = json.loads(self._record(key).read_text(encoding="utf-8"))
            keyframe = Keyframe(key=key, path=self.path(key), **{k: record[k] for k in (
                "shot_id", "seed", "sha256", "keyframer", "seconds")})
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not keyframe.path.is_file() or file_sha256(keyframe.path) != keyframe.sha256:
            self.remove(key)
            return None
        return keyframe

    def put(self, key: str, shot_id: str, picture: np.ndarray, *, seed: int, keyframer: str,
            seconds: float) -> Keyframe:
        """Store ``picture`` (RGB uint8) as keyframe ``key``: the PNG, then its record."""
        path = self.path(key)
        with atomic_output(path) as tmp:
            Image.fromarray(np.ascontiguousarray(picture, dtype=np.uint8)).save(tmp, format="PNG", compress_level=1)
        keyframe = Keyframe(key, shot_id, path, seed, file_sha256(path), keyframer, round(seconds, 3))
        record = {k: v for k, v in asdict(keyframe).items() if k not in ("key", "path")}
        write_text(self._record(key), json.dumps({**record, "created": time.time()}, indent=2) + "\n")
        return keyframe

    def remove(self, key: str) -> None:
        for path in self._base(key).parent.glob(f"{key}.*"):
            path.unlink(missing_ok=True)
