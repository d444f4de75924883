"""Benchmark: what one shot costs, split into a cost per shot and a cost per frame.

A film's CPU goes partly to every frame (drawing it, encoding it) and partly to every
shot whatever its length (a canvas and its backdrop, the figures' first poses, starting
ffmpeg and x264, the tail picture and thumbnail, the cache's record). Which of the two
dominates decides what to make cheaper, and how a film's cost scales with its cutting:
``-j N`` hands out the longest shots first, so the last part of a render is all short
shots and runs slower per frame (issue 19 note).

It renders a generated film (``generate_feature``, seed 0) with the ``animatic`` backend,
pictures only, at ``-j 1``, each run in a fresh process into a fresh cache, and records
per shot its wall time and the CPU of the studio process and of its ffmpeg children.
A least-squares fit ``cost = per_shot + per_frame * frames`` over the shots splits each.
With ``--previous PATH`` (a checkout of another studio version) the runs alternate
between the two versions, so the host's drift falls on both alike.

Usage (from the repository root, with the project's virtual environment)::

    python bench/shot_costs.py                          # the 10-minute film, two runs
    python bench/shot_costs.py --previous ../prev       # alternated with another checkout
    python bench/shot_costs.py --minutes 1 --runs 1 --no-write   # a smoke run

It prints a table and writes its section of ``BENCHMARKS.md`` (``<!-- shot_costs -->``)
unless ``--no-write`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_feature import write_feature  # noqa: E402
from record import ROOT, machine, write_section  # noqa: E402

FPS = 24
SEED = 0


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


class ShotMeter:
    """A render's progress that records, per shot, its frames, wall and CPU."""

    def __init__(self) -> None:
        self.shots: list[dict[str, Any]] = []
        self._open: tuple[str, int, float, float, float] | None = None  # a shot being rendered

    def film_started(self, shots: int, frames: int) -> None: ...

    def shot_started(self, plan: Any, cached: bool) -> None:
        self._open = None if cached else (plan.shot_id, int(plan.frames), time.perf_counter(), *_cpu())

    def frames_done(self, count: int) -> None: ...

    def shot_finished(self, plan: Any, cached: bool) -> None:  # local passes whether it rendered
        if self._open is None:
            return
        shot, frames, t0, own0, kids0 = self._open
        own1, kids1 = _cpu()
        self.shots.append({"shot": shot, "frames": frames, "wall": time.perf_counter() - t0,
                           "studio": own1 - own0, "ffmpeg": kids1 - kids0})
        self._open = None

    def stage(self, name: str) -> None: ...


def fit(shots: list[dict[str, Any]], key: str) -> dict[str, float]:
    """``key``'s seconds per shot as ``per_shot + per_frame * frames`` (least squares),
    and the share of the total the per-shot part accounts for."""
    frames = np.array([s["frames"] for s in shots], float)
    cost = np.array([s[key] for s in shots], float)
    (per_shot, per_frame), *_ = np.linalg.lstsq(np.vstack([np.ones_like(frames), frames]).T, cost, rcond=None)
    total = float(cost.sum())
    return {"per_shot_ms": round(per_shot * 1000, 1), "per_frame_ms": round(per_frame * 1000, 3),
            "total_s": round(total, 2), "shot_share": round(per_shot * len(shots) / total, 3) if total else 0.0}


def cmd_run(args: argparse.Namespace) -> int:
    """``_run``: one render in this (fresh) process; its per-shot figures as JSON."""
    import studio
    from studio.run.local import render_film
    from studio.screenplay import load_screenplay

    meter = ShotMeter()
    with tempfile.TemporaryDirectory(prefix="studio-shot-costs-") as tmp:
        started, cpu0 = time.perf_counter(), _cpu()
        render_film(load_screenplay(Path(args.screenplay)), Path(tmp) / "out", cache_dir=Path(tmp) / "cache",
                    name="film", backend_name="animatic", progress=meter, audio=False)
        wall, cpu1 = time.perf_counter() - started, _cpu()
    from studio.assemble.ffmpeg import ffmpeg_version

    Path(args.out).write_text(json.dumps({
        "studio": getattr(studio, "__version__", "?"), "studio_path": str(Path(studio.__file__).parent),
        "ffmpeg": ffmpeg_version(), "wall": round(wall, 2), "studio_cpu": round(cpu1[0] - cpu0[0], 2),
        "ffmpeg_cpu": round(cpu1[1] - cpu0[1], 2), "shots": meter.shots,
    }))
    return 0


