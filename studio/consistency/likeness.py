"""Likenesses: a real person's face, enrolled with their consent, to cast in a role.

``studio likeness add NAME PHOTO... --consent "statement"`` finds exactly one face in
every photo, and keeps, under the likeness store (:func:`default_store_dir`)::

    <store>/<NAME>/likeness.json    the consent record, per-photo faces and embeddings
    <store>/<NAME>/photos/<sha>.*   copies of the photos (their bytes, unchanged)
    <store>/<NAME>/faces/<sha>.png  each face, aligned (eyes level) and cropped
    <store>/<NAME>/uses.json        the render caches that used it (for removal)

The store is private to the user (folders are made ``0700``). ``studio likeness
remove NAME`` deletes all of it and every cached shot rendered with it.

A screenplay may also carry a likeness inline (``likeness: {photos: [...], consent:
...}``); it is enrolled on the fly into the render cache (``<cache>/likenesses/``),
named after a hash of its photos and statement, with the same checks and record.

The consent record says who (the person, and who recorded it), when, the statement,
and the SHA-256 of every photo; its ``id`` (``consent-<16 hex>``) is what renders cite
in their report and the film's metadata.
"""

from __future__ import annotations

import getpass
import hashlib
import io
import json
import logging
import os
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.atomic import write_text
from studio.consistency import faces
from studio.errors import StudioError
from studio.render.plan import canonical_hash

log = logging.getLogger("studio.consistency")

STORE_ENV = "STUDIO_LIKENESSES"
RECORD = "likeness.json"
USES = "uses.json"
SCHEMA = "studio.likeness"
SCHEMA_VERSION = 1
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # the screenplay's id rule: `likeness: NAME`
MIN_FACE_PIXELS = 64  # narrower faces (in the photo's own pixels) give unreliable embeddings
WORK_SIDE = 1280  # photos are searched at most this large (longest side), faces measured in the original
FACE_SIZE = 256  # stored face crops, pixels square
FACE_PADDING = 0.25  # around the face, as a fraction of its size: the animatic's disc shows brow to chin
PHOTO_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp", "GIF": ".gif"}


class LikenessError(StudioError):
    """A likeness that cannot be enrolled, found or removed."""


def default_store_dir(explicit: str | Path | None = None) -> Path:
    """``explicit``, else ``$STUDIO_LIKENESSES``, else ``$XDG_DATA_HOME/studio/likenesses``
    (``~/.local/share/studio/likenesses``)."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(STORE_ENV)
    if env:
        return Path(env).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "studio" / "likenesses"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    return sha256_bytes(Path(path).read_bytes())


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Consent:
    """Who agreed to what, when, for which photos."""

    id: str
    person: str  # whose likeness it is
    statement: str  # their consent, in their words
    recorded_by: str  # user@host that enrolled it
    recorded_at: str  # ISO 8601, UTC
    photos: tuple[str, ...]  # SHA-256 of every photo

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "person": self.person, "statement": self.statement, "recorded_by": self.recorded_by,
                "recorded_at": self.recorded_at, "photos": list(self.photos)}


@dataclass(frozen=True)
class EnrolledPhoto:
    sha256: str
    photo: str  # relative to the likeness folder
    face: str  # the aligned face crop, relative to the likeness folder
    face_sha256: str
    box: tuple[int, int, int, int]  # the face in the photo's pixels
    score: float  # the detector's confidence
    embedding: tuple[float, ...]


@dataclass(frozen=True)
class Likeness:
    """An enrolled likeness, read from its folder."""

    name: str
    folder: Path
    consent: Consent
    photos: tuple[EnrolledPhoto, ...]
    inline: bool = False

    @property
    def embedding(self) -> tuple[float, ...]:
        """The mean of the photos' embeddings: the face QA compares against."""
        mean = np.mean(np.array([p.embedding for p in self.photos], dtype=np.float64), axis=0)
        return tuple(float(x) for x in mean)

    @property
    def best(self) -> EnrolledPhoto:
        """The photo whose face the detector was surest of: the face the animatic shows."""
        return max(self.photos, key=lambda p: (p.score, p.sha256))

    @property
    def face(self) -> Path:
        return self.folder / self.best.face

    @property
    def faces(self) -> list[Path]:
        return [self.folder / p.face for p in self.photos]

    def provenance(self) -> dict[str, str]:
        return {"name": self.name, "consent": self.consent.id, "person": self.consent.person,
                "recorded_at": self.consent.recorded_at}


def _consent_id(fields: dict[str, Any]) -> str:
    return "consent-" + canonical_hash(fields)[:16]


