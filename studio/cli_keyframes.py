"""The ``studio`` commands of the keyframe-first workflow: ``keyframes`` (draw every
shot's first frame, or a new take of one) and ``approve`` (mark shots ready for video;
``studio render --approved-only`` then pays for video shot by shot)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from studio.cli_common import film_for, film_options, lockfile_for, out


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@film_options
@click.option("--shot", "shots_", multiple=True, metavar="ID",
              help="Draw a new keyframe take of this shot (repeatable); it is no longer approved.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="The seed for the new takes of --shot.")
def keyframes(file: str, output: str | None, backend: str | None, resolution: str | None, fps: int | None,
              cache_dir: str | None, loudness: str | None, silent: bool, shots_: tuple[str, ...], seed: int | None,
              allow_outside_assets: bool, cast: tuple[str, ...] = ()) -> None:
    """Draw every shot's keyframe (its first frame) before any video: a still is cheap.

    Keyframes come from the backend's keyframe model (diffusers: keyframe_model), else
    from the animatic. Each goes through identity QA (a cast face must be recognised)
    and is re-drawn when it fails. The selection is recorded in FILE's lockfile; the
    render starts each cut's video from its keyframe. Give the same options as the
    render (e.g. --resolution) so the shots are planned alike."""
    from studio.cache.store import default_cache_dir
    from studio.run.local import keyframes_for_film

    screenplay = film_for(file, resolution, fps, loudness, allow_outside_assets, cast)
    if seed is not None and not shots_:
        raise click.UsageError("--seed sets the seed of new keyframe takes: use it with --shot ID")
    name = Path(file).stem
    out_dir = Path(output) if output else Path("out") / name
    result = keyframes_for_film(screenplay, out_dir, cache_dir=default_cache_dir(cache_dir), name=name,
                                lockfile=lockfile_for(file), backend_name=backend, audio=not silent,
                                new_takes=shots_, seed_override=seed)
    table = Table(title=f"keyframes of {file}", title_justify="left")
    for column in ("shot", "take", "seed", "QA (face distance)", "approved", "picture"):
        table.add_column(column, no_wrap=True)
    for shot in result.shots:
        qa = "" if shot.check is None or shot.check.score is None else f"{shot.check.score:.3f}"
        if shot.check is not None and shot.check.flagged:
            qa += " flagged"
        table.add_row(shot.shot_id, str(shot.take), str(shot.keyframe.seed), qa, "●" if shot.approved else "",
                      str(shot.keyframe.path))
    out.print(table)
    r = result.report
    out.print(Text(f"{r['keyframes_drawn']} keyframes drawn, {r['shots_total']} shots; storyboard: "
                   f"{', '.join(r['storyboard'])}"), soft_wrap=True)
    if r["flagged"]:
        out.print(Text(f"identity QA flagged: {', '.join(r['flagged'])} (draw another: studio keyframes {file} "
                       f"--shot ID)", style="yellow"), soft_wrap=True)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("shot_ids", nargs=-1, required=True, metavar="SHOT...")
@click.option("--undo", is_flag=True, help="Withdraw the approval.")
def approve(file: str, shot_ids: tuple[str, ...], undo: bool) -> None:
    """Approve shots for video (their keyframes are right): `studio render FILE
    --approved-only` generates video for approved shots only."""
    from studio.cache.lockfile import Lockfile
    from studio.cli_common import load
    from studio.graph.scene_graph import SceneGraph
    from studio.run.keyframes import approve as approve_shots

    known = [s.id for s in SceneGraph.from_screenplay(load(file)).shots]
    lock = Lockfile.load(lockfile_for(file))
    changed = approve_shots(lock, shot_ids, known=known, undo=undo)
    approved = [sid for sid, k in lock.keyframes.items() if k.approved]
    verb = "withdrew approval of" if undo else "approved"
    out.print(Text(f"{verb} {', '.join(changed) or 'nothing new'}; approved for video: "
                   f"{', '.join(approved) or 'none'} ({len(approved)} of {len(known)} shots)"), soft_wrap=True)


COMMANDS = [keyframes, approve]
