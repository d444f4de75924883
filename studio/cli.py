"""The ``studio`` command. Parses arguments, calls the stages, prints with rich.

Errors meant for people (:class:`StudioError`) print without a traceback and exit 1;
usage errors exit 2; Ctrl-C exits 130 after saying how to continue.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from studio import __version__
from studio.errors import Problem, ScreenplayError, StudioError

out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False)


def _load(path: str, allow_outside: bool = False):  # type: ignore[no-untyped-def]
    from studio.screenplay import load_screenplay

    return load_screenplay(path, allow_outside=allow_outside)


def _graph(screenplay):  # type: ignore[no-untyped-def]
    from studio.graph.scene_graph import SceneGraph

    return SceneGraph.from_screenplay(screenplay)


def _check_voices(screenplay) -> None:  # type: ignore[no-untyped-def]
    """Voices are checked against the installed engines (unknown voice: a problem on
    the character's line; a missing engine: how to install it)."""
    from studio.audio.voices import check_voices

    problems = [p for p in check_voices(screenplay) if p.severity == "error"]
    if problems:
        raise ScreenplayError(problems + screenplay.warnings, screenplay.source.file if screenplay.source else None)


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def _print_problems(problems: list[Problem]) -> None:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="studio")
def cli() -> None:
    """studio: write a screenplay in YAML, get a film."""


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@allow_outside_option
def check(file: str, as_json: bool, allow_outside_assets: bool) -> None:
    """Check a screenplay: every problem at once, each with its line."""
    try:
        screenplay = _load(file, allow_outside_assets)
        graph = _graph(screenplay)
        _check_voices(screenplay)
    except ScreenplayError as exc:
        if as_json:
            out.print_json(json.dumps({"ok": False, "file": file, "problems": [p.to_dict() for p in exc.problems]}))
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
        out.print_json(json.dumps({"ok": True, "file": file, "summary": summary,
                                   "problems": [p.to_dict() for p in warnings]}))
        return
    _print_problems(warnings)
    text = Text()
    text.append("ok ", style="bold green")
    text.append(f"{file}: ", style="bold")
    text.append(f"{summary['title']}: {summary['scenes']} scenes, {summary['shots']} shots, "
                f"{summary['characters']} characters, {summary['dialogue_lines']} lines, "
                f"runtime {_minutes(graph.runtime)}")
    out.print(text, soft_wrap=True)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the shot list as JSON.")
