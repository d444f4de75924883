"""Starting screenplays from ``templates/`` (``studio new``)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from studio.atomic import write_text
from studio.errors import StudioError

_HERE = Path(__file__).resolve().parent


def templates_dir() -> Path:
    """The templates folder: inside the installed package, or at the repository top."""
    for candidate in (_HERE / "templates", _HERE.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise StudioError("the templates folder is missing from this installation", hint="reinstall studio")


def available() -> list[str]:
    return sorted(p.stem for p in templates_dir().glob("*.yaml"))


def create_screenplay(name: str, template: str, directory: Path) -> Path:
    """Write ``directory/<slug>.yaml`` from a template, titled ``name``. Never overwrites."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise StudioError(f"cannot make a file name from {name!r}", hint="use letters or digits in the name")
    source = templates_dir() / f"{template}.yaml"
    if not source.is_file():
        raise StudioError(f"no template named {template!r}", hint=f"available: {', '.join(available())}")
    target = directory / f"{slug}.yaml"
    if target.exists():
        raise StudioError(f"{target} already exists", hint="choose another name or remove the file")
    text = source.read_text(encoding="utf-8")
    title = yaml.safe_dump(name, default_style='"', width=10**6).strip().splitlines()[0]
    text, count = re.subn(r"(?m)^(  title: ).*$", lambda m: m.group(1) + title, text, count=1)
    if count != 1:
        raise StudioError(f"template {source} has no film title line", hint="add `  title: ...` under film:")
    return write_text(target, text)
