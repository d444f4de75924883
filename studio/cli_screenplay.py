"""The ``studio`` commands for writing and reading a screenplay: ``check``, ``shots``,
``graph``, ``prompts``, ``models``, ``new``, ``schema``, ``import`` and ``export``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from studio.cli_common import (
    allow_outside_option,
    check_voices_or_raise,
    load,
    minutes,
    out,
    print_problems,
    scene_graph,
)
from studio.errors import ScreenplayError, StudioError


def print_json(value: object) -> None:
    """Plain JSON on one line: rich's pretty printer takes minutes and gigabytes over
    a feature's shot list."""
    click.echo(json.dumps(value))


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@allow_outside_option
def check(file: str, as_json: bool, allow_outside_assets: bool) -> None:
    """Check a screenplay: every problem at once, each with its line."""
    try:
        screenplay = load(file, allow_outside_assets)
        graph = scene_graph(screenplay)
        check_voices_or_raise(screenplay)
    except ScreenplayError as exc:
        if as_json:
            print_json({"ok": False, "file": file, "problems": [p.to_dict() for p in exc.problems]})
            raise SystemExit(1) from None
        raise
    summary = {
        "title": screenplay.film.title,
        "scenes": len(screenplay.scenes),
        "characters": len(screenplay.characters),
        "locations": len(screenplay.locations),
        "shots": len(graph.shots),
        "dialogue_lines": sum(len(s.lines) for s in graph.shots),
        "runtime_seconds": graph.runtime,
        "continuity_chains": len(graph.chains),
    }
    warnings = screenplay.warnings
    if as_json:
        print_json({"ok": True, "file": file, "summary": summary,
                    "problems": [p.to_dict() for p in warnings]})
        return
    print_problems(warnings)
    text = Text()
    text.append("ok ", style="bold green")
    text.append(f"{file}: ", style="bold")
    text.append(f"{summary['title']}: {summary['scenes']} scenes, {summary['shots']} shots, "
                f"{summary['characters']} characters, {summary['dialogue_lines']} lines, "
                f"runtime {minutes(graph.runtime)}")
    out.print(text, soft_wrap=True)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the shot list as JSON.")
@allow_outside_option
def shots(file: str, as_json: bool, allow_outside_assets: bool) -> None:
    """The shot list: id, scene, size, move, characters, duration, line."""
    graph = scene_graph(load(file, allow_outside_assets))
    if as_json:
        from dataclasses import asdict

        print_json({"runtime_seconds": graph.runtime, "shots": [asdict(s) for s in graph.shots]})
        return
    table = Table(title=f"{graph.screenplay.film.title}: {len(graph.shots)} shots, {minutes(graph.runtime)}",
                  title_justify="left", expand=False)
    rows: list[list[str]] = []
    for s in graph.shots:
        first = s.lines[0] if s.lines else None
        said = f"{graph.screenplay.character(first.speaker).name.upper()}: {first.text}" if first else (
            s.focus and f"[insert] {s.focus}" or s.action or s.description)
        if len(s.lines) > 1:
            said += f"  (+{len(s.lines) - 1} more)"
        size = s.size + (" (continuous)" if s.continuous else "")
        rows.append([str(s.number), s.id, s.scene, size, s.move, ", ".join(s.subjects), f"{s.duration:.1f}",
                     said or ""])
    headers = ["#", "shot", "scene", "size", "move", "characters", "secs", "line / action"]
    for k, name in enumerate(headers):
        widest = max([len(name)] + [len(r[k]) for r in rows])
        table.add_column(name, no_wrap=True, justify="right" if name in ("#", "secs") else "left",
                         style="bold" if name == "shot" else ("dim" if name == "#" else None),
                         min_width=None if k == len(headers) - 1 else widest,
                         max_width=72 if k == len(headers) - 1 else None,
                         overflow="ellipsis")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    out.print(table)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write: .graphml, .svg or .png.")
@allow_outside_option
def graph(file: str, output: str, allow_outside_assets: bool) -> None:
    """Write the scene graph as GraphML or as a picture (PNG, SVG)."""
    from studio.graph.export import export_graph

    path = export_graph(scene_graph(load(file, allow_outside_assets)), Path(output))
    out.print(Text(f"wrote {path}"))


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the prompts as JSON.")
@allow_outside_option
def prompts(file: str, as_json: bool, allow_outside_assets: bool) -> None:
    """Each shot's prompt and negative prompt, as the diffusers backend sends them."""
    from studio.render.diffusers.prompts import film_prompts

    screenplay = load(file, allow_outside_assets)
    shots_ = [{"shot": plan.shot_id, "scene": plan.scene_id, "prompt": p.prompt, "negative": p.negative}
              for plan, p in film_prompts(screenplay)]
    if as_json:
        print_json({"title": screenplay.film.title, "shots": shots_})
        return
    table = Table(title=f"{screenplay.film.title}: prompts of {len(shots_)} shots", title_justify="left",
                  show_lines=True)
    table.add_column("shot", style="bold", no_wrap=True)
    table.add_column("prompt", ratio=4)
    table.add_column("negative", style="dim", ratio=1)
    for s in shots_:
        table.add_row(Text(s["shot"]), Text(s["prompt"]), Text(s["negative"]))
    out.print(table)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the models as JSON.")
