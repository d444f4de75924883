"""How fast this machine runs now, against when the estimate's rates were measured.

The estimate (:mod:`studio.run.stages`) scales from rates measured on a machine at one
time. A machine's speed is not one number: a laptop throttles, and a shared host's
speed was measured to swing by 1.8x within half an hour while its other load stayed
near zero (BENCHMARKS ``render_feature_jobs``, notes). :func:`probe` times a fixed
piece of the work a render does, about 0.3 s a run: frames encoded by ffmpeg as the shots are
(:class:`~studio.assemble.encode.ClipWriter`, one stream), resampled and blurred with
Pillow as the animatic draws, and transformed and multiplied with numpy as the sound
and the voices compute. The references keep the probe's seconds from when they were
measured (``probe``); ``studio estimate --probe`` times it again and scales every stage
by now / then (:func:`speed_factor`).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: bumped when the probe's work changes: a figure of another version is not compared
PROBE_VERSION = 4  # 2: ClipWriter converts to YUV itself (the encode part got faster); 3: x264 subme=1; 4: me=dia
PROBE_FRAMES = 24
PROBE_SIZE = (854, 480)
#: a factor outside this range is not believed (a probe disturbed by a burst of other work)
FACTOR_RANGE = (0.25, 4.0)


def _frames(n: int) -> list[np.ndarray]:
    w, h = PROBE_SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 255 // (w + h)], -1).astype(np.uint8)
    out = []
    for i in range(n):
        f = np.roll(base, i * 7, axis=1)
        x = (i * 29) % (w - 160)
        f[120:260, x:x + 160] = (200, 60, 40)
        out.append(f)
    return out


def _encode(frames: list[np.ndarray]) -> float:
    from studio.assemble.encode import ClipWriter, VideoSettings

    with tempfile.TemporaryDirectory(prefix="studio-probe-") as tmp:
        started = time.perf_counter()
        with ClipWriter(Path(tmp) / "probe.mp4", VideoSettings(*PROBE_SIZE, 24)) as clip:
            for frame in frames:
                clip.write(frame)
        return time.perf_counter() - started


def _draw(frames: list[np.ndarray]) -> float:
    from PIL import Image, ImageFilter

    w, h = PROBE_SIZE
    big = Image.fromarray(frames[0]).resize((w * 3 // 2, h * 3 // 2), Image.BILINEAR)
    started = time.perf_counter()
    for k in range(6):
        big.resize((w, h), Image.BILINEAR, box=(k, k, k + w * 1.3, k + h * 1.3))
    big.filter(ImageFilter.GaussianBlur(3))
    return time.perf_counter() - started


def _compute() -> float:
    x = np.random.default_rng(0).standard_normal(1 << 18).astype(np.float32)
    m = np.random.default_rng(1).standard_normal((256, 256)).astype(np.float32)
    started = time.perf_counter()
    for _ in range(4):
        y = np.fft.irfft(np.fft.rfft(x) * 0.5, n=x.size).astype(np.float32)
        x = 0.5 * (x + y)
        (x[: 256 * 256].reshape(256, 256) @ m).sum()
    return time.perf_counter() - started


def probe(repeats: int = 5) -> dict[str, Any]:
    """The probe's seconds on this machine now: the median of ``repeats`` runs (each
    part's median too), with the version, for the references and the report."""
    frames = _frames(PROBE_FRAMES)
    runs = []
    for _ in range(max(1, repeats)):
        runs.append({"encode": _encode(frames), "draw": _draw(frames), "compute": _compute()})
    parts = {k: round(statistics.median(r[k] for r in runs), 4) for k in runs[0]}
    return {"seconds": round(statistics.median(sum(r.values()) for r in runs), 4), "parts": parts,
            "version": PROBE_VERSION, "repeats": len(runs),
            "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def speed_factor(references: Mapping[str, Any], now: Mapping[str, Any]) -> float | None:
    """How much longer than when ``references`` were measured this machine takes now
    (the probe's seconds now over then, e.g. 1.4: 40% slower), or None when the
    references keep no probe of this version (measured before there was one, or
    calibrated from a render since)."""
    then = references.get("probe")
    if not isinstance(then, Mapping) or then.get("version") != PROBE_VERSION or not then.get("seconds"):
        return None
    if now.get("version") != PROBE_VERSION or not now.get("seconds"):
        return None
    factor = float(now["seconds"]) / float(then["seconds"])
    return min(max(factor, FACTOR_RANGE[0]), FACTOR_RANGE[1])
