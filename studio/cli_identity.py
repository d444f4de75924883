"""The ``studio`` commands for identities and provenance: ``likeness add|list|remove``,
``qa``, ``sign`` and ``verify``. They join the ``studio`` group in :mod:`studio.cli`
(same console, same error handling); the work is done by the stages."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from studio.cli_common import allow_outside_option, film_for, out
from studio.errors import StudioError

store_option = click.option("--store", type=click.Path(file_okay=False),
                            help="Likeness store folder (default: $STUDIO_LIKENESSES, else "
                                 "~/.local/share/studio/likenesses).")


def _store(store: str | None):  # type: ignore[no-untyped-def]
    from studio.consistency.likeness import LikenessStore, default_store_dir

    return LikenessStore(default_store_dir(store))


@click.group()
def likeness() -> None:
    """Real people's likenesses, enrolled with their consent, to cast in roles."""


@likeness.command("add")
@click.argument("name")
@click.argument("photos", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--consent", required=True, metavar="STATEMENT",
              help="The person's consent, in their words (recorded with who, when and the photos' hashes).")
@click.option("--person", help="Whose likeness it is (default: NAME).")
@store_option
def likeness_add(name: str, photos: tuple[str, ...], consent: str, person: str | None, store: str | None) -> None:
    """Enrol NAME from PHOTOs, each showing exactly one face."""
    import time

    started = time.perf_counter()
    enrolled = _store(store).add(name, [Path(p) for p in photos], consent, person)
    text = Text()
    text.append("enrolled ", style="bold green")
    text.append(f"{enrolled.name}: {len(enrolled.photos)} photo{'s' if len(enrolled.photos) != 1 else ''}, "
                f"consent {enrolled.consent.id} ({time.perf_counter() - started:.1f}s); "
                f"cast it with `likeness: {enrolled.name}` or `--cast CHARACTER={enrolled.name}`")
    out.print(text, soft_wrap=True)


@likeness.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the likenesses as JSON.")
@store_option
def likeness_list(as_json: bool, store: str | None) -> None:
    """The enrolled likenesses, with their consent records."""
    s = _store(store)
    items = s.list()
    if as_json:
        out.print_json(json.dumps({"store": str(s.root), "likenesses": [
            {"name": lk.name, "photos": len(lk.photos), "consent": lk.consent.to_dict()} for lk in items]}))
        return
    if not items:
        out.print(Text(f"no likenesses enrolled in {s.root}; add one with "
                       "`studio likeness add NAME PHOTO... --consent \"...\"`"), soft_wrap=True)
        return
    table = Table(title=f"likenesses in {s.root}", title_justify="left")
    for column in ("name", "person", "photos", "consent id", "recorded", "statement"):
        table.add_column(column, overflow="fold")
    for lk in items:
        c = lk.consent
        table.add_row(lk.name, c.person, str(len(lk.photos)), c.id, f"{c.recorded_at} by {c.recorded_by}",
                      c.statement)
    out.print(table)


@likeness.command("remove")
@click.argument("name")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False),
              help="Also drop its shots from this cache (default: $STUDIO_CACHE, else ./cache).")
@store_option
def likeness_remove(name: str, cache_dir: str | None, store: str | None) -> None:
    """Delete NAME's photos, faces and embeddings, and every cached shot made with it."""
    from studio.cache.store import default_cache_dir
    from studio.run.identity import remove_likeness

    removal = remove_likeness(name, store=_store(store), caches=[default_cache_dir(cache_dir)])
    text = Text()
    text.append("removed ", style="bold green")
    text.append(f"{name} (consent {removal.likeness.consent.id}): its photos, faces and embeddings; "
                f"{removal.shots_dropped} cached shot{'s' if removal.shots_dropped != 1 else ''} made with it "
                f"dropped from {len([k for k in removal.dropped if removal.dropped[k]]) or 'no'} "
                f"cache{'s' if len(removal.dropped) != 1 else ''}")
    if removal.bank_entries:
        text.append(f", {removal.bank_entries} approved frames")
    out.print(text, soft_wrap=True)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--cast", "cast", multiple=True, metavar="CHARACTER=NAME",
              help="The casting the film was rendered with (as given to render).")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), help="Shot cache folder.")