@allow_outside_option
def shots(file: str, as_json: bool, allow_outside_assets: bool) -> None:
    """The shot list: id, scene, size, move, characters, duration, line."""
    graph = _graph(_load(file, allow_outside_assets))
    if as_json:
        from dataclasses import asdict

        out.print_json(json.dumps({"runtime_seconds": graph.runtime, "shots": [asdict(s) for s in graph.shots]}))
        return
    table = Table(title=f"{graph.screenplay.film.title}: {len(graph.shots)} shots, {_minutes(graph.runtime)}",
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


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write: .graphml, .svg or .png.")
@allow_outside_option
def graph(file: str, output: str, allow_outside_assets: bool) -> None:
    """Write the scene graph as GraphML or as a picture (PNG, SVG)."""
    from studio.graph.export import export_graph

    path = export_graph(_graph(_load(file, allow_outside_assets)), Path(output))
    out.print(Text(f"wrote {path}"))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the prompts as JSON.")
@allow_outside_option
def prompts(file: str, as_json: bool, allow_outside_assets: bool) -> None:
    """Each shot's prompt and negative prompt, as the diffusers backend sends them."""
    from studio.render.diffusers.prompts import film_prompts

    screenplay = _load(file, allow_outside_assets)
    shots_ = [{"shot": plan.shot_id, "scene": plan.scene_id, "prompt": p.prompt, "negative": p.negative}
              for plan, p in film_prompts(screenplay)]
    if as_json:
        out.print_json(json.dumps({"title": screenplay.film.title, "shots": shots_}))
        return
    table = Table(title=f"{screenplay.film.title}: prompts of {len(shots_)} shots", title_justify="left",
                  show_lines=True)
    table.add_column("shot", style="bold", no_wrap=True)
    table.add_column("prompt", ratio=4)
    table.add_column("negative", style="dim", ratio=1)
    for s in shots_:
        table.add_row(Text(s["shot"]), Text(s["prompt"]), Text(s["negative"]))
    out.print(table)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the models as JSON.")
def models(file: str | None, as_json: bool) -> None:
    """The configured models (built-ins, your models file, FILE's film.render.options.models)
    and whether their weights are on this machine."""
    from studio.render.diffusers.settings import configured_models

    rows = configured_models(_load(file) if file else None)
    if as_json:
        out.print_json(json.dumps({"models": rows}))
        return
    table = Table(title="models", title_justify="left")
    for column in ("name", "family", "source", "dtype", "weights here", "used as"):
        table.add_column(column, no_wrap=column in ("name", "family", "dtype"))
    for r in rows:
        here = Text(r["local"], style="green") if r["local"] else Text("no", style="yellow")
        table.add_row(r["name"], r["family"], r["source"] + (f"@{r['revision']}" if r["revision"] else ""),
                      r["dtype"], here, ", ".join(r["used_as"]))
    out.print(table)


class _Bars:
    """Two rich progress bars: the film (shots, ETA) and the current shot (frames)."""

    def __init__(self, progress) -> None:  # type: ignore[no-untyped-def]
        self.progress = progress
        self.film = progress.add_task("film", total=None)
        self.shot = progress.add_task("preparing", total=None)

    def film_started(self, shots: int, frames: int) -> None:
        self.progress.update(self.film, total=shots)

    def shot_started(self, plan, cached: bool) -> None:  # type: ignore[no-untyped-def]
        label = f"{plan.shot_id} ({'cached' if cached else plan.size})"
        self.progress.reset(self.shot, total=plan.frames, description=label, completed=plan.frames if cached else 0)

    def frames_done(self, count: int) -> None:
        self.progress.advance(self.shot, count)

    def shot_finished(self, plan, cached: bool) -> None:  # type: ignore[no-untyped-def]
        self.progress.advance(self.film, 1)

    def stage(self, name: str) -> None:
        # a stage has no count: a fresh task (reset keeps the last shot's frame total)
        self.progress.remove_task(self.shot)
        self.shot = self.progress.add_task(name, total=None)


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


def _film_for(file: str, resolution: str | None, fps: int | None, loudness: str | None,
              allow_outside_assets: bool, cast: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """The screenplay with the command line's overrides applied."""
    from studio.consistency.identity import apply_cast

    screenplay = apply_cast(_load(file, allow_outside_assets), cast)
    resolution = _parse_resolution(resolution)
    film_update: dict[str, object] = {k: v for k, v in (("resolution", resolution), ("fps", fps)) if v is not None}
    if loudness is not None:
        film_update["sound"] = screenplay.film.sound.model_copy(update={"loudness": _parse_loudness(loudness)})
    if film_update:
        screenplay = screenplay.model_copy(update={"film": screenplay.film.model_copy(update=film_update)})
    return screenplay


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@film_options
@click.option("--shot", "shots_", multiple=True, metavar="ID",
              help="Render this shot again as a new take (repeatable); the cut is rebuilt.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="The seed for the new takes of --shot.")
@click.option("--verify", is_flag=True, help="Hash every cached clip before trusting it.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where shots render: this process, or Ray workers (one per GPU, else per CPU).")
@click.option("--address", metavar="ADDR",
              help="With --executor ray: the Ray cluster to join (default: a private one on loopback).")
def render(file: str, output: str | None, backend: str | None, resolution: str | None, fps: int | None,
           cache_dir: str | None, loudness: str | None, silent: bool, shots_: tuple[str, ...], seed: int | None,
           verify: bool, quiet: bool, allow_outside_assets: bool, cast: tuple[str, ...] = (),
           executor: str = "local", address: str | None = None) -> None:
    """Render a screenplay into a finished film, with subtitles, timeline and storyboard.

    Shots already in the cache are not rendered again; a killed render continues where
    it stopped. The takes used are recorded in FILE's lockfile (NAME.lock)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from studio.cache.store import default_cache_dir
    from studio.run.local import QuietProgress, render_film

    screenplay = _film_for(file, resolution, fps, loudness, allow_outside_assets, cast)
    if seed is not None and not shots_:
        raise click.UsageError("--seed sets the seed of new takes: use it with --shot ID")
    name = Path(file).stem
    out_dir = Path(output) if output else Path("out") / name
    cache = default_cache_dir(cache_dir)
    kwargs = dict(cache_dir=cache, name=name, backend_name=backend, audio=not silent,
                  lockfile=_lockfile_for(file), new_takes=shots_, take_seed_override=seed, verify=verify)
    if address is not None and executor != "ray":
        raise click.UsageError("--address joins a Ray cluster: use it with --executor ray")
    if executor == "ray":  # Ray is imported only then
        from studio.run.ray_executor import render_film_ray as render_film  # noqa: F811

        kwargs["address"] = address
    if quiet:
        result = render_film(screenplay, out_dir, progress=QuietProgress(), **kwargs)
    else:
        columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=False) as bars:
            result = render_film(screenplay, out_dir, progress=_Bars(bars), **kwargs)
    r = result.report
    text = Text()
    text.append("rendered ", style="bold green")
    text.append(f"{result.film}: {_minutes(r['film_seconds'])} in {r['wall_seconds']:.1f}s "
                f"({r['shots_rendered']} shots rendered, {r['shots_cached']} from the cache, "
                f"{r['frames_per_second']:.0f} frames/s, peak {r['peak_rss_mb']:.0f} MB)")
    out.print(text, soft_wrap=True)
    if r["rendered"] and len(r["rendered"]) <= 12:
        out.print(Text(f"rendered shots: {', '.join(r['rendered'])}"), soft_wrap=True)
    if r.get("executor"):
        x = r["executor"]
        out.print(Text(f"ray: {x['shots_on_workers']} shots on {x['workers']} workers"
                       f"{', retried: ' + ', '.join(x['retried']) if x['retried'] else ''}"), soft_wrap=True)
    if r["corrupt_entries_replaced"]:
        out.print(Text(f"{r['corrupt_entries_replaced']} corrupt cache entries were found and rendered again",
                       style="yellow"), soft_wrap=True)
    out.print(Text(f"side outputs in {out_dir}: subtitles, timeline (.otio/.edl/.xml), storyboard, "
                   f"render-report.json{'' if r['cut_rebuilt'] else ' (unchanged)'}"), soft_wrap=True)


def _lockfile_for(file: str) -> Path:
    from studio.cache.lockfile import Lockfile

    return Lockfile.beside(file)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("shot_id", required=False)
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), help="Shot cache folder.")
def takes(file: str, shot_id: str | None, cache_dir: str | None) -> None:
    """List the takes of every shot (or of SHOT_ID): seeds, QA scores, which is used."""
    from studio.cache.lockfile import Lockfile
    from studio.cache.manifest import Manifest
    from studio.cache.store import default_cache_dir

    film_id = str(Path(file).resolve())
    lock = Lockfile.load(Lockfile.beside(file))
    manifest = Manifest(default_cache_dir(cache_dir))
    rows = manifest.takes(film_id, shot_id)
    if not rows:
        raise StudioError(f"no takes recorded for {file}{' shot ' + shot_id if shot_id else ''}",
                          hint="render the film first (`studio render FILE`)")
    table = Table(title=f"takes of {file}", title_justify="left")
    for column in ("shot", "take", "seed", "rendered", "QA (face distance)", "used"):
        table.add_column(column, no_wrap=True)
    for take in rows:
        record = manifest.render(take.key) if take.key else None
        used = lock.shots.get(take.shot_id)
        qa = "" if record is None or record.qa_score is None else f"{record.qa_score:.3f}" + (
            " flagged" if record.qa_flagged else "")
        table.add_row(take.shot_id, str(take.take), str(take.seed), "yes" if record else "no (gone)", qa,
                      "●" if used and used.take == take.take else "")
    out.print(table)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("shot_id")
@click.argument("number", type=click.IntRange(1))
@film_options
def take(file: str, shot_id: str, number: int, output: str | None, backend: str | None, resolution: str | None,
         fps: int | None, cache_dir: str | None, loudness: str | None, silent: bool,
         allow_outside_assets: bool, cast: tuple[str, ...] = ()) -> None:
    """Use take NUMBER of SHOT_ID in the film, and rebuild the cut (give the same
    options as the render, e.g. --resolution, so the other shots come from the cache)."""
    from studio.cache.lockfile import LockedShot, Lockfile
    from studio.cache.manifest import Manifest
    from studio.cache.store import default_cache_dir
    from studio.run.local import QuietProgress, render_film

    screenplay = _film_for(file, resolution, fps, loudness, allow_outside_assets, cast)
    cache = default_cache_dir(cache_dir)
    recorded = {t.take: t for t in Manifest(cache).takes(str(Path(file).resolve()), shot_id)}
    if number not in recorded:
        raise StudioError(f"shot {shot_id} has no take {number}",
                          hint=f"takes: {', '.join(map(str, sorted(recorded))) or 'none yet'}")
    lock = Lockfile.load(Lockfile.beside(file))
    lock.shots[shot_id] = LockedShot(number, recorded[number].seed, recorded[number].key)
    lock.save()
    name = Path(file).stem
    result = render_film(screenplay, Path(output) if output else Path("out") / name, cache_dir=cache, name=name,
                         backend_name=backend, audio=not silent, lockfile=lock.path, progress=QuietProgress())
    r = result.report
    out.print(Text(f"{shot_id} now uses take {number}; rebuilt {result.film} "
                   f"({r['shots_rendered']} shots rendered: {', '.join(r['rendered']) or 'none'})"), soft_wrap=True)


@cli.group()
def cache() -> None:
    """The render cache: statistics and garbage collection."""


@cache.command("stats")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), help="Shot cache folder.")
def cache_stats(cache_dir: str | None) -> None:
    """What the cache holds."""
    from studio.cache.gc import stats
    from studio.cache.store import default_cache_dir

    s = stats(default_cache_dir(cache_dir))
    table = Table(title=f"cache {s.root}: {s.total_bytes / 1e6:.1f} MB", title_justify="left")
    table.add_column("kind")
    table.add_column("entries", justify="right")
    table.add_column("MB", justify="right")
    for kind, k in s.kinds.items():
        table.add_row(kind, str(k.entries), f"{k.bytes / 1e6:.1f}")
    out.print(table)
    out.print(Text(f"{s.renders_recorded} shot renders recorded ({s.renders_ever} renders ever), {s.takes} takes, "
                   f"{len(s.films)} films with lockfiles, {s.temp_files} temporary files"), soft_wrap=True)


@cache.command("gc")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), help="Shot cache folder.")
@click.option("--keep", "keep", multiple=True, type=click.Path(dir_okay=False), metavar="LOCKFILE",
              help="Also keep what this lockfile references (repeatable).")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
def cache_gc(cache_dir: str | None, keep: tuple[str, ...], dry_run: bool) -> None:
    """Remove cached renders no lockfile references."""
    from studio.cache.gc import gc
    from studio.cache.store import default_cache_dir

    result = gc(default_cache_dir(cache_dir), extra_lockfiles=[Path(k) for k in keep], dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    out.print(Text(f"{verb} {result.removed} entries ({result.freed_bytes / 1e6:.1f} MB), kept {result.kept} "
                   f"referenced by {len(result.lockfiles)} lockfiles"), soft_wrap=True)


@cli.command()
@click.argument("name")
@click.option("-t", "--template", default="starter", show_default=True, help="Template name in templates/.")
@click.option("-d", "--directory", default=".", type=click.Path(file_okay=False), help="Where to create it.")
def new(name: str, template: str, directory: str) -> None:
    """Start a new screenplay NAME.yaml from a template."""
    from studio.templates import create_screenplay

    path = create_screenplay(name, template, Path(directory))
    out.print(Text(f"created {path}: check it with `studio check {path}`"))


@cli.command()
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


@cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="The YAML screenplay to write (default: FILE with .yaml; '-' prints it).")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
def import_(file: str, output: str | None, force: bool) -> None:
    """Convert a Fountain screenplay into a studio YAML screenplay (checked before it is written)."""
    from studio.screenplay.fountain_import import read_fountain, to_yaml
    from studio.screenplay.validate import validate

    path = Path(file)
    imported = read_fountain(path)
    validate(imported.data, imported.source, base_dir=path.parent)
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
    out.print(Text(f"imported {file} into {target}: {data['film']['title']}: {len(data['scenes'])} scenes, "
                   f"{len(data['characters'])} characters, {len(data['locations'])} locations, "
                   f"{imported.dialogue_lines} lines, {imported.pages:.0f} pages"), soft_wrap=True)


# the identity and provenance commands (likeness, qa, sign, verify) live in their own module,
# and so do the web studio and planning commands (serve, status, estimate)
from studio import cli_identity, cli_web  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn every failure into a message and an exit code."""
    try:
        cli.main(args=argv, prog_name="studio", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        err.print("interrupted: finished shots are kept in the cache; run the same command again to continue",
                  soft_wrap=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except ScreenplayError as exc:
        head = Text(f"{exc.path or 'screenplay'}: ", style="bold")
        n = len([p for p in exc.problems if p.severity == "error"])
        head.append(f"{n} problem{'s' if n != 1 else ''}", style="red")
        err.print(head, soft_wrap=True)
        _print_problems(exc.problems)
        return exc.exit_code
    except StudioError as exc:
        err.print(Text("error: ", style="bold red") + Text(str(exc)), soft_wrap=True)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BrokenPipeError:
        return 0
    return 0


def entry() -> None:  # console script
    sys.exit(main())

