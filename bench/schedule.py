"""Benchmark: how a feature's shots spread over many GPUs, simulated and measured.

1. **Measured**: a generated short film (default 5 minutes, seed 0, animatic, audio
   off) rendered three times, each into a fresh cache: by the local executor, and by
   the Ray executor on a private loopback instance with 1 and with 2 CPU workers.
   For each: wall time, the shot phase (step 3, from the first shot to the last; for
   Ray without Ray's start-up, which is given apart), the workers' busy time, and the
   machine's load meanwhile.
2. **Cost model**: the local run's per-shot render times (from the cache manifest)
   fitted as ``seconds = a + b x frames`` (a: ffmpeg start-up, store, tails; b: drawing
   and encoding a frame).
3. **Simulated**: the executor's own policy (``studio.run.distributed.schedule``: list
   scheduling, ready shots longest-remaining-chain first, a continuous shot after the
   clip it continues) on N identical workers, N = 1..64, for the measured film (to
   compare with the measured runs) and for a generated 90-minute feature, with the
   fitted costs and with costs proportional to frames alone (a diffusion model, where
   the per-frame work dwarfs everything else). Every makespan is bounded below by the
   longest continuity chain and by total work / N.

    python bench/schedule.py [--minutes 5] [--resolution 426x240] [--feature-minutes 90] [--no-write]
    python bench/schedule.py --simulate-only      # no renders: costs from --per-frame/--per-shot

Prints the tables and writes its section of BENCHMARKS.md (between the
``<!-- schedule -->`` markers).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench import record  # noqa: E402
from bench.generate_feature import write_feature  # noqa: E402
from bench.record import machine  # noqa: E402
from studio.graph.scene_graph import SceneGraph  # noqa: E402
from studio.run.distributed.schedule import Schedule, simulate  # noqa: E402
from studio.run.local import QuietProgress  # noqa: E402
from studio.screenplay import load_screenplay  # noqa: E402

MARK = "schedule"
WORKERS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)


class ShotClock(QuietProgress):
    """When the first shot started and the last one finished (perf_counter seconds)."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.last: float | None = None

    def shot_started(self, plan: Any, cached: bool) -> None:
        if self.first is None:
            self.first = time.perf_counter()

    def shot_finished(self, plan: Any, cached: bool) -> None:
        self.last = time.perf_counter()


def _busy_cores() -> float:
    """CPU seconds the whole machine has been busy since boot (all cores)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    label: str
    workers: int
    wall: float
    shots_phase: float  # step 3 without Ray's start-up
    startup: float
    busy: float  # seconds inside shots, summed over workers
    machine_cores: float  # the machine's average busy cores during the run (everything, ours included)
    frames: int
    shots: int


def _chains(graph: SceneGraph) -> list[list[int]]:
    index = {s.id: i for i, s in enumerate(graph.shots)}
    return [[index[sid] for sid in chain] for chain in graph.render_order()]


def measure(film: Path, tmp: Path) -> tuple[list[Run], list[tuple[int, float]]]:
    """The three renders; and the local run's (frames, render seconds) of every shot."""
    from studio.cache.manifest import Manifest
    from studio.run.local import render_film
    from studio.run.ray_executor import render_film_ray

    screenplay = load_screenplay(film)
    runs: list[Run] = []
    samples: list[tuple[int, float]] = []
    for label, workers in (("local executor", 0), ("ray, 1 CPU worker", 1), ("ray, 2 CPU workers", 2)):
        root = tmp / f"run-{workers}"
        clock = ShotClock()
        busy0, started = _busy_cores(), time.perf_counter()
        if workers:
            result = render_film_ray(screenplay, root / "out", cache_dir=root / "cache", name="film", audio=False,
                                     workers=workers, progress=clock)
        else:
            result = render_film(screenplay, root / "out", cache_dir=root / "cache", name="film", audio=False,
                                 progress=clock)
        wall = time.perf_counter() - started
        cores = (_busy_cores() - busy0) / wall
        report = result.report
        executor = report.get("executor") or {}
        startup = float(executor.get("startup_seconds", 0.0))
        phase = float(executor["shots_seconds"]) - startup if executor else (clock.last or 0) - (clock.first or 0)
        busy = float(executor.get("busy_seconds", 0.0))
        if not workers:
            manifest = Manifest(root / "cache")
            try:
                samples = [(c.frames, manifest.render(c.key).render_seconds) for c in result.clips]
            finally:
                manifest.close()
            busy = sum(s for _f, s in samples)
        runs.append(Run(label, max(1, workers), wall, phase, startup, busy, cores, report["film_frames"],
                        report["shots_total"]))
        print(f"  {label}: {wall:.1f} s wall, shots {phase:.1f} s, Ray start {startup:.1f} s, "
              f"{cores:.2f} cores busy", flush=True)
        shutil.rmtree(root, ignore_errors=True)
    return runs, samples


