"""What a whole render costs, stage by stage: the estimate a user plans by.

A render is more than its shots (:mod:`studio.run.estimate` times those): it starts
up (plan, cast, backend), voices every line, draws the shots, scores and mixes the
sound, then assembles the cut and its side outputs. Each stage's time is a measured
rate times what the film asks of it:

=========  ==============================================================
prepare    seconds, once (screenplay, scene graph, cast, backend)
voices     seconds per character of dialogue, by TTS engine
shots      the shot estimate (:func:`estimate_film`) x a measured factor
           (the animatic's reference covers drawing; this adds its encode,
           identity QA and the store), as a makespan over ``jobs`` workers
           plus their start-up
sound      seconds per second of film (score cues, ambience, the mix)
assembly   seconds per second of film and per shot (the cut, subtitles,
           timeline, storyboard)
=========  ==============================================================

The rates are measured on a machine (``bench/estimate_calibration.py`` renders the
example film on a fresh cache) and kept with their source in
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.atomic import write_text
from studio.errors import StudioError
from studio.render.plan import ShotPlan
from studio.run.distributed.schedule import simulate
from studio.run.estimate import Estimate

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

    @property
    def total_seconds(self) -> float:
        return sum(self.stages.values())

    def to_dict(self) -> dict[str, Any]:
        return {"stages": {k: round(v, 3) for k, v in self.stages.items()}, "jobs": self.jobs,
                "total_seconds": round(self.total_seconds, 3), "source": self.source, "file": self.file}


def estimate_stages(plans: list[ShotPlan], shots: Estimate, lines: Iterable[Spoken], *, jobs: int = 1,
                    rendered: Collection[str] | None = None, audio: bool = True,
                    references: Mapping[str, Any] | None = None) -> StageEstimate:
    """Seconds per stage for a render of ``plans`` whose shots ``shots`` times, voicing
    ``lines`` (the lines not in the cache; all of them on a fresh cache), with ``jobs``
    shot workers. ``rendered``: the shots this render draws (default: all); ``audio``:
    False for a silent render (no voices, no sound)."""
    refs = references if references is not None else load_references()
    r = refs["stages"]
    film_seconds = sum(p.frames / p.fps for p in plans)
    todo = set(rendered) if rendered is not None else {p.shot_id for p in plans}
    voices = 0.0
    if audio:
        per_char = r["voices"]["per_character"]
        for line in lines:
            voices += r["voices"].get("per_line", 0.0) + line.characters * float(
                per_char.get(line.engine, per_char["default"]))
    costs = [s.seconds * float(r["shots"]["factor"]) if s.shot_id in todo else 0.0 for s in shots.shots]
    if jobs > 1 and todo:
        chains: dict[int, list[int]] = {}
        for index, s in enumerate(shots.shots):
            chains.setdefault(s.chain, []).append(index)
        picture = simulate(list(chains.values()), costs, jobs).makespan + float(r["shots"]["worker_startup"])
    else:
        picture = sum(costs)
    stages = {
        "prepare": float(r["prepare"]["seconds"]) + float(r["prepare"].get("per_shot", 0.0)) * len(plans),
        "voices": voices,
        "shots": picture,
        "sound": float(r["sound"]["per_film_second"]) * film_seconds if audio else 0.0,
        "assembly": float(r["assembly"]["seconds"]) + float(r["assembly"]["per_film_second"]) * film_seconds
        + float(r["assembly"]["per_shot"]) * len(plans),
    }
    return StageEstimate(stages, jobs, str(refs.get("source", "")), str(refs.get("file", "")))


def calibrate(report: Mapping[str, Any], *, references: Mapping[str, Any] | None = None,
              report_path: str = "") -> dict[str, Any]:
    """New references from a render report's ``stages`` (estimate vs actual per stage):
    each stage's rates scaled by actual / estimated. Stages the render did not run
    (cached shots, a silent film) keep their rates."""
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
        if not estimated or actual is None or estimated < 0.05:  # nothing to learn from a stage that did no work
            continue
        scale = float(actual) / float(estimated)
        changed[name] = round(scale, 4)
        for key, value in list(r[name].items()):
            if key == "worker_startup":
                continue
            if isinstance(value, dict):
                r[name][key] = {k: v * scale for k, v in value.items()}
            elif isinstance(value, (int, float)):
                r[name][key] = value * scale
    refs["source"] = (f"calibrated: studio estimate --calibrate {report_path} on {platform.node()} "
                      f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}); scales {changed}; "
                      f"before: {refs.get('source', '')}")
    refs["calibrated"] = changed
    return refs


def write_references(refs: Mapping[str, Any], path: Path | None = None) -> Path:
    path = path or local_references_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(refs, indent=2) + "\n")
    return path
