"""The reference bank: approved frames of a character, growing film by film.

Each character of a film has a bank in the render cache::

    <cache>/identities/<film>/<character>/bank.json    the entries, newest last
    <cache>/identities/<film>/<character>/<sha>.png    each approved face, aligned

An entry is a face that identity QA matched to the character in a rendered shot
(``studio qa FILE --approve`` adds the best face of every shot that passed). The bank
joins the character's reference images (the best :data:`MAX_REFERENCES`), and a
character cast with no likeness takes its face embedding from the bank: once a face
is approved, later shots are checked against it. A bank entry showing a likeness
names its consent id, so removing the likeness removes the entry too.

Approving changes the conditioning of the character's shots (their cache keys), so
backends that use references render those shots again on the next render.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from studio.atomic import write_bytes, write_text

MAX_REFERENCES = 8  # entries passed on as reference images (the closest matches)
MAX_ENTRIES = 64  # a bank keeps its closest matches beyond this


@dataclass(frozen=True)
class BankEntry:
    sha256: str  # of the PNG
    file: str  # relative to the bank folder
    shot_id: str
    key: str  # the cache key of the clip it came from
    distance: float | None  # from the character's face when it was approved (None: no face known then)
    consent: str | None  # the likeness shown, when cast
    embedding: tuple[float, ...]
    added: str  # ISO 8601, UTC


def film_folder(cache_root: Path, film_id: str) -> Path:
    return Path(cache_root) / "identities" / hashlib.sha256(film_id.encode("utf-8")).hexdigest()[:16]


class ReferenceBank:
    def __init__(self, cache_root: Path, film_id: str, character_id: str) -> None:
        self.folder = film_folder(cache_root, film_id) / character_id
        self.character_id = character_id

    def entries(self) -> list[BankEntry]:
        try:
            data = json.loads((self.folder / "bank.json").read_text(encoding="utf-8"))
            return [BankEntry(**{**e, "embedding": tuple(e["embedding"])}) for e in data["entries"]
                    if (self.folder / e["file"]).is_file()]
        except (OSError, ValueError, KeyError, TypeError):
            return []

    def _save(self, entries: list[BankEntry]) -> None:
        write_text(self.folder / "bank.json",
                   json.dumps({"character": self.character_id, "entries": [asdict(e) for e in entries]},
                              indent=2) + "\n")

    def add(self, face: np.ndarray, embedding: np.ndarray, *, shot_id: str, key: str, distance: float | None,
            consent: str | None) -> BankEntry | None:
        """Add an aligned face crop (RGB); None when the same face is already banked."""
        buf = io.BytesIO()
        Image.fromarray(face).save(buf, format="PNG", compress_level=6)
        sha = hashlib.sha256(buf.getvalue()).hexdigest()
        entries = self.entries()
        if any(e.sha256 == sha for e in entries):
            return None
        entry = BankEntry(sha, f"{sha[:16]}.png", shot_id, key, None if distance is None else round(distance, 4),
                          consent, tuple(float(x) for x in embedding),
                          datetime.now(UTC).isoformat(timespec="seconds"))
        write_bytes(self.folder / entry.file, buf.getvalue())
        entries.append(entry)
        if len(entries) > MAX_ENTRIES:
            keep = sorted(entries, key=_rank)[:MAX_ENTRIES]
            for e in entries:
                if e not in keep:
                    (self.folder / e.file).unlink(missing_ok=True)
            entries = [e for e in entries if e in keep]
        self._save(entries)
        return entry

    def references(self) -> list[tuple[Path, str]]:
        """The best entries as ``(path, sha256)``, closest match first."""
        return [(self.folder / e.file, e.sha256) for e in sorted(self.entries(), key=_rank)[:MAX_REFERENCES]]

    def embedding(self) -> tuple[float, ...] | None:
        """The mean embedding of the banked faces (None when the bank is empty)."""
        entries = self.entries()
        if not entries:
            return None
        mean = np.mean(np.array([e.embedding for e in entries], dtype=np.float64), axis=0)
        return tuple(float(x) for x in mean)

    def remove_consent(self, consent: str) -> int:
        """Remove every entry showing the likeness with consent id ``consent``."""
        entries = self.entries()
        gone = [e for e in entries if e.consent == consent]
        if not gone:
            return 0
        for e in gone:
            (self.folder / e.file).unlink(missing_ok=True)
        self._save([e for e in entries if e.consent != consent])
        return len(gone)


def _rank(e: BankEntry) -> tuple[float, str]:
    return (e.distance if e.distance is not None else 1.0, e.sha256)


def remove_consent_everywhere(cache_root: Path, consent: str) -> int:
    """Drop a withdrawn likeness's faces from every bank in the cache."""
    removed = 0
    base = Path(cache_root) / "identities"
    if not base.is_dir():
        return 0
    for bank_json in sorted(base.glob("*/*/bank.json")):
        folder = bank_json.parent
        bank = ReferenceBank.__new__(ReferenceBank)
        bank.folder, bank.character_id = folder, folder.name
        removed += bank.remove_consent(consent)
    return removed
