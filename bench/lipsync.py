"""Lip-sync of the animatic, measured from its pictures: does the mouth follow the voice?

For every shot of a film with a line spoken on screen, the lines are spoken (cached),
the shot is rendered by the animatic, written to an H.264 clip and decoded, and the
speaker's mouth opening on each decoded frame is set against the speech
(:mod:`studio.render.animatic.measure`): Pearson r with the speech envelope, the share
of frames inside pauses (> 0.2 s) with the mouth closed, and the share of frames at
bilabials (m, b, p: by espeak-ng's own phoneme timing with the line's voice options for
the espeak-ng voices, by the model's own durations for Piper's) with the mouth closed. Targets (issue 18): r >= 0.6, pauses >= 90 % closed, bilabials closed.

Usage (from the repository root)::

    python bench/lipsync.py                      # the example film at 854x480, recorded
    python bench/lipsync.py FILM.yaml --size 427x240 --no-record
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402

MARK = "lipsync"
TARGETS = {"r": 0.6, "pause_closed": 0.9, "bilabial_closed": 0.9}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("screenplay", nargs="?", default=str(ROOT / "screenplays" / "the-last-lamp.yaml"))
    ap.add_argument("--size", default="854x480", help="frame size WxH (default 854x480)")
    ap.add_argument("--cache", default=str(ROOT / "cache"), help="where spoken lines are cached")
    ap.add_argument("--no-record", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args()

    from studio.render.animatic.measure import film_lipsync, summarise
    from studio.screenplay import load_screenplay

    w, h = (int(v) for v in args.size.lower().split("x"))
    screenplay = load_screenplay(args.screenplay)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        shots = film_lipsync(screenplay, args.cache, tmp, size=(w, h))
    seconds = time.perf_counter() - started
    rows = [f"| {s.shot_id} | {len(s.openings)} | {s.r:.3f} | {len(s.pause_closed)} | "
            f"{(sum(s.pause_closed) / len(s.pause_closed)) if s.pause_closed else float('nan'):.2f} | "
            f"{len(s.bilabial_closed)} | "
            f"{(sum(s.bilabial_closed) / len(s.bilabial_closed)) if s.bilabial_closed else float('nan'):.2f} |"
            for s in shots]
    total = summarise(shots)
    table = "\n".join([
        "| shot | frames | r | pause frames | closed | bilabial frames | closed |",
        "|---|---|---|---|---|---|---|",
        *rows,
        f"| **film** | {int(total['frames'])} | **{total['r']:.3f}** | {int(total['pause_frames'])} | "
        f"**{total['pause_closed']:.2f}** | {int(total['bilabial_frames'])} | **{total['bilabial_closed']:.2f}** |",
    ])
    verdict = ", ".join(f"{k} {total[k]:.2f} {'meets' if total[k] >= v else 'MISSES'} >= {v}"
                        for k, v in TARGETS.items())
    print(table)
    print(f"\n{verdict} ({seconds:.1f} s)")
    if not args.no_record:
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        name = Path(args.screenplay).name
        record.write_section(MARK, (
            f"<!-- {MARK} -->\n## Lip-sync (animatic)\n\n"
            f"{when}, {record.machine()}. Command: `python bench/lipsync.py` ({name}, {w}x{h}, "
            f"each shot through H.264 and decoded; bilabials timed by espeak-ng with each line's own voice, variant, "
            f"words a minute and pitch, and by Piper's own phoneme durations for its lines).\n\n"
            f"{table}\n\n{verdict}.\n<!-- /{MARK} -->"))


if __name__ == "__main__":
    main()
