"""Turn loaded YAML into a validated :class:`Screenplay`, or every problem at once.

Two passes over the same data:

1. structure, by the pydantic models (types, ranges, unknown keys);
2. meaning, over the raw data so it runs even when pass 1 failed elsewhere
   (undefined characters and locations, duplicate ids, shot coverage, asset paths).

Each problem carries the file, line, column, the field path and, where we can guess
one, a fix ("did you mean 'mara'?").
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from studio.errors import Problem, ScreenplayError
from studio.screenplay.model import (
    ActionBeat,
    DialogueBeat,
    Screenplay,
    TransitionBeat,
    _beat_kind,
)
from studio.screenplay.safe_yaml import Path_, SourceMap

_ID_LISTS = ("characters", "locations", "scenes", "shots")


def suggest(word: Any, choices: list[str]) -> str:
    """'did you mean ...?' for the closest choice, or ''."""
    if not isinstance(word, str) or not choices:
        return ""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
        close = [c for c in choices if close and c.lower() == close[0]]
    return f"did you mean {close[0]!r}?" if close else ""


def display_path(data: Any, path: Path_) -> str:
    """A field path for people: list items by id when they have one, else 1-based."""
    out = ""
    node = data
    for part in path:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            label = item.get("id") if isinstance(item, dict) else None
            out += f"[{label}]" if isinstance(label, str) and label else f"[{part + 1}]"
            node = item
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


class _Checker:
    def __init__(self, data: Any, source: SourceMap) -> None:
        self.data = data
        self.source = source
        self.problems: list[Problem] = list(source.problems)

    def add(self, path: Path_, message: str, hint: str = "", *, key: bool = False, severity: str = "error") -> None:
        line, column = self.source.locate(path, key=key)
        problem = Problem(
            message=message,
            file=self.source.file,
            line=line,
            column=column,
            field=display_path(self.data, path),
            hint=hint,
            severity=severity,
        )
        if problem not in self.problems:
            self.problems.append(problem)


# --------------------------------------------------------------------------- pass 1


def _clean_loc(data: Any, loc: tuple[Any, ...]) -> Path_:
    """Drop union tags and other model-internal names from a pydantic error location."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            out.append(part)
            node = node[part] if 0 <= part < len(node) else None
        elif isinstance(part, str) and isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict) and part not in node:
            # a missing field is named by the error itself; union tags are skipped
            if part in _model_fields_at(data, tuple(out)):
                out.append(part)
                node = None
        # else: a tag such as 'dialogue' or 'str'
    return tuple(out)


