"""Benchmark: what an edit costs once a feature is rendered.

Renders a generated feature-length screenplay once (the full render), then measures,
each with the real `studio render` command in a fresh process:

* an unchanged re-render (target: under 3 seconds: nothing rendered, nothing rebuilt);
* re-rendering one shot as a new take and rebuilding the cut (target: under 2% of
  the full render);
* selecting the previous take again (`studio take`), which only rebuilds the cut.

    python bench/rerender.py [--minutes 90] [--resolution 854x480] [--keep DIR]

Prints a table and writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from bench.generate_feature import write_feature  # noqa: E402
from bench.record import machine  # noqa: E402

MARK = "rerender"


def studio(*args: str, cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "studio", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"studio {' '.join(args)} failed:\n{proc.stderr}")
    return took, proc.stdout


def run(minutes: float, resolution: str, keep: Path | None) -> dict:
    folder = keep or Path(tempfile.mkdtemp(prefix="studio-rerender-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        write_feature(folder / "feature.yaml", minutes=minutes, seed=0, resolution=resolution)
        args = ["render", "feature.yaml", "-o", "out", "--cache", "cache", "--quiet"]
        full, _ = studio(*args, cwd=folder)
        report = json.loads((folder / "out" / "render-report.json").read_text())
        unchanged, _ = studio(*args, cwd=folder)
        after_unchanged = json.loads((folder / "out" / "render-report.json").read_text())

        from studio.graph.scene_graph import SceneGraph
        from studio.screenplay import load_screenplay

        graph = SceneGraph.from_screenplay(load_screenplay(folder / "feature.yaml"))
        followers = {chain[i] for chain in graph.chains for i in range(len(chain) - 1)}
        candidates = [s.id for s in graph.shots[len(graph.shots) // 2:] if s.id not in followers]
        shot = candidates[0]
        one, _ = studio(*args, "--shot", shot, cwd=folder)
        after_one = json.loads((folder / "out" / "render-report.json").read_text())
        back, _ = studio("take", "feature.yaml", shot, "1", "-o", "out", "--cache", "cache", cwd=folder)
        return {
            "minutes": minutes, "resolution": resolution, "shots": report["shots_total"],
            "film_seconds": report["film_seconds"], "full_render_s": round(full, 2),
            "unchanged_s": round(unchanged, 2), "unchanged_rendered": after_unchanged["shots_rendered"],
            "unchanged_rebuilt": after_unchanged["cut_rebuilt"],
            "one_shot": shot, "one_shot_s": round(one, 2), "one_shot_rendered": after_one["rendered"],
            "one_shot_share": round(one / full, 4), "take_back_s": round(back, 2),
        }
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def write_section(result: dict, command: str) -> None:
    body = f"""<!-- {MARK} -->
## Editing a rendered feature (`bench/rerender.py`)

{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, {machine()}. Command: `{command}`.
A generated {result['minutes']:.0f}-minute feature ({result['shots']} shots, {result['film_seconds'] / 60:.1f} minutes
planned), {result['resolution']}, animatic backend, with sound. Each step is a fresh `studio` process
(times include Python start-up and imports).

| step | seconds | notes |
| --- | ---: | --- |
| full render | {result['full_render_s']} | everything rendered |
| unchanged re-render | {result['unchanged_s']} | {result['unchanged_rendered']} shots rendered, cut rebuilt: {result['unchanged_rebuilt']} (target: under 3 s) |
| one shot as a new take + cut | {result['one_shot_s']} | rendered {', '.join(result['one_shot_rendered'])}: {100 * result['one_shot_share']:.2f}% of the full render (target: under 2%) |
| select the old take again | {result['take_back_s']} | `studio take`: only the cut is rebuilt |
<!-- /{MARK} -->"""
    record.write_section(MARK, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=90)
    parser.add_argument("--resolution", default="854x480")
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it.")
    parser.add_argument("--no-write", action="store_true", help="Do not update BENCHMARKS.md.")
    args = parser.parse_args()
    result = run(args.minutes, args.resolution, args.keep)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"editing a {args.minutes:.0f}-minute feature")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for label, key in (("full render", "full_render_s"), ("unchanged re-render", "unchanged_s"),
                       ("one shot + cut", "one_shot_s"), ("take back", "take_back_s")):
        table.add_row(label, f"{result[key]:.2f}")
    Console().print(table)
    print(json.dumps(result, indent=1))
    if not args.no_write:
        write_section(result, "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]))


if __name__ == "__main__":
    main()
