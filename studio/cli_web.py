"""The ``studio`` commands for the web studio and planning: ``serve``, ``status`` and
``estimate``. They join the ``studio`` group in :mod:`studio.cli` (same console, same
error handling); the work is done by :mod:`studio.web` and :mod:`studio.run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from studio.cli_common import allow_outside_option, film_for, film_options, minutes, out
from studio.errors import StudioError


def _seconds(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@film_options
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--allow-remote", is_flag=True,
              help="Allow a --host other machines can reach (anyone who can reach it sees the film).")
def serve(file: str, output: str | None, backend: str | None, resolution: str | None, fps: int | None,
          cache_dir: str | None, loudness: str | None, silent: bool, allow_outside_assets: bool,
          cast: tuple[str, ...], port: int, host: str, allow_remote: bool) -> None:
    """The film in a browser: storyboard, takes, re-renders with live progress, scene
    graph, likenesses and estimates. Give the same options as for `studio render` so
    the shots come from the same cache entries."""
    from studio.cache.store import default_cache_dir
    from studio.web.safety import check_bind
    from studio.web.server import serve as run
    from studio.web.session import FilmConfig, Studio

    check_bind(host, allow_remote)  # before anything is loaded

    def load():  # type: ignore[no-untyped-def]
        return film_for(file, resolution, fps, loudness, allow_outside_assets, cast)

    def loader(other: Path):  # type: ignore[no-untyped-def]
        """A new film opened from the browser: the same options, without --cast (its ids are this film's)."""
        return lambda: film_for(str(other), resolution, fps, loudness, allow_outside_assets, ())

    name = Path(file).stem
    studio = Studio(FilmConfig(file=Path(file), load=load, output_dir=Path(output) if output else Path("out") / name,
                               cache_dir=default_cache_dir(cache_dir), name=name, backend=backend,
                               audio=not silent, allow_outside=allow_outside_assets, loader=loader))

    def ready(url: str) -> None:
        text = Text()
        text.append("serving ", style="bold green")
        text.append(f"{studio.current_screenplay().film.title} at {url} (Ctrl-C to stop)")
        if allow_remote:
            text.append(" — open to other machines (--allow-remote)", style="yellow")
        out.print(text, soft_wrap=True)

    run(studio, host=host, port=port, allow_remote=allow_remote, on_ready=ready)


def _key_options(command):  # type: ignore[no-untyped-def]
    """The options that change shots' cache keys (as given to `studio render`)."""
    for option in reversed([
        click.option("--backend", help="Render backend (default: the screenplay's, else animatic)."),
        click.option("--resolution", help="WIDTHxHEIGHT, overriding the screenplay."),
        click.option("--fps", type=click.IntRange(1, 120), help="Frames per second, overriding the screenplay."),
        click.option("--cache", "cache_dir", type=click.Path(file_okay=False),
                     help="Shot cache folder (default: $STUDIO_CACHE, else ./cache)."),
        click.option("--silent", is_flag=True, help="As rendered with --silent (shots timed without voices)."),
        click.option("--cast", "cast", multiple=True, metavar="CHARACTER=NAME", help="As rendered with --cast."),
        allow_outside_option,
    ]):
        command = option(command)
    return command


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@_key_options
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(file: str, backend: str | None, resolution: str | None, fps: int | None, cache_dir: str | None,
           silent: bool, cast: tuple[str, ...], allow_outside_assets: bool, as_json: bool) -> None:
    """Which shots are in the cache and which are stale (would render), without
    rendering or speaking anything. Exits 0 either way."""
    from studio.cache.lockfile import Lockfile
    from studio.cache.store import default_cache_dir
    from studio.run.status import film_status

    screenplay = film_for(file, resolution, fps, None, allow_outside_assets, cast)
    result = film_status(screenplay, cache_dir=default_cache_dir(cache_dir), name=Path(file).stem,
                         backend_name=backend, audio=not silent, lockfile=Lockfile.beside(file))
    if as_json:
        out.print_json(json.dumps({"file": file, **result.to_dict()}))
        return
    table = Table(title=f"{result.title}: {len(result.shots) - len(result.stale)} of {len(result.shots)} shots "
                        f"in the cache", title_justify="left")
    for column in ("shot", "scene", "take", "secs", "state"):
        table.add_column(column, no_wrap=column != "state", justify="right" if column in ("take", "secs") else "left")
    for s in result.shots:
        state = Text("cached", style="green") if not s.stale else Text(f"stale: {s.reason}", style="yellow")
        table.add_row(s.shot_id, s.plan.scene_id, str(s.take), f"{s.plan.duration:.1f}", state)
    out.print(table)
    if result.stale:
        out.print(Text(f"{len(result.stale)} stale shots: `studio render {file}` renders them"), soft_wrap=True)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--backend", type=click.Choice(["animatic", "diffusers"]),
              help="Backend to estimate (default: the screenplay's).")