@click.option("--threshold", type=click.FloatRange(0.0, 2.0), default=0.6, show_default=True,
              help="Face distance past which a cast face has drifted.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Contact sheet of flagged shots (default: out/<name>/qa-flagged.png).")
@click.option("--approve", is_flag=True, help="Add the best face of every shot that passed to the reference banks.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@allow_outside_option
def qa(file: str, cast: tuple[str, ...], cache_dir: str | None, threshold: float, output: str | None,
       approve: bool, as_json: bool, allow_outside_assets: bool) -> None:
    """Identity QA of the film as last rendered: per shot, each known face's distance;
    writes a contact sheet of the flagged shots."""
    from studio.assemble.storyboard import StoryboardFrame, write_storyboard
    from studio.cache.lockfile import Lockfile
    from studio.cache.store import ShotStore, default_cache_dir
    from studio.consistency.cast import apply_cast, cast_film
    from studio.graph.scene_graph import SceneGraph
    from studio.render.backend import Conditioning
    from studio.render.plan import plan_film
    from studio.run.identity import QASettings, approve_shot, check_shot
    from studio.run.local import _identities_for

    screenplay = apply_cast(film_for(file, None, None, None, allow_outside_assets), cast)
    lock = Lockfile.load(Lockfile.beside(file))
    if not lock.shots:
        raise StudioError(f"{file} has not been rendered (no lockfile shots)", hint=f"run `studio render {file}`")
    cache = default_cache_dir(cache_dir)
    film_id = str(Path(file).resolve())
    store = ShotStore(cache)
    settings = QASettings(threshold=threshold, retakes=0)
    try:
        identities = cast_film(screenplay, cache_dir=cache, film_id=film_id).identities
        graph = SceneGraph.from_screenplay(screenplay)
        plans = plan_film(graph, seeds={sid: s.seed for sid, s in lock.shots.items()})
        rows: list[dict[str, object]] = []
        flagged: list[StoryboardFrame] = []
        approved = 0
        for plan in plans:
            locked = lock.shots.get(plan.shot_id)
            clip = store.get(locked.key) if locked and locked.key else None
            if clip is None:
                rows.append({"shot": plan.shot_id, "size": plan.size, "status": "not rendered"})
                continue
            from PIL import Image

            with Image.open(clip.tails[0]) as im:  # the size the clip was rendered at
                width, height = im.size
            plan = replace(plan, width=width, height=height, frames=clip.frames, fps=clip.fps)
            cond = Conditioning(identities=_identities_for(plan, identities))
            check = check_shot(store, plan, cond, clip, clip.key, settings)
            row: dict[str, object] = {"shot": plan.shot_id, "size": plan.size, "take": locked.take}
            if check is None:
                row["status"] = "no known face"
                rows.append(row)
                if approve:  # a character with no known face yet: its first approved face
                    approved += approve_shot(clip, plan, cond, None, cache, film_id, threshold)
                continue
            row.update(check.to_dict())
            row["status"] = "FLAGGED" if check.flagged else "ok"
            rows.append(row)
            if check.flagged:
                caption = "; ".join(f"{c.character_id}: {c.status(threshold)}"
                                    + (f" {c.distance:.2f}" if c.distance is not None else "")
                                    for c in check.characters if c.flagged(threshold))
                flagged.append(StoryboardFrame(plan.shot_id, plan.scene_heading, plan.size, plan.move,
                                               plan.continuity == "continuous", caption, clip.thumb, flagged=True))
            elif approve:
                approved += approve_shot(clip, plan, cond, check, cache, film_id, threshold)
    finally:
        store.manifest.close()

    name = Path(file).stem
    sheet = Path(output) if output else Path("out") / name / "qa-flagged.png"
    sheets: list[Path] = []
    if flagged:
        sheets = write_storyboard(flagged, f"{screenplay.film.title}: identity QA, flagged shots", sheet,
                                  aspect=width / height)
    if as_json:
        out.print_json(json.dumps({"file": file, "threshold": threshold, "shots": rows,
                                   "flagged": [f.shot_id for f in flagged], "contact_sheet": [str(s) for s in sheets],
                                   "approved": approved}, default=str))
        return
    table = Table(title=f"identity QA of {file} (threshold {threshold})", title_justify="left")
    for column in ("shot", "size", "character", "framed", "found", "distance", "status"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        chars = row.get("characters") or []
        if not chars:
            table.add_row(str(row["shot"]), str(row["size"]), "", "", "", "", str(row["status"]))
            continue
        for k, c in enumerate(chars):  # type: ignore[union-attr]
            dist = "" if c["distance"] is None or c["status"] == "not seen" else f"{c['distance']:.3f}"
            who = c["character_id"] + (f" ({c['likeness']})" if c.get("likeness") else "")
            style = "red" if c["status"] in ("drift", "missing") else None
            table.add_row(str(row["shot"]) if k == 0 else "", str(row["size"]) if k == 0 else "", who,
                          "yes" if c["framed"] else "", f"{c['found']}/{c['frames']}", dist,
                          Text(c["status"], style=style or ""))
    out.print(table)
    checked = [r for r in rows if r.get("characters")]
    summary = Text(f"{len(checked)} shots checked, {len(flagged)} flagged")
    if sheets:
        summary.append(f"; contact sheet: {', '.join(map(str, sheets))}")
    if approve:
        summary.append(f"; {approved} faces approved into the reference banks")
    out.print(summary, soft_wrap=True)


@click.command()
@click.argument("film", type=click.Path(dir_okay=False))
@click.option("--key", type=click.Path(dir_okay=False), help="Private key, PEM (default: $STUDIO_SIGN_KEY).")
@click.option("--cert", type=click.Path(dir_okay=False),
              help="Certificate chain, PEM, signer first (default: $STUDIO_SIGN_CERT).")
@click.option("--alg", help="es256 (default), es384, es512, ps256, ps384, ps512 or ed25519.")
@click.option("--tsa", help="A time-stamp authority URL (optional; signing is offline without it).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the signed film here (default: in place).")
def sign(film: str, key: str | None, cert: str | None, alg: str | None, tsa: str | None,
         output: str | None) -> None:
    """Sign a finished film with C2PA Content Credentials. Do it last: any later change
    to the file (a remux, new metadata) breaks the signature."""
    from studio.assemble.sign import sign_film, signing_config

    config = signing_config(key, cert, alg, tsa)
    target = sign_film(Path(film), config, Path(output) if output else None)
    out.print(Text(f"signed {target} ({config.alg}, key from {config.source})"), soft_wrap=True)


@click.command()
@click.argument("film", type=click.Path(dir_okay=False, exists=True))
@click.option("--trust", type=click.Path(dir_okay=False, exists=True),
              help="Trust anchors (PEM): also check the signer's chain leads to one.")
def verify(film: str, trust: str | None) -> None:
    """Check a film's C2PA Content Credentials; exit 1 unless they are valid."""
    from studio.assemble.sign import ASSERTION, verify_film

    result = verify_film(Path(film), Path(trust) if trust else None)
    if result.state is None:
        raise StudioError(f"{film} carries no Content Credentials", hint=f"sign it with `studio sign {film}`")
    text = Text()
    text.append(f"{result.state.lower()} ", style="bold green" if result.ok else "bold red")
    text.append(film)
    problems = [f for f in result.failures if f != "signingCredential.untrusted"]
    if problems:
        text.append(f": {', '.join(problems)}")
    elif "signingCredential.untrusted" in result.failures:
        text.append(" (the signer is not in a trust list; pass --trust ROOT.pem to check it)")
    out.print(text, soft_wrap=True)
    for assertion in (result.manifest or {}).get("assertions", []):
        if assertion.get("label") == ASSERTION:
            for lk in assertion.get("data", {}).get("likenesses", []):
                out.print(Text(f"likeness: {lk.get('name')} ({lk.get('consent')}) as "
                               f"{', '.join(lk.get('characters', []))}"), soft_wrap=True)
    if not result.ok:
        raise SystemExit(1)


COMMANDS = [likeness, qa, sign, verify]
