"""The ``studio`` commands that render and choose takes: ``render``, ``takes``,
``take`` and ``cache stats|gc``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from studio.cli_common import err, film_for, film_options, lockfile_for, minutes, out
from studio.errors import StudioError


class _Bars:
    """Two rich progress bars: the film (shots, ETA) and the current shot (frames)."""

    def __init__(self, progress) -> None:  # type: ignore[no-untyped-def]
        self.progress = progress
        self.film = progress.add_task("film", total=None)
        self.shot = progress.add_task("preparing", total=None)
        self.workers: dict[int, int] = {}  # worker slot -> its bar

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
        for task in self.workers.values():
            self.progress.remove_task(task)
        self.workers.clear()

    # -j N: one bar a worker process, under the film's
    def worker_shot_started(self, worker: int, plan, cached: bool) -> None:  # type: ignore[no-untyped-def]
        label = f"worker {worker + 1}: {plan.shot_id} ({'cached' if cached else plan.size})"
        task = self.workers.get(worker)
        if task is None:
            task = self.workers[worker] = self.progress.add_task(label, total=plan.frames)
        self.progress.reset(task, total=plan.frames, description=label, completed=plan.frames if cached else 0)

    def worker_frames_done(self, worker: int, count: int) -> None:
        if worker in self.workers:
            self.progress.advance(self.workers[worker], count)

    def worker_idle(self, worker: int) -> None:
        if worker in self.workers:
            self.progress.update(self.workers[worker], description=f"worker {worker + 1}: waiting")


@click.command()
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
@click.option("--approved-only", is_flag=True,
              help="Video only for shots approved with `studio approve`; the others hold their keyframe.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=None, metavar="N",
              help="Render shots and voice lines in N worker processes (default: the usable cores); the film "
                   "is the same byte for byte. -j 1 renders in this process; so does --approved-only (its shots "
                   "and held keyframes, the lines still in N workers).")
def render(file: str, output: str | None, backend: str | None, resolution: str | None, fps: int | None,
           cache_dir: str | None, loudness: str | None, silent: bool, shots_: tuple[str, ...], seed: int | None,
           verify: bool, quiet: bool, allow_outside_assets: bool, cast: tuple[str, ...] = (),
           executor: str = "local", address: str | None = None, approved_only: bool = False,
           jobs: int | None = None) -> None:
    """Render a screenplay into a finished film, with subtitles, timeline and storyboard.

    Shots already in the cache are not rendered again; a killed render continues where
    it stopped. The takes used are recorded in FILE's lockfile (NAME.lock)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from studio.cache.store import default_cache_dir
    from studio.run.local import QuietProgress, render_film

    screenplay = film_for(file, resolution, fps, loudness, allow_outside_assets, cast)
    if seed is not None and not shots_:
        raise click.UsageError("--seed sets the seed of new takes: use it with --shot ID")
    name = Path(file).stem
    out_dir = Path(output) if output else Path("out") / name
    cache = default_cache_dir(cache_dir)
    kwargs = dict(cache_dir=cache, name=name, backend_name=backend, audio=not silent,
                  lockfile=lockfile_for(file), new_takes=shots_, take_seed_override=seed, verify=verify)
    if address is not None and executor != "ray":
        raise click.UsageError("--address joins a Ray cluster: use it with --executor ray")
    if approved_only:
        if executor == "ray":
            raise click.UsageError("--approved-only renders with the local executor: leave out --executor ray")
        kwargs["approved_only"] = True
    if executor == "ray":  # Ray is imported only then
        from studio.run.ray_executor import render_film_ray as render_film  # noqa: F811

        kwargs["address"] = address
        if jobs is not None:
            kwargs["workers"] = jobs
    else:
        from studio.run.parallel import render_film, usable_cores  # noqa: F811

        kwargs["jobs"] = jobs or usable_cores()
    if quiet:
        result = render_film(screenplay, out_dir, progress=QuietProgress(), **kwargs)
    else:
        columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=False) as bars:
            result = render_film(screenplay, out_dir, progress=_Bars(bars), **kwargs)
    r = result.report
    text = Text()
    text.append("rendered ", style="bold green")
    text.append(f"{result.film}: {minutes(r['film_seconds'])} in {r['wall_seconds']:.1f}s "
                f"({r['shots_rendered']} shots rendered, {r['shots_cached']} from the cache, "
                f"{r['frames_per_second']:.0f} frames/s, peak {r['peak_rss_mb']:.0f} MB)")
    out.print(text, soft_wrap=True)
    if r["rendered"] and len(r["rendered"]) <= 12:
        out.print(Text(f"rendered shots: {', '.join(r['rendered'])}"), soft_wrap=True)
    if r.get("executor", {}).get("name") == "local":
        x = r["executor"]
        out.print(Text(f"-j {x['jobs']}: {x['shots_on_workers']} shots on {x['workers_started']} worker processes"
                       f"{', retried: ' + ', '.join(x['retried']) if x['retried'] else ''}"), soft_wrap=True)
    elif r.get("executor"):
        x = r["executor"]
        out.print(Text(f"ray: {x['shots_on_workers']} shots on {x['workers']} workers"
                       f"{', retried: ' + ', '.join(x['retried']) if x['retried'] else ''}"), soft_wrap=True)
    if r.get("keyframes", {}).get("held"):
        held = r["keyframes"]["held"]
        out.print(Text(f"{len(held)} shots not approved hold their keyframe (no video): "
                       f"{', '.join(held) if len(held) <= 12 else ''}", style="yellow"), soft_wrap=True)
    if r["corrupt_entries_replaced"]:
        out.print(Text(f"{r['corrupt_entries_replaced']} corrupt cache entries were found and rendered again",
                       style="yellow"), soft_wrap=True)
    out.print(Text(f"side outputs in {out_dir}: subtitles, timeline (.otio/.edl/.xml), storyboard, "
                   f"render-report.json{'' if r['cut_rebuilt'] else ' (unchanged)'}"), soft_wrap=True)


@click.command()
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


@click.command()
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

    screenplay = film_for(file, resolution, fps, loudness, allow_outside_assets, cast)
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


@click.group()
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


COMMANDS = [render, takes, take, cache]