@click.option("--model", help="Registry video model for the diffusers backend (default: the screenplay's).")
@click.option("--gpus", type=click.IntRange(1, 4096), default=1, show_default=True,
              help="GPUs (or animatic workers) for the makespan.")
@click.option("--resolution", help="WIDTHxHEIGHT, overriding the screenplay.")
@click.option("--fps", type=click.IntRange(1, 120), help="Frames per second, overriding the screenplay.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False),
              help="Where spoken lines are cached (their lengths time the shots; default: $STUDIO_CACHE, else ./cache).")
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=None, metavar="N",
              help="Animatic shot workers for the whole render's makespan (default: the usable cores, as render).")
@click.option("--calibrate", "calibrate_from", type=click.Path(dir_okay=False, exists=True), metavar="REPORT",
              help="Rescale the stage rates from a render-report.json (estimate vs actual) into the local "
                   "reference file, which later estimates prefer; FILE is then not needed.")
@click.option("--probe", is_flag=True,
              help="Time a short fixed piece of render work (about 2 s) and scale the estimate by how much slower "
                   "or faster this machine runs now than when the stage rates were measured; with --calibrate, "
                   "keep the probe with the new rates (run it on the machine, and at the load, of the render).")
@allow_outside_option
def estimate(file: str | None, backend: str | None, model: str | None, gpus: int, resolution: str | None, fps: int | None,
             cache_dir: str | None, as_json: bool, allow_outside_assets: bool, jobs: int | None = None,
             calibrate_from: str | None = None, probe: bool = False) -> None:
    """Expected render time: every stage of the render (voices, shots, sound, assembly),
    per shot, GPU-hours, and the makespan on --gpus GPUs (a continuity chain renders in
    order on one GPU). With --calibrate REPORT: learn this machine's rates from a render."""
    if calibrate_from is not None:
        from studio.run.stages import calibrate, write_references

        try:
            report = json.loads(Path(calibrate_from).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise StudioError(f"{calibrate_from} is not a render report: {exc}",
                              hint="give the render-report.json a render wrote") from None
        measured = None
        if probe:
            from studio.run.speed import probe as run_probe

            measured = run_probe()
        refs = calibrate(report, report_path=calibrate_from, probe=measured)
        path = write_references(refs)
        cores = refs.get("calibrated_cores")
        kept = f", speed probe {measured['seconds']:.3f} s" if measured else ""
        out.print(Text(f"calibrated stages {refs['calibrated']} (actual / estimated)"
                       f"{f', cores kept busy {cores}' if cores else ''}{kept} into {path}"), soft_wrap=True)
        return
    if file is None:
        raise click.UsageError("give the screenplay FILE to estimate (or --calibrate REPORT)")
    from studio.cache.store import default_cache_dir
    from studio.errors import MissingToolError
    from studio.graph.scene_graph import SceneGraph
    from studio.render.plan import plan_film
    from studio.run.estimate import estimate_film
    from studio.run.status import cached_speech

    screenplay = film_for(file, resolution, fps, None, allow_outside_assets)
    try:  # lines already spoken time their shots; the others are timed by reading speed
        speech, _missing = cached_speech(screenplay, default_cache_dir(cache_dir))
    except MissingToolError:
        speech = {}
    plans = plan_film(SceneGraph.from_screenplay(screenplay, speech))
    backend = backend or screenplay.film.render.backend
    own = screenplay.film.render.backend == backend == "diffusers"  # the screenplay's options are for its backend
    options = {k: v for k, v in screenplay.film.render.options.items() if k != "models"} if own else {}
    if model:
        if backend != "diffusers":
            raise click.UsageError("--model picks a diffusers model: use it with --backend diffusers")
        options["model"] = model
    result = estimate_film(plans, backend=backend, options=options, models=screenplay.film.render.options.get("models"),
                           base_dir=screenplay.base_dir, gpus=gpus)
    from studio.audio.speech import dialogue_lines
    from studio.run.parallel import usable_cores
    from studio.run.stages import Spoken, estimate_stages

    try:
        spoken = [Spoken(d.voice.engine, len(d.text)) for d in dialogue_lines(screenplay) if d.line_id not in speech]
    except StudioError:
        spoken = []
    workers = (jobs or usable_cores()) if result.backend == "animatic" else gpus
    # studio render -j makes the sound while its shot workers render (not the Ray executor, nor a film with model sound)
    ahead = result.backend == "animatic" and workers > 1 and screenplay.film.sound.effects != "model"
    from studio.run.stages import load_references

    refs = load_references()
    speed, speed_note = _probe_speed(refs) if probe else (1.0, "")
    whole = estimate_stages(plans, result, spoken, jobs=workers, sound_overlaps=ahead, references=refs, speed=speed)
    if as_json:
        out.print_json(json.dumps({"file": file, **result.to_dict(), "render": whole.to_dict()}))
        return
    worker = "worker" if result.backend == "animatic" else "GPU"
    title = f"{screenplay.film.title}: {len(plans)} shots, {minutes(sum(p.duration for p in plans))} of film, " \
            f"{result.backend}{' ' + result.model if result.model else ''}"
    table = Table(title=title, title_justify="left")
    for column in ("shot", "chain", "frames", "generated", "size", "steps", "render"):
        table.add_column(column, no_wrap=True, justify="left" if column in ("shot", "size") else "right")
    for s in result.shots:
        table.add_row(s.shot_id, str(s.chain), str(s.frames), str(s.generated), f"{s.width}x{s.height}",
                      str(s.steps or ""), _seconds(s.seconds))
    out.print(table)
    ref = result.reference
    text = Text()
    text.append("total ", style="bold")
    text.append(f"{_seconds(result.total_seconds)} on one {worker} ({result.gpu_hours:.3f} "
                f"{'CPU' if result.backend == 'animatic' else 'GPU'}-hours); on {gpus} {worker}"
                f"{'s' if gpus != 1 else ''}: {_seconds(result.makespan_seconds)} "
                f"(longest continuity chain {_seconds(result.longest_chain_seconds)})")
    out.print(text, soft_wrap=True)
    kf = result.keyframe_reference
    out.print(Text(f"keyframes (studio keyframes, before the video): {_seconds(result.keyframe_seconds)} for "
                   f"{len(result.shots)} shots, by {kf.name if kf else 'the animatic'}"), soft_wrap=True)
    text = Text()
    text.append("the whole render ", style="bold")
    text.append(f"(fresh cache but for the {len(speech)} lines already spoken, {workers} shot worker"
                f"{'s' if workers != 1 else ''}): {_seconds(whole.total_seconds)} = "
                + ", ".join(f"{k} {_seconds(v)}" + (" (made beside the shots)" if k == "sound" and
                                                     whole.sound_overlapped else "")
                            for k, v in whole.stages.items()))
    out.print(text, soft_wrap=True)
    if speed_note:
        out.print(Text(speed_note), soft_wrap=True)
    out.print(Text(f"stage rates: {whole.source} ({whole.file})", style="dim"), soft_wrap=True)
    out.print(Text(f"reference: {ref.name} on {ref.device}: {ref.frames} frames at {ref.width}x{ref.height}"
                   f"{f', {ref.steps} steps' if ref.steps else ''} in {ref.seconds:.1f} s. {ref.source}",
                   style="dim"), soft_wrap=True)


def _probe_speed(refs: dict[str, Any]) -> tuple[float, str]:
    """The speed factor for ``estimate --probe`` against the stage rates ``refs``, and a
    sentence that says what it is."""
    from studio.run.speed import probe as run_probe
    from studio.run.speed import speed_factor

    now = run_probe()
    factor = speed_factor(refs, now)
    if factor is None:
        return 1.0, (f"speed probe: {now['seconds']:.3f} s now, but the stage rates ({refs.get('file', '')}) keep no "
                     "probe to compare it with: not scaled (run studio estimate --calibrate REPORT --probe)")
    then = refs["probe"]
    return factor, (f"speed probe: {now['seconds']:.3f} s now against {float(then['seconds']):.3f} s when the rates "
                    f"were measured ({then.get('at', '?')}): every stage x {factor:.2f}")


COMMANDS = [serve, status, estimate]
