"""Benchmark: colour drift along a 10-hop continuity chain, before and after colour
matching (issue 14, defect 8).

Each hop continues from the frames the hop before handed over, as a continuous shot
(or a chunk) does; the table gives the mean CIE76 ΔE of each hop's context frames
against the chain's first frame, with the context frames as the model gave them
(before) and as the diffusers backend now passes them on with ``colour_match``
(after: :func:`studio.render.diffusers.colour.match_colour` to the chain's anchor).

The drift source is NOT a real video model: no weights can be downloaded on the
machines this runs on. It is a stand-in modelled on what the Wan issues report
(Wan2.1#302, Wan2.2#172, VACE#44: contrast and saturation creep with a colour cast,
compounding per hop): per hop a systematic contrast lift (x1.03 about mid-grey) and
warm shift (R x1.015, B x0.985), a random per-channel gain (sd 0.01, seeded) and a
JPEG round trip at quality 90 (lossy re-encoding of detail), applied to scikit-image's
astronaut photograph (a real picture, 256x256). Replace ``drift_hop`` with a real
model's reproduction of its context to measure the real thing on a GPU.

    python bench/colour_drift.py [--hops 10] [--seed 0] [--no-write]

Prints a table and writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from studio.render.diffusers.colour import cast_delta_e, colour_anchor, delta_e, match_colour  # noqa: E402

MARK = "colour_drift"
SOURCE = ("synthetic per-hop drift (contrast x1.03, R x1.015 / B x0.985, random channel gain sd 0.01, "
          "JPEG q90 round trip) on scikit-image's astronaut, 256x256: a stand-in, not a Wan run")


def drift_hop(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What one hop does to the frames it continues from (see the module docstring)."""
    from PIL import Image

    x = frame.astype(np.float64) / 255.0
    x = (x - 0.5) * 1.03 + 0.5
    x = x * np.array([1.015, 1.0, 0.985]) * rng.normal(1.0, 0.01, 3)
    out = np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(out).save(buffer, format="JPEG", quality=90)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def run(hops: int, seed: int) -> list[dict[str, float]]:
    """Per hop: ΔE of the context frames vs the chain's first frame, before and after."""
    from PIL import Image
    from skimage import data

    first = np.asarray(Image.fromarray(data.astronaut()).resize((256, 256), Image.Resampling.LANCZOS))
    anchor = colour_anchor([first])
    rows = []
    before = after = first
    rng_before, rng_after = np.random.default_rng(seed), np.random.default_rng(seed)  # the same drift both ways
    for hop in range(1, hops + 1):
        before = drift_hop(before, rng_before)
        (after,) = match_colour([drift_hop(after, rng_after)], anchor)
        rows.append({"hop": hop, "before": delta_e(before, first), "after": delta_e(after, first),
                     "cast_before": cast_delta_e([before], [first]), "cast_after": cast_delta_e([after], [first])})
    return rows


def table(rows: list[dict[str, float]]) -> str:
    lines = ["| hop | mean ΔE before | mean ΔE after | cast ΔE before | cast ΔE after |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['hop']} | {r['before']:.2f} | {r['after']:.2f} | {r['cast_before']:.2f} | "
                     f"{r['cast_after']:.2f} |")
    mean_before = sum(r["before"] for r in rows) / len(rows)
    mean_after = sum(r["after"] for r in rows) / len(rows)
    lines.append(f"| **mean** | **{mean_before:.2f}** | **{mean_after:.2f}** | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hops", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    rows = run(args.hops, args.seed)
    text = table(rows)
    print(f"drift source: {SOURCE}\n\n{text}")
    if args.write:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        record.write_section(MARK, (
            f"<!-- {MARK} -->\n## Colour drift along a continuity chain (`bench/colour_drift.py`)\n\n"
            f"{when}, {record.machine()}. Command: `python bench/colour_drift.py`.\n"
            f"{args.hops} hops, each continuing from the frames the hop before handed over. Mean ΔE: CIE76, pixel "
            "by pixel, of each hop's context frames against the chain's first frame; cast ΔE: between their mean "
            "Lab colours. Before: the context as the hop made it; after: matched to the chain's anchor (Lab mean "
            "and spread per channel), as the diffusers backend does with `colour_match: true` (the default).\n\n"
            f"**Drift source: {SOURCE}.** No real video model ran here (no weights can be fetched on this "
            "machine); the figures show what the correction does to a compounding drift of this kind, not the "
            "size of Wan's own drift.\n\n"
            f"{text}\n<!-- /{MARK} -->"))


if __name__ == "__main__":
    main()
