"""The web studio's screenplay editor, apart from HTTP: the file's text and digest,
checking an edit as `studio check` does (nothing written), completion words, and
saving.

The editor checks text it has not saved: :func:`check_text` parses it as the file
would be read (YAML, or Fountain through the importer, by the file's suffix) and
returns every problem with its line and column, the scenes and shots with the lines
they start on (the editor shows the shots of the scene under the cursor), and the ids
the text defines (for completion). :func:`save_text` writes the file atomically, and
only over the version the editor loaded: a file changed on disk since is a conflict
(409) the writer resolves by reloading or overwriting.
"""

from __future__ import annotations

import hashlib
import stat
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from studio.atomic import write_text
from studio.errors import Problem, ScreenplayError, StudioError
from studio.screenplay.safe_yaml import MAX_BYTES
from studio.web.safety import WebError

FOUNTAIN_SUFFIXES = (".fountain",)
# the fields whose values are ids, and the kind of id each takes (the completion lists)
ID_FIELDS = {"speaker": "characters", "characters": "characters", "subjects": "characters",
             "location": "locations", "covers": "beats", "likeness": "likenesses", "model": "models"}


def mode_of(path: Path) -> str:
    return "fountain" if path.suffix.lower() in FOUNTAIN_SUFFIXES else "yaml"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_source(path: Path) -> tuple[str, str]:
    """The screenplay file's text and the digest of its bytes. Only a regular file,
    at most MAX_BYTES, in UTF-8."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise WebError(f"{path.name} is not a regular file", status=409)
        if st.st_size > MAX_BYTES:
            raise WebError(f"{path.name} is {st.st_size} bytes, over the {MAX_BYTES} byte limit", status=409)
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise WebError(f"{path.name} is not there any more", status=404,
                       hint="save to write it again") from None
    except OSError as exc:
        raise WebError(f"cannot read {path.name}: {exc.strerror}", status=409) from None
    try:
        return raw.decode("utf-8"), digest(raw)
    except UnicodeDecodeError as exc:
        raise WebError(f"{path.name} is not UTF-8 text (byte {exc.start})", status=409,
                       hint="convert it to UTF-8, or edit it in another editor") from None


def disk_digest(path: Path) -> str | None:
    try:
        return read_source(path)[1]
    except WebError:
        return None


def _parse(text: str, path: Path) -> tuple[Any, Any]:
    """(data, source map) of ``text`` read as ``path`` would be; a ScreenplayError if
    it does not even parse."""
    if mode_of(path) == "fountain":
        from studio.screenplay.fountain_import import import_fountain

        imported = import_fountain(text, path.name)
        return imported.data, imported.source
    from studio.screenplay.safe_yaml import load_yaml

    return load_yaml(text, path.name)


def _problem(p: Problem) -> dict[str, Any]:
    return {"line": max(p.line, 1), "column": max(p.column, 1), "message": p.message, "hint": p.hint,
            "field": p.field, "severity": p.severity, "text": str(p)}


def _ids(data: Any) -> dict[str, list[str]]:
    """The ids the text defines, even when it does not validate (completion while writing)."""
    def ids_in(items: Any) -> list[str]:
        if not isinstance(items, list):
            return []
        return [i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)]

    data = data if isinstance(data, dict) else {}
    scenes = data.get("scenes") if isinstance(data.get("scenes"), list) else []
    beats = [b for s in scenes if isinstance(s, dict) for b in ids_in(s.get("beats"))]
    return {"characters": ids_in(data.get("characters")), "locations": ids_in(data.get("locations")),
            "scenes": ids_in(scenes), "beats": beats}


def check_text(text: str, path: Path, *, allow_outside: bool = False) -> dict[str, Any]:
    """Check ``text`` as the contents of ``path``, as `studio check` does (parse,
    validate, plan the shots, voices), writing nothing. Returns the problems (1-based
    line and column), the scenes and shots with their lines, the ids it defines and
    the seconds the check took."""
    from studio.graph.scene_graph import SceneGraph
    from studio.screenplay.validate import validate

    started = time.perf_counter()
    problems: list[Problem] = []
    data: Any = None
    scenes: list[dict[str, Any]] = []
    shots: list[dict[str, Any]] = []
    try:
        data, source = _parse(text, path)
        if isinstance(data, dict) and isinstance(data.get("scenes"), list):
            for index, scene in enumerate(data["scenes"]):
                if isinstance(scene, dict) and isinstance(scene.get("id"), str):
                    scenes.append({"id": scene["id"], "line": source.locate(("scenes", index))[0]})
        screenplay, warnings = validate(data, source, base_dir=path.parent, allow_outside=allow_outside)
        screenplay._source = source
        graph = SceneGraph.from_screenplay(screenplay)
        shots = [{"id": s.id, "scene": s.scene, "line": s.source_line} for s in graph.shots]
        problems = list(warnings) + _voice_problems(screenplay)
    except ScreenplayError as exc:
        problems = list(exc.problems)
    except StudioError as exc:
        problems = [Problem(str(exc), file=path.name)]
    return {"problems": [_problem(p) for p in problems],
            "ok": not any(p.severity == "error" for p in problems),
            "scenes": scenes, "shots": shots, "ids": _ids(data),
            "seconds": round(time.perf_counter() - started, 4)}


def _voice_problems(screenplay: Any) -> list[Problem]:
    from studio.audio.voices import check_voices

    return [p for p in check_voices(screenplay) if p.severity == "error"]


@lru_cache(maxsize=1)
def schema_keys() -> dict[str, list[str]]:
    """The keys the JSON Schema allows, by the key they sit under (``""``: the top
    level; ``beats``: any beat's keys), for completion."""
    from studio.screenplay.schema import screenplay_schema

    schema = screenplay_schema()
    defs = schema.get("$defs", {})

    def objects(node: Any, seen: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        if not isinstance(node, dict):
            return []
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return [] if name in seen else objects(defs.get(name), seen | {name})
        found = [node] if "properties" in node else []
        for key in ("anyOf", "oneOf", "allOf"):
            for option in node.get(key, []):
                found += objects(option, seen)
        for key in ("items", "additionalProperties"):
            found += objects(node.get(key), seen)
        return found

    keys: dict[str, list[str]] = {"": list(schema.get("properties", {}))}
    pending = [schema]
    visited: set[int] = set()
    while pending:
        node = pending.pop()
        for name, sub in node.get("properties", {}).items():
            for child in objects(sub):
                if id(child) in visited:
                    continue
                visited.add(id(child))
                keys.setdefault(name, [])
                keys[name] += [k for k in child["properties"] if k not in keys[name]]
                pending.append(child)
    return keys


def completion_words() -> dict[str, Any]:
    """The editor's completion lists that do not come from the text: schema keys, the
    fields that take ids, enrolled likenesses and the model registry's names."""
    likenesses: list[str] = []
    models: list[str] = []
    try:
        from studio.consistency.likeness import LikenessStore

        likenesses = [getattr(item, "name", str(item)) for item in LikenessStore().list()]
    except (StudioError, OSError):
        pass
    try:
        from studio.models import Registry

        models = Registry.default().names("")
    except (StudioError, OSError, TypeError):
        pass
    return {"keys": schema_keys(), "id_fields": ID_FIELDS, "likenesses": likenesses, "models": models}


def save_text(path: Path, text: str, base: str | None) -> str:
    """Write ``text`` to ``path`` atomically, if the file on disk is still the one
    the editor loaded (digest ``base``; None: the file did not exist). Returns the new
    digest. A changed file is a 409 carrying the digest on disk (overwrite: save again
    with that digest as ``base``)."""
    data = text.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise WebError(f"the screenplay is {len(data)} bytes, over the {MAX_BYTES} byte limit", status=413)
    target = save_target(path)
    on_disk = disk_digest(path)
    if on_disk != base:
        raise ConflictError(on_disk)
    write_text(target, text)
    return digest(data)


def save_target(path: Path) -> Path:
    """Where saving ``path`` writes. A screenplay that is a symbolic link stays one:
    the save writes through to the file it points at, if that file is inside the
    film's folder; a link out of the folder (or to no file) is refused, rather than
    replaced by a plain file (the atomic rename would replace the link itself)."""
    if not path.is_symlink():
        return path
    folder = path.parent.resolve()
    target = path.resolve()
    if not target.is_relative_to(folder):
        raise WebError(f"{path.name} is a link to a file outside the film's folder: not saved", status=409,
                       hint=f"edit {target.name} where it is, or replace the link with a copy of it")
    if not target.is_file():
        raise WebError(f"{path.name} is a link to {target.name}, which is not a plain file: not saved",
                       status=409, hint="point the link at the screenplay file, or replace it with a copy")
    return target


class ConflictError(WebError):
    """The file changed on disk since the editor loaded it."""

    def __init__(self, on_disk: str | None) -> None:
        super().__init__("the file changed on disk since you loaded it (another editor saved it?)", status=409,
                         hint="reload it (your edits here are lost) or overwrite it (its changes are lost)")
        self.on_disk = on_disk
