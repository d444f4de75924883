"""Benchmark: importing feature-length Fountain screenplays.

Generates a 90-minute feature and one long enough to run to 120 formatted pages
(``bench/generate_fountain.py``), then times, in this process (median of several runs):

* parsing the Fountain syntax (text to elements);
* the whole import (elements to studio data and its source map);
* validation, and ``load_screenplay`` of the .fountain file from disk (all of the above);
* writing the YAML (``studio import``) and, for comparison, loading that YAML;
* planning the shot list (``SceneGraph``), with its runtime against the page count;
* the Fountain export (``studio export``) and whether importing it gives the same
  screenplay (round trip); how many introduced characters got their description;

and ``studio check FILE.fountain`` as a fresh process (Python start-up included).
Target: a 120-page feature imports (``load_screenplay``) in under a second.

    python bench/fountain_import.py [--repeat 5] [--no-write]

Prints a table and writes its section of BENCHMARKS.md (between ``<!-- fountain -->``
and ``<!-- /fountain -->``; the other sections are kept).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import record
from bench.generate_feature import generate_feature
from bench.generate_fountain import to_fountain
from bench.record import machine
from studio.graph.scene_graph import SceneGraph
from studio.screenplay import load_screenplay
from studio.screenplay.fountain import parse_fountain_text
from studio.screenplay.fountain_export import to_fountain as export_fountain
from studio.screenplay.fountain_import import import_fountain, parse_fountain, to_yaml
from studio.screenplay.validate import validate

MARK = "fountain"
TARGET_PAGES = 120
TARGET_SECONDS = 1.0


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _minutes_for_pages(pages: float, seed: int) -> float:
    """Generator minutes that format to about ``pages`` pages (pages grow almost
    linearly with minutes: a few proportional steps)."""
    minutes = 90.0
    for _ in range(4):
        got = import_fountain(to_fountain(generate_feature(minutes=minutes, seed=seed))).pages
        minutes = round(minutes * pages / got, 1)
    return minutes


def measure(label: str, minutes: float, folder: Path, repeat: int, seed: int = 0) -> dict[str, Any]:
    data = generate_feature(minutes=minutes, seed=seed)
    text = to_fountain(data)
    path = folder / f"{label.split()[0]}.fountain"
    path.write_text(text, encoding="utf-8")
    raw = path.read_bytes()
    parse_s, _doc = _median(lambda: parse_fountain_text(text), repeat)
    import_s, imported = _median(lambda: import_fountain(raw, str(path)), repeat)
    validate_s, _ = _median(lambda: validate(imported.data, imported.source), repeat)
    load_s, screenplay = _median(lambda: load_screenplay(path), repeat)
    yaml_s, yaml_text = _median(lambda: to_yaml(imported), repeat)
    yaml_path = path.with_suffix(".yaml")
    yaml_path.write_text(yaml_text, encoding="utf-8")
    load_yaml_s, _ = _median(lambda: load_screenplay(yaml_path), repeat)
    plan_s, graph = _median(lambda: SceneGraph.from_screenplay(screenplay), max(1, repeat // 2))
    export_s, exported = _median(lambda: export_fountain(screenplay), repeat)
    round_trip = parse_fountain(exported, str(path)).model_dump() == screenplay.model_dump()
    # the generator introduces every speaking character but every tenth one (bench/generate_fountain.py)
    got = {c["name"]: c["description"] for c in imported.data["characters"]}
    written = [(k, c) for k, c in enumerate(data["characters"]) if c["name"] in got]
    introduced = [c for k, c in written if k % 10 != 9]
    described = sum(1 for c in introduced if got[c["name"]] == c["description"])
    invented = sum(1 for k, c in written if k % 10 == 9 and got[c["name"]])
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "studio", "check", str(path)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    check_s = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"studio check {path} failed:\n{proc.stderr}")
    return {
        "label": label, "minutes": minutes, "bytes": len(raw), "lines": text.count("\n"),
        "pages": imported.pages, "scenes": len(imported.data["scenes"]),
        "characters": len(imported.data["characters"]), "locations": len(imported.data["locations"]),
        "dialogue": imported.dialogue_lines, "shots": len(graph.shots),
        "spoken": sum(len(s.lines) for s in graph.shots), "runtime_min": graph.runtime / 60,
        "parse_s": parse_s, "import_s": import_s, "validate_s": validate_s, "load_s": load_s,
        "yaml_s": yaml_s, "load_yaml_s": load_yaml_s, "plan_s": plan_s, "check_s": check_s,
        "export_s": export_s, "round_trip": round_trip, "introduced": len(introduced), "described": described,
        "invented": invented,
    }


def render(path: Path, resolution: str) -> dict[str, Any]:
    """``studio render FILE.fountain`` in a fresh process, with sound, into a fresh cache;
    the film checked with ffprobe against the report's planned runtime."""
    import json
    import shutil

    out, cache = path.parent / "out", path.parent / "cache"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "studio", "render", str(path), "-o", str(out), "--cache", str(cache),
                           "--resolution", resolution, "--quiet"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"studio render {path} failed:\n{proc.stderr}")
    report = json.loads((out / "render-report.json").read_text())
    film = Path(report["outputs"]["film"])
    info = json.loads(subprocess.run(
        [shutil.which("ffprobe") or "ffprobe", "-v", "error", "-print_format", "json", "-show_format",
         "-show_streams", "-show_chapters", str(film)], capture_output=True, text=True, check=True).stdout)
    streams = sorted(s["codec_type"] for s in info["streams"])
    return {"resolution": resolution, "wall_s": wall, "shots": report["shots_total"],
            "rendered": report["shots_rendered"], "film_seconds": report["film_seconds"],
            "probed_seconds": float(info["format"]["duration"]), "streams": streams,
            "chapters": len(info.get("chapters", [])), "mb": film.stat().st_size / 1e6}


