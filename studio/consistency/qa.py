"""Identity QA: is the cast face still the cast face?

After a shot renders, a few frames are decoded from its clip (what the film will show,
after H.264), faces are detected in them, and the faces are matched to the shot's
characters that have a known face (a cast likeness, or approved frames) by embedding
distance, the closest pairs first. Per character the shot keeps the median distance
over the sampled frames where its face was found.

A character is *framed* in a shot when the shot holds it at medium or closer (medium,
medium close-up, close-up, extreme close-up, or the facing side of an over-the-shoulder):
there its face must be found, and the closest face is taken as its own. The shot is
flagged when a framed character's face is missing or lies further than the threshold
(default :data:`~studio.consistency.faces.MATCH_DISTANCE`, 0.6) from the known face:
the face drifted. In wider shots a character is reported when a face within the
threshold is found, and a further face counts as someone else's (another character's,
or an extra's), never as a drift. The shot's score is its worst framed distance (or its
worst seen distance when nobody is framed). Inserts (an object, no people) are not checked.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.assemble.ffmpeg import ffmpeg_exe, log_tail
from studio.atomic import write_text
from studio.consistency import faces
from studio.consistency.identity import Identity
from studio.errors import RenderError
from studio.render.plan import ShotPlan, canonical_hash

QA_VERSION = 1  # bump when the same clip and identities would be judged differently
SAMPLES = 3
SAMPLE_AT = (0.3, 0.6, 0.9)  # fractions of the shot (after a continuous shot's dissolve)
CLOSE_SIZES = ("medium", "medium-close-up", "close-up", "extreme-close-up")
MAX_FACES = 6  # per frame, the most confident


def framed(plan: ShotPlan) -> set[str]:
    """The characters ``plan`` holds at medium or closer (whose faces must show)."""
    if plan.size in CLOSE_SIZES:
        return set(plan.subjects)
    if plan.size == "over-the-shoulder" and plan.subjects:
        return {plan.subjects[0]}  # the second subject is the shoulder, seen from behind
    return set()


def sample_indices(frames: int, count: int = SAMPLES) -> list[int]:
    fractions = SAMPLE_AT if count == len(SAMPLE_AT) else [(k + 1) / (count + 1) for k in range(count)]
    return sorted({min(frames - 1, max(0, round(f * (frames - 1)))) for f in fractions})


def decode_frames(clip: Path, indices: list[int], width: int, height: int) -> list[np.ndarray]:
    """Frames ``indices`` (0-based) of ``clip`` as RGB arrays, decoded by ffmpeg."""
    if not indices:
        return []
    select = "+".join(f"eq(n\\,{int(i)})" for i in indices)  # numbers only: nothing user-written
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(clip),
           "-vf", f"select={select}", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RenderError(f"ffmpeg failed while sampling {clip.name} for identity QA: "
                          f"{log_tail(proc.stderr.decode('utf-8', 'replace'))}")
    size = width * height * 3
    data = proc.stdout
    return [np.frombuffer(data[k * size:(k + 1) * size], np.uint8).reshape(height, width, 3)
            for k in range(len(data) // size)]


def upsample_for(height: int) -> int:
    """How much the detector upsamples a frame this tall: a medium shot's face is about
    a sixth of the frame's height, and dlib finds faces of 80 pixels (40 upsampled once)."""
    if height < 240:
        return 2
    return 1 if height <= 720 else 0


@dataclass
class CharacterCheck:
    character_id: str
    likeness: str | None
    framed: bool
    frames: int  # sampled
    found: int  # frames where its face was found
    distance: float | None  # median over the frames where found
    worst: float | None
    face_pixels: int | None  # median width of its face, pixels

    def status(self, threshold: float) -> str:
        if self.distance is None:
            return "missing" if self.framed else "not seen"
        if self.distance > threshold:
            return "drift" if self.framed else "not seen"  # unframed: a further face is someone else's
        return "ok"

    def flagged(self, threshold: float) -> bool:
        return self.status(threshold) in ("missing", "drift")


