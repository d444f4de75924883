"""What a whole render costs, stage by stage: the estimate a user plans by.

A render is more than its shots (:mod:`studio.run.estimate` times those): it starts
up (plan, cast, backend), voices every line, draws the shots, scores and mixes the
sound, then assembles the cut and its side outputs. Each stage's time is a measured
rate times what the film asks of it:

=========  ==============================================================
prepare    seconds once, plus per shot (screenplay, scene graph, cast,
           backend)
voices     per line spoken, by TTS engine: a fixed part plus a part per
           character of its text; each engine's load once; with ``jobs``
           workers, espeak-ng's and piper's lines side by side (one core
           each) while a whole-core engine's are spoken in one process (see
           :func:`estimate_voices`)
shots      the shot estimate (:func:`estimate_film`) x a measured factor
           plus a part per shot (the animatic's reference covers drawing;
           this adds its encode, identity QA and the store), as a makespan
           over ``jobs`` workers plus their start-up; at least the shots'
           CPU seconds spread over the ``jobs`` cores (a shot drawn here
           keeps ``cores`` busy, its encoder beside the drawing: measured)
sound      seconds once, per scene (a score cue and an ambience bed each)
           and per second of film mixed; with ``jobs`` >= 2 it is made
           while the shots render (:mod:`studio.run.sound_ahead`): the
           ``shots`` stage is then the shots and the sound together, the
           longer of the shots' makespan, the sound, and their CPU seconds
           (each stage's seconds x its ``cores``) together spread over the
           ``jobs`` cores; ``sound`` its own seconds, not added again to
           the total
assembly   seconds once, per second of film and per clip concatenated (the
           cut, subtitles, timeline, storyboard)
=========  ==============================================================

The rates are measured on a machine (``bench/estimate_calibration.py``: each TTS
engine timed line by line, the other stages fitted to fresh-cache renders of two
films, then checked on a third) and kept with their source in
``studio/run/stage_references.json``. ``studio estimate --calibrate REPORT`` rescales
them from a render report's estimate-vs-actual and writes a local reference file
(``$STUDIO_ESTIMATE_REFERENCES``, else ``~/.config/studio/estimate-references.json``)
that the estimate then prefers.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.atomic import write_text
from studio.errors import StudioError
from studio.render.plan import ShotPlan
from studio.run.distributed.schedule import simulate
from studio.run.estimate import Estimate
from studio.run.voicing import ONE_CORE_ENGINES

STAGES = ("prepare", "voices", "shots", "sound", "assembly")
SHIPPED = Path(__file__).with_name("stage_references.json")
LOCAL_ENV = "STUDIO_ESTIMATE_REFERENCES"


def local_references_path() -> Path:
    """Where ``--calibrate`` writes, and where the estimate looks first."""
    env = os.environ.get(LOCAL_ENV)
    return Path(env).expanduser() if env else Path.home() / ".config" / "studio" / "estimate-references.json"


def load_references(path: Path | None = None) -> dict[str, Any]:
    """The stage rates: ``path``, else the local calibrated file when there is one, else
    the shipped measurement. Each carries its ``source``."""
    for candidate in ([path] if path else [local_references_path(), SHIPPED]):
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if path is not None:
                raise StudioError(f"no stage references at {path}", hint="give a file --calibrate wrote") from None
            continue
        except (OSError, ValueError) as exc:
            raise StudioError(f"stage references {candidate} cannot be read: {exc}",
                              hint=f"delete it (or unset {LOCAL_ENV}) to use the shipped references") from None
        if not isinstance(data, dict) or not isinstance(data.get("stages"), dict):
            raise StudioError(f"stage references {candidate} have no 'stages'",
                              hint=f"delete it (or unset {LOCAL_ENV}) to use the shipped references")
        data["file"] = str(candidate)
        return data
    raise StudioError(f"the shipped stage references {SHIPPED} are missing", hint="reinstall studio")


@dataclass(frozen=True)
class Spoken:
    """A dialogue line as the voices stage sees it."""

    engine: str
    characters: int


@dataclass
class StageEstimate:
    """Expected seconds per stage, in the order a render runs them."""

    stages: dict[str, float]
    jobs: int
    source: str  # where the rates come from
    file: str
    inputs: dict[str, Any] = field(default_factory=dict)  # what the film asks of each stage (the rates' units)
    sound_overlapped: bool = False  # the sound is made while the shots render: "shots" holds both
    speed: float = 1.0  # every stage scaled by this (the machine's probe now over then: studio.run.speed)

    @property
    def total_seconds(self) -> float:
        """The makespan: the stages one after another, less the sound when it overlaps the shots."""
        return sum(v for k, v in self.stages.items() if not (self.sound_overlapped and k == "sound"))

    def to_dict(self) -> dict[str, Any]:
        return {"stages": {k: round(v, 3) for k, v in self.stages.items()}, "jobs": self.jobs,
                "total_seconds": round(self.total_seconds, 3), "sound_overlapped": self.sound_overlapped,
                "speed": round(self.speed, 4), "source": self.source, "file": self.file, "inputs": self.inputs}


def _by_engine(rates: Any, engine: str) -> float:
    """A rate that may differ by engine (``{engine: rate, "default": rate}``) or not."""
    if isinstance(rates, Mapping):
        return float(rates.get(engine, rates.get("default", 0.0)))
    return float(rates or 0.0)


def line_seconds(line: Spoken, voices: Mapping[str, Any]) -> float:
    """Seconds to speak one line: the engine's part per line plus its part per character."""
    return _by_engine(voices.get("per_line", 0.0), line.engine) + line.characters * _by_engine(
        voices.get("per_character", 0.0), line.engine)


