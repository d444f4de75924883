"""studio.run.speed: the machine's speed probe, and the estimate scaled by it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from studio.run.speed import FACTOR_RANGE, PROBE_VERSION, probe, speed_factor
from tests.conftest import EXAMPLE, ROOT


def test_the_probe_times_real_work_on_this_machine():
    measured = probe(repeats=2)
    assert measured["version"] == PROBE_VERSION and measured["repeats"] == 2
    parts = measured["parts"]
    assert set(parts) == {"encode", "draw", "compute"} and all(v > 0 for v in parts.values())
    # the total is the median run's, so it is close to (not exactly) the parts' medians summed
    assert 0.5 * sum(parts.values()) < measured["seconds"] < 2 * sum(parts.values())


def test_a_burden_on_the_machine_shows_in_the_probe():
    """The probe measures the machine as it is now: with both cores kept busy by other
    processes it takes longer than on the same machine left alone (the ratio, measured
    in this one test; both cores busy take a share of the probe's time slices)."""
    quiet = probe(repeats=3)["seconds"]
    spin = "import time\nt = time.time()\nwhile time.time() - t < 20: pass"
    hogs = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(2 * (os.cpu_count() or 1))]
    try:
        busy = probe(repeats=3)["seconds"]
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert busy > 1.3 * quiet, (quiet, busy)


def test_the_speed_factor_is_now_over_then_of_the_same_probe():
    then = {"probe": {"seconds": 0.5, "version": PROBE_VERSION}}
    assert speed_factor(then, {"seconds": 0.7, "version": PROBE_VERSION}) == pytest.approx(1.4)
    assert speed_factor(then, {"seconds": 0.4, "version": PROBE_VERSION}) == pytest.approx(0.8)
    # beyond belief: clamped
    assert speed_factor(then, {"seconds": 50.0, "version": PROBE_VERSION}) == FACTOR_RANGE[1]
    # nothing to compare with: references without a probe, or a probe of another version
    assert speed_factor({}, {"seconds": 0.7, "version": PROBE_VERSION}) is None
    assert speed_factor({"probe": {"seconds": 0.5, "version": PROBE_VERSION + 1}},
                        {"seconds": 0.7, "version": PROBE_VERSION}) is None


def test_estimate_probe_scales_every_stage(tmp_path):
    """``studio estimate --probe`` against references whose probe was twice as fast as
    any machine can be now: every stage of the whole render is scaled by the factor it
    prints; against references without a probe it says so and scales nothing."""
    shipped = json.loads((ROOT / "studio" / "run" / "stage_references.json").read_text())
    shipped.pop("probe", None)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(shipped))
    fast = tmp_path / "fast.json"
    fast.write_text(json.dumps({**shipped, "probe": {"seconds": 1e-3, "version": PROBE_VERSION, "at": "then"}}))

    def run(refs, *extra):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDIO_ESTIMATE_REFERENCES": str(refs)}
        done = subprocess.run([sys.executable, "-m", "studio", "estimate", str(EXAMPLE), "-j", "1", *extra],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    base = json.loads(run(plain, "--json"))["render"]
    scaled = json.loads(run(fast, "--json", "--probe"))["render"]
    assert base["speed"] == 1.0 and scaled["speed"] == FACTOR_RANGE[1]  # far slower than 1 ms: clamped
    for stage, seconds in base["stages"].items():
        # both rounded to the millisecond in the JSON: the base's rounding grows by the factor
        slack = 0.5e-3 * (FACTOR_RANGE[1] + 1)
        assert scaled["stages"][stage] == pytest.approx(seconds * FACTOR_RANGE[1], rel=1e-3, abs=slack), stage
    assert "keep no probe" in " ".join(run(plain, "--probe").split())
    assert f"x {FACTOR_RANGE[1]:.2f}" in run(fast, "--probe")
