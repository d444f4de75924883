"""A character's identity: who the character is, the same way in every shot.

:class:`Identity` is the record the consistency stage builds for each character
(:func:`studio.consistency.cast.cast_film`) and every backend reads from a shot's
conditioning. It is

* its canonical appearance: the prompt fragment every shot uses (name and description);
* a seed of its own (derived from the film's seed and the character's id);
* its reference images (the screenplay's ``references``, the cast likeness's face
  crops, approved frames) by path and content hash;
* a face embedding whenever a face is known, and the cast likeness's face crop,
  name and consent record;
* its LoRAs (:mod:`studio.loras`), with their trigger words.

A shot's cache key cites the content hashes, never the paths.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.loras import Lora


@dataclass(frozen=True)
class Identity:
    """A character's identity as every shot sees it."""

    character_id: str
    prompt: str  # the canonical appearance: the prompt fragment every shot uses
    seed: int
    references: tuple[str, ...] = ()  # reference image paths
    reference_hashes: tuple[str, ...] = ()
    embedding: tuple[float, ...] | None = None  # 128-D face embedding, when a face is known
    face: str | None = None  # path to a face crop of a cast likeness
    face_hash: str | None = None  # SHA-256 of the face crop's bytes (what the cache key cites)
    likeness: str | None = None  # the cast likeness's name, for provenance
    consent: str | None = None  # its consent record's id, for provenance
    loras: tuple[Lora, ...] = ()  # the character's LoRAs (sources resolved), active when it is on screen