def estimate_voices(lines: list[Spoken], voices: Mapping[str, Any], jobs: int = 1) -> float:
    """The voices stage: every line, and each engine used loaded once. With ``jobs`` >= 2
    (as :mod:`studio.run.voicing` does it) the one-core engines' lines (espeak-ng, piper)
    go to up to ``jobs`` workers, longest first, while one process speaks the other
    engines' lines (transformers: every core already) one after another; both share the cores, so the
    stage takes the whole-core lines' time plus the one-core lines' CPU spread over the
    workers (at least their longest-first makespan), plus the loads and a start-up."""
    if not lines:
        return 0.0
    costs = [line_seconds(line, voices) for line in lines]
    load = sum(_by_engine(voices.get("load", 0.0), e) for e in {line.engine for line in lines})
    if jobs < 2:
        return sum(costs) + load
    one_core = [c for c, line in zip(costs, lines) if line.engine in ONE_CORE_ENGINES]
    if len(one_core) < 2:  # no pool: everything in the whole-core process
        return sum(costs) + load + float(voices.get("worker_startup", 0.0))
    whole = sum(costs) - sum(one_core)
    workers = min(jobs, len(one_core))
    order = sorted(range(len(one_core)), key=lambda i: -one_core[i])
    pooled = simulate([[i] for i in order], one_core, workers).makespan
    return max(pooled, whole + sum(one_core) / workers) + load + float(voices.get("worker_startup", 0.0))


def estimate_stages(plans: list[ShotPlan], shots: Estimate, lines: Iterable[Spoken], *, jobs: int = 1,
                    rendered: Collection[str] | None = None, audio: bool = True,
                    references: Mapping[str, Any] | None = None, voice_jobs: int | None = None,
                    sound_overlaps: bool | None = None, speed: float = 1.0) -> StageEstimate:
    """Seconds per stage for a render of ``plans`` whose shots ``shots`` times, voicing
    ``lines`` (the lines not in the cache; all of them on a fresh cache), with ``jobs``
    shot workers (and ``voice_jobs`` voice workers, default ``jobs``). ``rendered``: the
    shots this render draws (default: all); ``audio``: False for a silent render (no
    voices, no sound). ``sound_overlaps``: the sound is made while the shots render
    (default: with ``jobs`` >= 2; False for a film whose sound mixes the shots' own).
    ``speed``: how much longer the machine takes now than when the rates were measured
    (:func:`studio.run.speed.speed_factor`); every stage is scaled by it."""
    refs = references if references is not None else load_references()
    r = refs["stages"]
    film_seconds = sum(p.frames / p.fps for p in plans)
    scenes = len({p.scene_id for p in plans})
    todo = set(rendered) if rendered is not None else {p.shot_id for p in plans}
    lines = list(lines)
    voices = estimate_voices(lines, r["voices"], jobs if voice_jobs is None else voice_jobs) if audio else 0.0
    factor, per_shot = float(r["shots"]["factor"]), float(r["shots"].get("per_shot", 0.0))
    costs = [s.seconds * factor + per_shot if s.shot_id in todo else 0.0 for s in shots.shots]
    # the cores a stage keeps busy when it runs alone (-j 1: a shot's encoder beside its drawing; the
    # score's renders side by side): with every core shared, its CPU seconds are what it costs
    shot_cores, sound_cores = float(r["shots"].get("cores", 1.0)), float(r["sound"].get("cores", 1.0))
    startup = float(r["shots"]["worker_startup"]) if jobs > 1 and todo else 0.0
    if jobs > 1 and todo:
        chains: dict[int, list[int]] = {}
        for index, s in enumerate(shots.shots):
            chains.setdefault(s.chain, []).append(index)
        picture = max(simulate(list(chains.values()), costs, jobs).makespan,
                      sum(costs) * shot_cores / jobs) + startup
    else:
        picture = sum(costs)
    sound_rates = r["sound"]
    sound = (float(sound_rates.get("seconds", 0.0)) + float(sound_rates.get("per_scene", 0.0)) * scenes
             + float(sound_rates["per_film_second"]) * film_seconds) if audio else 0.0
    overlapped = bool(audio and plans and (jobs > 1 if sound_overlaps is None else sound_overlaps))
    if overlapped:  # the sound beside the shots: every core busy with either (total CPU over the cores)
        picture = max(picture, sound, (sum(costs) * shot_cores + sound * sound_cores) / max(1, jobs) + startup)
    stages = {
        "prepare": float(r["prepare"]["seconds"]) + float(r["prepare"].get("per_shot", 0.0)) * len(plans),
        "voices": voices,
        "shots": picture,
        "sound": sound,
        "assembly": float(r["assembly"]["seconds"]) + float(r["assembly"]["per_film_second"]) * film_seconds
        + float(r["assembly"]["per_shot"]) * len(plans),
    }
    stages = {k: v * speed for k, v in stages.items()}
    spoken = list(lines) if audio else []
    inputs = {"shots": len(plans), "shots_drawn": len(todo), "scenes": scenes, "film_seconds": round(film_seconds, 3),
              "shot_reference_seconds": round(sum(s.seconds for s in shots.shots if s.shot_id in todo), 3),
              "lines": len(spoken), "characters": sum(line.characters for line in spoken),
              "lines_by_engine": {e: [sum(1 for ln in spoken if ln.engine == e),
                                      sum(ln.characters for ln in spoken if ln.engine == e)]
                                  for e in sorted({ln.engine for ln in spoken})}}
    return StageEstimate(stages, jobs, str(refs.get("source", "")), str(refs.get("file", "")), inputs,
                         sound_overlapped=overlapped, speed=speed)


