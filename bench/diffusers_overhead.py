"""Benchmark: what the diffusers backend's orchestration costs next to the pipelines.

Renders a 20-shot film (5 scenes of 4 shots of 4 s, continuous shots among them,
characters with reference images) with the ``diffusers`` backend on tiny random-weight pipelines
of the real classes (tests/render/diffusers/tiny.py), through ``render_film`` (no
sound), and splits the wall time into:

* **inside pipelines**: the video (and keyframe) pipeline calls themselves;
* **model load**: once per run (the registry keeps the pipelines);
* **orchestration**: everything else a render does per shot and per film: prompting
  and conditioning (the backend's own work outside its pipeline calls: sizes,
  context frames, resizing, records), caching (shot keys, the store, tail frames),
  encoding (the per-shot ffmpeg writer), assembling the cut and its side outputs,
  and the rest of the executor (planning, identities, the manifest, the report).

Target: orchestration under 5% of the time inside pipelines. Tiny models make the
pipelines fast and so make this ratio pessimistic: real Wan / LTX calls take minutes
each while orchestration stays the same. The default steps are the families' own
(30 for Wan, 40 for LTX), as a real render uses.

    python bench/diffusers_overhead.py [--family wan-vace|wan-i2v|ltx] [--steps N]
                                       [--size 160x96] [--fps 12] [--seconds 4] [--no-write]

Prints a table and writes its section of BENCHMARKS.md (between
``<!-- diffusers_overhead -->`` and ``<!-- /diffusers_overhead -->``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import record  # noqa: E402

os.environ.setdefault("OMP_NUM_THREADS", "1")

MARK = "diffusers_overhead"
SCENES, SHOTS_PER_SCENE = 5, 4
CONFIGS = {
    "wan-vace": {"model": "tiny-wan-t2v", "vace_model": "tiny-wan-vace"},
    "wan-i2v": {"model": "tiny-wan-t2v", "i2v_model": "tiny-wan-i2v"},
    "ltx": {"model": "tiny-ltx"},
}


def build_models(folder: Path) -> dict[str, Path]:
    from tests.render.diffusers import tiny

    folders = {family: build(folder / family) for family, build in tiny.BUILDERS.items() if family != "sd"}
    return folders


def registry_entries(folders: dict[str, Path], steps: int | None) -> dict[str, dict]:
    options: dict[str, Any] = {"max_sequence_length": 64, "frames_per_chunk": 17}
    if steps is not None:
        options["steps"] = steps
    return {
        "tiny-wan-t2v": {"family": "wan-t2v", "source": str(folders["wan-t2v"]), "options": options},
        "tiny-wan-i2v": {"family": "wan-i2v", "source": str(folders["wan-i2v"]), "options": options},
        "tiny-wan-vace": {"family": "wan-vace", "source": str(folders["wan-vace"]), "options": options},
        "tiny-ltx": {"family": "ltx-condition", "source": str(folders["ltx-condition"]),
                     "options": {**options, "frames_per_chunk": 25}},
    }


def write_film(folder: Path, options: dict, models: dict, size: str, fps: int, seconds: float) -> Path:
    """Five scenes of four explicit shots: a wide, then alternating singles, the second
    and fourth continuous (each picks up on the frame before)."""
    import numpy as np
    import yaml
    from PIL import Image

    (folder / "refs").mkdir(parents=True, exist_ok=True)
    people = [("ana", "Ana", "a woman in a green coat", (40, 160, 60)),
              ("ben", "Ben", "a man in a brown cardigan", (140, 90, 40)),
              ("cy", "Cy", "a child in a yellow raincoat", (220, 200, 40))]
    for cid, _, _, colour in people:
        image = np.zeros((64, 64, 3), np.uint8)
        image[:] = colour
        image[16:48, 20:44] = (230, 190, 160)
        Image.fromarray(image).save(folder / "refs" / f"{cid}.png")
    places = [("kitchen", "a small kitchen with a lamp", True), ("quay", "a stone quay by the sea", False),
              ("stairs", "a spiral stair in a lighthouse", True), ("dunes", "grey dunes under wind", False),
              ("lamp", "the glass lamp room at the top of a lighthouse", True)]
    times = ["night", "dusk", "morning", "day", "evening"]
    sizes = ["medium", "close-up", "medium-close-up"]
    moves = ["static", "dolly-in", "pan-left", "handheld"]
    scenes = []
    for s in range(SCENES):
        a, b = people[s % 3][0], people[(s + 1) % 3][0]
        shots = [{"id": f"s{s + 1}-1", "size": "wide", "move": moves[s % 4], "subjects": [a, b],
                  "duration": seconds}]
        for k in range(1, SHOTS_PER_SCENE):
            shots.append({"id": f"s{s + 1}-{k + 1}", "size": sizes[k % 3], "move": moves[(s + k) % 4],
                          "subjects": [a if k % 2 else b], "duration": seconds,
                          "continuity": "continuous" if k % 2 else "cut"})
        scenes.append({"id": f"s{s + 1}", "location": places[s][0], "time": times[s], "characters": [a, b],
                       "shots": shots, "beats": [{"action": f"{a.title()} and {b.title()} wait."}]})
    data = {
        "version": 1,
        "film": {"title": "Twenty Shots", "fps": fps, "resolution": size, "seed": 3,
                 "look": "warm 35mm film, soft contrast", "negative": "blurry, text",
                 "render": {"backend": "diffusers", "options": {**options, "models": models}}},
        "characters": [{"id": cid, "name": name, "description": desc, "references": [f"refs/{cid}.png"]}
                       for cid, name, desc, _ in people],
        "locations": [{"id": pid, "name": pid.title(), "description": desc, "interior": inside}
                      for pid, desc, inside in places],
        "scenes": scenes,
    }
    path = folder / "film.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class Timers:
    """Seconds spent in named parts of a render (exclusive of each other)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed


