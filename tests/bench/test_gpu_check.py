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


def test_gpu_check_tiny_reports_every_model(tmp_path):
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "STUDIO_MODELS": str(tmp_path / "absent.yaml"),
           "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--tiny", "--json", str(out)],
                         check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
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
