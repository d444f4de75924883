"""What the ``studio`` command modules share: the consoles, loading a screenplay from
the command line, the options every rendering command takes, and printing problems.
Every command module imports this one; :mod:`studio.cli` only assembles the group."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from studio.errors import Problem, ScreenplayError

out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)

err = Console(stderr=True, highlight=False)


def load(path: str, allow_outside: bool = False):  # type: ignore[no-untyped-def]
    from studio.screenplay import load_screenplay

    return load_screenplay(path, allow_outside=allow_outside)


def scene_graph(screenplay):  # type: ignore[no-untyped-def]
    from studio.graph.scene_graph import SceneGraph

    return SceneGraph.from_screenplay(screenplay)


def check_voices_or_raise(screenplay) -> None:  # type: ignore[no-untyped-def]
    """Voices are checked against the installed engines (unknown voice: a problem on
    the character's line; a missing engine: how to install it)."""
    from studio.audio.voices import check_voices

    problems = [p for p in check_voices(screenplay) if p.severity == "error"]
    if problems:
        raise ScreenplayError(problems + screenplay.warnings, screenplay.source.file if screenplay.source else None)


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def print_problems(problems: list[Problem]) -> None:
    for p in problems:
        style = "red" if p.severity == "error" else "yellow"
        line = Text()
        line.append(p.location + ": ", style="bold")
        line.append(p.severity + ": ", style=style)
        if p.field:
            line.append(p.field + ": ", style="cyan")
        line.append(p.message)
        if p.hint:
            line.append(": " + p.hint, style="dim")
        err.print(line, soft_wrap=True)


allow_outside_option = click.option(
    "--allow-outside-assets",
    is_flag=True,
    help="Let asset paths (likeness photos, reference images) leave the screenplay's folder.",
)


def _parse_loudness(value: str) -> float:
    named = {"ebu": -23.0, "r128": -23.0, "broadcast": -23.0, "web": -14.0, "streaming": -14.0}
    if value.lower() in named:
        return named[value.lower()]
    try:
        lufs = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use ebu, web or a number such as -16") from None
    if not -36 <= lufs <= -8:
        raise click.BadParameter(f"{value} LUFS is outside -36..-8")
    return lufs


def _parse_resolution(value: str | None) -> str | None:
    if value is None:
        return None
    import re

    m = re.fullmatch(r"([1-9][0-9]{1,4})x([1-9][0-9]{1,4})", value)
    if not m or int(m.group(1)) % 2 or int(m.group(2)) % 2:
        raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT with even sides (e.g. 1280x720)")
    return value


def film_options(command):  # type: ignore[no-untyped-def]
    """The options every command that renders shares (render, take)."""
    for option in reversed([
        click.option("-o", "--output", type=click.Path(file_okay=False), help="Output folder (default: out/<name>)."),
        click.option("--backend", help="Render backend (default: the screenplay's, else animatic)."),
        click.option("--resolution", help="WIDTHxHEIGHT, overriding the screenplay."),
        click.option("--fps", type=click.IntRange(1, 120), help="Frames per second, overriding the screenplay."),
        click.option("--cache", "cache_dir", type=click.Path(file_okay=False),
                     help="Shot cache folder (default: $STUDIO_CACHE, else ./cache)."),
        click.option("--loudness", help="Mix loudness: 'ebu' (-23 LUFS), 'web' (-14 LUFS) or a number in LUFS."),
        click.option("--silent", is_flag=True, help="Pictures only: no voices, score or ambience."),
        click.option("--cast", "cast", multiple=True, metavar="CHARACTER=NAME",
                     help="Cast a character as an enrolled likeness (repeatable; see `studio likeness`)."),
        allow_outside_option,
    ]):
        command = option(command)
    return command


def film_for(file: str, resolution: str | None, fps: int | None, loudness: str | None,
              allow_outside_assets: bool, cast: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """The screenplay with the command line's overrides applied."""
    from studio.consistency.cast import apply_cast

    screenplay = apply_cast(load(file, allow_outside_assets), cast)
    resolution = _parse_resolution(resolution)
    film_update: dict[str, object] = {k: v for k, v in (("resolution", resolution), ("fps", fps)) if v is not None}
    if loudness is not None:
        film_update["sound"] = screenplay.film.sound.model_copy(update={"loudness": _parse_loudness(loudness)})
    if film_update:
        screenplay = screenplay.model_copy(update={"film": screenplay.film.model_copy(update=film_update)})
    return screenplay


def lockfile_for(file: str) -> Path:
    from studio.cache.lockfile import Lockfile

    return Lockfile.beside(file)
