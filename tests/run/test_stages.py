"""The whole render's estimate: every stage a render runs, from rates with a source;
the render report's estimate vs actual per stage; ``studio estimate --calibrate``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.graph.scene_graph import SceneGraph
from studio.render.plan import plan_film
from studio.run.estimate import estimate_film
from studio.run.stages import (
    STAGES,
    Spoken,
    calibrate,
    estimate_stages,
    estimate_voices,
    line_seconds,
    load_references,
)
from studio.screenplay import load_screenplay
from tests.conftest import EXAMPLE, ROOT


@pytest.fixture(scope="module")
def lamp():
    screenplay = load_screenplay(EXAMPLE)
    plans = plan_film(SceneGraph.from_screenplay(screenplay, {}))
    return plans, estimate_film(plans)


def test_every_stage_is_counted_and_scales_with_what_the_film_asks(lamp):
    plans, shots = lamp
    refs = load_references(Path(__file__).parents[2] / "studio" / "run" / "stage_references.json")
    assert refs["source"]
    lines = [Spoken("espeak-ng", 40)] * 10
    one = estimate_stages(plans, shots, lines, references=refs)
    assert list(one.stages) == list(STAGES) and all(v > 0 for v in one.stages.values())
    assert one.stages["shots"] > shots.total_seconds * 0.5
    more = estimate_stages(plans, shots, lines * 2, references=refs)
    load = refs["stages"]["voices"]["load"]["espeak-ng"]  # the engine loads once, however many lines
    assert more.stages["voices"] - load == pytest.approx(2 * (one.stages["voices"] - load))
    assert one.inputs["lines_by_engine"] == {"espeak-ng": [10, 400]}
    assert one.inputs["scenes"] == len({p.scene_id for p in plans}) and one.inputs["shots"] == len(plans)
    silent = estimate_stages(plans, shots, lines, audio=False, references=refs)
    assert silent.stages["voices"] == silent.stages["sound"] == 0
    cached = estimate_stages(plans, shots, [], rendered=[], references=refs)
    assert cached.stages["shots"] == 0


def test_workers_give_the_makespan_of_the_chains(lamp):
    plans, shots = lamp
    refs = load_references(Path(__file__).parents[2] / "studio" / "run" / "stage_references.json")
    one = estimate_stages(plans, shots, [], jobs=1, references=refs).stages["shots"]
    two = estimate_stages(plans, shots, [], jobs=2, references=refs, sound_overlaps=False).stages["shots"]
    factor, startup = refs["stages"]["shots"]["factor"], refs["stages"]["shots"]["worker_startup"]
    longest = shots.longest_chain_seconds * factor
    assert max(longest, one / 2) <= two - startup + 1e-6  # no schedule beats the longest chain or half the work
    assert two - startup < one


def test_with_workers_the_sound_is_made_beside_the_shots(lamp):
    plans, shots = lamp
    refs = load_references(Path(__file__).parents[2] / "studio" / "run" / "stage_references.json")
    after = estimate_stages(plans, shots, [], jobs=2, references=refs, sound_overlaps=False)
    beside = estimate_stages(plans, shots, [], jobs=2, references=refs)
    assert beside.sound_overlapped and not after.sound_overlapped and not estimate_stages(
        plans, shots, [], jobs=1, references=refs).sound_overlapped
    sound, startup = after.stages["sound"], refs["stages"]["shots"]["worker_startup"]
    work = sum(s.seconds for s in shots.shots) * refs["stages"]["shots"]["factor"] \
        + refs["stages"]["shots"].get("per_shot", 0.0) * len(plans)
    # the shots and the sound together: no less than either, nor than their CPU over the two cores
    cores = refs["stages"]["shots"].get("cores", 1.0), refs["stages"]["sound"].get("cores", 1.0)
    assert beside.stages["shots"] == pytest.approx(max(after.stages["shots"], sound,
                                                       (work * cores[0] + sound * cores[1]) / 2 + startup))
    assert beside.stages["sound"] == sound  # listed, not counted twice
    assert beside.total_seconds == pytest.approx(after.total_seconds - sound - after.stages["shots"]
                                                 + beside.stages["shots"])
    assert beside.total_seconds < after.total_seconds


def test_a_stage_that_keeps_more_than_a_core_busy_gains_less_from_workers(lamp):
    plans, shots = lamp
    refs = load_references(Path(__file__).parents[2] / "studio" / "run" / "stage_references.json")
    refs["stages"]["shots"]["cores"], refs["stages"]["sound"]["cores"] = 1.0, 1.0
    alone = estimate_stages(plans, shots, [], jobs=1, references=refs).stages["shots"]
    one_core = estimate_stages(plans, shots, [], jobs=2, references=refs, sound_overlaps=False)
    refs["stages"]["shots"]["cores"], refs["stages"]["sound"]["cores"] = 1.6, 1.3
    busy = estimate_stages(plans, shots, [], jobs=2, references=refs, sound_overlaps=False)
    startup = refs["stages"]["shots"]["worker_startup"]
    # a shot drawn here keeps 1.6 cores busy (its encoder beside the drawing): two workers share two cores
    assert busy.stages["shots"] == pytest.approx(max(one_core.stages["shots"], alone * 1.6 / 2 + startup))
    assert busy.stages["shots"] > one_core.stages["shots"]
    assert estimate_stages(plans, shots, [], jobs=1, references=refs).stages["shots"] == alone  # -j 1: as measured
    beside = estimate_stages(plans, shots, [], jobs=2, references=refs)
    assert beside.stages["shots"] == pytest.approx(max(busy.stages["shots"], (alone * 1.6 + beside.stages["sound"]
                                                                              * 1.3) / 2 + startup))


def test_voice_workers_speak_the_lines_side_by_side():
    refs = load_references(Path(__file__).parents[2] / "studio" / "run" / "stage_references.json")
    voices = refs["stages"]["voices"]
    startup = voices["worker_startup"]
    robots = [Spoken("espeak-ng", 20 + 7 * n) for n in range(12)]
    one, two = estimate_voices(robots, voices, 1), estimate_voices(robots, voices, 2)
    each = [line_seconds(line, voices) for line in robots]
    load = voices["load"]["espeak-ng"]
    assert one == pytest.approx(sum(each) + load)
    assert max(max(each), sum(each) / 2) <= two - load - startup + 1e-9 < sum(each)
    # piper's session runs on one thread: its lines join espeak-ng's on the workers
    people = [Spoken("piper", 20 + 7 * n) for n in range(6)]
    spoken = [line_seconds(line, voices) for line in people]
    loads = load + voices["load"]["piper"]
    both = estimate_voices(robots + people, voices, 2)
    spread = (sum(spoken) + sum(each)) / 2  # longest first on two workers: at most one line more than this
    assert spread <= both - loads - startup + 1e-9 <= spread + max(each + spoken)
    assert both < estimate_voices(robots + people, voices, 1)
    # a whole-core engine (transformers) is not split: its lines share the cores with the pool's
    models = [Spoken("transformers", 20 + 7 * n) for n in range(3)]
    modelled = [line_seconds(line, voices) for line in models]
    loads_all = loads + voices["load"].get("transformers", voices["load"]["default"])
    assert estimate_voices(robots + models, voices, 2) == pytest.approx(
        sum(modelled) + sum(each) / 2 + load + voices["load"].get("transformers", voices["load"]["default"])
        + startup)
    assert estimate_voices(robots + people + models, voices, 2) == pytest.approx(
        sum(modelled) + (sum(spoken) + sum(each)) / 2 + loads_all + startup)
    # a single espeak-ng line is not worth a pool
    assert estimate_voices(robots[:1], voices, 2) == pytest.approx(each[0] + load + startup)


def test_calibrating_scales_each_stage_by_actual_over_estimated():
    refs = load_references(Path(__file__).parents[2] / "studio" / "run" / "stage_references.json")
    report = {"stages": {"voices": {"estimated": 10.0, "actual": 20.0}, "sound": {"estimated": 4.0, "actual": 2.0},
                         "shots": {"estimated": 0.0, "actual": 0.0}}}
    new = calibrate(report, references=refs, report_path="r.json")
    r, n = refs["stages"], new["stages"]
    assert n["voices"]["per_character"]["espeak-ng"] == pytest.approx(2 * r["voices"]["per_character"]["espeak-ng"])
    assert n["sound"]["per_film_second"] == pytest.approx(r["sound"]["per_film_second"] / 2)
    assert n["shots"] == r["shots"]  # a stage that did no work teaches nothing
    assert new["source"].startswith("calibrated: studio estimate --calibrate r.json")
    # the CPU seconds a -j 1 report has for a stage give the cores it keeps busy, which no scale touches
    report["stages"]["shots"] = {"estimated": 30.0, "actual": 40.0, "cpu": 52.0}
    report["stages"]["sound"]["cpu"] = 2.5
    new = calibrate(report, references=refs, report_path="r.json")
    assert new["stages"]["shots"]["cores"] == pytest.approx(1.3) and new["stages"]["sound"]["cores"] == 1.25
    assert new["stages"]["shots"]["factor"] == pytest.approx(r["shots"]["factor"] * 40 / 30)
    assert new["stages"]["shots"]["worker_startup"] == r["shots"]["worker_startup"]


def test_the_render_report_has_estimate_and_actual_for_every_stage(lamp_render):
    _screenplay, result, _root = lamp_render
    stages = result.report["stages"]
    assert set(stages) == set(STAGES)
    for name in STAGES:
        assert stages[name]["estimated"] > 0 and stages[name]["actual"] > 0, name
    assert sum(s["actual"] for s in stages.values()) <= result.report["wall_seconds"] + 0.01
    # each stage's CPU seconds, the studio process's and its children's (the encoders beside the drawing)
    for name in ("voices", "shots", "sound", "assembly"):
        assert 0 < stages[name]["cpu"] <= stages[name]["actual"] * (os.cpu_count() or 1) + 0.05, name
    assert stages["shots"]["cpu"] > stages["shots"]["actual"] * 0.5
    assert result.report["estimate"]["source"]


def test_estimate_calibrate_writes_the_local_references_the_estimate_then_prefers(lamp_render, tmp_path):
    _screenplay, result, root = lamp_render
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDIO_ESTIMATE_REFERENCES": str(tmp_path / "refs.json")}
    report = root / "out" / "render-report.json"
    done = subprocess.run([sys.executable, "-m", "studio", "estimate", "--calibrate", str(report)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = json.loads((tmp_path / "refs.json").read_text())
    assert set(written["calibrated"]) == set(STAGES)
    assert set(written["calibrated_cores"]) == {"shots", "sound"} and written["stages"]["shots"]["cores"] > 0.5
    done = subprocess.run([sys.executable, "-m", "studio", "estimate", str(EXAMPLE), "--json", "-j", "1"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    render = json.loads(done.stdout)["render"]
    assert render["file"] == str(tmp_path / "refs.json") and render["source"].startswith("calibrated:")
    assert list(render["stages"]) == list(STAGES)

    (tmp_path / "bad.json").write_text("{not json")
    done = subprocess.run([sys.executable, "-m", "studio", "estimate", "--calibrate", str(tmp_path / "bad.json")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "not a render report" in done.stderr and "Traceback" not in done.stderr


def test_the_speed_factor_scales_every_stage_and_calibrating_keeps_or_drops_the_probe(lamp):
    plans, shots = lamp
    refs = load_references(Path(__file__).parents[2] / "studio" / "run" / "stage_references.json")
    lines = [Spoken("piper", 60)] * 6
    for jobs in (1, 2):
        one = estimate_stages(plans, shots, lines, jobs=jobs, references=refs)
        slow = estimate_stages(plans, shots, lines, jobs=jobs, references=refs, speed=1.5)
        assert slow.speed == 1.5 and slow.to_dict()["speed"] == 1.5
        assert slow.stages == pytest.approx({k: v * 1.5 for k, v in one.stages.items()})
        assert slow.total_seconds == pytest.approx(one.total_seconds * 1.5)
    report = {"stages": {"voices": {"estimated": 10.0, "actual": 12.0}}}
    probe = {"seconds": 0.42, "version": 1, "at": "now"}
    kept = calibrate(report, references={**refs, "probe": {"seconds": 0.3, "version": 1}}, probe=probe)
    assert kept["probe"] == probe
    # the old probe timed the machine the old rates came from, not this render's: dropped
    assert "probe" not in calibrate(report, references={**refs, "probe": {"seconds": 0.3, "version": 1}})