@contextmanager
def instrumented(timers: Timers, backends: list[Any]) -> Iterator[None]:
    """Time the executor's parts by wrapping what it calls (restored afterwards)."""
    from studio.assemble import encode
    from studio.cache import store
    from studio.run import local

    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, attr: str, value: Any) -> None:
        saved.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, value)

    real_load = local.load_backend

    def load_backend(*args: Any, **kwargs: Any) -> Any:
        backend = timers.wrap("backend set-up", real_load)(*args, **kwargs)
        backends.append(backend)
        real_render = backend.render

        def render(plan: Any, cond: Any) -> Iterator[Any]:
            frames = timers.wrap("backend", real_render)(plan, cond)
            while True:  # each frame: the backend's own work, pipeline calls included
                started = time.perf_counter()
                try:
                    frame = next(frames)
                except StopIteration:
                    timers.seconds["backend"] += time.perf_counter() - started
                    return
                timers.seconds["backend"] += time.perf_counter() - started
                yield frame

        backend.render = render
        return backend

    patch(local, "load_backend", load_backend)
    for attr in ("write", "__enter__", "__exit__"):
        patch(encode.ClipWriter, attr, timers.wrap("encoding (ffmpeg per shot)", getattr(encode.ClipWriter, attr)))
    for attr in ("get", "put", "tail_frames"):
        patch(store.ShotStore, attr, timers.wrap("caching (store, tails, manifest)", getattr(store.ShotStore, attr)))
    patch(local, "shot_key", timers.wrap("caching (store, tails, manifest)", local.shot_key))
    for attr in ("assemble_cut", "write_subtitles", "write_timeline", "write_storyboard"):
        patch(local, attr, timers.wrap("assembly (cut, subtitles, timeline, storyboard)", getattr(local, attr)))
    try:
        yield
    finally:
        for owner, attr, value in reversed(saved):
            setattr(owner, attr, value)