ROWS = (
    ("parse the Fountain syntax", "parse_s", "text to elements"),
    ("import (parse + convert)", "import_s", "studio data and its source map to Fountain lines"),
    ("validate", "validate_s", "the same two passes a YAML screenplay gets"),
    ("`load_screenplay(FILE.fountain)`", "load_s", "read + import + validate: what check/shots/render do"),
    ("write the YAML (`studio import`)", "yaml_s", "with title page, sections and synopses as comments"),
    ("`load_screenplay` of that YAML", "load_yaml_s", "for comparison: the same film as YAML"),
    ("plan the shot list", "plan_s", "SceneGraph: coverage, continuity, runtime"),
    ("export as Fountain (`studio export`)", "export_s", "the screenplay back in Fountain"),
    ("`studio check FILE.fountain`", "check_s", "a fresh process: Python start-up and imports included"),
)


def render_note(r: dict[str, Any] | None) -> str:
    if r is None:
        return ""
    return (f"\n`studio render` of the 90-minute `.fountain` file at {r['resolution']}, with sound, into a fresh "
            f"cache (a fresh process): {r['shots']} shots, all rendered ({r['rendered']}), in {r['wall_s'] / 60:.1f} "
            f"min ({r['wall_s'] / r['film_seconds']:.3f}x real time); the film is {r['probed_seconds'] / 60:.2f} min "
            f"by ffprobe (planned {r['film_seconds'] / 60:.2f}), streams: {', '.join(r['streams'])}, "
            f"{r['chapters']} chapters, {r['mb']:.0f} MB.\n")