def calibrate(report: Mapping[str, Any], *, references: Mapping[str, Any] | None = None,
              report_path: str = "", probe: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """New references from a render report's ``stages`` (estimate vs actual per stage):
    each stage's rates scaled by actual / estimated, and the cores the shots and the
    sound kept busy (their CPU seconds over their seconds, where the report has them:
    shots drawn in the studio process, the sound made alone). Stages the render did
    not run (cached shots, a silent film) keep their rates. ``probe``: the machine's
    speed probe (:func:`studio.run.speed.probe`) taken as the render ran, kept with the
    new rates; without one the old probe is dropped (it timed the machine the old rates
    were measured on, not the render's)."""
    stages = report.get("stages")
    if not isinstance(stages, dict) or not stages:
        raise StudioError(f"{report_path or 'the report'} has no per-stage times",
                          hint="give the render-report.json of a render by this studio version")
    refs = json.loads(json.dumps(dict(references if references is not None else load_references())))
    refs.pop("file", None)
    r = refs["stages"]
    changed = {}
    for name in STAGES:
        entry = stages.get(name) or {}
        estimated, actual = entry.get("estimated"), entry.get("actual")
        if not estimated or actual is None or estimated < 0.01:  # nothing to learn from a stage that did no work
            continue
        if name == "sound" and report.get("sound_overlapped"):  # made beside the shots, sharing their cores:
            continue  # its own seconds are not what it costs alone
        scale = float(actual) / float(estimated)
        changed[name] = round(scale, 4)
        for key, value in list(r[name].items()):
            if key in ("worker_startup", "scaled", "cores"):  # a process start; a note of the last fit; a ratio
                continue
            if isinstance(value, dict):
                r[name][key] = {k: v * scale for k, v in value.items()}
            elif isinstance(value, (int, float)):
                r[name][key] = value * scale
    cores = {}
    for name in ("shots", "sound"):  # the cores a stage kept busy, where the report has its CPU seconds
        if name == "sound" and report.get("sound_overlapped"):  # (its wall shared with the shots, as above)
            continue
        entry = stages.get(name) or {}
        if entry.get("cpu") is not None and float(entry.get("actual") or 0.0) >= 1.0:
            cores[name] = r[name]["cores"] = round(float(entry["cpu"]) / float(entry["actual"]), 3)
    refs["source"] = (f"calibrated: studio estimate --calibrate {report_path} on {platform.node()} "
                      f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}); scales {changed}"
                      f"{f'; cores {cores}' if cores else ''}; before: {refs.get('source', '')}")
    refs["calibrated"] = changed  # stage -> the scale its rates took
    refs.pop("probe", None)
    if probe is not None:
        refs["probe"] = dict(probe)
    refs.pop("calibrated_cores", None)
    if cores:
        refs["calibrated_cores"] = cores  # stage -> the cores it kept busy
    return refs


def write_references(refs: Mapping[str, Any], path: Path | None = None) -> Path:
    path = path or local_references_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(refs, indent=2) + "\n")
    return path
