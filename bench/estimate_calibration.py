"""Measure the stage rates the estimate scales from, and check the estimate against
fresh-cache renders, stage by stage.

1. **Voices, line by line.** Every line of the two fitting films (below) is spoken in
   this process with its engine (:func:`studio.audio.speech.speak_line`, what a render
   does), timed; per engine a least-squares line through (characters, seconds) gives
   the part per line and per character; each engine's load (made and its first line
   spoken in a fresh process, as a voice worker or a render does it once) is timed too,
   and the start of a voice worker process.
2. **The stages fitted to two renders.** The example film
   (screenplays/the-last-lamp.yaml) and a short generated feature
   (``bench/generate_feature.py --seed 1``, 6 minutes by default: a film of another
   length) render on fresh caches with ``-j 1``. Prepare, voices and shots get one rate
   each, the two renders' actual seconds over what they asked of the stage, pooled
   (prepare: once; voices: a factor on the line-by-line rates, for what the render adds
   around them; shots: x the animatic reference); sound and assembly two, solved from
   the two renders: once + per second of film (a rate that comes out negative is
   dropped, the other pooled). On a shared machine whose load swings by 2x within
   minutes, more rates than that from two renders went negative or wild (a first
   version fitted per scene and per shot). The shots' and the sound's cores too: the
   CPU seconds the reports give each stage (the studio process and the children it
   waited for) over its seconds, pooled; with workers (``-j 2``) the estimate spreads
   those CPU seconds over the cores.
3. **The check.** A 10-minute generated feature (``--seed 0``), never used in the fit,
   renders on a fresh cache with those rates; the table gives estimate vs actual per
   stage for all three films, with the error. Goal: the total within ±15%.
4. **The speed probe.** Before the voices are timed and before each render, the
   machine's speed probe (:mod:`studio.run.speed`, ~2 s) is taken; the references keep
   the median of the three taken for the fit, and each checked render's estimate is
   also given scaled by its own probe over that (what ``studio estimate --probe``
   does), beside the plain one: on a shared host whose speed drifts within the hour,
   that separates the drift from the estimate's own error.

Written to ``studio/run/stage_references.json`` (with its source: command, date,
machine, other load) and the ``<!-- estimate_calibration -->`` section of
BENCHMARKS.md.

Usage::

    nice python bench/estimate_calibration.py [--minutes 10] [--fit-minutes 3] [--no-write] [--keep DIR]

Timings on a shared machine are noisy: the table records the other load (cores busy
besides the bench, from /proc/stat over the whole run, and the load average).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.record import machine, write_section  # noqa: E402
from studio.run.speed import probe as take_probe  # noqa: E402
from studio.run.speed import speed_factor  # noqa: E402
from studio.run.stages import SHIPPED, STAGES  # noqa: E402

EXAMPLE = ROOT / "screenplays" / "the-last-lamp.yaml"
MAX_LINES_PER_ENGINE = 60  # lines timed per engine (longest and shortest spread evenly)

# each stage's rates as (rate key, input from the report's estimate "inputs"); "1" is once. Sound and
# assembly have a large part that does not grow with the film (a first run with one rate per second
# of film overestimated a 10-minute film's sound by 2x): once + per second, from fit films of
# different lengths
MODEL = {
    "prepare": [("seconds", "1")],
    "shots": [("factor", "shot_reference_seconds")],
    "sound": [("seconds", "1"), ("per_film_second", "film_seconds")],
    "assembly": [("seconds", "1"), ("per_film_second", "film_seconds")],
}
ZEROED = {"prepare": ["per_shot"], "shots": ["per_shot"], "sound": ["per_scene"],
          "assembly": ["per_shot"]}  # rates this fit leaves out
CORES = ("shots", "sound")  # stages whose cores (CPU seconds / seconds at -j 1) the -j 2 makespan uses


def _busy() -> float:
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    return (sum(fields[:3]) + sum(fields[5:8])) / os.sysconf("SC_CLK_TCK")


def _own() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def render(screenplay: Path, work: Path, env: dict[str, str], jobs: int = 1) -> dict[str, Any]:
    """A fresh-cache ``studio render -j JOBS`` in a process of its own; its report."""
    out = work / "out"
    cmd = [sys.executable, "-m", "studio", "render", str(screenplay), "-o", str(out), "--cache", str(work / "cache"),
           "-j", str(jobs), "--quiet"]
    subprocess.run(cmd, check=True, env=env, cwd=work, stdout=subprocess.DEVNULL)
    return json.loads((out / "render-report.json").read_text())


def _started(_: int) -> int:
    """What a voice worker imports before its first line (its engine's load is counted apart)."""
    import studio.run.voicing  # noqa: F401

    return os.getpid()


def _engine_load(item: tuple[str, Any, Path]) -> float:
    """An engine made and its first line spoken in a fresh worker, after what every voice
    worker imports at its start (timed apart: ``worker_startup``): what a process pays
    once per engine (its modules, a model, a session)."""
    import studio.run.voicing  # noqa: F401
    from studio.audio.speech import speak_line
    from studio.audio.tts import get_engine

    name, line, path = item
    started = time.perf_counter()
    speak_line(get_engine(name), line, path)
    return time.perf_counter() - started


def time_voices(screenplays: list[Path], cache: Path) -> dict[str, Any]:
    """Rates of the voices stage, measured: each engine's load (in a fresh process), each
    line spoken."""
    from studio.audio.speech import cache_path, dialogue_lines, speak_line, speech_key
    from studio.audio.tts import get_engine
    from studio.screenplay import load_screenplay

    lines = [line for sp in screenplays for line in dialogue_lines(load_screenplay(sp))]
    by_engine: dict[str, list[Any]] = {}
    for line in lines:
        by_engine.setdefault(line.voice.engine, []).append(line)
    load, per_line, per_char, points = {}, {}, {}, {}
    context = multiprocessing.get_context("spawn")
    for name, said in sorted(by_engine.items()):
        said = sorted(said, key=lambda ln: len(ln.text))
        engine = get_engine(name)
        version = engine.version
        # the load: the engine made and its first (shortest) line spoken in a fresh process, what a
        # process pays once (imports on first use, a model and its session); the same here first,
        # untimed, so the lines timed below do not carry it
        first = said[0]
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            load[name] = round(pool.submit(_engine_load, (name, first, cache_path(cache, speech_key(
                name, version, first.voice, first.delivery, first.text) + "-load-fresh"))).result(), 4)
        speak_line(engine, first, cache_path(cache, speech_key(name, version, first.voice, first.delivery,
                                                               first.text) + "-load"))
        if len(said) > MAX_LINES_PER_ENGINE:
            said = [said[round(i * (len(said) - 1) / (MAX_LINES_PER_ENGINE - 1))] for i in range(MAX_LINES_PER_ENGINE)]
        xs, ys = [], []
        for line in said:
            path = cache_path(cache, speech_key(name, version, line.voice, line.delivery, line.text) + "-t")
            started = time.perf_counter()
            speak_line(engine, line, path)
            ys.append(time.perf_counter() - started)
            xs.append(len(line.text))
        a = np.vstack([np.ones(len(xs)), np.asarray(xs, float)]).T
        (fixed, slope), *_ = np.linalg.lstsq(a, np.asarray(ys), rcond=None)
        if fixed < 0 or slope < 0:  # one rate only, through the origin of the other
            fixed, slope = (0.0, float(np.dot(xs, ys) / np.dot(xs, xs))) if fixed < 0 else (float(np.mean(ys)), 0.0)
        per_line[name], per_char[name] = round(float(fixed), 5), round(float(slope), 7)
        points[name] = {"lines": len(xs), "seconds": round(sum(ys), 3)}
    mean = lambda d: round(sum(d.values()) / len(d), 7) if d else 0.0  # noqa: E731
    started = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        list(pool.map(_started, range(2)))
    startup = round(time.perf_counter() - started, 3)
    return {"load": {**load, "default": mean(load)}, "per_line": {**per_line, "default": mean(per_line)},
            "per_character": {**per_char, "default": mean(per_char)}, "worker_startup": startup,
            "measured": points}


FIT_PROBES = ("voices", "example", "fit")  # the probes taken while the rates were measured


def reference_probe(probes: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The probe the references keep: the median of those taken while they were
    measured (None for a run kept before there were probes)."""
    if not all(k in probes for k in FIT_PROBES):
        return None
    ordered = sorted((probes[k] for k in FIT_PROBES), key=lambda p: p["seconds"])
    return dict(ordered[len(ordered) // 2])


def _input(report: dict[str, Any], name: str) -> float:
    return 1.0 if name == "1" else float(report["estimate"]["inputs"][name])


def fit_stages(reports: list[dict[str, Any]], refs: dict[str, Any]) -> dict[str, Any]:
    """Each stage's rate (``MODEL``): the renders' actual seconds over their inputs, pooled;
    the voices' line-by-line rates scaled by the renders' actual over their estimate."""
    r = refs["stages"]
    for stage, terms in MODEL.items():
        ys = np.asarray([float(rep["stages"][stage]["actual"]) for rep in reports])
        xs = np.asarray([[_input(rep, x) for _k, x in terms] for rep in reports])
        theta = np.linalg.lstsq(xs, ys, rcond=None)[0] if len(terms) > 1 else np.zeros(1) - 1
        if (theta < 0).any():  # one rate (the last: what grows with the film), pooled
            theta = np.zeros(len(terms))
            theta[-1] = ys.sum() / xs[:, -1].sum()
        for (key, _x), value in zip(terms, theta):
            r[stage][key] = round(float(value), 7)
        for other in ZEROED.get(stage, []):
            r[stage][other] = 0.0
    for stage in CORES:  # the cores the stage kept busy: its CPU seconds over its seconds, pooled
        cpu = [rep["stages"][stage].get("cpu") for rep in reports]
        if all(c is not None for c in cpu):
            r[stage]["cores"] = round(sum(map(float, cpu)) / sum(float(rep["stages"][stage]["actual"])
                                                                for rep in reports), 4)
    estimated = sum(voices_seconds(rep, r["voices"]) for rep in reports)
    if estimated > 0:
        scale = sum(float(rep["stages"]["voices"]["actual"]) for rep in reports) / estimated
        v = r["voices"]
        for rate in ("load", "per_line", "per_character"):
            v[rate] = {k: round(val * scale, 7) for k, val in v[rate].items()}
        v["scaled"] = round(scale, 4)
    return refs


def voices_seconds(report: dict[str, Any], v: dict[str, Any]) -> float:
    """The voices stage of a -j 1 render, from the lines it spoke per engine."""
    from studio.run.stages import _by_engine

    return sum(_by_engine(v["load"], e) + n * _by_engine(v["per_line"], e) + c * _by_engine(v["per_character"], e)
               for e, (n, c) in report["estimate"]["inputs"]["lines_by_engine"].items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the generated feature checked")
    parser.add_argument("--fit-minutes", type=float, default=6.0, help="length of the generated feature fitted to")
    parser.add_argument("--no-write", action="store_true", help="measure and print, write nothing")
    parser.add_argument("--keep", type=Path, help="keep what was measured (reports, voice rates, run.json) here")
    parser.add_argument("--skip-jobs", action="store_true", help="leave out the -j 2 renders of the check")
    parser.add_argument("--refit", type=Path, metavar="DIR",
                        help="render nothing: fit again from what a run kept in DIR (--keep), e.g. after a change "
                             "to the fit")
    args = parser.parse_args()
    run = refit(args.refit) if args.refit else measure(args)
    refs = json.loads(SHIPPED.read_text())
    refs.pop("file", None)
    refs["stages"]["voices"] = dict(run["voices"])
    reports = run["reports"]
    refs = fit_stages([reports["example"], reports["fit"]], refs)
    kept = reference_probe(run.get("probes") or {})
    if kept is not None:
        refs["probe"] = kept
    refs["source"] = (f"measured: nice python bench/estimate_calibration.py, {run['began']}, {machine()}, load "
                      f"average {run['load_start']} at the start, {run['load_end']} at the end, other load "
                      f"{run['other']} cores: TTS engines timed line by line ({run['measured']}), every stage "
                      f"fitted to fresh-cache -j 1 renders of the example film and a {run['fit_minutes']:g}-minute "
                      f"generated feature (seed 1), checked on a {run['minutes']:g}-minute one (seed 0); shot "
                      f"worker start-up assumed" + (f"; refit from {args.refit}" if args.refit else ""))
    estimates = {name: _reestimate(rep, refs) for name, rep in reports.items()}
    section = table(reports, estimates, run)
    print(section)
    if not args.no_write:
        SHIPPED.write_text(json.dumps(refs, indent=2) + "\n")
        write_section("estimate_calibration", section)


def refit(folder: Path) -> dict[str, Any]:
    run = json.loads((folder / "run.json").read_text())
    run["reports"] = {n: json.loads((folder / f"{n}-report.json").read_text()) for n in ("example", "fit", "check")}
    return run


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Time the voices, render the three films; what the fit needs."""
    began, load_start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), round(os.getloadavg()[0], 2)
    wall0, busy0, own0 = time.perf_counter(), _busy(), _own()
    with tempfile.TemporaryDirectory(prefix="estimate-calibration-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDIO_ESTIMATE_REFERENCES": str(work / "fitted.json")}
        films = {"example": EXAMPLE, "fit": work / "fit.yaml", "check": work / "check.yaml"}
        for name, minutes, seed in (("fit", args.fit_minutes, 1), ("check", args.minutes, 0)):
            subprocess.run([sys.executable, str(ROOT / "bench" / "generate_feature.py"), "-o", str(films[name]),
                            "--minutes", str(minutes), "--seed", str(seed)], check=True, env=env,
                           stdout=subprocess.DEVNULL)
        refs = json.loads(SHIPPED.read_text())
        refs.pop("file", None)
        probes: dict[str, dict[str, Any]] = {"voices": take_probe()}
        # 1. voices, line by line, in this process
        voices = time_voices([films["example"], films["fit"]], work / "voices")
        measured = voices.pop("measured")
        refs["stages"]["voices"] = dict(voices)
        (work / "fitted.json").write_text(json.dumps(refs, indent=2) + "\n")
        # 2. the two renders the stages are fitted to
        reports: dict[str, dict[str, Any]] = {}
        for name in ("example", "fit"):
            (work / name).mkdir()
            probes[name] = take_probe()
            reports[name] = render(films[name], work / name, env)
        refs = fit_stages(list(reports.values()), refs)
        refs["probe"] = reference_probe(probes)
        (work / "fitted.json").write_text(json.dumps(refs, indent=2) + "\n")
        # 3. the check: a film the fit never saw, rendered with the fitted rates
        (work / "check").mkdir()
        probes["check"] = take_probe()
        reports["check"] = render(films["check"], work / "check", env)
        # 4. -j 2 (the default on this machine): the makespan the estimate gives against the wall clock
        jobs2: dict[str, dict[str, Any]] = {}
        if not args.skip_jobs:
            for name in ("example", "check"):
                (work / f"{name}-j2").mkdir()
                probes[f"{name}-j2"] = take_probe()
                jobs2[name] = render(films[name], work / f"{name}-j2", env, jobs=2)
    wall = time.perf_counter() - wall0
    run = {"began": began, "load_start": load_start, "load_end": round(os.getloadavg()[0], 2),
           "other": round(max(0.0, (_busy() - busy0) - (_own() - own0)) / wall, 2), "measured": measured,
           "voices": voices, "minutes": args.minutes, "fit_minutes": args.fit_minutes, "probes": probes,
           "jobs2": {name: {"estimate": rep["estimate"]["total_seconds"], "wall": rep["wall_seconds"],
                            "stages": {k: [v.get("estimated"), v.get("actual")] for k, v in rep["stages"].items()}}
                     for name, rep in jobs2.items()}}
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for name, rep in reports.items():
            (args.keep / f"{name}-report.json").write_text(json.dumps(rep, indent=2))
        (args.keep / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    return {**run, "reports": reports}


def _reestimate(report: dict[str, Any], refs: dict[str, Any]) -> dict[str, float]:
    """The report's stages estimated again with the final rates (the fit films rendered
    before the fit): each stage is linear in its inputs, so the report's ``inputs`` do."""
    r = refs["stages"]
    out = {"voices": voices_seconds(report, r["voices"])}
    for stage, terms in MODEL.items():
        out[stage] = sum(float(r[stage][key]) * _input(report, x) for key, x in terms)
    return out


def _pair(stage: Any) -> str:
    """``estimated / actual`` seconds of a -j 2 render's stage (a run kept before the
    estimates were kept has the actual seconds only)."""
    if isinstance(stage, list):
        return " / ".join("–" if x is None else f"{float(x):.1f}" for x in stage)
    return "– / " + ("–" if stage is None else f"{float(stage):.1f}")


def table(reports: dict[str, dict[str, Any]], est: dict[str, dict[str, float]], run: dict[str, Any]) -> str:
    names = {"example": "example film (fit)", "fit": f"{run['fit_minutes']:g}-min feature (fit)",
             "check": f"{run['minutes']:g}-min feature (check)"}
    began, load_start, load_end, other = run["began"], run["load_start"], run["load_end"], run["other"]
    head = "| stage | " + " | ".join(f"{names[n]} est. s | actual s | error" for n in reports) + " |"
    lines = ["<!-- estimate_calibration -->",
             "## Estimate vs a fresh-cache render, per stage (`bench/estimate_calibration.py`)",
             "",
             f"{began}, {machine()}; load average {load_start} at the start, {load_end} at the end; other "
             f"processes used {other} cores on average over the run (the machine is shared: times are noisy). "
             "Command: `nice python bench/estimate_calibration.py`. TTS engines timed line by line; the stages' "
             "rates fitted to the two fit renders; the check film was never seen by the fit. Every "
             "render: `studio render -j 1` on a fresh cache, in a process of its own. Goal: the total within "
             "±15%.",
             "",
             " | ".join(f"{names[n]}: {r['film_seconds']:.0f} s of film, {r['shots_total']} shots, "
                        f"{r['lines_total']} lines" for n, r in reports.items()),
             "",
             head,
             "| --- |" + " ---: | ---: | ---: |" * len(reports)]

    def cells(e: float, a: float) -> str:
        return f"{e:.1f} | {a:.1f} | {(e - a) / a * 100:+.0f}%" if a else f"{e:.1f} | {a:.1f} | "

    for stage in STAGES:
        lines.append(f"| {stage} | " + " | ".join(cells(est[n][stage], float(r["stages"][stage]["actual"]))
                                               for n, r in reports.items()) + " |")
    lines.append("| **total** | " + " | ".join(
        cells(sum(est[n].values()), sum(float(r["stages"][s]["actual"]) for s in STAGES))
        for n, r in reports.items()) + " |")
    lines.append("| wall (report) | " + " | ".join(f" | {r['wall_seconds']:.1f} | " for r in reports.values()) + " |")
    fitted = [reports[n] for n in ("example", "fit") if n in reports]
    busy = {stage: sum(float(r["stages"][stage]["cpu"]) for r in fitted)
            / sum(float(r["stages"][stage]["actual"]) for r in fitted)
            for stage in CORES if fitted and all(r["stages"][stage].get("cpu") is not None for r in fitted)}
    if busy:
        lines += ["", "Cores kept busy at `-j 1` (the fit renders' CPU seconds over their seconds, the studio "
                  "process and the children it waited for): " + ", ".join(f"{k} {v:.2f}" for k, v in busy.items())
                  + "; with `-j 2` the estimate spreads those CPU seconds over the two cores."]
    probes = run.get("probes") or {}
    ref_probe = reference_probe(probes)

    def speed(name: str) -> float | None:
        return speed_factor({"probe": ref_probe}, probes[name]) if ref_probe and name in probes else None

    if ref_probe:
        lines += ["", f"**The speed probe** (`studio.run.speed`, median of 5, taken before each render): "
                  f"{ref_probe['seconds']:.3f} s kept with the rates (the median of the three taken for the fit). "
                  "Each render's estimate scaled by its probe over that, as `studio estimate --probe` scales it:", "",
                  "| render | probe s | speed factor | estimate s | scaled estimate s | actual s | error | scaled error |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        rows = [(names[n], n, sum(est[n].values()), sum(float(r["stages"][s]["actual"]) for s in STAGES))
                for n, r in reports.items()]
        rows += [(f"{names[n]}, `-j 2`", f"{n}-j2", j["estimate"], j["wall"]) for n, j in run.get("jobs2", {}).items()]
        for label, key, e, a in rows:
            f = speed(key)
            if f is None:
                continue
            lines.append(f"| {label} | {probes[key]['seconds']:.3f} | {f:.2f} | {e:.1f} | {e * f:.1f} | {a:.1f} | "
                         f"{(e - a) / a * 100:+.0f}% | {(e * f - a) / a * 100:+.0f}% |")
    if run.get("jobs2"):
        lines += ["", "**With `-j 2`** (the default on this machine; the same films on fresh caches, rendered after the "
                  "fit, so the render's own estimate used the final rates): the estimate is a makespan (shots on two "
                  "workers, the sound made beside them: its own seconds, not added again), held against the "
                  "report's wall clock.", "",
                  "| film | " + " | ".join(f"{s} est. / actual s" for s in STAGES) + " | estimate s | wall s | error |",
                  "| --- |" + " ---: |" * (len(STAGES) + 3)]
        for name, j in run["jobs2"].items():
            per = " | ".join(_pair(j["stages"].get(s)) for s in STAGES)
            lines.append(f"| {names[name]} | {per} | {j['estimate']:.1f} | {j['wall']:.1f} | "
                         f"{(j['estimate'] - j['wall']) / j['wall'] * 100:+.0f}% |")
    lines += ["",
              "Estimates here use the final rates for all three films (the fit films rendered before the fit; "
              "each stage is linear in the film's inputs the report records). `wall` adds nothing a stage "
              "misses beyond rounding; process start and imports are outside it. Rates and their source: "
              "`studio/run/stage_references.json`.",
              "<!-- /estimate_calibration -->"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
