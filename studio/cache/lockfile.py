"""The lockfile: ``NAME.lock`` beside ``NAME.yaml``, recording per shot the take,
seed and cache key the film uses, with the backend, model and tool versions, so the
same film can be rendered again identically later (and ``gc`` knows what to keep).
A film drawn keyframe-first (``studio keyframes``) also records per shot the keyframe
take it uses and whether the shot is approved for video (``studio approve``).

It is plain YAML, meant to be committed with the screenplay. studio writes it after
every render; ``studio take`` edits the selected take.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from studio.atomic import write_text
from studio.errors import ScreenplayError, StudioError
from studio.screenplay.safe_yaml import load_yaml

LOCK_VERSION = 1
# PyYAML's safe dumper, in C when PyYAML was built with libyaml (a feature's lockfile
# holds a thousand shots: the pure-Python dumper takes a tenth of a second)
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class LockedShot:
    take: int
    seed: int
    key: str | None = None
    sha256: str | None = None


@dataclass
class LockedKeyframe:
    """The keyframe take a shot uses, and whether the shot is approved for video."""

    take: int
    seed: int
    key: str | None = None
    sha256: str | None = None
    approved: bool = False


@dataclass
class Lockfile:
    path: Path
    title: str = ""
    backend: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    shots: dict[str, LockedShot] = field(default_factory=dict)
    # content keys of everything else the film uses (lines, score cues, the mix)
    audio: dict[str, Any] = field(default_factory=dict)
    # keyframe-first: the selected keyframe of each shot drawn so far (absent from the file when none)
    keyframes: dict[str, LockedKeyframe] = field(default_factory=dict)

    @staticmethod
    def beside(screenplay_path: str | Path) -> Path:
        path = Path(screenplay_path)
        return path.with_suffix(".lock")

    @classmethod
    def load(cls, path: Path) -> Lockfile:
        """The lockfile at ``path`` (an empty one when it does not exist yet)."""
        if not path.exists():
            return cls(path=path)
        # a lockfile travels with the screenplay: it is read with the same guarded loader
        try:
            data, _source = load_yaml(path.read_bytes(), str(path))
        except (OSError, ScreenplayError) as exc:
            why = exc.problems[0].message if isinstance(exc, ScreenplayError) else str(exc).splitlines()[0]
            raise StudioError(f"{path}: cannot read the lockfile ({why})",
                              hint="restore it from version control, or delete it to start afresh") from None
        if not isinstance(data, dict) or data.get("version") != LOCK_VERSION:
            raise StudioError(f"{path}: not a studio lockfile of version {LOCK_VERSION}",
                              hint="delete it to start afresh")
        shots: dict[str, LockedShot] = {}
        for shot_id, entry in (data.get("shots") or {}).items():
            try:
                shots[str(shot_id)] = LockedShot(int(entry["take"]), int(entry["seed"]), entry.get("key"),
                                                 entry.get("sha256"))
            except (TypeError, KeyError, ValueError):
                raise StudioError(f"{path}: shot {shot_id!r} needs a take and a seed",
                                  hint="fix the entry or remove it") from None
        keyframes: dict[str, LockedKeyframe] = {}
        for shot_id, entry in (data.get("keyframes") or {}).items():
            try:
                keyframes[str(shot_id)] = LockedKeyframe(int(entry["take"]), int(entry["seed"]), entry.get("key"),
                                                         entry.get("sha256"), bool(entry.get("approved", False)))
            except (TypeError, KeyError, ValueError):
                raise StudioError(f"{path}: the keyframe of shot {shot_id!r} needs a take and a seed",
                                  hint="fix the entry or remove it") from None
        return cls(path=path, title=str(data.get("title", "")), backend=dict(data.get("backend") or {}),
                   versions=dict(data.get("versions") or {}), shots=shots, audio=dict(data.get("audio") or {}),
                   keyframes=keyframes)

    def save(self) -> Path:
        data = {
            "version": LOCK_VERSION,
            "title": self.title,
            "backend": self.backend,
            "versions": self.versions,
            "shots": {sid: asdict(s) for sid, s in self.shots.items()},
            "audio": self.audio,
        }
        if self.keyframes:  # only a film drawn keyframe-first has them: other lockfiles stay as they were
            data["keyframes"] = {sid: asdict(k) for sid, k in self.keyframes.items()}
        header = ("# studio lockfile: the takes, seeds and cache keys this film uses.\n"
                  "# Commit it with the screenplay to render the same film again later.\n")
        text = header + yaml.dump(data, Dumper=_SafeDumper, sort_keys=False, width=120)
        with contextlib.suppress(OSError):
            if self.path.read_text(encoding="utf-8") == text:
                return self.path  # unchanged: no write (an unchanged re-render touches nothing)
        return write_text(self.path, text)

    def referenced_keys(self) -> set[str]:
        """Every cache key this lockfile keeps alive (for ``studio cache gc``)."""
        keys = {s.key for s in self.shots.values() if s.key}
        keys |= {k.key for k in self.keyframes.values() if k.key}
        for value in self.audio.values():
            if isinstance(value, str):
                keys.add(value)
            elif isinstance(value, list):
                keys.update(v for v in value if isinstance(v, str))
            elif isinstance(value, dict):
                keys.update(v for v in value.values() if isinstance(v, str))
        return keys
