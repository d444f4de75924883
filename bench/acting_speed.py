"""What the animatic's acting costs to draw: CPU seconds per second of film.

The first ``--shots`` shots of a generated feature (``generate_feature(minutes=10,
seed=0)``) are drawn by the animatic at 854x480, each with its spoken lines (spoken
once, cached, outside the timing), frames drawn and dropped. Each version runs in a
fresh process (``PYTHONPATH`` set to its checkout), alternating, ``--runs`` times; the
figure is that process's CPU time (``process_time``) plus its children's (espeak-ng's
phoneme timing runs in a fresh process per line).

Usage (from the repository root)::

    python bench/acting_speed.py --previous /path/to/main/checkout     # recorded
    python bench/acting_speed.py --no-record --shots 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if sys.argv[1:2] != ["_draw"]:  # a child draws with the checkout its PYTHONPATH names
    sys.path.insert(0, str(ROOT))

MARK = "acting_speed_now"


def _draw(screenplay: str, cache: str, shots: int, size: str) -> None:
    """In the child: draw the shots and print one JSON line of what it cost."""
    import dataclasses

    from studio.audio.speech import shot_speech, speech_seconds, synthesize_lines
    from studio.graph.scene_graph import SceneGraph
    from studio.render.animatic import VERSION, AnimaticBackend
    from studio.render.backend import Conditioning
    from studio.render.plan import plan_film
    from studio.screenplay import load_screenplay

    w, h = (int(v) for v in size.lower().split("x"))
    sp = load_screenplay(screenplay)
    lines = synthesize_lines(sp, Path(cache))
    plans = plan_film(SceneGraph.from_screenplay(sp, speech_seconds(lines)))[:shots]
    plans = [dataclasses.replace(p, width=w, height=h) for p in plans]
    speech = [shot_speech(p, lines) for p in plans]
    backend = AnimaticBackend({})
    t0, c0 = time.process_time(), os.times()
    frames = 0
    for plan, sp_ in zip(plans, speech):
        for _ in backend.render(plan, Conditioning(speech=sp_)):
            frames += 1
    cpu, c1 = time.process_time() - t0, os.times()
    children = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    film = sum(p.duration for p in plans)
    print(json.dumps({"version": VERSION, "cpu": cpu, "children": children, "frames": frames, "film": film}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_draw":
        _draw(*sys.argv[2:4], int(sys.argv[4]), sys.argv[5])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--previous", help="a checkout of the previous version to draw beside this one")
    ap.add_argument("--shots", type=int, default=40)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--size", default="854x480")
    ap.add_argument("--cache", default=str(ROOT / "cache"), help="where spoken lines are cached")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()

    from bench import record
    from bench.generate_feature import generate_feature, to_yaml

    checkouts = [("this", ROOT)] + ([("previous", Path(args.previous).resolve())] if args.previous else [])
    results: dict[str, list[dict]] = {name: [] for name, _ in checkouts}
    with tempfile.TemporaryDirectory() as tmp:
        film = Path(tmp) / "ten.yaml"
        film.write_text(to_yaml(generate_feature(minutes=10, seed=0)), encoding="utf-8")
        for run in range(args.runs):
            for name, code in (checkouts if run % 2 == 0 else checkouts[::-1]):
                env = {**os.environ, "PYTHONPATH": str(code)}
                done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_draw", str(film), args.cache,
                                       str(args.shots), args.size], env=env, capture_output=True, text=True,
                                      check=True, cwd=str(code))
                row = json.loads(done.stdout.strip().splitlines()[-1])
                results[name].append(row)
                print(name, row, flush=True)
    rows = []
    for name, runs in results.items():
        r0 = runs[0]
        cpu = ", ".join(f"{r['cpu']:.2f}" for r in runs)
        kids = ", ".join(f"{r['children']:.2f}" for r in runs)
        per = min((r["cpu"] + r["children"]) / r["film"] for r in runs)
        rows.append(f"| {name} (animatic {r0['version']}) | {cpu} | {kids} | {per:.3f} |")
    r0 = next(iter(results.values()))[0]
    table = "\n".join(["| version | CPU s | in child processes s | CPU s per film second (best) |",
                       "|---|---|---|---|", *rows])
    print(table)
    if not args.no_record:
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        record.write_section(MARK, (
            f"<!-- {MARK} -->\n## The animatic acting: drawing cost per film second (staging and gestures)\n\n"
            f"{when}, {record.machine()}, load average {os.getloadavg()[0]:.1f} at the end. Command: "
            f"`python bench/acting_speed.py --previous MAIN_CHECKOUT` (the first {args.shots} shots of "
            f"`generate_feature(minutes=10, seed=0)`, {int(r0['frames'])} frames = {r0['film']:.0f} s of film, "
            f"{args.size}, each shot with its spoken lines, frames drawn and dropped; each version in a fresh "
            f"process, alternating).\n\n{table}\n<!-- /{MARK} -->"))


if __name__ == "__main__":
    main()
