"""The screenplay: its YAML format, safe loading, validation and JSON Schema."""

from __future__ import annotations

from pathlib import Path

from studio.screenplay.model import FORMAT_VERSION, Screenplay
from studio.screenplay.reading import read_screenplay_bytes
from studio.screenplay.safe_yaml import SourceMap, load_yaml
from studio.screenplay.validate import resolve_asset, validate

__all__ = [
    "FORMAT_VERSION",
    "Screenplay",
    "SourceMap",
    "load_screenplay",
    "parse_screenplay",
    "resolve_asset",
]


def parse_screenplay(
    text: str | bytes,
    file: str = "<input>",
    *,
    base_dir: Path | None = None,
    allow_outside: bool = False,
) -> Screenplay:
    """Parse and validate screenplay text. Raises :class:`ScreenplayError`."""
    data, source = load_yaml(text, file)
    screenplay, warnings = validate(data, source, base_dir=base_dir, allow_outside=allow_outside)
    screenplay._source = source
    screenplay._warnings = warnings
    screenplay._base_dir = base_dir
    screenplay._allow_outside = allow_outside
    return screenplay


def load_screenplay(path: str | Path, *, allow_outside: bool = False) -> Screenplay:
    """Read, parse and validate a screenplay file: YAML, or Fountain when the name
    ends in ``.fountain``, or Final Draft when it ends in ``.fdx`` (converted, then
    validated the same way; problems point at the file's lines).

    Asset paths resolve relative to the file's folder and may not leave it unless
    ``allow_outside`` is set (the user said so on the command line).
    """
    path = Path(path)
    raw = read_screenplay_bytes(path)
    if path.suffix.lower() == ".fountain":
        from studio.screenplay.fountain_import import parse_fountain

        return parse_fountain(raw, str(path), base_dir=path.parent, allow_outside=allow_outside)
    if path.suffix.lower() == ".fdx":
        from studio.screenplay.fdx_import import parse_fdx

        return parse_fdx(raw, str(path), base_dir=path.parent, allow_outside=allow_outside)
    return parse_screenplay(raw, str(path), base_dir=path.parent, allow_outside=allow_outside)
