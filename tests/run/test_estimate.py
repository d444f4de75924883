"""Render estimates: per shot, in total, GPU-hours and the makespan on N GPUs."""

from __future__ import annotations

import json

import pytest

from studio.errors import StudioError
from studio.graph.scene_graph import SceneGraph
from studio.render.plan import plan_film
from studio.run.estimate import (
    LTX2_GUIDANCE_DEFAULTS,
    MEASURED,
    REFERENCES,
    estimate_film,
    ltx2_passes,
    makespan,
    measured_reference,
)
from studio.screenplay import load_screenplay
from tests.conftest import EXAMPLE, run_studio


@pytest.fixture
def published(tmp_path, monkeypatch):
    """No gpu_check measurement at hand: the published (or assumed) figures, as on a checkout without
    bench/results/gpu_check.json."""
    from studio.run import estimate as module

    monkeypatch.setattr(module, "MEASURED", tmp_path / "no-gpu-check.json")


@pytest.fixture(scope="module")
def plans():
    return plan_film(SceneGraph.from_screenplay(load_screenplay(EXAMPLE)))


@pytest.mark.parametrize("backend, options", [
    ("animatic", {}),
    ("diffusers", {}),
    ("diffusers", {"model": "ltx-video-0.9.5"}),
    ("diffusers", {"model": "ltx-2"}),
    ("diffusers", {"model": "ltx-2-distilled"}),
    ("diffusers", {"model": "skyreels-v2-df-1.3b-540p"}),
    ("diffusers", {"model": "skyreels-v2-df-14b-720p"}),
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
    # the committed GPU measurement where there is one (bench/results/gpu_check.json), else the published figure
    expected = measured_reference("wan2.1-t2v-1.3b") or REFERENCES["wan-1.3b"]
    assert data["reference"]["source"] == expected.source and data["reference"]["origin"] == expected.origin

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


def _one_chunk_cut(plans):
    return next(p for p in plans if p.continuity != "continuous" and p.frames <= 121)


def test_an_ltx2_estimate_counts_both_stages_at_their_sizes(plans, published):
    """LTX-2 distilled: stage 1 over its 8 sigmas at half the size, stage 2 over its 3 at twice that, each step
    as many transformer passes as the pipeline's guidance takes; generated at LTX-2's own 24 fps."""
    ref = REFERENCES["ltx-2"]
    assert ref.origin == "assumed" and "gpu_check.py --count" in ref.source
    assert (ref.frames, ref.width, ref.height, ref.steps) == (121, 768, 512, 40)
    assert ref.seconds / ref.steps == pytest.approx(201.7 / 400)  # one pass of a step: the forecast at 400 TFLOPS
    estimate = estimate_film(plans, backend="diffusers", options={"model": "ltx-2-distilled"})
    assert estimate.reference is ref and {s.fps for s in estimate.shots} == {24}
    plan = _one_chunk_cut(plans)
    shot = next(s for s in estimate.shots if s.shot_id == plan.shot_id)
    assert shot.steps == 8 + 3 and shot.generated == -(-(plan.frames - 1) // 8) * 8 + 1
    width, height = shot.width, shot.height  # the model's 1536x1024 area at the film's aspect, multiples of 32
    assert width % 32 == 0 and height % 32 == 0 and abs(width * height - 1536 * 1024) < 0.1 * 1536 * 1024
    small_w, small_h = width // 2 // 32 * 32, height // 2 // 32 * 32
    from studio.models import Registry

    passes = ltx2_passes(Registry.default().get("ltx-2-distilled").options)
    assert passes == 1  # no guidance of any kind, as Lightricks' distilled pipeline denoises
    expected = (ref.seconds_for(shot.generated, small_w, small_h, 8 * passes)
                + ref.seconds_for(shot.generated, 2 * small_w, 2 * small_h, 3 * passes))
    assert shot.seconds == pytest.approx(expected)


def test_ltx2_guidance_sets_the_passes_per_step(plans, published):
    assert ltx2_passes({}) == 4  # CFG (batch of 2), STG, modality isolation
    off = {"audio_guidance_scale": 1.0, "stg_scale": 0.0, "audio_stg_scale": 0.0, "modality_scale": 1.0,
           "audio_modality_scale": 1.0}
    assert ltx2_passes({"guidance": 1.0, **off}) == 1
    # the audio's scales are the pipeline's own defaults (7.0, 1.0, 3.0) unless given: turning the video's off
    # leaves them on
    assert ltx2_passes({"guidance": 1.0, "stg_scale": 0.0, "modality_scale": 1.0}) == 4
    assert ltx2_passes({"guidance": 4.0, **off}) == 2
    assert ltx2_passes({"guidance": 3.0, "stg_scale": 1.0, "modality_scale": 3.0, "audio_guidance_scale": 7.0}) == 4
    # the distilled recipe with the pipeline's guidance defaults for the sound (CFG 7.0, STG, modality) would
    # take four passes a step: four times the registry's, which has none
    guided = {"family": "ltx2", "source": "rootonchair/LTX-2-19b-distilled", "dtype": "bfloat16",
              "options": {"steps": 8, "guidance": 1.0, "frames_per_chunk": 121, "resolution": "1536x1024",
                          "sigmas": [1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875],
                         "upsampler": "ltx-2-distilled-upsampler",
                         "upsample": {"downscale": 0.5, "sigmas": [0.909375, 0.725, 0.421875], "guidance": 1.0}}}
    slow = estimate_film(plans, backend="diffusers", options={"model": "guided"}, models={"guided": guided})
    fast = estimate_film(plans, backend="diffusers", options={"model": "ltx-2-distilled"})
    assert fast.total_seconds == pytest.approx(slow.total_seconds / 4)
    # the full model: 40 steps of 4 passes (its authors' CFG 3.0, STG, modality 3.0) at 768x512's area, one stage
    full = estimate_film(plans, backend="diffusers", options={"model": "ltx-2"})
    plan = _one_chunk_cut(plans)
    shot = next(s for s in full.shots if s.shot_id == plan.shot_id)
    assert shot.steps == 40 and abs(shot.width * shot.height - 768 * 512) < 0.1 * 768 * 512
    assert shot.seconds == pytest.approx(REFERENCES["ltx-2"].seconds_for(shot.generated, shot.width, shot.height,
                                                                         40 * 4))


def test_ltx2_guidance_defaults_are_the_pipelines():
    pytest.importorskip("diffusers")
    import inspect

    from diffusers import LTX2ConditionPipeline

    defaults = {k: v.default for k, v in inspect.signature(LTX2ConditionPipeline.__call__).parameters.items()}
    assert {k: defaults[k] for k in LTX2_GUIDANCE_DEFAULTS} == LTX2_GUIDANCE_DEFAULTS


def test_a_measured_two_stage_model_is_scaled_by_its_whole_recipe(plans, tmp_path, monkeypatch):
    """gpu_check's seconds per step of a two-stage model is its recipe's mean step (passes included): the
    estimate takes all its steps at the generation size, not stage by stage again."""
    from studio.run import estimate as module

    measured = tmp_path / "gpu_check.json"
    measured.write_text(json.dumps({"when": "2026-12-02 12:00 UTC", "tiny": False, "device": "cuda",
                                    "gpu": "NVIDIA H200", "models": {"ltx-2-distilled": {
                                        "seconds_per_step": 2.0, "steps_recommended": 11, "steps_run": 11,
                                        "calls": 4, "seconds_in_calls": 100.0, "generation_size": "1536x1024",
                                        "frames_per_chunk": 121}}}), encoding="utf-8")
    monkeypatch.setattr(module, "MEASURED", measured)
    estimate = estimate_film(plans, backend="diffusers", options={"model": "ltx-2-distilled"})
    assert estimate.reference.origin == "measured" and estimate.reference.seconds == pytest.approx(2.0 * 11 + 3.0)
    shot = next(s for s in estimate.shots if s.shot_id == _one_chunk_cut(plans).shot_id)
    assert shot.seconds == pytest.approx(estimate.reference.seconds_for(shot.generated, shot.width, shot.height, 11))


def test_wan22_estimates_use_the_wan22_readme_figures_at_each_models_rate(plans, published):
    """Wan 2.2 TI2V-5B generates at 24 fps (no retiming of a 24 fps film) and takes its reference from the
    Wan2.2 README's RTX 4090 figure; the A14B pair generates at 16 fps with the README's H100 figure."""
    ti2v = estimate_film(plans, backend="diffusers", options={"model": "wan2.2-ti2v-5b",
                                                              "i2v_model": "wan2.2-ti2v-5b-i2v"}, gpus=1)
    assert {s.fps for s in ti2v.shots} == {24} and ti2v.reference.seconds == 534.7
    assert ti2v.reference.frames == 121 and (ti2v.reference.width, ti2v.reference.height) == (1280, 704)
    assert all(s.steps == 50 for s in ti2v.shots)
    a14b = estimate_film(plans, backend="diffusers", options={"model": "wan2.2-t2v-a14b",
                                                              "i2v_model": "wan2.2-i2v-a14b"}, gpus=1)
    assert {s.fps for s in a14b.shots} == {16} and a14b.reference.seconds == 1041.5
    assert all(s.steps == 40 for s in a14b.shots) and "Wan2.2 README" in a14b.reference.source


def test_a_diffusion_forcing_take_is_estimated_window_by_window(plans, published):
    """SkyReels-V2 DF: one call per shot; the reference's own 97 frames cost its published 14 minutes (at
    ar_step 5, blocks of 5: its 50 rows), and a longer take costs its windows, each at its denoising rows."""
    from studio.render.diffusers.windows import windows

    estimate = estimate_film(plans, backend="diffusers", options={"model": "skyreels-v2-df-1.3b-540p"})
    ref = REFERENCES["skyreels-df-1.3b"]
    assert estimate.reference is ref and ref.origin == "published"
    shot = max(estimate.shots, key=lambda s: s.generated)
    count = len(windows(shot.generated, 97, 17))
    per_window = ref.seconds_for(97, shot.width, shot.height, 30)  # synchronous: 30 rows a window
    assert count >= 1 and shot.seconds <= count * per_window + 1e-6
    assert ref.seconds_for(97, 960, 544, 50) == pytest.approx(14 * 60)


@pytest.mark.parametrize("backend, options, drawn_by", [
    ("animatic", {}, False),
    ("diffusers", {}, False),  # no keyframe model: the animatic draws them
    ("diffusers", {"model": "wan2.1-i2v-14b-480p", "keyframe_model": "my-sd"}, True),
])
def test_keyframe_time_is_counted_apart_from_video_time(plans, backend, options, drawn_by, tmp_path):
    models = {"my-sd": {"family": "sd", "source": str(tmp_path), "options": {"steps": 30}}}
    estimate = estimate_film(plans, backend=backend, options=options, models=models)
    data = estimate.to_dict()
    assert all(s.keyframe_seconds > 0 for s in estimate.shots)
    assert data["keyframe_seconds"] == pytest.approx(sum(s.keyframe_seconds for s in estimate.shots), abs=1e-2)
    assert data["video_seconds"] == data["total_seconds"]  # the video, without the keyframes
    assert estimate.keyframe_seconds < estimate.video_seconds  # a still is cheap next to the video it starts
    assert (data["keyframe_reference"] is not None) == drawn_by


def test_the_committed_gpu_measurement_is_read_for_the_models_it_measured(plans):
    """bench/results/gpu_check.json, once a GPU run is recorded, is a real run (not --tiny), and every model it
    timed is estimated from it: the reference says measured, on that GPU, at that model's recipe."""
    if not MEASURED.exists():
        pytest.skip("no GPU run recorded in this checkout")
    report = json.loads(MEASURED.read_text(encoding="utf-8"))
    assert report["tiny"] is False and report["device"] == "cuda" and report["gpu"]
    # the video models (a keyframe model's figure has no generation size: keyframes keep their reference)
    timed = [name for name, m in report["models"].items() if m.get("seconds_per_step") and m.get("generation_size")]
    assert timed
    for name in timed:
        ref = measured_reference(name)
        assert ref is not None and ref.origin == "measured" and ref.device == report["gpu"], name
        assert ref.steps == report["models"][name]["steps_recommended"]
        assert ref.seconds >= ref.steps * report["models"][name]["seconds_per_step"]
    # a group the GPU could not hold is recorded as failed, not timed
    for group in report.get("failed", {}):
        assert group not in report["groups"]