def run(family: str, steps: int | None, size: str, fps: int, seconds: float,
        models_dir: Path | None) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from studio.run.local import render_film
    from studio.screenplay import load_screenplay

    work = Path(tempfile.mkdtemp(prefix="studio-diffusers-bench-"))
    try:
        folders = build_models(models_dir or work / "models")
        os.environ["STUDIO_MODELS"] = str(work / "absent.yaml")  # only the film's models
        film = write_film(work / "film", CONFIGS[family], registry_entries(folders, steps), size, fps, seconds)
        screenplay = load_screenplay(film)
        timers, backends = Timers(), []
        started = time.perf_counter()
        with instrumented(timers, backends):
            result = render_film(screenplay, work / "out", cache_dir=work / "cache", name="twenty", audio=False)
        wall = time.perf_counter() - started
        backend = backends[-1]
        stats = backend.stats
        inside = stats.inside_pipelines
        parts = dict(timers.seconds)
        backend_total = parts.pop("backend", 0.0)
        setup = parts.pop("backend set-up", 0.0)
        parts["prompting and conditioning (backend, outside pipeline calls)"] = backend_total - inside - \
            stats.load_seconds
        parts["executor (planning, identities, report)"] = wall - inside - stats.load_seconds - setup - sum(
            parts.values())
        parts["backend set-up (options, registry)"] = setup
        overhead = sum(parts.values())
        plans = result.plans
        return {
            "family": family, "models": {role: spec.name for role, spec in backend.roles.assigned()},
            "steps": backend._setting(backend.roles.assigned()[0][1], "steps"), "size": size, "fps": fps,
            "seconds": seconds, "frames_per_chunk": backend.frames_per_chunk(),
            "generation_size": "x".join(map(str, backend.generation_size(plans[0]))),
            "shots": len(plans), "continuous": sum(p.continuity == "continuous" for p in plans),
            "frames": sum(p.frames for p in plans), "calls": stats.calls,
            "frames_generated": stats.frames_generated, "wall_s": wall, "inside_s": inside,
            "load_s": stats.load_seconds, "parts": parts, "overhead_s": overhead,
            "ratio": overhead / inside if inside else float("inf"),
            "per_shot_ms": 1000 * overhead / len(plans),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def machine() -> str:
    import diffusers
    import torch

    return (f"{record.machine()}, torch {torch.__version__} "
            f"(1 thread), diffusers {diffusers.__version__}")


def table_rows(r: dict[str, Any]) -> list[tuple[str, float, str]]:
    inside = r["inside_s"]
    rows = [("inside pipeline calls", inside, "100%")]
    for name, seconds in sorted(r["parts"].items(), key=lambda kv: -kv[1]):
        rows.append((name, seconds, f"{100 * seconds / inside:.2f}%"))
    rows.append(("**orchestration, total**", r["overhead_s"], f"**{100 * r['ratio']:.2f}%**"))
    rows.append(("model load (once per run)", r["load_s"], "not counted"))
    rows.append(("wall", r["wall_s"], ""))
    return rows


def verdict(r: dict[str, Any]) -> str:
    """The result in words: the target, the cost per shot, and the break-even shot."""
    inside_per_shot = r["inside_s"] / r["shots"]
    return (f"Orchestration {100 * r['ratio']:.2f}% of pipeline time: "
            f"{'meets' if r['ratio'] < 0.05 else 'misses'} the 5% target. It costs {r['per_shot_ms']:.0f} ms a shot "
            f"(pipeline calls here: {inside_per_shot:.2f} s a shot), so it stays under 5% whenever a shot's "
            f"pipeline calls take more than {r['per_shot_ms'] / 50:.1f} s.")


def write_section(results: list[dict[str, Any]], command: str) -> None:
    parts = [f"""<!-- {MARK} -->
## Diffusers backend: orchestration vs pipelines (`bench/diffusers_overhead.py`)

{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, {machine()}. Command: `{command}`.
A 20-shot film (5 scenes x 4 shots, 8 continuous; characters with reference images) rendered by
`render_film` (no sound) with tiny random-weight pipelines of the real classes, CPU. Orchestration
is everything but the pipeline calls and the one-time model load; target: under 5% of the time
inside pipeline calls. Tiny models make pipeline time small (a tiny LTX-Video call takes a fraction
of a second), so each family also gets its break-even: the pipeline time per shot above which
orchestration stays under 5%."""]
    for r in results:
        parts.append(f"""
**{r['family']}** ({', '.join(f'{k}: {v}' for k, v in r['models'].items())}), {r['steps']} steps,
film {r['size']} at {r['fps']} fps, generated at {r['generation_size']}: {r['shots']} shots of {r['seconds']:g} s,
{r['frames']} frames, {r['calls']} pipeline calls of at most {r['frames_per_chunk']} frames
({r['frames_generated']} frames generated).

| part | seconds | of pipeline time |
| --- | ---: | ---: |
""" + "\n".join(f"| {name} | {seconds:.3f} | {share} |" for name, seconds, share in table_rows(r)))
        parts.append(f"\n{verdict(r)}")
    record.write_section(MARK, "\n".join(parts) + f"\n<!-- /{MARK} -->")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=[*CONFIGS, "all"], default="all")
    parser.add_argument("--steps", type=int, help="denoising steps (default: the family's, as a real render)")
    parser.add_argument("--size", default="160x96", help="the film's WIDTHxHEIGHT")
    parser.add_argument("--fps", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=4.0,
                        help="each shot's length (the example film averages 5 s a shot)")
    parser.add_argument("--models", type=Path, help="build the tiny models here (and keep them)")
    parser.add_argument("--no-write", action="store_true", help="Do not update BENCHMARKS.md.")
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)  # diffusers' per-call notes about the tiny models
    families = list(CONFIGS) if args.family == "all" else [args.family]
    results = [run(f, args.steps, args.size, args.fps, args.seconds, args.models) for f in families]
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for r in results:
        table = Table(title=f"{r['family']}: {r['shots']} shots, {r['frames']} frames, {r['calls']} calls, "
                            f"{r['steps']} steps, {r['generation_size']}", title_justify="left")
        table.add_column("part")
        table.add_column("seconds", justify="right")
        table.add_column("of pipeline time", justify="right")
        for name, seconds, share in table_rows(r):
            table.add_row(name.strip("*"), f"{seconds:.3f}", share.strip("*"))
        console.print(table)
        console.print(verdict(r), soft_wrap=True)
    if not args.no_write:
        write_section(results, " ".join(["python bench/diffusers_overhead.py", *sys.argv[1:]]))
        console.print("wrote the diffusers_overhead section of BENCHMARKS.md")


if __name__ == "__main__":
    main()
