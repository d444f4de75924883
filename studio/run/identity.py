"""Identity QA in the render loop: check every shot with a known face, re-take the
drifting ones on backends that vary, and remember which cache entries used a likeness.

Orchestration only: the checks are :mod:`studio.consistency.qa`'s, the likeness
records :mod:`studio.consistency.likeness`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from studio.assemble.encode import VideoSettings
from studio.cache.store import Clip, ShotStore, shot_key
from studio.consistency.faces import MATCH_DISTANCE
from studio.consistency.identity import Cast
from studio.consistency.likeness import record_use
from studio.consistency.qa import ShotCheck, check_clip, read_check, write_check
from studio.render.backend import Backend, Conditioning
from studio.render.plan import ShotPlan

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


def qa_and_retake(*, store: ShotStore, backend: Backend, plan: ShotPlan, cond: Conditioning, clip: Clip, key: str,
                  take: int, fresh: bool, cast: Cast, video: VideoSettings, progress: Any, film_id: str,
                  film_seed: int, verify: bool, settings: QASettings) -> Checked:
    """Check the shot; when it is flagged and the backend varies, try up to
    ``settings.retakes`` new takes (new seeds) and keep the best.

    Re-takes already in the cache are judged again for free; new ones are rendered only
    when the shot itself was rendered in this run (``fresh``), so an unlucky shot does
    not grow a take on every render."""
    from studio.run.local import render_shot, take_seed  # the executor's own steps

    check = check_shot(store, plan, cond, clip, key, settings)
    best = Checked(plan, clip, key, take, check)
    if check is not None:
        best.tried.append({"take": take, "seed": plan.seed, "score": check.score, "flagged": check.flagged})
    if check is None or not check.flagged or not getattr(backend, "varies", False):
        return best
    recorded = {t.take: t.seed for t in store.manifest.takes(film_id, plan.shot_id)}
    rendered: list[tuple[int, int]] = []
    for number in range(take + 1, take + 1 + settings.retakes):
        seed = recorded.get(number, take_seed(film_seed, plan.shot_id, number))
        p = replace(plan, seed=seed)
        k = shot_key(p.key_data(), cond.key_data(), backend.describe(), video.describe())
        c = store.get(k, verify=verify)
        if c is None:
            if not fresh:
                break
            c = render_shot(backend, p, cond, store, k, video, progress, film=film_id,
                            tail_frames=getattr(backend, "tail_frames", 1))
            rendered.append((number, p.frames))
        store.manifest.record_take(film_id, p.shot_id, number, seed, k)
        record_uses(store, cast, cond, k)
        ch = check_shot(store, p, cond, c, k, settings)
        best.tried.append({"take": number, "seed": seed, "score": ch.score if ch else None,
                           "flagged": ch.flagged if ch else False})
        if ch is not None and best.check is not None and ch.rank() < best.check.rank():
            best = Checked(p, c, k, number, ch, tried=best.tried)
        if ch is None or not ch.flagged:
            break
    best.rendered = rendered
    return best


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
