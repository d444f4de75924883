"""The voices stage alone: every line of a generated feature spoken on a fresh cache with
``-j 1`` and with ``-j 2`` (:func:`studio.run.voicing.voice_film`, what ``studio render``
runs first), each in a process of its own, alternating; wall and CPU seconds, and
whether both made the same WAVs and phoneme sidecars.

Usage::

    python bench/voicing.py [--minutes 10] [--rounds 2] [--no-record]

Timings on a shared machine are noisy: rounds alternate ``-j 1`` and ``-j 2`` so both
see the same machine; the table gives every round.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.record import machine, write_section  # noqa: E402

MARK = "voicing"


def _child(yaml: str, cache: str, jobs: int) -> None:
    """Voice the film (in this fresh process); print wall and CPU seconds, lines and a digest."""
    from studio.run.voicing import voice_film
    from studio.screenplay import load_screenplay

    sp = load_screenplay(Path(yaml))
    t0, c0 = time.perf_counter(), os.times()
    lines, workers = voice_film(sp, Path(cache), jobs=jobs)
    c1 = os.times()
    cpu = (c1.user + c1.system + c1.children_user + c1.children_system) - (
        c0.user + c0.system + c0.children_user + c0.children_system)
    digest = hashlib.sha256()
    for path in sorted(Path(cache).rglob("*")):
        if path.suffix in (".wav", ".json"):
            digest.update(path.name.encode() + path.read_bytes())
    print(json.dumps({"jobs": jobs, "lines": len(lines), "workers": workers, "wall": time.perf_counter() - t0,
                      "cpu": cpu, "digest": digest.hexdigest()[:16]}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the generated feature (seed 0)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-record", action="store_true", help="print only; leave BENCHMARKS.md alone")
    ap.add_argument("--child", nargs=3, metavar=("YAML", "CACHE", "JOBS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return
    began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    with tempfile.TemporaryDirectory(prefix="voicing-") as tmp:
        yaml = Path(tmp) / "feature.yaml"
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate_feature.py"), "-o", str(yaml),
                        "--minutes", str(args.minutes), "--seed", "0"], check=True, stdout=subprocess.DEVNULL)
        for r in range(args.rounds):
            for jobs in (1, 2):
                cache = Path(tmp) / f"cache-{r}-{jobs}"
                done = subprocess.run([sys.executable, __file__, "--child", str(yaml), str(cache), str(jobs)],
                                      check=True, capture_output=True, text=True, env={**os.environ,
                                                                                       "PYTHONPATH": str(ROOT)})
                rows.append({"round": r + 1, **json.loads(done.stdout.strip().splitlines()[-1])})
    one = [x["wall"] for x in rows if x["jobs"] == 1]
    two = [x["wall"] for x in rows if x["jobs"] == 2]
    same = len({x["digest"] for x in rows}) == 1
    lines = [f"<!-- {MARK} -->", "## Voices stage, -j 1 and -j 2 (`bench/voicing.py`)", "",
             f"{began}, {machine()}. Command: `python bench/voicing.py --minutes {args.minutes:g} --rounds "
             f"{args.rounds}`: a generated {args.minutes:g}-minute feature (seed 0, {rows[0]['lines']} lines), "
             "voiced on a fresh cache by `studio.run.voicing.voice_film`, each run in a fresh process, -j 1 and "
             "-j 2 alternating.", "",
             "| round | -j | voice processes | wall s | CPU s |", "|---|---|---|---|---|"]
    lines += [f"| {x['round']} | {x['jobs']} | {x['workers']} | {x['wall']:.1f} | {x['cpu']:.1f} |" for x in rows]
    lines += ["", f"-j 2 / -j 1 wall: {sum(two) / sum(one):.2f}; the same WAVs and sidecars in every run: "
              f"{'yes' if same else 'NO'}.", f"<!-- /{MARK} -->"]
    section = "\n".join(lines)
    print(section)
    if not args.no_record:
        write_section(MARK, section)


if __name__ == "__main__":
    main()