def _unwrap(tp: Any) -> list[Any]:
    """The classes a (possibly Annotated/Optional/Union/list) annotation can hold."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out += _unwrap(arg)
        return out
    return [tp]


def _model_at(data: Any, path: Path_) -> type[BaseModel] | None:
    model: Any = Screenplay
    node = data
    container = False  # walking inside a list annotation
    annotation: Any = None
    for part in path:
        if isinstance(part, str):
            if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
                return None
            annotation = model.model_fields[part].annotation
            node = node.get(part) if isinstance(node, dict) else None
        else:
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            container = True
        candidates = [c for c in _unwrap(annotation) if c is not type(None)]
        if container:
            lists = [c for c in candidates if typing.get_origin(c) is list]
            candidates = _unwrap(typing.get_args(lists[0])[0]) if lists else []
            container = False
        elif any(typing.get_origin(c) is list for c in candidates):
            model = None
            continue
        models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if len(models) > 1:
            kind = _beat_kind(node)
            by_kind = {"beat:action": ActionBeat, "beat:dialogue": DialogueBeat, "beat:transition": TransitionBeat}
            model = by_kind.get(kind or "") if ActionBeat in models else (models[0] if isinstance(node, dict) else None)
        else:
            model = models[0] if models else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _model_fields_at(data: Any, path: Path_) -> list[str]:
    model = _model_at(data, path)
    return list(model.model_fields) if model else []


_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _pattern_words(field: str) -> tuple[str, str]:
    if field == "resolution":
        return "a size like 854x480", "write WIDTHxHEIGHT"
    if field == "key":
        return "a musical key like 'D minor' or 'F#'", ""
    return (
        "an id: lower-case letters, digits, '-' and '_'",
        "e.g. 'mara', 's2', 'old-harbour'",
    )


def _structure(checker: _Checker) -> Screenplay | None:
    try:
        return Screenplay.model_validate(checker.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    for err in errors:
        kind = err["type"]
        path = _clean_loc(checker.data, tuple(err["loc"]))
        field = next((p for p in reversed(path) if isinstance(p, str)), "")
        value = err.get("input")
        ctx = err.get("ctx") or {}
        if kind == "extra_forbidden":
            allowed = _model_fields_at(checker.data, path[:-1])
            hint = suggest(field, allowed) or (f"allowed keys: {', '.join(allowed)}" if allowed else "")
            checker.add(path, f"unknown key {field!r}", hint, key=True)
        elif kind == "missing":
            checker.add(path, f"missing required field {field!r}", key=True)
        elif kind == "enum" or kind == "literal_error":
            expected = ctx.get("expected", "")
            choices = [c.strip(" '") for c in expected.replace(" or ", ", ").split(",") if c.strip()]
            checker.add(path, f"{_shown(value)} is not a valid {field}; expected {expected}", suggest(value, choices))
        elif kind == "string_pattern_mismatch":
            what, hint = _pattern_words(field)
            checker.add(path, f"{_shown(value)} is not {what}", hint)
        elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            bound = {"greater_than": "greater than", "greater_than_equal": "at least",
                     "less_than": "less than", "less_than_equal": "at most"}[kind]
            limit = next(iter(ctx.values()), "")
            unit = " seconds" if field == "duration" else ""
            checker.add(path, f"{field} must be {bound} {limit}{unit} (got {_shown(value)})")
        elif kind in ("too_short", "string_too_short"):
            checker.add(path, f"{field or 'this'} must not be empty")
        elif kind in ("too_long", "string_too_long"):
            checker.add(path, f"{field or 'this'} is too long ({err['msg'].lower()})")
        elif kind in _TYPE_WORDS:
            checker.add(path, f"expected {_TYPE_WORDS[kind]}, got {_shown(value)}")
        elif kind == "beat_kind":
            checker.add(path, "a beat needs 'action', 'speaker' with 'line', or 'transition'",
                        "e.g. `- action: Rain hammers the glass.`")
        else:
            checker.add(path, err["msg"])
    return None


# --------------------------------------------------------------------------- pass 2


def _items(node: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    seq = node.get(key) if isinstance(node, dict) else None
    if not isinstance(seq, list):
        return []
    return [(i, item) for i, item in enumerate(seq) if isinstance(item, dict)]


def _ids(checker: _Checker, path: Path_, items: list[tuple[int, dict[str, Any]]], what: str,
         seen: dict[str, Path_] | None = None) -> list[str]:
    seen = {} if seen is None else seen
    out: list[str] = []
    for i, item in items:
        ident = item.get("id")
        if not isinstance(ident, str):
            continue
        if ident in seen:
            line = checker.source.locate(seen[ident] + ("id",))[0]
            checker.add(path + (i, "id"), f"duplicate {what} id {ident!r} (first used at line {line})",
                        "give each one its own id")
        else:
            seen[ident] = path + (i,)
            out.append(ident)
    return out


def _meaning(checker: _Checker, base_dir: Path | None, allow_outside: bool) -> None:
    data = checker.data
    characters = _ids(checker, ("characters",), _items(data, "characters"), "character")
    locations = _ids(checker, ("locations",), _items(data, "locations"), "location")
    _ids(checker, ("scenes",), _items(data, "scenes"), "scene")
    shot_ids: dict[str, Path_] = {}

    known_sets: dict[int, frozenset[str]] = {}  # a set per id list: lookups stay O(1) in a long film

    def need(path: Path_, value: Any, known: list[str], what: str, context: str) -> None:
        ids = known_sets.get(id(known))
        if ids is None:
            ids = known_sets[id(known)] = frozenset(known)
        if isinstance(value, str) and value not in ids:
            hint = suggest(value, known) or (
                f"define it under {what}s" if not known else f"known {what}s: {', '.join(known[:8])}"
            )
            checker.add(path, f"unknown {what} {value!r}{context}", hint)

    film = data.get("film") if isinstance(data.get("film"), dict) else {}
    resolution = film.get("resolution")
    if isinstance(resolution, str) and "x" in resolution:
        parts = resolution.split("x")
        if all(p.isdigit() for p in parts) and any(int(p) % 2 for p in parts):
            checker.add(("film", "resolution"), f"{resolution} has an odd side; H.264 needs even sizes",
                        "e.g. 854x480, 1280x720")
        elif len(parts) == 2 and all(p.isdigit() for p in parts):
            too_big = frame_size_problem(int(parts[0]), int(parts[1]))
            if too_big:
                checker.add(("film", "resolution"), too_big, "at most 8192x4320 (8K); e.g. 1920x1080, 3840x2160")

    for i, char in _items(data, "characters"):
        name = char.get("name")
        if isinstance(name, str) and name and not any(ch.isprintable() and not ch.isspace() for ch in name):
            checker.add(("characters", i, "name"), f"the name {name!r} has no visible character",
                        "write the character's name, e.g. 'Mara Vell'")
        for field, value in (("likeness", char.get("likeness")),):
            if isinstance(value, dict):
                for j, photo in enumerate(value.get("photos") or []):
                    _asset(checker, ("characters", i, field, "photos", j), photo, base_dir, allow_outside)
        for j, ref in enumerate(char.get("references") or [] if isinstance(char.get("references"), list) else []):
            _asset(checker, ("characters", i, "references", j), ref, base_dir, allow_outside)
        for j, lora in enumerate(char.get("loras") if isinstance(char.get("loras"), list) else []):
            if isinstance(lora, dict):
                _lora_source(checker, ("characters", i, "loras", j, "source"), lora.get("source"), base_dir,
                             allow_outside)
    for i, loc in _items(data, "locations"):
        refs = loc.get("references")
        for j, ref in enumerate(refs if isinstance(refs, list) else []):
            _asset(checker, ("locations", i, "references", j), ref, base_dir, allow_outside)

    first_shot = True
    for i, scene in _items(data, "scenes"):
        sid = scene.get("id") if isinstance(scene.get("id"), str) else f"#{i + 1}"
        where = f" in scene {sid}"
        need(("scenes", i, "location"), scene.get("location"), locations, "location", where)
        present = scene.get("characters") if isinstance(scene.get("characters"), list) else []
        for j, c in enumerate(present):
            need(("scenes", i, "characters", j), c, characters, "character", where)
        beats = scene.get("beats") if isinstance(scene.get("beats"), list) else []
        beat_ids: dict[str, int] = {}
        for j, beat in enumerate(beats):
            if not isinstance(beat, dict):
                continue
            if "speaker" in beat:
                need(("scenes", i, "beats", j, "speaker"), beat.get("speaker"), characters, "character", where)
            bid = beat.get("id")
            if isinstance(bid, str):
                if bid in beat_ids:
                    checker.add(("scenes", i, "beats", j, "id"), f"duplicate beat id {bid!r}{where}",
                                "give each beat its own id")
                beat_ids.setdefault(bid, j)
        shots = scene.get("shots")
        if not isinstance(shots, list):
            if not beats:
                checker.add(("scenes", i), f"scene {sid} has no beats and no shots; it will be one establishing shot",
                            "add action or dialogue beats", severity="warning")
            first_shot = False  # derived shots are cuts
            continue
        covered: dict[int, Path_] = {}
        for k, shot in enumerate(shots):
            if not isinstance(shot, dict):
                continue
            spath: Path_ = ("scenes", i, "shots", k)
            ident = shot.get("id")
            if isinstance(ident, str):
                if ident in shot_ids:
                    line = checker.source.locate(shot_ids[ident] + ("id",))[0]
                    checker.add(spath + ("id",), f"duplicate shot id {ident!r} (first used at line {line})",
                                "give each shot its own id")
                else:
                    shot_ids[ident] = spath
            for m, subject in enumerate(shot.get("subjects") or [] if isinstance(shot.get("subjects"), list) else []):
                need(spath + ("subjects", m), subject, characters, "character", f" in shot {ident}")
            if first_shot and shot.get("continuity") == "continuous":
                checker.add(spath + ("continuity",), "the film's first shot cannot continue a shot before it",
                            "use 'cut'")
            first_shot = False
            refs = shot.get("covers") if isinstance(shot.get("covers"), list) else []
            for m, ref in enumerate(refs):
                index: int | None = None
                if isinstance(ref, bool):
                    continue
                if isinstance(ref, int):
                    if 1 <= ref <= len(beats):
                        index = ref - 1
                    else:
                        checker.add(spath + ("covers", m), f"scene {sid} has no beat {ref} (it has {len(beats)})",
                                    "beat numbers count from 1")
                elif isinstance(ref, str):
                    if ref in beat_ids:
                        index = beat_ids[ref]
                    else:
                        checker.add(spath + ("covers", m), f"unknown beat id {ref!r}{where}",
                                    suggest(ref, list(beat_ids)) or "give the beat an `id:` first")
                if index is not None:
                    if index in covered:
                        line = checker.source.locate(covered[index])[0]
                        checker.add(spath + ("covers", m), f"beat {index + 1} of scene {sid} is already covered "
                                    f"by the shot at line {line}", "a beat belongs to one shot")
                    else:
                        covered[index] = spath + ("covers", m)
        if len(shots) > 1:
            for j, beat in enumerate(beats):
                if isinstance(beat, dict) and "speaker" in beat and j not in covered:
                    checker.add(("scenes", i, "beats", j),
                                f"dialogue beat {j + 1} of scene {sid} is not covered by any shot",
                                "list it in one shot's `covers`")


# H.264 level 6.2 (ITU-T H.264 Table A-1), the highest level: a frame holds at most
# 139,264 macroblocks of 16x16 pixels (8192x4320 is 138,240), and no side is longer than
# sqrt(8 * MaxFS) macroblocks (Annex A.3.1), 16,880 pixels.
H264_MAX_MACROBLOCKS = 139_264
H264_MAX_SIDE = int((8 * H264_MAX_MACROBLOCKS) ** 0.5) * 16
# what one frame may take as 8-bit RGB in memory while it is drawn and piped to the encoder
FRAME_BYTES_BUDGET = 128 * 1024 * 1024


def frame_size_problem(width: int, height: int) -> str:
    """Why an H.264 encoder (and the renderer's memory) cannot take ``width`` x
    ``height`` frames, or '' when it can."""
    macroblocks = -(-width // 16) * -(-height // 16)
    if max(width, height) > H264_MAX_SIDE:
        return f"{width}x{height} has a side over {H264_MAX_SIDE} pixels, beyond H.264 (level 6.2)"
    if macroblocks > H264_MAX_MACROBLOCKS:
        return (f"{width}x{height} is {macroblocks} macroblocks a frame, beyond H.264 level 6.2 "
                f"({H264_MAX_MACROBLOCKS})")
    if width * height * 3 > FRAME_BYTES_BUDGET:
        return f"{width}x{height} frames take over {FRAME_BYTES_BUDGET // 2**20} MiB each"
    return ""


def _asset(checker: _Checker, path: Path_, value: Any, base_dir: Path | None, allow_outside: bool, *,
           what: str = "assets", folder_ok: bool = False) -> None:
    if not isinstance(value, str) or base_dir is None:
        return
    try:
        resolved = resolve_asset(value, base_dir, allow_outside=allow_outside)
    except ValueError as exc:
        checker.add(path, str(exc), f"keep {what} inside the screenplay's folder, or pass --allow-outside-assets")
        return
    if not (resolved.exists() if folder_ok else resolved.is_file()):
        checker.add(path, f"file not found: {value}", f"looked for {resolved}")


def _lora_source(checker: _Checker, path: Path_, value: Any, base_dir: Path | None, allow_outside: bool) -> None:
    """A character LoRA's source: a file or folder inside the screenplay's folder (as assets
    are), or a hub id."""
    from studio.loras import HUB_ID, looks_local

    if not isinstance(value, str) or not value:
        return
    if not looks_local(value, base_dir):
        if not HUB_ID.match(value):
            checker.add(path, f"LoRA source {value!r} is neither a file nor a hub id",
                        "a .safetensors file or folder relative to the screenplay, or org/name")
        return
    _asset(checker, path, value, base_dir, allow_outside, what="LoRA files", folder_ok=True)


def resolve_asset(value: str, base_dir: Path, *, allow_outside: bool = False) -> Path:
    """Resolve an asset path relative to the screenplay; refuse to leave its folder.

    Raises ValueError with a message for people when the path leaves ``base_dir``.
    """
    base = base_dir.resolve()
    candidate = Path(value).expanduser()
    resolved = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if not allow_outside and not resolved.is_relative_to(base):
        raise ValueError(f"{value!r} leaves the screenplay's folder ({base})")
    return resolved


def validate(
    data: Any,
    source: SourceMap,
    *,
    base_dir: Path | None = None,
    allow_outside: bool = False,
) -> tuple[Screenplay, list[Problem]]:
    """Validate loaded data; return the screenplay and its warnings, or raise
    :class:`ScreenplayError` with every problem found."""
    checker = _Checker(data, source)
    if not isinstance(data, dict):
        checker.add((), f"expected a mapping with version, film, characters, locations and scenes; got {_shown(data)}",
                    "start from `studio new NAME`")
        raise ScreenplayError(checker.problems, source.file)
    version = data.get("version")
    if version is not None and (type(version) is not int or version != 1):
        checker.add(("version",), f"unsupported format version {_shown(version)}; this studio reads version 1",
                    "set `version: 1`")
        raise ScreenplayError(checker.problems, source.file)
    screenplay = _structure(checker)
    _meaning(checker, base_dir, allow_outside)
    errors = [p for p in checker.problems if p.severity == "error"]
    if errors or screenplay is None:
        raise ScreenplayError(checker.problems, source.file)
    return screenplay, [p for p in checker.problems if p.severity == "warning"]