def _record(likeness_name: str, consent: Consent, photos: list[EnrolledPhoto], inline: bool) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "name": likeness_name,
        "inline": inline,
        "consent": consent.to_dict(),
        "photos": [
            {"sha256": p.sha256, "photo": p.photo, "face": p.face, "face_sha256": p.face_sha256, "box": list(p.box),
             "score": round(p.score, 4), "embedding": list(p.embedding)}
            for p in photos
        ],
    }


def read_likeness(folder: Path) -> Likeness:
    path = folder / RECORD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA or data.get("version") != SCHEMA_VERSION:
            raise ValueError(f"not a {SCHEMA} record of version {SCHEMA_VERSION}")
        c = data["consent"]
        consent = Consent(c["id"], c["person"], c["statement"], c["recorded_by"], c["recorded_at"],
                          tuple(c["photos"]))
        photos = tuple(
            EnrolledPhoto(p["sha256"], p["photo"], p["face"], p["face_sha256"], tuple(p["box"]), float(p["score"]),
                          tuple(float(x) for x in p["embedding"]))
            for p in data["photos"]
        )
        if not photos:
            raise ValueError("no photos")
        return Likeness(data["name"], folder, consent, photos, bool(data.get("inline")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LikenessError(f"the likeness record {path} is unreadable ({exc})",
                            hint=f"remove it (`studio likeness remove {folder.name}`) and enrol it again") from None


# --------------------------------------------------------------------------- photos


@dataclass(frozen=True)
class PhotoFace:
    """A photo checked for enrolment: its bytes, format and its one face."""

    data: bytes
    suffix: str
    face: faces.Face
    embedding: np.ndarray
    crop: np.ndarray


def _open_photo(path: Path, label: str) -> tuple[bytes, np.ndarray, str]:
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise LikenessError(f"{label}: is a folder, not a photo", hint="give the photo files themselves") from None
    except OSError as exc:
        raise LikenessError(f"{label}: cannot read the file ({exc.strerror or exc})",
                            hint="check the path and that you may read it") from None
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format or ""
            im = ImageOps.exif_transpose(im)  # phone photos are stored sideways with an orientation tag
            rgb = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        reason = "too large to be a photo" if isinstance(exc, Image.DecompressionBombError) else "not an image"
        raise LikenessError(f"{label}: {reason} (studio reads JPEG, PNG, WebP, TIFF, BMP and GIF)",
                            hint="give a photo file") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise LikenessError(f"{label}: the image is corrupt or truncated ({exc})",
                            hint="export the photo again, or use another") from None
    return data, rgb, PHOTO_SUFFIXES.get(fmt, ".img")


def find_face(image: np.ndarray, label: str) -> tuple[faces.Face, np.ndarray, np.ndarray]:
    """The one face in ``image`` (RGB): its box, embedding and aligned crop.
    No face, several faces or a face too small is a :class:`LikenessError`."""
    h, w = image.shape[:2]
    scale = min(1.0, WORK_SIDE / max(h, w))
    work = image
    if scale < 1.0:
        work = np.asarray(Image.fromarray(image).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                        Image.Resampling.LANCZOS))
    found = faces.detect(work, upsample=1)
    if not found:
        raise LikenessError(f"{label}: no face found",
                            hint="use a well-lit photo with one face looking at the camera")
    if len(found) > 1:
        raise LikenessError(f"{label}: {len(found)} faces found; a likeness photo must show exactly one person",
                            hint="crop the photo to the one face, or use another photo")
    face = found[0]
    if scale < 1.0:  # measure and read the face in the photo's own pixels
        l, t, r, b = face.box
        face = faces.Face((round(l / scale), round(t / scale), round(r / scale), round(b / scale)), face.score)
    if face.width < MIN_FACE_PIXELS:
        raise LikenessError(f"{label}: the face is too small ({face.width} pixels wide; at least "
                            f"{MIN_FACE_PIXELS} are needed)",
                            hint="use a closer or larger photo of the face")
    return face, faces.embed(image, face), faces.chip(image, face, FACE_SIZE, FACE_PADDING)


def check_photo(path: Path, label: str | None = None) -> PhotoFace:
    """Read ``path`` and find its one face (a :class:`LikenessError` otherwise)."""
    label = label or str(path)
    data, rgb, suffix = _open_photo(Path(path), label)
    face, embedding, crop = find_face(rgb, label)
    return PhotoFace(data, suffix, face, embedding, crop)


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _check_all(photos: list[Path], labels: list[str]) -> list[PhotoFace]:
    """Every photo checked; all their problems reported together."""
    if not photos:
        raise LikenessError("no photos given", hint="give one or more photos, each showing the person's face")
    checked: list[PhotoFace] = []
    problems: list[LikenessError] = []
    for path, label in zip(photos, labels):
        try:
            checked.append(check_photo(path, label))
        except LikenessError as exc:
            problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        lines = [str(p).split("\n  fix: ")[0] + (f" (fix: {p.hint})" if p.hint else "") for p in problems]
        raise LikenessError(f"{len(problems)} of {len(photos)} photos cannot be used:\n" +
                            "\n".join(f"  {line}" for line in lines))
    return checked


def _write_folder(tmp: Path, likeness_name: str, checked: list[PhotoFace], consent_fields: dict[str, Any],
                  inline: bool, keep_photos: bool, id_fields: tuple[str, ...]) -> Likeness:
    """Write the likeness into the empty folder ``tmp``. The consent id covers
    ``id_fields`` of ``consent_fields`` and the photos' hashes."""
    if keep_photos:
        (tmp / "photos").mkdir(mode=0o700)
    (tmp / "faces").mkdir(mode=0o700)
    enrolled: list[EnrolledPhoto] = []
    for pf in checked:
        sha = sha256_bytes(pf.data)
        photo_rel = f"photos/{sha[:16]}{pf.suffix}"
        if keep_photos:
            (tmp / photo_rel).write_bytes(pf.data)
        png = _png(pf.crop)
        face_sha = sha256_bytes(png)
        face_rel = f"faces/{face_sha[:16]}.png"
        (tmp / face_rel).write_bytes(png)
        enrolled.append(EnrolledPhoto(sha, photo_rel if keep_photos else "", face_rel, face_sha, pf.face.box,
                                      pf.face.score, tuple(float(x) for x in pf.embedding)))
    fields = dict(consent_fields, photos=[p.sha256 for p in enrolled])
    consent = Consent(_consent_id({k: fields[k] for k in (*id_fields, "photos")}), fields["person"],
                      fields["statement"], fields["recorded_by"], fields["recorded_at"], tuple(fields["photos"]))
    write_text(tmp / RECORD, json.dumps(_record(likeness_name, consent, enrolled, inline), indent=2) + "\n")
    return Likeness(likeness_name, tmp, consent, tuple(enrolled), inline)


def _recorder() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


# --------------------------------------------------------------------------- the store


class LikenessStore:
    """The enrolled likenesses under ``root`` (see :func:`default_store_dir`)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else default_store_dir()

    def folder(self, name: str) -> Path:
        return self.root / name

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / RECORD).is_file() and not p.name.startswith("."))

    def list(self) -> list[Likeness]:
        return [read_likeness(self.folder(n)) for n in self.names()]

    def get(self, name: str) -> Likeness:
        """The likeness ``name``; an unknown name is an error listing the enrolled ones."""
        if NAME_PATTERN.match(name) and (self.folder(name) / RECORD).is_file():
            return read_likeness(self.folder(name))
        enrolled = self.names()
        raise LikenessError(
            f"no likeness {name!r} is enrolled (store: {self.root})",
            hint=(f"enrolled likenesses: {', '.join(enrolled)}" if enrolled else "none are enrolled yet")
            + f"; enrol one with `studio likeness add {name} PHOTO... --consent \"...\"`",
        )

    def add(self, name: str, photos: list[Path], consent: str, person: str | None = None) -> Likeness:
        """Enrol ``photos`` of one person as ``name``, with their consent statement."""
        if not NAME_PATTERN.match(name):
            raise LikenessError(f"{name!r} is not a likeness name",
                                hint="use lower-case letters, digits, '-' and '_', starting with a letter or digit "
                                     "(a screenplay casts it as `likeness: NAME`)")
        statement = " ".join(consent.split())
        if not statement:
            raise LikenessError("the consent statement is empty",
                                hint='give the person\'s consent in their words: --consent "I agree to ..."')
        if (self.folder(name) / RECORD).exists():
            raise LikenessError(f"a likeness {name!r} is already enrolled",
                                hint=f"remove it first (`studio likeness remove {name}`) or choose another name")
        checked = _check_all([Path(p) for p in photos], [str(p) for p in photos])
        fields = {"person": person or name, "statement": statement, "recorded_by": _recorder(),
                  "recorded_at": datetime.now(UTC).isoformat(timespec="seconds")}
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".part", dir=self.root))
        try:
            _write_folder(tmp, name, checked, fields, inline=False, keep_photos=True, id_fields=tuple(fields))
            os.rename(tmp, self.folder(name))  # a folder appears whole or not at all
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return read_likeness(self.folder(name))

    def remove(self, name: str) -> tuple[Likeness, list[Path]]:
        """Delete ``name``'s photos, faces and embeddings; return the likeness as it was and
        the caches that used it (their entries are dropped by :func:`forget_likeness`)."""
        likeness = self.get(name)
        caches = used_in(likeness)
        _delete_folder(likeness.folder)
        return likeness, caches


def _delete_folder(folder: Path) -> None:
    """Move the folder aside first so a half-deleted likeness is never read."""
    trash = folder.with_name(f".{folder.name}.{os.getpid()}.removing")
    os.rename(folder, trash)
    shutil.rmtree(trash)


# --------------------------------------------------------------------------- uses


def record_use(likeness: Likeness, cache_root: Path) -> None:
    """Remember that the cache at ``cache_root`` holds shots rendered with ``likeness``."""
    path = likeness.folder / USES
    roots = {str(p) for p in used_in(likeness)}
    root = str(Path(cache_root).resolve())
    if root in roots:
        return
    try:
        write_text(path, json.dumps({"caches": sorted(roots | {root})}, indent=2) + "\n")
    except OSError as exc:  # a read-only store still renders; removal then checks the default cache
        log.warning("cannot record that %s uses likeness %s (%s)", root, likeness.name, exc)


def used_in(likeness: Likeness) -> list[Path]:
    try:
        data = json.loads((likeness.folder / USES).read_text(encoding="utf-8"))
        return [Path(p) for p in data.get("caches", [])]
    except (OSError, ValueError, AttributeError):
        return []


def use_tag(likeness: Likeness) -> str:
    """How the cache manifest tags entries rendered with ``likeness``."""
    return f"likeness:{likeness.consent.id}"


# --------------------------------------------------------------------------- inline likenesses


def inline_dir(cache_root: Path) -> Path:
    return Path(cache_root) / "likenesses"


def enrol_inline(photos: list[Path], labels: list[str], consent: str, person: str, cache_root: Path) -> Likeness:
    """A screenplay's inline likeness (``{photos, consent}``), enrolled once into the
    cache under a name made of its photos' hashes and statement."""
    statement = " ".join(consent.split())
    if not statement:
        raise LikenessError("the likeness's consent statement is empty",
                            hint="give the person's consent in their words")
    hashes = []
    for path, label in zip(photos, labels):
        try:
            hashes.append(file_sha256(path))
        except OSError as exc:
            raise LikenessError(f"{label}: cannot read the file ({exc.strerror or exc})",
                                hint="photo paths are relative to the screenplay") from None
    name = "inline-" + canonical_hash({"photos": hashes, "statement": statement})[:16]
    root = inline_dir(cache_root)
    folder = root / name
    if (folder / RECORD).is_file():
        return read_likeness(folder)
    checked = _check_all(photos, labels)
    fields = {"person": person, "statement": statement, "recorded_by": _recorder(),
              "recorded_at": datetime.now(UTC).isoformat(timespec="seconds")}
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".part", dir=root))
    try:
        # the id cites the content only: the same photos and words are the same consent
        _write_folder(tmp, name, checked, fields, inline=True, keep_photos=False, id_fields=("person", "statement"))
        try:
            os.rename(tmp, folder)
        except OSError:  # another render enrolled it first
            if not (folder / RECORD).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return read_likeness(folder)


def find_inline(name: str, cache_root: Path) -> Likeness | None:
    folder = inline_dir(cache_root) / name
    ok = name.startswith("inline-") and NAME_PATTERN.match(name) and (folder / RECORD).is_file()
    return read_likeness(folder) if ok else None


def remove_inline(name: str, cache_root: Path) -> Likeness | None:
    likeness = find_inline(name, cache_root)
    if likeness is not None:
        _delete_folder(likeness.folder)
    return likeness


def removed_log(root: Path) -> Path:
    return root / "removed.jsonl"


def log_removal(root: Path, likeness: Likeness, dropped: int) -> None:
    """A line per removal (name, consent id, when; no face data), kept as evidence that
    a withdrawn consent was honoured."""
    root.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"name": likeness.name, "consent": likeness.consent.id, "removed_at":
                       datetime.now(UTC).isoformat(timespec="seconds"), "cached_shots_dropped": dropped})
    with open(removed_log(root), "a", encoding="utf-8") as f:
        f.write(line + "\n")
