"""Render estimates: per shot, in total, GPU-hours and the makespan on N GPUs."""

from __future__ import annotations

import json

import pytest

from studio.errors import StudioError
from studio.graph.scene_graph import SceneGraph
from studio.render.plan import plan_film
from studio.run.estimate import REFERENCES, estimate_film, makespan
from studio.screenplay import load_screenplay
from tests.conftest import EXAMPLE, run_studio


@pytest.fixture(scope="module")
def plans():
    return plan_film(SceneGraph.from_screenplay(load_screenplay(EXAMPLE)))


@pytest.mark.parametrize("backend, options", [
    ("animatic", {}),
    ("diffusers", {}),
    ("diffusers", {"model": "ltx-video-0.9.5"}),
    ("diffusers", {"model": "wan2.1-i2v-14b-480p", "keyframe_model": None, "vace_model": "wan2.1-vace-1.3b"}),
])
def test_totals_are_the_sum_of_the_shots(plans, backend, options):
    estimate = estimate_film(plans, backend=backend, options=options, gpus=3)
    seconds = [s.seconds for s in estimate.shots]
    assert len(seconds) == len(plans) and all(s > 0 for s in seconds)
    assert estimate.total_seconds == pytest.approx(sum(seconds))
    assert estimate.gpu_hours == pytest.approx(sum(seconds) / 3600)
    # a chain renders in order on one GPU; three GPUs share the rest
    assert estimate.longest_chain_seconds <= estimate.makespan_seconds <= estimate.total_seconds
    assert estimate.makespan_seconds >= estimate.total_seconds / 3 - 1e-9
    # the model generates at its own rate (Wan 2.1: 16 fps) frames that last at least the shot
    assert all(s.generated / s.fps >= s.frames / plans[0].fps for s in estimate.shots)


def test_the_reference_clip_estimates_its_own_time():
    for ref in REFERENCES.values():
        assert ref.seconds_for(ref.frames, ref.width, ref.height, ref.steps) == pytest.approx(ref.seconds)
        assert ref.source and ref.device
    wan = REFERENCES["wan-1.3b"]
    assert wan.seconds_for(81, 832, 480, 25) == pytest.approx(120.0)  # half the steps, half the time
    animatic = REFERENCES["animatic"]
    # the bench measured 211 frames/s at 854x480 and 114 at 1280x720
    assert 1000 / animatic.seconds_for(1000, 854, 480, None) == pytest.approx(211.2, rel=0.01)
    assert 1000 / animatic.seconds_for(1000, 1280, 720, None) == pytest.approx(114.3, rel=0.01)


def test_makespan_is_bounded_by_the_longest_chain():
    assert makespan([10, 1, 1, 1], 4) == 10
    assert makespan([3, 3, 3, 3], 2) == 6
    assert makespan([], 8) == 0
    # longest first onto the GPU free first: 5+3 and 4+3+3 (the optimum, 5+4 and 3+3+3, is 9: LPT is within 4/3)
    assert makespan([5, 4, 3, 3, 3], 2) == 10
    with pytest.raises(StudioError):
        makespan([1], 0)


def test_unknown_backends_and_models_are_clear_errors(plans):
    with pytest.raises(StudioError, match="no estimate for backend"):
        estimate_film(plans, backend="pencil")
    with pytest.raises(StudioError, match="no model named"):
        estimate_film(plans, backend="diffusers", options={"model": "wan9-huge"})


