"""``studio cache stats`` and ``studio cache gc``.

The cache holds content-addressed entries of several kinds, each under its own
folder: shot clips (``clips/``), spoken lines (``speech/``), score cues (``score/``,
``score-model/``), mixes (``mix/``) and keyframes (``keyframes/``). ``gc`` keeps every entry a lockfile
references (the lockfiles of films rendered with this cache, as the manifest
remembers them, plus any given explicitly) and removes the rest, along with
temporary files that killed runs left behind.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from studio.cache.lockfile import Lockfile
from studio.cache.manifest import Manifest
from studio.errors import StudioError

KINDS = ("clips", "speech", "score", "score-model", "mix", "keyframes")
STALE_TEMP_SECONDS = 15 * 60


@dataclass
class KindStats:
    entries: int = 0
    bytes: int = 0


@dataclass
class CacheStats:
    root: Path
    kinds: dict[str, KindStats] = field(default_factory=dict)
    renders_recorded: int = 0
    renders_ever: int = 0
    takes: int = 0
    films: list[tuple[str, str]] = field(default_factory=list)
    temp_files: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(k.bytes for k in self.kinds.values())


def _entries(root: Path, kind: str) -> dict[str, list[Path]]:
    """``{key: [paths]}`` of one kind; an entry is every file or folder named by its key."""
    out: dict[str, list[Path]] = {}
    base = root / kind
    if not base.is_dir():
        return out
    for shard in base.iterdir():
        if not shard.is_dir():
            continue
        for path in shard.iterdir():
            if ".part" in path.name or path.name.startswith("."):
                continue
            out.setdefault(path.name.split(".", 1)[0], []).append(path)
    return out


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _temporaries(root: Path) -> list[Path]:
    found = [p for p in root.rglob("*.part*")] + list(root.glob("cut-*.txt"))
    return [p for p in found if p.exists()]


def stats(root: Path) -> CacheStats:
    if not root.is_dir():
        raise StudioError(f"no cache at {root}", hint="render a film first, or pass --cache DIR")
    manifest = Manifest(root)
    try:
        result = CacheStats(root=root, films=manifest.films())
        for kind in KINDS:
            entries = _entries(root, kind)
            result.kinds[kind] = KindStats(len(entries), sum(_size(p) for paths in entries.values() for p in paths))
        result.renders_recorded = len(manifest.all_renders())
        result.renders_ever = sum(manifest.render_counts().values())
        result.takes = sum(len(manifest.takes(film)) for film, _lock in result.films)
        result.temp_files = len(_temporaries(root))
    finally:
        manifest.close()
    return result


@dataclass
class GcResult:
    kept: int = 0
    removed: int = 0
    freed_bytes: int = 0
    lockfiles: list[str] = field(default_factory=list)
    removed_paths: list[Path] = field(default_factory=list)


def gc(root: Path, *, extra_lockfiles: list[Path] | None = None, dry_run: bool = False) -> GcResult:
    """Remove every entry no lockfile references, and stale temporary files."""
    if not root.is_dir():
        raise StudioError(f"no cache at {root}", hint="pass --cache DIR")
    manifest = Manifest(root)
    result = GcResult()
    try:
        keep: set[str] = set()
        locks = [Path(lock) for _film, lock in manifest.films()] + list(extra_lockfiles or [])
        for lock_path in locks:
            if not lock_path.is_file():
                continue
            keep |= Lockfile.load(lock_path).referenced_keys()
            result.lockfiles.append(str(lock_path))
        for kind in KINDS:
            for key, paths in _entries(root, kind).items():
                if key in keep:
                    result.kept += 1
                    continue
                result.removed += 1
                for path in paths:
                    result.freed_bytes += _size(path)
                    result.removed_paths.append(path)
                    if not dry_run:
                        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
                if kind == "clips" and not dry_run:
                    manifest.forget(key)
        for path in (root / "silence").glob("*.m4a") if (root / "silence").is_dir() else []:
            result.freed_bytes += _size(path)  # silent tracks are cheap to make again
            result.removed_paths.append(path)
            if not dry_run:
                path.unlink(missing_ok=True)
        now = time.time()
        for path in _temporaries(root):
            try:
                age = now - path.stat().st_mtime
            except OSError:
                continue
            if age < STALE_TEMP_SECONDS:
                continue  # perhaps a render running right now
            result.freed_bytes += _size(path)
            result.removed_paths.append(path)
            if not dry_run:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    finally:
        manifest.close()
    return result
