"""``bench/gpu_check.py --tiny``: the real-architecture check runs the same 3-shot film
through the diffusers backend with tiny configs on the CPU, so the script never rots
between GPU runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("ftfy")

ROOT = Path(__file__).resolve().parents[2]
MODELS = {"wan2.1-t2v-1.3b", "wan2.1-vace-1.3b", "wan2.1-i2v-14b-480p", "ltx-video-0.9.5", "sd1.5"}
DISTILLED = "ltx-video-0.9.8-distilled"
UPSAMPLER = "ltx-video-0.9.8-upsampler"
#: keyframe models of the groups named only on demand: name, group, family, components, recommended steps
KEYFRAMERS = [
    ("qwen-image-edit-2511", "wan-i2v-qwen-edit", "qwen-image-edit",
     ["QwenImageTransformer2DModel", "AutoencoderKLQwenImage", "Qwen2_5_VLForConditionalGeneration"], 40),
    ("flux2-dev", "wan-i2v-flux2-dev", "flux2",
     ["Flux2Transformer2DModel", "AutoencoderKLFlux2", "Mistral3ForConditionalGeneration"], 50),
]
LTX2_PARTS = ["LTX2VideoTransformer3DModel", "LTX2TextConnectors", "AutoencoderKLLTX2Video", "AutoencoderKLLTX2Audio",
              "LTX2Vocoder", "Gemma3ForConditionalGeneration"]


def _gpu_check(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "STUDIO_MODELS": str(tmp_path / "absent.yaml"),
           "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py"), *args, "--json", str(out)],
                         check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return run, json.loads(out.read_text(encoding="utf-8"))


#: the groups counted on the meta device, in one run of the script (each test reads its own)
COUNTED = ["ltx-0.9.8", "wan-i2v-qwen-edit", "wan-i2v-flux2-dev", "ltx2", "ltx2-full", "wan22-ti2v", "wan22-a14b"]


@pytest.fixture(scope="module")
def counted(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], dict]:
    """``--count`` over every group the tests below read: the real architectures on the meta device."""
    run, report = _gpu_check(tmp_path_factory.mktemp("count"), "--count", "--groups", *COUNTED)
    assert list(report["forecast"]) == COUNTED
    return run, report


def test_gpu_check_tiny_reports_every_model(tmp_path):
    run, report = _gpu_check(tmp_path, "--tiny")
    assert report["tiny"] is True and report["device"] == "cpu"
    assert MODELS <= set(report["models"]) and "ip-adapter-sd15" in report["models"]
    for name in MODELS:
        m = report["models"][name]
        assert m["calls"] >= 1, name
        assert 0 < m["seconds_per_step"] < 60, name
        assert 0 < m["seconds_per_film_second"] < 1000, name
        assert m["build_seconds"] >= 0 and m["params_billion"] > 0, name
        assert m["steps_recommended"] >= m["steps_run"] == 2, name
    for group in report["groups"].values():
        # a cut, a continuous shot and a shot long enough to be chunked
        assert [s["continuity"] for s in group["shots"]][1] == "continuous"
        assert group["real_time_factor"] > 0
    # the long shot was made in several calls: calls outnumber the three shots
    wan = [m for m in report["models"].values() if m.get("group") == "wan-vace" and "calls" in m]
    assert sum(m["calls"] for m in wan) > 3
    assert report["models"]["wan2.1-i2v-14b-480p"]["calls"] > 3
    assert report["models"]["ltx-video-0.9.5"]["calls"] > 3
    assert "| ltx |" in run.stdout
    # LTX-Video 0.9.8 13B distilled, through its two-pass recipe with the latent upsampler; then LTX-2
    assert list(report["groups"])[-5:] == ["ltx-0.9.8", "ltx2", "ltx2-full", "skyreels-df", "skyreels-df-14b"]
    # FLUX.2 [klein] draws the keyframes of the image-to-video group that names it: its 4 distilled steps whole
    klein = report["models"]["flux2-klein-4b"]
    assert klein["group"] == "wan-i2v-klein" and klein["family"] == "flux2-klein"
    assert [c["class"] for c in klein["components"]] == ["Flux2Transformer2DModel", "AutoencoderKLFlux2",
                                                         "Qwen3ForCausalLM"]
    assert klein["steps_run"] == klein["steps_recommended"] == 4 and klein["calls"] >= 1
    # Qwen-Image-Edit-2511 and FLUX.2 [dev] likewise, at --steps, extrapolated to their recipes' 40 and 50
    for name, group, family, parts, steps in KEYFRAMERS:
        m = report["models"][name]
        assert (m["group"], m["family"]) == (group, family), name
        assert [c["class"] for c in m["components"]] == parts, name
        assert m["steps_run"] == 2 and m["steps_recommended"] == steps and m["calls"] >= 1, name
        assert 0 < m["seconds_per_step"] < 60 and 0 < m["seconds_per_film_second"] < 1000, name
    assert "| ltx-0.9.8 |" in run.stdout
    m = report["models"][DISTILLED]
    assert [c["class"] for c in m["components"]] == ["LTXVideoTransformer3DModel", "AutoencoderKLLTXVideo",
                                                     "T5EncoderModel"]
    assert m["calls"] > 3 and 0 < m["seconds_per_film_second"] < 1000
    # an explicit timesteps list runs whole whatever --steps says: 8 timesteps, then the refine pass's 4
    # (of 5 at denoise strength 0.999); nothing is left to extrapolate
    assert m["steps_run"] == m["steps_recommended"] == 12
    assert 0 < m["seconds_per_step_by_pass"]["small"] < 60 and 0 < m["seconds_per_step_by_pass"]["refine"] < 60
    up = report["models"][UPSAMPLER]
    assert up["family"] == "ltx-upsampler" and up["params_billion"] > 0 and up["build_seconds"] >= 0
    assert [c["class"] for c in up["components"]] == ["LTXLatentUpsamplerModel"] and DISTILLED in up["note"]
    # LTX-2 (with --tiny every group runs, ltx2-full too)
    _ltx2_tiny_checks(report)
    assert "| ltx2 |" in run.stdout and "| ltx2-full |" in run.stdout
    # SkyReels-V2 diffusion forcing: one call a shot, the long one too (the pipeline's own windows)
    for name in ("skyreels-v2-df-1.3b-540p", "skyreels-v2-df-14b-540p"):
        m = report["models"][name]
        assert m["calls"] == 3 and m["frames_per_chunk"] == 17 and 0 < m["seconds_per_film_second"] < 1000, name
        assert [c["class"] for c in m["components"]][-1] == "SkyReelsV2Transformer3DModel", name
    assert "| skyreels-df |" in run.stdout


def test_gpu_check_counts_the_13b_on_the_meta_device(counted):
    """``--count`` builds the real architectures on the meta device: the 13B is a 13B, and the group's
    forecast on an H200 leaves room in the default budget."""
    run, report = counted
    f = report["forecast"]["ltx-0.9.8"]
    parts = {c["class"]: c for c in f["models"][DISTILLED]["components"]}
    assert 13.0e9 < parts["LTXVideoTransformer3DModel"]["params"] < 13.1e9
    assert parts["LTXVideoTransformer3DModel"]["dtype"] == "bfloat16"
    assert 4.7e9 < parts["T5EncoderModel"]["params"] < 4.8e9  # T5-XXL's encoder
    upsampler = f["models"][UPSAMPLER]["components"][0]
    assert upsampler["class"] == "LTXLatentUpsamplerModel" and 0.1e9 < upsampler["params"] < 0.2e9
    assert 30 < f["weights_gib"] < 139  # fits the H200's memory
    assert 0 < f["seconds"] < 480 and f["tflop"] > 0
    assert "ltx-0.9.8:" in run.stdout


def test_gpu_check_counts_the_keyframe_models_on_the_meta_device(counted):
    """Qwen-Image-Edit-2511 and FLUX.2 [dev] at their real architectures: the 20B MMDiT with Qwen2.5-VL 7B (its
    vision tower too), the 32B transformer with Mistral Small 3.1 24B; FLUX.2 [dev] beside the 14B image-to-video
    model is more than an H200 holds."""
    run, report = counted
    billions = {}
    for name, group, _, parts, _ in KEYFRAMERS:
        components = report["forecast"][group]["models"][name]["components"]
        assert [c["class"] for c in components] == parts and {c["dtype"] for c in components} == {"bfloat16"}
        billions.update({c["class"]: c["params"] / 1e9 for c in components})
    assert 20.3 < billions["QwenImageTransformer2DModel"] < 20.5
    assert 8.2 < billions["Qwen2_5_VLForConditionalGeneration"] < 8.4  # 7.6B text model and its 0.67B vision tower
    assert 0.1 < billions["AutoencoderKLQwenImage"] < 0.2
    assert 32.1 < billions["Flux2Transformer2DModel"] < 32.3
    assert 23.9 < billions["Mistral3ForConditionalGeneration"] < 24.1  # untied output head, Pixtral tower
    assert 0.05 < billions["AutoencoderKLFlux2"] < 0.1
    assert 90 < report["forecast"]["wan-i2v-qwen-edit"]["weights_gib"] < 139
    assert report["forecast"]["wan-i2v-flux2-dev"]["weights_gib"] > 139
    assert "wan-i2v-qwen-edit:" in run.stdout and "wan-i2v-flux2-dev:" in run.stdout


def _ltx2_tiny_checks(report: dict) -> None:
    """LTX-2 distilled, its two stages with the latent upsampler, and the full model at --steps."""
    m = report["models"]["ltx-2-distilled"]
    assert [c["class"] for c in m["components"]] == LTX2_PARTS and m["group"] == "ltx2"
    assert m["calls"] > 3 and 0 < m["seconds_per_film_second"] < 1000
    # explicit sigmas lists run whole whatever --steps says: 8 in stage 1, then stage 2's 3
    assert m["steps_run"] == m["steps_recommended"] == 11
    assert 0 < m["seconds_per_step_by_pass"]["small"] < 60 and 0 < m["seconds_per_step_by_pass"]["refine"] < 60
    up = report["models"]["ltx-2-distilled-upsampler"]
    assert up["family"] == "ltx2-upsampler" and [c["class"] for c in up["components"]] == ["LTX2LatentUpsamplerModel"]
    assert "ltx-2-distilled" in up["note"]
    full = report["models"]["ltx-2"]
    assert full["group"] == "ltx2-full" and full["steps_run"] == 2 and full["steps_recommended"] == 40
    assert full["calls"] > 3 and 0 < full["seconds_per_film_second"] < 1000
    # every shot was generated around a spoken span: its speech tokens held clean
    assert m["held_audio_frames"] > 0 and full["held_audio_frames"] > 0


def test_gpu_check_counts_ltx2_on_the_meta_device(counted):
    """LTX-2 19B at its real architecture (diffusers' convert_ltx2_to_diffusers.py, Gemma 3 12B): the 19B is a
    19B, the distilled group fits the H200 and its forecast the default budget; the full model's 40 steps of 4
    passes do not, so it is not in the default run."""
    run, report = counted
    f = report["forecast"]["ltx2"]
    parts = {c["class"]: c for c in f["models"]["ltx-2-distilled"]["components"]}
    assert list(parts) == LTX2_PARTS and {c["dtype"] for c in parts.values()} == {"bfloat16"}
    assert 18.8e9 < parts["LTX2VideoTransformer3DModel"]["params"] < 19.0e9
    assert 12.1e9 < parts["Gemma3ForConditionalGeneration"]["params"] < 12.3e9  # Gemma 3 12B with its SigLIP
    assert 1.2e9 < parts["AutoencoderKLLTX2Video"]["params"] < 1.3e9
    upsampler = f["models"]["ltx-2-distilled-upsampler"]["components"][0]
    assert upsampler["class"] == "LTX2LatentUpsamplerModel" and 0.4e9 < upsampler["params"] < 0.6e9
    assert 60 < f["weights_gib"] < 139 and f["passes_per_step"] == 1  # the distilled recipe has no guidance
    assert 0 < f["seconds"] < 480 and f["tflop"] > 0
    full = report["forecast"]["ltx2-full"]
    assert full["passes_per_step"] == 4 and full["tflop"] > 4 * f["tflop"]
    assert "ltx2:" in run.stdout and "ltx2-full:" in run.stdout


def test_gpu_check_runs_the_wan22_groups(tmp_path, counted):
    """Wan 2.2: TI2V-5B (text-to-video and image-to-video sharing one transformer, the 2.2 VAE,
    expand_timesteps) and the A14B pair (two experts each), through the same film on tiny configs; and
    counted at their real architectures on the meta device."""
    run, report = _gpu_check(tmp_path, "--tiny", "--groups", "wan22-ti2v", "wan22-a14b")
    assert list(report["groups"]) == ["wan22-ti2v", "wan22-a14b"] and "| wan22-a14b |" in run.stdout
    ti2v, ti2v_i2v = report["models"]["wan2.2-ti2v-5b"], report["models"]["wan2.2-ti2v-5b-i2v"]
    assert [c["class"] for c in ti2v["components"]] == ["UMT5EncoderModel", "WanTransformer3DModel", "AutoencoderKLWan"]
    assert ti2v_i2v["dtype"] == "shared" and ti2v_i2v["calls"] > 1  # the continuous shot and the long one's chunks
    assert ti2v["steps_recommended"] == 50 and report["groups"]["wan22-ti2v"]["size"] == "64x32"
    for name in ("wan2.2-t2v-a14b", "wan2.2-i2v-a14b"):
        m = report["models"][name]
        assert [c["class"] for c in m["components"]].count("WanTransformer3DModel") == 2, name
        assert m["steps_recommended"] == 40 and 0 < m["seconds_per_film_second"] < 1000, name
    run, report = counted
    ti2v = report["forecast"]["wan22-ti2v"]["models"]["wan2.2-ti2v-5b"]
    assert {c["class"]: round(c["params"] / 1e9, 2) for c in ti2v["components"]}["WanTransformer3DModel"] == 5.0
    a14b = report["forecast"]["wan22-a14b"]
    experts = [c for m in a14b["models"].values() for c in m["components"] if c["class"] == "WanTransformer3DModel"]
    assert len(experts) == 4 and all(round(c["params"] / 1e9, 1) == 14.3 for c in experts)
    assert 110 < a14b["weights_gib"] < 125


def _load_gpu_check():
    """bench/gpu_check.py as a module (bench/ is a folder of scripts, not a package on the path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_check_under_test", ROOT / "bench" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_report(when: str, groups: dict, *, skipped=(), failed=None, gpu="NVIDIA H200") -> dict:
    models = {f"{g}-model": {"group": g, "dtype": "x", "params_billion": 1, "build_seconds": 1, "calls": 1,
                             "seconds_per_step": 0.5, "steps_run": 2, "steps_recommended": 40,
                             "seconds_per_film_second": 3.0, "peak_vram_gib": 9.0} for g in groups}
    return {"when": when, "tiny": False, "device": "cuda", "gpu": gpu, "torch": "2.11.0", "diffusers": "0.42.1",
            "steps_run": 2, "real_dtypes": True, "models": models, "groups": groups, "skipped": list(skipped),
            "failed": failed or {}, "forecast": {g: {"seconds": 1.0} for g in groups}, "seconds": 10.0}


def _group(wall: float) -> dict:
    return {"shots": [{"id": "s1", "frames": 48}], "film_seconds": 2.0, "size": "832x480", "fps": 24,
            "wall_seconds": wall, "estimate_seconds": 2 * wall, "real_time_factor": wall}


def test_reports_of_several_calls_merge_into_one_record():
    gpu_check = _load_gpu_check()
    first = _run_report("2026-12-04 17:22 UTC", {"ltx": _group(1.0)}, skipped=["ltx2", "skyreels-df"])
    second = _run_report("2026-12-04 17:25 UTC", {"ltx2": _group(2.0)}, skipped=["skyreels-df"],
                         failed={"wan22-a14b": "OutOfMemoryError: CUDA out of memory"})
    merged = gpu_check.merge([first, second])
    assert list(merged["groups"]) == ["ltx", "ltx2"] and set(merged["models"]) == {"ltx-model", "ltx2-model"}
    # skipped in the first call and measured in the second: measured; skipped in both: still skipped
    assert merged["skipped"] == ["skyreels-df"]
    assert merged["failed"] == {"wan22-a14b": "OutOfMemoryError: CUDA out of memory"}
    assert [r["when"] for r in merged["runs"]] == ["2026-12-04 17:22 UTC", "2026-12-04 17:25 UTC"]
    assert merged["runs"][1]["groups"] == ["ltx2", "wan22-a14b", "skyreels-df"] and merged["seconds"] == 20.0
    table = gpu_check.table(merged)
    assert "| wan22-a14b | failed: OutOfMemoryError: CUDA out of memory |" in table
    # a failure that a later call measured is not a failure of the record
    third = _run_report("2026-12-04 17:31 UTC", {"wan22-a14b": _group(3.0)})
    assert gpu_check.merge([first, second, third])["failed"] == {}
    # calls on different machines are not one record
    with pytest.raises(SystemExit, match="differ in gpu"):
        gpu_check.merge([first, _run_report("later", {"ltx": _group(1.0)}, gpu="NVIDIA H100")])


def test_a_group_that_fails_on_a_real_run_is_recorded_and_the_next_one_runs(monkeypatch, capsys):
    """Out of memory in one group (a finding, on a real card) must not lose the groups after it; in the
    suite's --tiny run a failure is a bug and still raises."""
    gpu_check = _load_gpu_check()
    ran: list[str] = []

    def run_group(group, *args, **kwargs):
        ran.append(group)
        if group == "wan-vace":
            raise MemoryError("out of memory at the VAE decode")
        return {"models": {}, **_group(1.0)}

    monkeypatch.setattr(gpu_check, "run_group", run_group)
    report = gpu_check.check(False, 2, ["wan-vace", "ltx"], device="cpu", real_dtypes=False)
    assert ran == ["wan-vace", "ltx"] and list(report["groups"]) == ["ltx"]
    assert report["failed"] == {"wan-vace": "MemoryError: out of memory at the VAE decode"}
    with pytest.raises(MemoryError):
        gpu_check.check(True, 2, ["wan-vace", "ltx"], device="cpu", real_dtypes=False)
