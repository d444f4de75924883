"""bench/shot_costs.py: the per-shot / per-frame split, and one real run of a tiny film."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench.scripts import load_bench


def test_the_fit_splits_a_cost_into_per_shot_and_per_frame() -> None:
    bench = load_bench("shot_costs")
    shots = [{"frames": n, "studio": 0.2 + 0.0015 * n} for n in (24, 60, 130, 300, 41)]
    split = bench.fit(shots, "studio")
    assert split["per_shot_ms"] == pytest.approx(200.0, abs=0.1)
    assert split["per_frame_ms"] == pytest.approx(1.5, abs=0.001)
    total = sum(s["studio"] for s in shots)
    assert split["total_s"] == pytest.approx(total, abs=0.01)
    assert split["shot_share"] == pytest.approx(0.2 * 5 / total, abs=0.001)


def test_a_tiny_film_is_measured_shot_by_shot(tmp_path: Path) -> None:
    bench = load_bench("shot_costs")
    out = tmp_path / "runs.json"
    assert bench.main(["--minutes", "0.3", "--resolution", "160x96", "--runs", "1", "--no-write",
                       "--json", str(out)]) == 0
    (run,) = json.loads(out.read_text())
    assert run["label"] == "this" and run["shots"]
    assert run["frames"] == sum(s["frames"] for s in run["shots"]) > 0
    assert all(s["wall"] > 0 and s["studio"] > 0 for s in run["shots"])
    # every shot starts its own encoder, so its children's CPU is counted shot by shot
    assert sum(s["ffmpeg"] for s in run["shots"]) > 0
    assert run["ffmpeg_cpu"] >= sum(s["ffmpeg"] for s in run["shots"]) - 0.05
    assert set(run["fit"]) == {"wall", "studio", "ffmpeg"}
