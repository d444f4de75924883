"""A new film from the browser, apart from HTTP: from one of `studio new`'s templates,
or from an uploaded screenplay (Fountain, or Final Draft once its importer is
installed) converted as `studio import` converts it.

The new screenplay is always a YAML file named after the film (``<slug>.yaml``, the
slug made only of ``a-z``, ``0-9`` and ``-``) in the project folder (the folder of
the film being served), never anywhere else. An existing name is refused unless
``overwrite`` is asked, and even then only a regular file is replaced (never a link,
a folder or anything else). Every new screenplay is checked before it is written:
nothing that `studio check` would refuse reaches the disk.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.atomic import write_text
from studio.errors import StudioError
from studio.screenplay.safe_yaml import MAX_BYTES
from studio.web.safety import WebError

MAX_UPLOAD = MAX_BYTES  # the CLI's limit on a screenplay file (`studio import` reads no more)
# suffix -> (module, function): function(raw bytes, file name) -> FountainImport
IMPORTERS = {".fountain": ("studio.screenplay.fountain_import", "import_fountain"),
             ".fdx": ("studio.screenplay.fdx_import", "import_fdx")}
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")


def film_slug(name: str) -> str:
    """The file stem for a film named ``name`` (as `studio new` makes it)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80].strip("-")
    if not slug:
        raise WebError(f"cannot make a file name from {name!r}", hint="use letters or digits in the film's name")
    return slug


def _importers() -> dict[str, Callable[[bytes, str], Any]]:
    import importlib

    found: dict[str, Callable[[bytes, str], Any]] = {}
    for suffix, (module, function) in IMPORTERS.items():
        try:
            found[suffix] = getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError):
            continue  # not in this installation (the Final Draft importer is newer)
    return found


def import_suffixes() -> list[str]:
    """The suffixes of the screenplays an upload can be (``.fountain``, ...)."""
    return sorted(_importers())


def importer_for(filename: str) -> Callable[[bytes, str], Any]:
    """The importer for an uploaded file, chosen by its suffix: the one place that
    knows which formats the studio reads. A suffix with no importer installed is a
    400 naming the ones there are."""
    suffix = Path(filename).suffix.lower()
    available = _importers()
    if suffix not in available:
        named = ", ".join(sorted(available))
        raise WebError(f"cannot import {suffix or 'a file without a suffix'}: the studio reads {named}",
                       hint=f"upload a screenplay ending in {named}, or export one from your writing app")
    return available[suffix]


def _target(project: Path, name: str, overwrite: bool) -> Path:
    """``project/<slug>.yaml``: inside the project, new unless ``overwrite`` (and then
    only over a regular file)."""
    folder = project.resolve()
    target = folder / f"{film_slug(name)}.yaml"
    if target.parent != folder:  # the slug cannot climb, but say so where it is decided
        raise WebError("the new screenplay must be in the project folder", status=400)
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        return target
    if not overwrite:
        raise WebError(f"{target.name} already exists in the project", status=409,
                       hint="choose another name, or tick 'replace it' to overwrite that screenplay")
    if not stat.S_ISREG(mode):
        raise WebError(f"{target.name} exists and is not a plain file (a link or a folder): not replaced",
                       status=409, hint="choose another name")
    return target


def _checked(text: str, target: Path) -> None:
    """The YAML about to be written reads back and validates (a ScreenplayError: 400)."""
    from studio.screenplay.safe_yaml import load_yaml
    from studio.screenplay.validate import validate

    data, source = load_yaml(text, target.name)
    validate(data, source, base_dir=target.parent)


def from_template(project: Path, name: str, template: str, *, overwrite: bool = False) -> Path:
    """Write a screenplay titled ``name`` from `studio new`'s ``template`` into the
    project folder; returns its path."""
    import yaml

    from studio.templates import available, templates_dir

    if template not in available():
        raise WebError(f"no template named {template!r}", hint=f"templates: {', '.join(available())}")
    target = _target(project, name, overwrite)
    text = (templates_dir() / f"{template}.yaml").read_text(encoding="utf-8")
    title = yaml.safe_dump(name.strip(), default_style='"', width=10**6).strip().splitlines()[0]
    text, count = re.subn(r"(?m)^(  title: ).*$", lambda m: m.group(1) + title, text, count=1)
    if count != 1:
        raise StudioError(f"template {template} has no film title line", hint="add `  title: ...` under film:")
    _checked(text, target)
    return write_text(target, text)


def from_upload(project: Path, filename: str, raw: bytes, *, name: str = "", overwrite: bool = False) -> Path:
    """Import an uploaded screenplay (bytes of ``filename``) as `studio import` does
    (the importer's own guards, then validation) and write it as YAML into the project
    folder, named after ``name`` or else the uploaded file; returns its path."""
    from studio.screenplay.fountain_import import to_yaml
    from studio.screenplay.validate import validate

    shown = _UNSAFE_NAME.sub("_", Path(filename.replace("\\", "/")).name)[:120] or "upload"
    if len(raw) > MAX_UPLOAD:
        raise WebError(f"{shown} is {len(raw)} bytes, over the {MAX_UPLOAD} byte limit", status=413)
    importer = importer_for(shown)
    imported = importer(raw, shown)
    target = _target(project, name.strip() or Path(shown).stem, overwrite)
    validate(imported.data, imported.source, base_dir=target.parent)
    text = to_yaml(imported)
    _checked(text, target)
    return write_text(target, text)
