"""Casting: every character's :class:`~studio.consistency.identity.Identity`, built the same
way for every shot, and the likenesses cast in the film.

A character's identity record is

* its canonical appearance: the prompt fragment every shot uses (name and description);
* a seed of its own (derived from the film's seed and the character's id);
* a bank of reference images: the screenplay's ``references``, the cast likeness's
  face crops, and approved frames (:mod:`studio.consistency.bank`);
* a face embedding whenever a face is known: the cast likeness's (``likeness: NAME``,
  ``likeness: {photos, consent}`` or ``studio render --cast CHARACTER=NAME``), else
  the mean of the approved faces in its bank.

Every shot's conditioning carries the identities of the characters in it; their
content hashes (never paths) are part of the shot's cache key, so recasting a role
or withdrawing a likeness re-renders exactly the shots with that character.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from studio.consistency.bank import ReferenceBank
from studio.consistency.identity import Identity
from studio.consistency.likeness import Likeness, LikenessError, LikenessStore, enrol_inline, use_tag
from studio.errors import StudioError
from studio.loras import Lora, looks_local
from studio.render.plan import shot_seed
from studio.screenplay import resolve_asset
from studio.screenplay.model import Character, Screenplay


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def canonical_appearance(name: str, description: str) -> str:
    description = " ".join(description.split())
    return f"{name}, {description}" if description else name


@dataclass
class Cast:
    """The film's identities, and the likenesses cast in it (by character id)."""

    identities: dict[str, Identity] = field(default_factory=dict)
    likenesses: dict[str, Likeness] = field(default_factory=dict)

    def tags(self, identities: dict[str, Identity]) -> list[str]:
        """The cache-manifest tags of the likenesses among ``identities`` (a shot's)."""
        return sorted({use_tag(self.likenesses[cid]) for cid in identities if cid in self.likenesses})

    def provenance(self) -> list[dict[str, object]]:
        """One record per likeness: name, consent id, and the characters it plays."""
        out: dict[str, dict[str, object]] = {}
        for cid, likeness in sorted(self.likenesses.items()):
            rec = out.setdefault(likeness.consent.id, {**likeness.provenance(), "characters": []})
            rec["characters"].append(cid)  # type: ignore[union-attr]
        return sorted(out.values(), key=lambda r: str(r["name"]))

    def film_tags(self, metadata: dict[str, str]) -> dict[str, str]:
        """The film's metadata tags that name its likenesses: the label players show
        (``comment``, ``description``) gains ``likeness: NAME (consent ID)`` for each."""
        records = self.provenance()
        if not records:
            return {}
        text = "; ".join(f"likeness: {r['name']} ({r['consent']}) as {', '.join(r['characters'])}"  # type: ignore[arg-type]
                         for r in records)
        return {k: f"{metadata[k]}; {text}" if metadata.get(k) else text for k in ("comment", "description")}


def apply_cast(screenplay: Screenplay, cast: dict[str, str] | list[str] | tuple[str, ...]) -> Screenplay:
    """``screenplay`` with characters cast to enrolled likenesses: ``{character id:
    likeness name}`` or ``["CHARACTER=NAME", ...]`` (the ``--cast`` option)."""
    pairs: dict[str, str] = {}
    if isinstance(cast, dict):
        pairs = dict(cast)
    else:
        for item in cast:
            cid, sep, name = item.partition("=")
            if not sep or not cid.strip() or not name.strip():
                raise StudioError(f"--cast {item!r} is not CHARACTER=NAME", hint="e.g. --cast mara=ann")
            pairs[cid.strip()] = name.strip()
    if not pairs:
        return screenplay
    ids = [c.id for c in screenplay.characters]
    for cid in pairs:
        if cid not in ids:
            raise StudioError(f"--cast: no character {cid!r} in {screenplay.film.title!r}",
                              hint=f"characters: {', '.join(ids) or 'none'}")
    characters = [c.model_copy(update={"likeness": pairs[c.id]}) if c.id in pairs else c
                  for c in screenplay.characters]
    return screenplay.model_copy(update={"characters": characters})