def one_run(screenplay: Path, checkout: Path, label: str, work: Path) -> dict[str, Any]:
    out = work / f"{label}-{time.monotonic_ns()}.json"
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "_run", "--screenplay", str(screenplay),
                    "--out", str(out)], check=True, env=env, cwd=checkout)
    run = json.loads(out.read_text())
    frames = sum(s["frames"] for s in run["shots"])
    run.update(label=label, frames=frames, fit={k: fit(run["shots"], k) for k in ("wall", "studio", "ffmpeg")})
    print(f"  {label}: {len(run['shots'])} shots, {frames} frames, wall {run['wall']} s, CPU studio "
          f"{run['studio_cpu']} s + ffmpeg {run['ffmpeg_cpu']} s", file=sys.stderr, flush=True)
    return run


def table(runs: list[dict[str, Any]]) -> str:
    rows = ["| run, in order | wall s | CPU studio s | CPU ffmpeg s | studio per shot ms | studio per frame ms "
            "| ffmpeg per shot ms | ffmpeg per frame ms | per-shot share of all CPU |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        s, f = r["fit"]["studio"], r["fit"]["ffmpeg"]
        n = len(r["shots"])
        share = (s["per_shot_ms"] + f["per_shot_ms"]) / 1000 * n / (r["studio_cpu"] + r["ffmpeg_cpu"])
        rows.append(f"| {r['label']} | {r['wall']} | {r['studio_cpu']} | {r['ffmpeg_cpu']} | {s['per_shot_ms']} "
                    f"| {s['per_frame_ms']} | {f['per_shot_ms']} | {f['per_frame_ms']} | {share:.0%} |")
    return "\n".join(rows)


def cmd_bench(args: argparse.Namespace) -> int:
    checkouts = [("this", ROOT)] + ([("previous", Path(args.previous).resolve())] if args.previous else [])
    with tempfile.TemporaryDirectory(prefix="studio-shot-costs-") as tmp:
        work = Path(tmp)
        screenplay = work / "film.yaml"
        write_feature(screenplay, minutes=args.minutes, seed=SEED, resolution=args.resolution, fps=FPS)
        runs = []
        for n in range(args.runs):
            for label, checkout in (checkouts if n % 2 == 0 else checkouts[::-1]):
                runs.append(one_run(screenplay, checkout, label, work))
    text = table(runs)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    if not args.no_write:
        versions = ", ".join(sorted({f"{r['label']}: studio {r['studio']}, ffmpeg {r['ffmpeg']}" for r in runs}))
        write_section("shot_costs", "\n".join([
            "<!-- shot_costs -->",
            "## What a shot costs: per shot and per frame (`bench/shot_costs.py`)",
            "",
            f"- **Machine:** {machine()}. {versions}.",
            f"- **Input:** `generate_feature(minutes={args.minutes:g}, seed={SEED})` at {args.resolution}/{FPS}, "
            "`animatic`, pictures only, `-j 1`; each run in a fresh process and a fresh cache; runs alternate "
            "between versions. Per shot: wall, CPU of the studio process and of its ffmpeg children; the split is "
            "a least-squares fit `cost = per_shot + per_frame x frames` over the film's shots.",
            "",
            text,
            "<!-- /shot_costs -->",
        ]))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("_run", help="internal: one render in a fresh process")
    run.add_argument("--screenplay", required=True)
    run.add_argument("--out", required=True)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--resolution", default="854x480")
    parser.add_argument("--runs", type=int, default=2, help="renders of each version, alternated")
    parser.add_argument("--previous", help="a checkout of another studio version to alternate with")
    parser.add_argument("--json", help="also save every run's figures here")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    return cmd_run(args) if args.command == "_run" else cmd_bench(args)


if __name__ == "__main__":
    raise SystemExit(main())