def test_studio_estimate_command():
    result = run_studio("estimate", str(EXAMPLE), "--backend", "diffusers", "--gpus", "4", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    shots = data["shots"]
    assert len(shots) == 31 and data["gpus"] == 4 and data["model"] == "wan2.1-t2v-1.3b"
    assert data["total_seconds"] == pytest.approx(sum(s["seconds"] for s in shots), abs=0.01 * len(shots))
    assert data["gpu_hours"] == pytest.approx(data["total_seconds"] / 3600, abs=1e-3)
    assert data["longest_chain_seconds"] <= data["makespan_seconds"] <= data["total_seconds"]
    assert "Wan2.1 README" in data["reference"]["source"]

    text = run_studio("estimate", str(EXAMPLE), "--gpus", "2")
    assert text.returncode == 0, text.stderr
    assert "total " in text.stdout and "CPU-hours" in text.stdout and "longest continuity chain" in text.stdout
    assert "BENCHMARKS.md" in text.stdout

    bad = run_studio("estimate", str(EXAMPLE), "--model", "ltx-video-0.9.5")
    assert bad.returncode == 2 and "--backend diffusers" in bad.stderr


def _gpu_check_report(path, *, tiny: bool = False) -> None:
    """A report as bench/gpu_check.py writes it, for one model."""
    path.write_text(json.dumps({"when": "2026-12-02 12:00 UTC", "tiny": tiny, "device": "cuda", "gpu": "NVIDIA H200",
                                "models": {"wan2.1-t2v-1.3b": {
                                    "seconds_per_step": 1.5, "steps_recommended": 30, "steps_run": 2, "calls": 4,
                                    "seconds_in_calls": 20.0, "generation_size": "832x480",
                                    "frames_per_chunk": 81}}}), encoding="utf-8")


def test_estimates_use_gpu_check_measurements_where_they_exist(plans, tmp_path, monkeypatch):
    from studio.run import estimate as module

    measured = tmp_path / "gpu_check.json"
    _gpu_check_report(measured)
    monkeypatch.setattr(module, "MEASURED", measured)
    wan = estimate_film(plans, backend="diffusers", options={"model": "wan2.1-t2v-1.3b"})
    ref = wan.to_dict()["reference"]
    assert ref["origin"] == "measured" and ref["source"].startswith("measured: bench/gpu_check.py")
    # 1.5 s a step at 30 steps, plus 20 s / 4 calls - 2 steps x 1.5 s of the rest of a call
    assert wan.reference.seconds == pytest.approx(1.5 * 30 + 2.0)
    assert (wan.reference.frames, wan.reference.width, wan.reference.height) == (81, 832, 480)
    # a model gpu_check did not measure keeps its published (or assumed) figure, and says so
    ltx = estimate_film(plans, backend="diffusers", options={"model": "ltx-video-0.9.5"}).to_dict()["reference"]
    assert ltx["origin"] == "published" and ltx["source"].startswith("published:")


def test_tiny_gpu_check_runs_and_missing_reports_are_not_measurements(plans, tmp_path, monkeypatch):
    from studio.run import estimate as module

    tiny = tmp_path / "tiny.json"
    _gpu_check_report(tiny, tiny=True)
    for path in (tiny, tmp_path / "absent.json"):
        monkeypatch.setattr(module, "MEASURED", path)
        ref = estimate_film(plans, backend="diffusers", options={"model": "wan2.1-t2v-1.3b"}).to_dict()["reference"]
        assert ref["origin"] == "published" and ref["seconds"] == REFERENCES["wan-1.3b"].seconds


def test_a_wan_estimate_counts_frames_at_the_models_16_fps(plans):
    """A 24 fps film on Wan 2.1 (trained at 16 fps): the shot's duration at 16 fps, rounded up to 4k+1."""
    assert {p.fps for p in plans} == {24}
    wan = estimate_film(plans, backend="diffusers", options={}, gpus=1)
    assert {s.fps for s in wan.shots} == {16}
    # a cut short enough for one chunk: no context, only the 4k+1 rounding is added
    plan, shot = next((p, s) for p, s in zip(plans, wan.shots, strict=True)
                      if p.continuity != "continuous" and -(-p.frames * 16 // 24) <= 81)
    native = -(-plan.frames * 16 // 24)
    assert shot.generated == -(-(native - 1) // 4) * 4 + 1 < shot.frames