def models(file: str | None, as_json: bool) -> None:
    """The configured models (built-ins, your models file, FILE's film.render.options.models)
    and whether their weights are on this machine."""
    from studio.render.diffusers.settings import configured_models

    rows = configured_models(load(file) if file else None)
    if as_json:
        print_json({"models": rows})
        return
    table = Table(title="models", title_justify="left")
    for column in ("name", "family", "size", "dtype", "VRAM", "fps", "LoRAs", "source", "weights here", "used as"):
        table.add_column(column, no_wrap=column in ("name", "family", "dtype", "fps"))
    for r in rows:
        here = Text(r["local"], style="green") if r["local"] else Text("no", style="yellow")
        table.add_row(r["name"], r["family"], r["size"] or "", r["dtype"], r["vram"] or "",
                      str(r["fps"]) if r["fps"] else "", ", ".join(r["loras"]),
                      r["source"] + (f"@{r['revision']}" if r["revision"] else ""), here, ", ".join(r["used_as"]))
    out.print(table)


@click.command()
@click.argument("name")
@click.option("-t", "--template", default="starter", show_default=True, help="Template name in templates/.")
@click.option("-d", "--directory", default=".", type=click.Path(file_okay=False), help="Where to create it.")
def new(name: str, template: str, directory: str) -> None:
    """Start a new screenplay NAME.yaml from a template."""
    from studio.templates import create_screenplay

    path = create_screenplay(name, template, Path(directory))
    out.print(Text(f"created {path}: check it with `studio check {path}`"))


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of printing.")
def schema(output: str | None) -> None:
    """The screenplay format as JSON Schema (for editor autocompletion)."""
    from studio.screenplay.schema import schema_text

    text = schema_text()
    if output:
        from studio.atomic import write_text

        write_text(output, text)
        out.print(Text(f"wrote {output}"))
    else:
        click.echo(text, nl=False)


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="The YAML screenplay to write (default: FILE with .yaml; '-' prints it).")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
def import_(file: str, output: str | None, force: bool) -> None:
    """Convert a Fountain (.fountain) or Final Draft (.fdx) screenplay into a studio YAML
    screenplay (checked before it is written)."""
    from studio.screenplay.fountain_import import read_fountain, to_yaml
    from studio.screenplay.validate import validate

    path = Path(file)
    if path.suffix.lower() == ".fdx":
        from studio.screenplay.fdx_import import read_fdx

        imported = read_fdx(path)
    else:
        imported = read_fountain(path)
    _, warnings = validate(imported.data, imported.source, base_dir=path.parent)
    print_problems([*imported.warnings, *warnings])
    text = to_yaml(imported)
    if output == "-":
        click.echo(text, nl=False)
        return
    target = Path(output) if output else path.with_suffix(".yaml")
    if target.exists() and not force:
        raise StudioError(f"{target} already exists", hint="pass --force to replace it, or -o another name")
    from studio.atomic import write_text

    write_text(target, text)
    data = imported.data
    described = sum(1 for c in data["characters"] if c["description"])
    out.print(Text(f"imported {file} into {target}: {data['film']['title']}: {len(data['scenes'])} scenes, "
                   f"{len(data['characters'])} characters ({described} described by their introduction), "
                   f"{len(data['locations'])} locations, {imported.dialogue_lines} lines, "
                   f"{imported.pages:.0f} pages"), soft_wrap=True)


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The Fountain file to write ('-' prints it).")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@allow_outside_option
def export(file: str, output: str, force: bool, allow_outside_assets: bool) -> None:
    """Write a screenplay as Fountain (importing it back gives the same screenplay)."""
    from studio.screenplay.fountain_export import left_out, to_fountain

    screenplay = load(file, allow_outside_assets)
    text = to_fountain(screenplay)
    if output == "-":
        click.echo(text, nl=False)
        return
    target = Path(output)
    if target.suffix.lower() != ".fountain":
        raise StudioError(f"{target}: the export is Fountain", hint="name the output FILE.fountain")
    if target.exists() and not force:
        raise StudioError(f"{target} already exists", hint="pass --force to replace it, or -o another name")
    from studio.atomic import write_text

    write_text(target, text)
    out.print(Text(f"exported {file} to {target}: {len(screenplay.scenes)} scenes"), soft_wrap=True)
    for what in left_out(screenplay):
        out.print(Text(f"  not in Fountain (kept in {file}): {what}", style="yellow"), soft_wrap=True)


COMMANDS = [check, shots, graph, prompts, models, new, schema, import_, export]