@dataclass
class ShotCheck:
    """Identity QA of one clip, against the identities of its conditioning."""

    shot_id: str
    key: str
    size: str
    identities: str  # hash of the faces checked against
    characters: list[CharacterCheck] = field(default_factory=list)
    sampled: list[int] = field(default_factory=list)  # frame indices
    best_frame: int | None = None  # the sampled frame with the closest match
    seconds: float = 0.0
    threshold: float = faces.MATCH_DISTANCE
    version: int = QA_VERSION

    @property
    def score(self) -> float | None:
        """The worst distance of a framed character's face, else of a face seen within
        the threshold (None: no face measured)."""
        framed_ = [c.distance for c in self.characters if c.framed and c.distance is not None]
        seen = [c.distance for c in self.characters if c.status(self.threshold) == "ok"]
        found = framed_ or seen
        return max(found) if found else None

    @property
    def flagged(self) -> bool:
        return any(c.flagged(self.threshold) for c in self.characters)

    def missing(self) -> int:
        return sum(1 for c in self.characters if c.status(self.threshold) == "missing")

    def rank(self) -> tuple[int, int, float]:
        """Lower is better: unflagged first, then fewer missing faces, then closer."""
        return (int(self.flagged), self.missing(), self.score if self.score is not None else 9.0)

    def with_threshold(self, threshold: float) -> ShotCheck:
        self.threshold = threshold
        return self

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = self.score
        data["flagged"] = self.flagged
        for c, d in zip(self.characters, data["characters"]):
            d["status"] = c.status(self.threshold)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShotCheck:
        known = {k: data[k] for k in ("shot_id", "key", "size", "identities", "sampled", "best_frame", "seconds",
                                      "threshold", "version") if k in data}
        chars = [CharacterCheck(**{k: c[k] for k in ("character_id", "likeness", "framed", "frames", "found",
                                                     "distance", "worst", "face_pixels")})
                 for c in data.get("characters", [])]
        return cls(**known, characters=chars)


def faces_hash(identities: dict[str, Identity]) -> str:
    """What a check depends on besides the clip: the known faces of the shot's characters."""
    return canonical_hash({cid: canonical_hash(list(i.embedding)) for cid, i in sorted(identities.items())
                           if i.embedding})


@dataclass
class FrameFace:
    face: faces.Face
    embedding: np.ndarray
    frame: int


def check_frames(frames: list[tuple[int, np.ndarray]], plan: ShotPlan, identities: dict[str, Identity], *,
                 key: str = "", threshold: float = faces.MATCH_DISTANCE) -> ShotCheck | None:
    """Check sampled ``(index, frame)`` pairs of ``plan``'s clip against the characters'
    known faces; None when no character of the shot has one."""
    known = {cid: np.asarray(i.embedding, dtype=np.float64) for cid, i in sorted(identities.items())
             if i.embedding}
    if not known or plan.size == "insert":
        return None
    started = time.perf_counter()
    wanted = framed(plan)
    per: dict[str, list[tuple[float, int, int]]] = {cid: [] for cid in known}  # (distance, face width, frame)
    for index, frame in frames:
        found = faces.detect(frame, upsample=upsample_for(frame.shape[0]), min_score=0.0)[:MAX_FACES]
        seen = [FrameFace(f, faces.embed(frame, f), index) for f in found]
        pairs = sorted((faces.distance(emb, s.embedding), cid, k) for cid, emb in known.items()
                       for k, s in enumerate(seen))
        used_c: set[str] = set()
        used_f: set[int] = set()
        for d, cid, k in pairs:  # the closest pairs first: each face is one character's at most
            if cid in used_c or k in used_f:
                continue
            used_c.add(cid)
            used_f.add(k)
            per[cid].append((d, seen[k].face.width, index))
    characters = []
    best: tuple[float, int] | None = None
    for cid in known:
        hits = per[cid]
        dists = [h[0] for h in hits]
        identity = identities[cid]
        characters.append(CharacterCheck(
            character_id=cid, likeness=identity.likeness, framed=cid in wanted, frames=len(frames),
            found=len(hits), distance=round(statistics.median(dists), 4) if dists else None,
            worst=round(max(dists), 4) if dists else None,
            face_pixels=int(statistics.median([h[1] for h in hits])) if hits else None,
        ))
        for d, _w, index in hits:
            if best is None or d < best[0]:
                best = (d, index)
    return ShotCheck(plan.shot_id, key, plan.size, faces_hash(identities), characters,
                     sampled=[i for i, _ in frames], best_frame=best[1] if best else None,
                     seconds=round(time.perf_counter() - started, 3), threshold=threshold)