def cast_film(screenplay: Screenplay, *, cache_dir: Path | None = None, film_id: str | None = None,
              store: LikenessStore | None = None) -> Cast:
    """One identity per character of the screenplay, with its likeness when cast.

    ``cache_dir`` holds inline likenesses and the reference banks (``film_id`` names the
    film's banks); ``store`` is where named likenesses are enrolled (default: the
    user's store). An unknown likeness name is a :class:`LikenessError` that lists the
    enrolled ones."""
    base = Path(screenplay.base_dir or ".")
    where = screenplay.source.file if screenplay.source else "the screenplay"
    out = Cast()
    for char in screenplay.characters:
        refs = [resolve_asset(r, base, allow_outside=screenplay._allow_outside) for r in char.references]
        references = [str(r) for r in refs]
        hashes = [_sha256(r) for r in refs]
        likeness: Likeness | None = None
        if isinstance(char.likeness, str):
            try:
                likeness = (store or LikenessStore()).get(char.likeness)
            except LikenessError as exc:
                raise LikenessError(f"{where}: character {char.id!r}: {exc}") from None
        elif char.likeness is not None:
            from studio.cache.store import default_cache_dir

            inline_cache = cache_dir or default_cache_dir()  # where a render would enrol it
            photos = [resolve_asset(p, base, allow_outside=screenplay._allow_outside) for p in char.likeness.photos]
            try:
                likeness = enrol_inline(photos, list(char.likeness.photos), char.likeness.consent,
                                        f"the person cast as {char.name}", inline_cache)
            except LikenessError as exc:
                raise LikenessError(f"{where}: character {char.id!r}: likeness: {exc}") from None
        embedding = None
        if likeness is not None:
            out.likenesses[char.id] = likeness
            for photo in likeness.photos:
                references.append(str(likeness.folder / photo.face))
                hashes.append(photo.face_sha256)
            embedding = likeness.embedding
        if cache_dir is not None and film_id is not None:
            bank = ReferenceBank(cache_dir, film_id, char.id)
            for path, sha in bank.references():
                references.append(str(path))
                hashes.append(sha)
            if embedding is None:
                embedding = bank.embedding()
        out.identities[char.id] = Identity(
            character_id=char.id,
            prompt=canonical_appearance(char.name, char.description),
            seed=shot_seed(screenplay.film.seed, f"character:{char.id}"),
            references=tuple(references),
            reference_hashes=tuple(hashes),
            embedding=embedding,
            face=str(likeness.face) if likeness else None,
            face_hash=likeness.best.face_sha256 if likeness else None,
            likeness=likeness.name if likeness else None,
            consent=likeness.consent.id if likeness else None,
            loras=character_loras(char, base, screenplay._allow_outside),
        )
    return out


def character_loras(char: Character, base: Path, allow_outside: bool) -> tuple[Lora, ...]:
    """The character's LoRAs with their sources resolved: a local file or folder relative to
    the screenplay, never outside its folder unless the user allowed it; a hub id as it is."""
    out = []
    for i, entry in enumerate(char.loras):
        source = entry.source
        if looks_local(source, base):
            try:
                source = str(resolve_asset(source, base, allow_outside=allow_outside))
            except ValueError as exc:
                raise StudioError(f"character {char.id!r}: LoRA {exc}",
                                  hint="keep LoRA files inside the screenplay's folder, or pass --allow-outside-assets"
                                  ) from None
        name = entry.adapter_name or (char.id if len(char.loras) == 1 else f"{char.id}-{i + 1}")
        out.append(Lora(source=source, adapter_name=name, weight=entry.weight, trigger=" ".join(entry.trigger.split()),
                        weight_name=entry.weight_name, revision=entry.revision, model=entry.model, character=char.id))
    return tuple(out)


def build_identities(screenplay: Screenplay, *, cache_dir: Path | None = None, film_id: str | None = None,
                     store: LikenessStore | None = None) -> dict[str, Identity]:
    """One identity per character of the screenplay (see :func:`cast_film`)."""
    return cast_film(screenplay, cache_dir=cache_dir, film_id=film_id, store=store).identities
