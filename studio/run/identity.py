"""Identity QA for the executor: check a shot with a known face (a check, nothing
rendered here), say whether a flagged shot is worth a re-take and which take is best,
and remember which cache entries used a likeness. The executor runs the loop (render,
check, re-take: :func:`studio.run.local.qa_and_retake`); data flows one way, from the
executor into this module.

The checks are :mod:`studio.consistency.qa`'s, the likeness records
:mod:`studio.consistency.likeness`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from studio.cache.store import Clip, ShotStore
from studio.consistency.cast import Cast
from studio.consistency.faces import MATCH_DISTANCE
from studio.consistency.identity import Identity
from studio.consistency.likeness import record_use
from studio.consistency.qa import ShotCheck, check_clip, read_check, write_check
from studio.render.backend import Backend, Conditioning
from studio.render.plan import ShotPlan, on_screen

RETAKES = 2  # new takes tried when a shot is flagged on a backend that varies


@dataclass(frozen=True)
class QASettings:
    threshold: float = MATCH_DISTANCE
    retakes: int = RETAKES
    enabled: bool = True


@dataclass
class Checked:
    """The shot as the film will use it after QA (a re-take may have replaced it)."""

    plan: ShotPlan
    clip: Clip
    key: str
    take: int
    check: ShotCheck | None
    rendered: list[tuple[int, int]] = field(default_factory=list)  # (take, frames) rendered by re-takes
    tried: list[dict[str, Any]] = field(default_factory=list)  # every take judged: take, seed, score, flagged


def check_shot(store: ShotStore, plan: ShotPlan, cond: Conditioning, clip: Clip, key: str,
               settings: QASettings) -> ShotCheck | None:
    """The shot's identity check, from beside its clip when already made, and its score
    in the manifest (``studio takes`` shows it)."""
    if not settings.enabled or plan.size == "insert" or not any(i.embedding for i in cond.identities.values()):
        return None
    check = read_check(clip.path, cond.identities)
    if check is None:
        check = check_clip(clip.path, plan, cond.identities, key=key, threshold=settings.threshold)
        if check is None:
            return None
        write_check(clip.path, check)
    check.with_threshold(settings.threshold)
    store.manifest.set_qa(key, check.score, check.flagged)
    return check


def wants_retake(check: ShotCheck | None, backend: Backend) -> bool:
    """A flagged shot is re-taken only on a backend whose pictures change with the seed."""
    return check is not None and check.flagged and bool(getattr(backend, "varies", False))


def judged(take: int, seed: int, check: ShotCheck | None) -> dict[str, Any]:
    """One take as judged, for the render report's ``tried`` list."""
    return {"take": take, "seed": seed, "score": check.score if check else None,
            "flagged": check.flagged if check else False}


def record_uses(store: ShotStore, cast: Cast, cond: Conditioning, key: str) -> None:
    """Tag the entry ``key`` with the likenesses it shows (``studio likeness remove``
    drops tagged entries)."""
    tags = cast.tags(cond.identities)
    if tags:
        store.manifest.record_uses(key, tags)


def record_cache(cast: Cast, cache_root: Path) -> None:
    """Tell every cast likeness that this cache holds shots made with it."""
    for likeness in {lk.consent.id: lk for lk in cast.likenesses.values()}.values():
        record_use(likeness, cache_root)


def identities_for(plan: ShotPlan, identities: dict[str, Identity]) -> dict[str, Identity]:
    """The identities of the characters ``plan`` shows or hears; a character's LoRAs only
    where the shot holds it on screen."""
    wanted = {m.id for m in plan.present} | set(plan.subjects) | {line.speaker for line in plan.lines}
    framed = set(on_screen(plan))
    # a character's LoRA acts only where the character is on screen: only those shots carry it (and its key)
    return {cid: identities[cid] if cid in framed or not identities[cid].loras else replace(identities[cid], loras=())
            for cid in sorted(wanted) if cid in identities}


# --------------------------------------------------------------------------- withdrawing a likeness


@dataclass
class Removal:
    """What ``studio likeness remove`` did."""

    likeness: Any  # the Likeness as it was
    caches: list[Path]
    dropped: dict[str, list[str]] = field(default_factory=dict)  # cache root -> keys of the shots dropped
    bank_entries: int = 0

    @property
    def shots_dropped(self) -> int:
        return sum(len(v) for v in self.dropped.values())


def remove_likeness(name: str, *, store: Any, caches: list[Path]) -> Removal:
    """Withdraw the likeness ``name``: drop every cached shot made with it (in the caches
    it was used in and in ``caches``), its faces in the reference banks, then its
    photos, faces and embeddings. ``name`` may also be an inline likeness
    (``inline-...``) enrolled into one of ``caches``."""
    from studio.consistency.bank import remove_consent_everywhere
    from studio.consistency.likeness import (
        LikenessError,
        find_inline,
        log_removal,
        remove_inline,
        use_tag,
        used_in,
    )

    likeness = None
    inline_root = None
    try:
        likeness = store.get(name)
    except LikenessError:
        for root in caches:
            likeness = find_inline(name, root)
            if likeness is not None:
                inline_root = root
                break
        if likeness is None:
            raise
    roots: dict[str, Path] = {}
    for root in [*used_in(likeness), *caches]:
        roots.setdefault(str(Path(root).resolve()), Path(root))
    removal = Removal(likeness, list(roots.values()))
    tag = use_tag(likeness)
    # the caches first: a failure part-way leaves the likeness listed, and removing it again finishes
    for resolved, root in roots.items():
        if not (root / "manifest.sqlite3").is_file():
            continue
        shots = ShotStore(root)
        try:
            keys = shots.manifest.keys_using(tag)
            removal.dropped[resolved] = [k for k in keys if shots.remove(k)]
            shots.manifest.forget_uses(tag)
        finally:
            shots.manifest.close()
        removal.bank_entries += remove_consent_everywhere(root, likeness.consent.id)
    if inline_root is not None:
        remove_inline(name, inline_root)
    else:
        store.remove(name)
    log_removal(store.root, likeness, removal.shots_dropped)
    return removal


def approve_shot(clip: Clip, plan: ShotPlan, cond: Conditioning, check: ShotCheck | None, cache_root: Path,
                 film_id: str, threshold: float = MATCH_DISTANCE) -> int:
    """Bank the faces of a shot that passed identity QA (``studio qa --approve``);
    return how many were added."""
    from studio.consistency.bank import ReferenceBank
    from studio.consistency.qa import approvable_faces

    if check is not None and check.flagged:
        return 0
    added = 0
    for face in approvable_faces(clip.path, plan, cond.identities, threshold=threshold):
        identity = cond.identities.get(face.character_id)
        bank = ReferenceBank(cache_root, film_id, face.character_id)
        entry = bank.add(face.crop, face.embedding, shot_id=plan.shot_id, key=clip.key, distance=face.distance,
                         consent=identity.consent if identity else None)
        added += entry is not None
    return added