def check_clip(clip: Path, plan: ShotPlan, identities: dict[str, Identity], *, key: str = "",
               threshold: float = faces.MATCH_DISTANCE, samples: int = SAMPLES) -> ShotCheck | None:
    """Sample ``clip`` (the shot ``plan``, as rendered) and check it (:func:`check_frames`)."""
    if not any(i.embedding for i in identities.values()) or plan.size == "insert":
        return None
    indices = sample_indices(plan.frames, samples)
    frames = decode_frames(clip, indices, plan.width, plan.height)
    return check_frames(list(zip(indices, frames)), plan, identities, key=key, threshold=threshold)


# --------------------------------------------------------------------------- the cached result


def sidecar(clip: Path) -> Path:
    """Where a clip's check is kept: beside it in the store, ``<key>.qa.json`` (removed
    with the entry)."""
    return clip.with_name(clip.name.split(".", 1)[0] + ".qa.json")


def read_check(clip: Path, identities: dict[str, Identity]) -> ShotCheck | None:
    try:
        data = json.loads(sidecar(clip).read_text(encoding="utf-8"))
        check = ShotCheck.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if check.version != QA_VERSION or check.identities != faces_hash(identities):
        return None
    return check


def write_check(clip: Path, check: ShotCheck) -> None:
    write_text(sidecar(clip), json.dumps(check.to_dict(), indent=2) + "\n")


# --------------------------------------------------------------------------- approving frames


@dataclass
class ApprovedFace:
    character_id: str
    crop: np.ndarray  # aligned, RGB
    embedding: np.ndarray
    distance: float | None  # from the character's known face (None: no face was known)
    frame: int


def approvable_faces(clip: Path, plan: ShotPlan, identities: dict[str, Identity], *,
                     threshold: float = faces.MATCH_DISTANCE, samples: int = SAMPLES) -> list[ApprovedFace]:
    """The faces of ``clip`` worth banking: per character with a known face, its closest
    match within ``threshold``; for a character with no known face framed alone at
    medium or closer, the one confident face of its most confident frame."""
    indices = sample_indices(plan.frames, samples)
    frames = decode_frames(clip, indices, plan.width, plan.height)
    known = {cid: np.asarray(i.embedding, dtype=np.float64) for cid, i in identities.items() if i.embedding}
    alone = framed(plan)
    unknown = next(iter(alone)) if len(alone) == 1 and next(iter(alone)) not in known else None
    best: dict[str, ApprovedFace] = {}
    for index, frame in zip(indices, frames):
        found = faces.detect(frame, upsample=upsample_for(frame.shape[0]), min_score=0.0)[:MAX_FACES]
        for face in found:
            emb = faces.embed(frame, face)
            for cid, ref in known.items():
                d = faces.distance(emb, ref)
                if d <= threshold and (cid not in best or d < (best[cid].distance or 9.0)):
                    best[cid] = ApprovedFace(cid, faces.chip(frame, face, 150, 0.25), emb, d, index)
        confident = [f for f in found if f.score >= faces.MIN_SCORE]
        if unknown is not None and len(confident) == 1 and unknown not in best:
            face = confident[0]
            best[unknown] = ApprovedFace(unknown, faces.chip(frame, face, 150, 0.25), faces.embed(frame, face),
                                         None, index)
    return [best[cid] for cid in sorted(best)]
