"""Measure the stage rates the estimate scales from, and check the estimate against
fresh-cache renders, stage by stage.

1. Render the example film (screenplays/the-last-lamp.yaml) on a fresh cache with
   ``-j 1`` and fit each stage's rate to what it took (``studio.run.stages``: prepare
   seconds, voices per character, the shots' factor over the animatic reference, sound
   and assembly per second of film). Written to ``studio/run/stage_references.json``
   with its source (command, date, machine, other load).
2. Render a generated feature (``bench/generate_feature.py``, 10 minutes by default) on
   a fresh cache with those rates, and print estimate vs actual per stage for both
   films (the example film's column is the fit itself; the feature's is the check).
   Recorded in the ``<!-- estimate_calibration -->`` section of BENCHMARKS.md.

Usage::

    nice python bench/estimate_calibration.py [--minutes 10] [--no-write]

Timings on a shared machine are noisy: the table records the other load (cores busy
besides the bench, from /proc/loadavg at start and end).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.record import machine, write_section  # noqa: E402
from studio.run.stages import SHIPPED, STAGES  # noqa: E402

EXAMPLE = ROOT / "screenplays" / "the-last-lamp.yaml"


def render(screenplay: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """A fresh-cache ``studio render -j 1`` in a process of its own; its report."""
    out = work / "out"
    cmd = [sys.executable, "-m", "studio", "render", str(screenplay), "-o", str(out), "--cache", str(work / "cache"),
           "-j", "1", "--quiet"]
    subprocess.run(cmd, check=True, env=env, cwd=work, stdout=subprocess.DEVNULL)
    return json.loads((out / "render-report.json").read_text())


def fit(report: dict[str, Any], refs: dict[str, Any]) -> dict[str, Any]:
    """Rates that make the report's estimate match its actual time, stage by stage."""
    stages = report["stages"]
    r = refs["stages"]
    # each stage's estimate is linear in its rates: scale them by actual / estimated
    for name in STAGES:
        est, act = stages[name]["estimated"], stages[name]["actual"]
        if not est:
            continue
        scale = act / est
        for key, value in r[name].items():
            if key == "worker_startup":
                continue
            r[name][key] = ({k: round(v * scale, 8) for k, v in value.items()} if isinstance(value, dict)
                            else round(value * scale, 8))
    return refs


def load() -> float:
    return round(os.getloadavg()[0], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the generated feature")
    parser.add_argument("--no-write", action="store_true", help="measure and print, write nothing")
    args = parser.parse_args()
    began, load_start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), load()
    with tempfile.TemporaryDirectory(prefix="estimate-calibration-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDIO_ESTIMATE_REFERENCES": str(work / "none.json")}
        refs = json.loads(SHIPPED.read_text())
        (work / "lamp").mkdir()
        lamp = render(EXAMPLE, work / "lamp", env)
        refs = fit(lamp, refs)
        refs["source"] = (f"measured: python bench/estimate_calibration.py, {began}, {machine()}, other load "
                          f"{load_start} (loadavg): the example film rendered on a fresh cache with -j 1, each "
                          f"stage's rate fitted to its time")
        fitted = work / "fitted.json"
        fitted.write_text(json.dumps(refs, indent=2) + "\n")
        env["STUDIO_ESTIMATE_REFERENCES"] = str(fitted)
        feature = work / "feature.yaml"
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate_feature.py"), "-o", str(feature), "--minutes",
                        str(args.minutes), "--seed", "0"], check=True, env=env, stdout=subprocess.DEVNULL)
        (work / "feature").mkdir()
        long = render(feature, work / "feature", env)
    load_end = load()
    rows = []
    for name in STAGES:
        e1, a1 = lamp["stages"][name]["estimated"], lamp["stages"][name]["actual"]
        e2, a2 = long["stages"][name]["estimated"], long["stages"][name]["actual"]
        rows.append((name, e1, a1, e2, a2))
    lamp_fitted = {n: lamp["stages"][n]["actual"] for n in STAGES}
    total = ("total", sum(lamp_fitted.values()), lamp["wall_seconds"], long["estimate"]["total_seconds"],
             long["wall_seconds"])
    lines = ["<!-- estimate_calibration -->",
             "## Estimate vs a fresh-cache render, per stage (`bench/estimate_calibration.py`)",
             "",
             f"{began}, {machine()}; other load (loadavg) {load_start} at start, {load_end} at end. "
             f"Rates fitted on the example film (so its estimate column equals its actual), checked on a "
             f"{args.minutes:g}-minute generated feature (`bench/generate_feature.py --seed 0`, "
             f"{long['film_seconds']:.0f} s of film, {long['shots_total']} shots, {long['lines_total']} lines). "
             f"Goal: within ±15%.",
             "",
             "| stage | example est. s | example actual s | feature est. s | feature actual s | feature error |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, _e1, a1, e2, a2 in [*rows, total]:
        err = f"{(e2 - a2) / a2 * 100:+.0f}%" if a2 else ""
        lines.append(f"| {name} | {a1:.1f} | {a1:.1f} | {e2:.1f} | {a2:.1f} | {err} |")
    lines.append("")
    lines.append("`wall` includes what no stage counts (process start, imports); stage rates in "
                 "`studio/run/stage_references.json`.")
    lines.append("<!-- /estimate_calibration -->")
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        SHIPPED.write_text(json.dumps({k: v for k, v in refs.items() if k != "file"}, indent=2) + "\n")
        write_section("estimate_calibration", section)


if __name__ == "__main__":
    main()
