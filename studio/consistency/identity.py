"""Identities: who each character is, the same way in every shot.

An identity is the canonical appearance (the prompt fragment every shot uses), a
seed, reference images (by path and content hash) and, once a face is known, a face
embedding and crop (the likeness work builds on this record).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from studio.render.backend import Identity
from studio.render.plan import shot_seed
from studio.screenplay import resolve_asset
from studio.screenplay.model import Screenplay


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def canonical_appearance(name: str, description: str) -> str:
    description = " ".join(description.split())
    return f"{name}, {description}" if description else name


def build_identities(screenplay: Screenplay) -> dict[str, Identity]:
    """One identity per character of the screenplay."""
    base = Path(screenplay.base_dir or ".")
    out: dict[str, Identity] = {}
    for char in screenplay.characters:
        refs = [resolve_asset(r, base, allow_outside=screenplay._allow_outside) for r in char.references]
        out[char.id] = Identity(
            character_id=char.id,
            prompt=canonical_appearance(char.name, char.description),
            seed=shot_seed(screenplay.film.seed, f"character:{char.id}"),
            references=tuple(str(r) for r in refs),
            reference_hashes=tuple(_sha256(r) for r in refs),
        )
    return out