def markdown(results: list[dict[str, Any]], command: str, rendered: dict[str, Any] | None = None) -> str:
    head = "| step | " + " | ".join(r["label"] for r in results) + " | notes |\n"
    head += "| --- | " + " | ".join("---:" for _ in results) + " | --- |\n"
    body = ""
    for name, key, note in ROWS:
        body += f"| {name} | " + " | ".join(f"{r[key] * 1000:.0f} ms" for r in results) + f" | {note} |\n"
    size = "| the screenplay | " + " | ".join(
        f"{r['pages']:.0f} pages, {r['lines']} lines, {r['bytes'] / 1024:.0f} KiB" for r in results) + " | formatted: 55 lines a page |\n"
    film = "| the film | " + " | ".join(
        f"{r['scenes']} scenes, {r['characters']} characters, {r['locations']} locations, {r['dialogue']} lines of "
        f"dialogue, {r['shots']} shots" for r in results) + " | |\n"
    faithful = "| introductions, round trip | " + " | ".join(
        f"{r['described']} of {r['introduced']} introduced described, {r['invented']} invented; round trip "
        f"{'identical' if r['round_trip'] else 'DIFFERS'}" for r in results) + " | import, export, import |\n"
    runtime = "| planned runtime | " + " | ".join(
        f"{r['runtime_min']:.1f} min ({r['runtime_min'] / r['pages']:.2f} min a page)" for r in results
    ) + " | the page-a-minute rule says 1.00 |\n"
    long = next(r for r in results if r["label"].startswith(str(TARGET_PAGES)))
    verdict = "meets" if long["load_s"] < TARGET_SECONDS else "misses"
    ratio = long["load_s"] / long["load_yaml_s"]
    return f"""<!-- {MARK} -->
## Fountain import (`bench/fountain_import.py`)

{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, {machine()}. Command: `{command}`.
Generated features written as Fountain by `bench/generate_fountain.py` (title page, act sections and
synopses, numbered headings with CONTINUOUS/LATER, wrapped action and dialogue, cues with extensions,
parentheticals, transitions, notes and boneyard, character introductions). Times are medians in one process
(load average {os.getloadavg()[0]:.1f} on the machine when the run ended: other work shares the cores).

{head}{size}{film}{faithful}{runtime}{body}
The {long['pages']:.0f}-page feature imports, validated, in {long['load_s'] * 1000:.0f} ms: {verdict} the
{TARGET_SECONDS:.0f}-second target ({ratio:.2f}x the time to load the same film as YAML). Every line of
dialogue is in the shot list ({long['spoken']} of {long['dialogue']}).
{render_note(rendered)}<!-- /{MARK} -->"""


def _previous_render_note() -> str:
    """The render line of the section now in BENCHMARKS.md (a run without --render keeps it, dated)."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find(f"<!-- {MARK} -->"), text.find(f"<!-- /{MARK} -->")
    section = text[start:end] if 0 <= start < end else ""
    stamp = next((line.split(",")[0] for line in section.splitlines() if " UTC" in line), "")
    for line in section.splitlines():
        if line.startswith("`studio render` of the 90-minute"):
            return line if "(measured " in line else f"{line} (measured {stamp}, before this run)"
    return ""


def write_section(section: str) -> None:
    record.write_section(MARK, section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (median; default 5)")
    parser.add_argument("--render", metavar="WxH", nargs="?", const="426x240",
                        help="Also render the 90-minute .fountain file, with sound (default size 426x240).")
    parser.add_argument("--no-write", action="store_true", help="Do not update BENCHMARKS.md.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="studio-fountain-") as tmp:
        folder = Path(tmp)
        long_minutes = _minutes_for_pages(TARGET_PAGES, seed=0)
        results = [measure("90 minutes", 90, folder, args.repeat),
                   measure(f"{TARGET_PAGES} pages", long_minutes, folder, args.repeat)]
        rendered = render(folder / "90.fountain", args.render) if args.render else None
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Fountain import", title_justify="left")
    table.add_column("step")
    for r in results:
        table.add_column(f"{r['label']} ({r['pages']:.0f} pages)", justify="right")
    for name, key, _note in ROWS:
        table.add_row(name.replace("`", ""), *(f"{r[key] * 1000:.0f} ms" for r in results))
    table.add_row("planned runtime", *(f"{r['runtime_min']:.1f} min" for r in results))
    table.add_row("dialogue lines in the shot list", *(f"{r['spoken']} / {r['dialogue']}" for r in results))
    table.add_row("introduced characters described", *(f"{r['described']} / {r['introduced']}" for r in results))
    table.add_row("round trip (import, export, import)",
                  *("identical" if r["round_trip"] else "DIFFERS" for r in results))
    Console().print(table)
    if rendered:
        print(render_note(rendered).strip())
    if not args.no_write:
        if rendered is None:
            rendered_note = _previous_render_note()
        command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *(argv if argv is not None else sys.argv[1:])])
        section = markdown(results, command, rendered)
        if rendered is None and rendered_note:
            section = section.replace(f"<!-- /{MARK} -->", f"\n{rendered_note}\n<!-- /{MARK} -->")
        write_section(section)
        print("wrote the fountain section of BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
