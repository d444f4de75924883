"""The cache manifest: a SQLite database of renders, takes, timings, seeds and QA
scores, beside the content-addressed files in the cache folder.

SQLite gives us atomic, crash-safe writes (a killed render never leaves a half
record) and lets ``studio takes``, ``studio cache stats`` and ``gc`` answer without
walking the folder. The files stay the truth: an entry whose file is missing or whose
bytes no longer match the recorded hash does not count.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS renders (
    key TEXT PRIMARY KEY,          -- the shot's cache key
    shot_id TEXT NOT NULL,
    film TEXT NOT NULL,            -- the screenplay's path
    seed INTEGER NOT NULL,
    backend TEXT NOT NULL,
    sha256 TEXT NOT NULL,          -- of the clip file
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,     -- for the quick check; the hash is the real one
    frames INTEGER NOT NULL,
    fps INTEGER NOT NULL,
    render_seconds REAL NOT NULL,
    created REAL NOT NULL,
    qa_score REAL,                 -- identity QA: worst face distance, when measured
    qa_flagged INTEGER
);
CREATE TABLE IF NOT EXISTS render_log (     -- one row per completed render, ever
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    shot_id TEXT NOT NULL,
    film TEXT NOT NULL,
    seconds REAL NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS takes (
    film TEXT NOT NULL,
    shot_id TEXT NOT NULL,
    take INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    key TEXT,                      -- its latest render
    created REAL NOT NULL,
    PRIMARY KEY (film, shot_id, take)
);
CREATE TABLE IF NOT EXISTS films (
    film TEXT PRIMARY KEY,         -- the screenplay's path
    lockfile TEXT NOT NULL,
    last_render REAL
);
CREATE TABLE IF NOT EXISTS keyframe_takes (  -- keyframe-first: a shot's drawn first frames (studio keyframes)
    film TEXT NOT NULL,
    shot_id TEXT NOT NULL,
    take INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    key TEXT,                      -- its latest drawing (studio.cache.keyframes)
    created REAL NOT NULL,
    PRIMARY KEY (film, shot_id, take)
);
CREATE TABLE IF NOT EXISTS uses (  -- what an entry was made with that may be withdrawn (a likeness)
    tag TEXT NOT NULL,             -- e.g. 'likeness:<consent id>'
    key TEXT NOT NULL,
    PRIMARY KEY (tag, key)
);
"""


@dataclass(frozen=True)
class RenderRecord:
    key: str
    shot_id: str
    film: str
    seed: int
    backend: str
    sha256: str
    size: int
    mtime_ns: int
    frames: int
    fps: int
    render_seconds: float
    created: float
    qa_score: float | None = None
    qa_flagged: int | None = None


@dataclass(frozen=True)
class Take:
    film: str
    shot_id: str
    take: int
    seed: int
    key: str | None
    created: float


class Manifest:
    """``<cache>/manifest.sqlite3``. Each method is one transaction."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / "manifest.sqlite3"
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- renders -----------------------------------------------------------------
    def record_render(self, record: RenderRecord) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO renders VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (record.key, record.shot_id, record.film, record.seed, record.backend, record.sha256, record.size,
                 record.mtime_ns, record.frames, record.fps, record.render_seconds, record.created,
                 record.qa_score, record.qa_flagged),
            )
            db.execute("INSERT INTO render_log (key, shot_id, film, seconds, at) VALUES (?,?,?,?,?)",
                       (record.key, record.shot_id, record.film, record.render_seconds, record.created))

    def render(self, key: str) -> RenderRecord | None:
        row = self._db.execute("SELECT * FROM renders WHERE key = ?", (key,)).fetchone()
        return RenderRecord(*row) if row else None

    def forget(self, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM renders WHERE key = ?", (key,))

    def set_qa(self, key: str, score: float | None, flagged: bool) -> None:
        with self._tx() as db:
            db.execute("UPDATE renders SET qa_score = ?, qa_flagged = ? WHERE key = ?", (score, int(flagged), key))

    def render_counts(self) -> dict[str, int]:
        """How many times each key was rendered (ever)."""
        return dict(self._db.execute("SELECT key, COUNT(*) FROM render_log GROUP BY key").fetchall())

    def all_renders(self) -> list[RenderRecord]:
        return [RenderRecord(*row) for row in self._db.execute("SELECT * FROM renders")]

    # -- takes ---------------------------------------------------------------------
    def takes(self, film: str, shot_id: str | None = None) -> list[Take]:
        if shot_id is None:
            rows = self._db.execute("SELECT * FROM takes WHERE film = ? ORDER BY shot_id, take", (film,))
        else:
            rows = self._db.execute("SELECT * FROM takes WHERE film = ? AND shot_id = ? ORDER BY take",
                                    (film, shot_id))
        return [Take(*row) for row in rows]

    def record_take(self, film: str, shot_id: str, take: int, seed: int, key: str | None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO takes VALUES (?,?,?,?,?,?) ON CONFLICT(film, shot_id, take) "
                "DO UPDATE SET seed = excluded.seed, key = excluded.key",
                (film, shot_id, take, seed, key, time.time()),
            )

    # -- keyframe takes (studio.run.keyframes) -------------------------------------------
    def keyframe_takes(self, film: str, shot_id: str | None = None) -> list[Take]:
        if shot_id is None:
            rows = self._db.execute("SELECT * FROM keyframe_takes WHERE film = ? ORDER BY shot_id, take", (film,))
        else:
            rows = self._db.execute("SELECT * FROM keyframe_takes WHERE film = ? AND shot_id = ? ORDER BY take",
                                    (film, shot_id))
        return [Take(*row) for row in rows]

    def record_keyframe_take(self, film: str, shot_id: str, take: int, seed: int, key: str | None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO keyframe_takes VALUES (?,?,?,?,?,?) ON CONFLICT(film, shot_id, take) "
                "DO UPDATE SET seed = excluded.seed, key = excluded.key",
                (film, shot_id, take, seed, key, time.time()),
            )

    # -- uses: what an entry was made with ----------------------------------------------
    def record_uses(self, key: str, tags: list[str]) -> None:
        with self._tx() as db:
            db.executemany("INSERT OR IGNORE INTO uses VALUES (?,?)", [(tag, key) for tag in tags])

    def keys_using(self, tag: str) -> list[str]:
        return [k for (k,) in self._db.execute("SELECT key FROM uses WHERE tag = ? ORDER BY key", (tag,))]

    def forget_uses(self, tag: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM uses WHERE tag = ?", (tag,))

    # -- films and their lockfiles --------------------------------------------------
    def record_film(self, film: str, lockfile: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO films VALUES (?,?,?) ON CONFLICT(film) DO UPDATE SET "
                       "lockfile = excluded.lockfile, last_render = excluded.last_render",
                       (film, lockfile, time.time()))

    def films(self) -> list[tuple[str, str]]:
        return [(f, lock) for f, lock in self._db.execute("SELECT film, lockfile FROM films")]
