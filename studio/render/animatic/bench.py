"""Frames per second of the animatic backend over every shot of a screenplay.

    python -m studio.render.animatic.bench screenplays/the-last-lamp.yaml --size 854x480 --size 1280x720

Renders every shot in story order (continuous shots get the previous shot's last
frame), keeps no frames, and prints frames/s overall and for still and moving
cameras. Pin it to one core (``taskset -c 0``) to measure what one core does.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from studio.graph.scene_graph import SceneGraph
from studio.render.animatic.backend import AnimaticBackend
from studio.render.backend import Conditioning
from studio.render.plan import plan_film
from studio.screenplay import load_screenplay


def measure(path: str, width: int, height: int, options: dict | None = None) -> dict[str, float]:
    """Render every shot of ``path`` at ``width`` x ``height``; frames and seconds
    overall, for still cameras and for moving ones."""
    plans = plan_film(SceneGraph.from_screenplay(load_screenplay(path)))
    backend = AnimaticBackend(options or {})
    out = {"frames": 0, "seconds": 0.0, "still_frames": 0, "still_seconds": 0.0, "moving_frames": 0,
           "moving_seconds": 0.0}
    previous: list = []
    for plan in plans:
        plan = dataclasses.replace(plan, width=width, height=height)
        cond = Conditioning(previous_frames=previous if plan.continuity == "continuous" else [])
        start = time.perf_counter()
        last = None
        for frame in backend.render(plan, cond):
            last = frame
        took = time.perf_counter() - start
        previous = [last] if last is not None else []
        kind = "still" if plan.move == "static" else "moving"
        out["frames"] += plan.frames
        out["seconds"] += took
        out[f"{kind}_frames"] += plan.frames
        out[f"{kind}_seconds"] += took
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("screenplay")
    parser.add_argument("--size", action="append", default=None, help="WIDTHxHEIGHT (repeatable)")
    args = parser.parse_args(argv)
    for size in args.size or ["854x480", "1280x720"]:
        w, h = (int(v) for v in size.split("x"))
        r = measure(args.screenplay, w, h)
        line = f"{w}x{h}: {r['frames']} frames in {r['seconds']:.2f} s = {r['frames'] / r['seconds']:.0f} frames/s"
        for kind in ("still", "moving"):
            if r[f"{kind}_frames"]:
                line += f"; {kind} {r[f'{kind}_frames'] / r[f'{kind}_seconds']:.0f}"
        print(line)


if __name__ == "__main__":
    main()