def fit(samples: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares ``seconds = a + b * frames``: (a, b)."""
    n = len(samples)
    mean_f = sum(f for f, _ in samples) / n
    mean_s = sum(s for _, s in samples) / n
    var = sum((f - mean_f) ** 2 for f, _ in samples)
    b = sum((f - mean_f) * (s - mean_s) for f, s in samples) / var if var else mean_s / max(mean_f, 1)
    a = max(0.0, mean_s - b * mean_f)
    return a, b


def curve(chains: list[list[int]], costs: list[float], dispatch: float = 0.0) -> dict[int, Schedule]:
    return {n: simulate(chains, costs, n, dispatch) for n in range(1, 65)}


def _hms(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def feature_table(fitted: dict[int, Schedule], frames_only: dict[int, Schedule]) -> str:
    one, one_f = fitted[1].makespan, frames_only[1].makespan
    rows = ["| GPUs | makespan | speedup | utilisation | lower bound (chain / work) | makespan / bound "
            "| speedup, cost ∝ frames |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n in WORKERS:
        s, f = fitted[n], frames_only[n]
        rows.append(f"| {n} | {_hms(s.makespan)} | {one / s.makespan:.2f}x | {s.utilisation:.0%} "
                    f"| {_hms(s.chain_bound)} / {_hms(s.work_bound)} | {s.makespan / s.lower_bound:.3f} "
                    f"| {one_f / f.makespan:.2f}x |")
    return "\n".join(rows)


def measured_table(runs: list[Run], simulated: dict[int, Schedule], dispatched: dict[int, Schedule]) -> str:
    rows = ["| run | wall | Ray start | shot phase | workers busy | simulated | simulated + dispatch "
            "| measured / simulated | machine busy (cores) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in runs:
        sim = simulated[r.workers].makespan
        disp = dispatched[r.workers].makespan
        rows.append(f"| {r.label} | {r.wall:.1f} s | {r.startup:.1f} s | {r.shots_phase:.1f} s | {r.busy:.1f} s "
                    f"| {sim:.1f} s | {disp:.1f} s | {r.shots_phase / sim:.2f} | {r.machine_cores:.2f} |")
    return "\n".join(rows)


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="studio-schedule-"))
    try:
        out: dict[str, Any] = {"args": vars(args)}
        short = tmp / "short.yaml"
        write_feature(short, minutes=args.minutes, seed=0, resolution=args.resolution)
        short_graph = SceneGraph.from_screenplay(load_screenplay(short))
        short_chains = _chains(short_graph)
        if args.simulate_only:
            a, b, runs = args.per_shot, args.per_frame, []
            out["costs"] = {"a": a, "b": b, "source": "given"}
        else:
            print(f"measuring: a {args.minutes}-minute film, {len(short_graph.shots)} shots, {args.resolution}",
                  flush=True)
            runs, samples = measure(short, tmp)
            a, b = fit(samples)
            out["costs"] = {"a": a, "b": b, "source": "fitted", "shots": len(samples)}
            out["runs"] = [vars(r) for r in runs]
        short_costs = [a + b * s.frames for s in short_graph.shots]
        short_sim = curve(short_chains, short_costs)
        dispatch = 0.0
        if runs:
            # what a shot costs on Ray beyond its render: the 1-worker run's shot phase over the plain sum
            dispatch = max(0.0, (runs[1].shots_phase - sum(short_costs)) / len(short_costs))
        out["dispatch"] = dispatch
        short_disp = curve(short_chains, short_costs, dispatch)

        feature = tmp / "feature.yaml"
        write_feature(feature, minutes=args.feature_minutes, seed=0, resolution=args.resolution)
        graph = SceneGraph.from_screenplay(load_screenplay(feature))
        chains = _chains(graph)
        costs = [a + b * s.frames + dispatch for s in graph.shots]
        frames_only = [float(s.frames) for s in graph.shots]
        fitted, proportional = curve(chains, costs), curve(chains, frames_only)
        longest = max(chains, key=lambda c: sum(costs[i] for i in c))
        out["feature"] = {
            "minutes": round(graph.runtime / 60, 1), "shots": len(graph.shots), "chains": len(chains),
            "longest_chain_shots": len(longest), "longest_chain_seconds": sum(costs[i] for i in longest),
            "continuous": sum(1 for s in graph.shots if s.continuous),
            "makespans": {n: fitted[n].makespan for n in range(1, 65)},
            "lower_bounds": {n: fitted[n].lower_bound for n in range(1, 65)},
        }
        out["tables"] = {"feature": feature_table(fitted, proportional)}
        if runs:
            out["tables"]["measured"] = measured_table(runs, short_sim, short_disp)
        out["short"] = {"shots": len(short_graph.shots), "chains": len(short_chains),
                        "minutes": round(short_graph.runtime / 60, 1)}
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def section(r: dict[str, Any], command: str) -> str:
    f, c, s = r["feature"], r["costs"], r["short"]
    worst = max(f["makespans"][n] / f["lower_bounds"][n] for n in range(1, 65))
    lines = [
        f"<!-- {MARK} -->",
        "## Shots across many GPUs: scheduling (`bench/schedule.py`)",
        "",
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, {machine()}. Command: `{command}`.",
        "",
        "The Ray executor's policy (list scheduling over continuity chains, longest remaining chain first; "
        "a continuous shot starts once the clip it continues is stored) simulated on N identical workers.",
        "",
    ]
    if "measured" in r["tables"]:
        lines += [
            f"**Measured on this machine**: a generated {s['minutes']}-minute film ({s['shots']} shots, "
            f"{s['chains']} chains), animatic at {r['args']['resolution']}, no sound, each run into a fresh cache. "
            "The shot phase is step 3 without Ray's start-up (given apart); *simulated* uses the local run's own "
            "per-shot render times; *+ dispatch* adds what a shot cost on Ray beyond its render in the 1-worker run "
            f"({r['dispatch'] * 1000:.0f} ms a shot).",
            "",
            r["tables"]["measured"],
            "",
            "Two CPU workers on a 2-core machine share it with their ffmpeg encoders and the driver: the measured "
            "gain stays under the simulated one, which assumes workers that do not slow each other (one GPU "
            "each). The machine-busy column counts every process on the machine, ours included.",
            "",
        ]
    source = (f"fitted from the local run's {c['shots']} shots" if c["source"] == "fitted" else "given")
    lines += [
        f"**Simulated feature**: a generated {f['minutes']}-minute feature ({f['shots']} shots, {f['chains']} "
        f"chains, {f['continuous']} continuous shots; longest chain: {f['longest_chain_shots']} shots, "
        f"{f['longest_chain_seconds']:.1f} s). Cost of a shot: {c['a']:.3f} s + {c['b'] * 1000:.2f} ms x frames "
        f"({source}){' + the measured dispatch' if r['dispatch'] else ''}. The last column takes cost "
        "proportional to frames alone, as with a diffusion model whose per-frame work dwarfs the rest.",
        "",
        r["tables"]["feature"],
        "",
        f"Over N = 1..64 the policy stays within {worst:.3f}x of the lower bound (longest chain, total / N). "
        "A feature's continuity chains are short (coverage cuts often), so the work bound dominates: shots "
        "spread almost perfectly until each worker holds only a handful of them.",
        f"<!-- /{MARK} -->",
    ]
    return "\n".join(lines)


def write_section(body: str) -> None:
    record.write_section(MARK, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5, help="The measured film's length (default 5).")
    parser.add_argument("--resolution", default="426x240")
    parser.add_argument("--feature-minutes", type=float, default=90)
    parser.add_argument("--simulate-only", action="store_true", help="No renders: costs from --per-shot/--per-frame.")
    parser.add_argument("--per-shot", type=float, default=0.15, help="Seconds a shot, with --simulate-only.")
    parser.add_argument("--per-frame", type=float, default=0.01, help="Seconds a frame, with --simulate-only.")
    parser.add_argument("--json", type=Path, help="Also write every number here.")
    parser.add_argument("--no-write", action="store_true", help="Do not update BENCHMARKS.md.")
    args = parser.parse_args()
    result = run(args)
    for table in result["tables"].values():
        print(table + "\n")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if not args.no_write and not args.simulate_only:
        command = "python bench/schedule.py" + "".join(
            f" --{k.replace('_', '-')} {v}" for k, v in (("minutes", args.minutes), ("resolution", args.resolution),
                                                        ("feature_minutes", args.feature_minutes))
            if v != parser.get_default(k))
        write_section(section(result, command))


if __name__ == "__main__":
    main()
