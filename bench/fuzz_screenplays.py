"""Mutated screenplays, hostile values included: only the project's own error type ever
escapes, and every case is decided quickly.

Three formats, each with its own seeded mutator; every case is seeded from
``(format, seed, number)`` alone, so any case is replayed by its number
(``--format yaml --case 4711``) without running the ones before it:

* ``yaml``: the example film's data has, one to four times, a value replaced with a
  hostile one (control characters, NUL, lone surrogates, SRT timing lines, huge or
  fractional numbers, strings where numbers go, frame sizes no encoder takes, blank
  names), deleted or duplicated, or an unknown key added; every tenth case is
  instead a text splice of YAML syntax into the file.
* ``fountain`` and ``fdx``: mutated Fountain and Final Draft files
  (``bench/fuzz_formats.py`` says how).

Each case is read from its bytes as a file of its kind would be (``load_screenplay``'s
path: YAML, the Fountain importer, the Final Draft importer), checked (the validation
every command does) and planned into shots. A case's time is its wall time, with its
CPU time beside it: on a shared machine a case can wait for a core, and one that goes
over the limit is timed again alone at once, so the table tells a slow input (slow
again) from a busy machine (fast alone). The modules are imported before the first
case is timed.

Usage::

    python bench/fuzz_screenplays.py [--cases 10000] [--format yaml,fountain,fdx] [--seed 0] [--no-record]
    python bench/fuzz_screenplays.py --format fountain --case 123 [--write mutant.fountain]
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.record import machine, write_section  # noqa: E402
from studio.errors import StudioError  # noqa: E402

BASE_TEXT = (ROOT / "screenplays" / "the-last-lamp.yaml").read_text(encoding="utf-8")
BASE = yaml.safe_load(BASE_TEXT)
LIMIT_SECONDS = 2.0

HOSTILE = [
    "", " ", "\t\n", "\u3000", "\x00", "a\x00b", "\x07\x0b\x1b", "\udfff", "x\ud800y", "\ufffe",
    "M\n\n9\n00:00:00,000 --> 00:59:00,000\nFAKE CUE", "002  AX V C 00:00:00:00 00:00:01:00",
    "</name><x>&amp;]]>", "<<", "*alias", "&anchor", "!!python/object:os.system", "%{pts}", "\\", "'\"",
    "99998x99998", "16384x16384", "8192x4320", "853x480", "0x0", "24", "yes", "1.0", "V.O.", "mara",
    "lamp-room", "close-up", "continuous", "x" * 6000, "é" * 300,
    0, -1, 1, 2**40, -(2**63), 1.5, 1e308, float("inf"), float("nan"), True, False, None,
    [], {}, [None], {"": None}, {"id": "mara"}, ["mara", 1, None],
]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


def mutate(rng: random.Random) -> str:
    """One mutated screenplay of the example film, as YAML text."""
    if rng.random() < 0.1:
        cut = rng.randrange(len(BASE_TEXT))
        insert = "".join(rng.choice(":-[]{}&*!|>'\"#%@` \n\tabz09<") for _ in range(rng.randrange(12)))
        return BASE_TEXT[:cut] + insert + BASE_TEXT[cut + rng.randrange(40):]
    data = copy.deepcopy(BASE)
    for _ in range(rng.randint(1, 4)):
        path = rng.choice([p for p in _paths(data) if p] or [("version",)])
        parent = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            key = path[-1]
            action = rng.choice(["replace", "replace", "replace", "delete", "add", "duplicate"])
            if action == "replace":
                parent[key] = copy.deepcopy(rng.choice(HOSTILE))
            elif action == "delete":
                del parent[key]
            elif action == "add" and isinstance(parent, dict):
                parent[rng.choice(["extra", "Title", "fps ", "<<", "\x07"])] = copy.deepcopy(rng.choice(HOSTILE))
            elif action == "duplicate" and isinstance(parent, list):
                parent.insert(key, copy.deepcopy(parent[key]))
        except (KeyError, IndexError, TypeError):
            pass
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


FORMATS = ("yaml", "fountain", "fdx")
SUFFIX = {"yaml": ".yaml", "fountain": ".fountain", "fdx": ".fdx"}


def case_rng(fmt: str, seed: int, number: int) -> random.Random:
    """The generator of one case: from the format, the seed and the case number alone
    (a string seed is hashed with SHA-512: the same on every machine and run)."""
    return random.Random(f"{fmt}:{seed}:{number}")


def mutant(fmt: str, seed: int, number: int) -> bytes:
    """Case ``number`` of ``fmt``: the bytes of the mutated file."""
    rng = case_rng(fmt, seed, number)
    if fmt == "yaml":
        return mutate(rng).encode("utf-8", "surrogatepass")
    from bench.fuzz_formats import MUTATORS

    return MUTATORS[fmt](rng)


def attempt(raw: bytes | str, fmt: str = "yaml") -> str:
    """'ok' or 'refused'; anything but a StudioError propagates. The file's bytes go the
    way ``load_screenplay`` takes a file of that kind: read, validated, planned into shots."""
    from studio.graph.scene_graph import SceneGraph
    from studio.screenplay import parse_screenplay
    from studio.screenplay.fdx_import import parse_fdx
    from studio.screenplay.fountain_import import parse_fountain

    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    parse = {"yaml": parse_screenplay, "fountain": parse_fountain, "fdx": parse_fdx}[fmt]
    try:
        SceneGraph.from_screenplay(parse(raw, f"mutant{SUFFIX[fmt]}"))
    except StudioError:
        return "refused"
    return "ok"


def _timed(raw: bytes, fmt: str) -> tuple[str, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = attempt(raw, fmt)
    return outcome, time.perf_counter() - wall, time.process_time() - cpu


def fuzz(cases: int, seed: int = 0, fmt: str = "yaml", *, start: int = 0) -> dict[str, Any]:
    """Run cases ``start`` .. ``start + cases - 1`` of ``fmt``; return counts, the slowest
    cases (wall and CPU seconds), the cases over the limit (with their time alone) and
    every traceback."""
    attempt(mutant("yaml", 0, 0), "yaml")  # import everything before the clock starts
    counts = {"ok": 0, "refused": 0}
    tracebacks: list[str] = []
    times: list[tuple[float, float, int]] = []
    over: list[dict[str, Any]] = []
    for n in range(start, start + cases):
        raw = mutant(fmt, seed, n)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            outcome = attempt(raw, fmt)
        except Exception:  # noqa: BLE001 - what we are counting
            tracebacks.append(f"{fmt} case {n}: {traceback.format_exc(limit=4)}")
            outcome = "traceback"
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if outcome in counts:
            counts[outcome] += 1
        times.append((wall, cpu, n))
        if wall >= LIMIT_SECONDS and outcome != "traceback":
            _, again, again_cpu = _timed(raw, fmt)
            over.append({"case": n, "wall": wall, "cpu": cpu, "alone": again, "alone_cpu": again_cpu})
    times.sort(reverse=True)
    walls = sorted(t[0] for t in times)
    return {"format": fmt, "cases": cases, "seed": seed, **counts, "tracebacks": tracebacks,
            "slowest": times[:5], "over_limit": over, "mean": sum(walls) / max(cases, 1),
            "p99": walls[int(0.99 * (len(walls) - 1))] if walls else 0.0,
            "slow_again": [o["case"] for o in over if o["alone"] >= LIMIT_SECONDS]}


def replay(fmt: str, seed: int, number: int, write: Path | None = None) -> int:
    """Time one case alone; print its outcome (and the traceback, if any)."""
    raw = mutant(fmt, seed, number)
    if write is not None:
        write.write_bytes(raw)
    attempt(mutant("yaml", 0, 0), "yaml")
    try:
        outcome, wall, cpu = _timed(raw, fmt)
    except Exception:  # noqa: BLE001 - shown, as the fuzz would count it
        traceback.print_exc()
        return 1
    print(f"{fmt} case {number} (seed {seed}): {outcome} in {wall * 1000:.0f} ms (CPU {cpu * 1000:.0f} ms), "
          f"{len(raw)} bytes")
    return 0 if wall < LIMIT_SECONDS else 1


def _load() -> str:
    try:
        return "load average " + " / ".join(f"{x:.1f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "load average unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases per format (default 10000)")
    parser.add_argument("--format", default="yaml,fountain,fdx", help="comma-separated: yaml, fountain, fdx")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--case", type=int, help="replay this one case alone (of the first --format)")
    parser.add_argument("--write", type=Path, help="with --case: write the mutant's bytes to this file")
    parser.add_argument("--no-record", action="store_true", help="Do not write BENCHMARKS.md.")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        parser.error(f"unknown format {unknown}: choose from {', '.join(FORMATS)}")
    if args.case is not None:
        return replay(formats[0], args.seed, args.case, args.write)
    load_before = _load()
    started = time.perf_counter()
    results = [fuzz(args.cases, args.seed, fmt) for fmt in formats]
    wall = time.perf_counter() - started
    load_after = _load()
    header = "| measure | " + " | ".join(r["format"] for r in results) + " |\n"
    header += "| --- |" + " ---: |" * len(results) + "\n"

    def row(name: str, cell: Any) -> str:
        return f"| {name} | " + " | ".join(cell(r) for r in results) + " |\n"

    def slowest(r: dict[str, Any]) -> str:
        w, cpu, n = r["slowest"][0]
        return f"{w * 1000:.0f} ms (CPU {cpu * 1000:.0f}; case {n})"

    table = header + "".join([
        row("cases", lambda r: f"{r['cases']}"),
        row("valid (planned into shots)", lambda r: f"{r['ok']}"),
        row("refused with StudioError", lambda r: f"{r['refused']}"),
        row("tracebacks (other exceptions)", lambda r: f"{len(r['tracebacks'])}"),
        row("slowest case", slowest),
        row("99th percentile", lambda r: f"{r['p99'] * 1000:.0f} ms"),
        row("mean case", lambda r: f"{r['mean'] * 1000:.1f} ms"),
        row(f"cases over {LIMIT_SECONDS:.0f} s", lambda r: f"{len(r['over_limit'])}"),
        row(f"... still over {LIMIT_SECONDS:.0f} s timed alone", lambda r: f"{len(r['slow_again'])}"),
    ])
    print(table)
    print(f"wall time {wall:.0f} s; {load_before} before, {load_after} after")
    for r in results:
        for tb in r["tracebacks"][:5]:
            print(tb)
        for o in r["over_limit"][:20]:
            print(f"{r['format']} case {o['case']}: {o['wall']:.2f} s (CPU {o['cpu']:.2f} s); "
                  f"alone {o['alone']:.2f} s (CPU {o['alone_cpu']:.2f} s)")
    failed = any(r["tracebacks"] or r["slow_again"] for r in results)
    if not args.no_record:
        command = f"nice python bench/fuzz_screenplays.py --cases {args.cases} --format {','.join(formats)}"
        command += f" --seed {args.seed}"
        write_section("fuzz_screenplays", (
            "<!-- fuzz_screenplays -->\n## Mutated screenplays (`bench/fuzz_screenplays.py`)\n\n"
            f"`{command}` · {time.strftime('%Y-%m-%d')} · {machine()}; the machine was shared: {load_before} "
            f"before, {load_after} after; wall time {wall:.0f} s.\n\n"
            "Read from bytes, checked and planned into shots, each mutant of the example film (YAML: hostile "
            "values, deletions, duplicates, unknown keys, YAML syntax splices), of three Fountain files and "
            "of two Final Draft files (`bench/fuzz_formats.py`). Target: zero tracebacks, only `StudioError`, "
            f"each case under {LIMIT_SECONDS:.0f} s. Times are wall clock (CPU beside the slowest); a case over "
            "the limit is timed again alone at once, which tells a slow input from a busy machine. Any case "
            "replays alone: `python bench/fuzz_screenplays.py --format FORMAT --case N`. Found and fixed with "
            "it: Fountain emphasis that never closes (`/*a` x 20,000: 35 s, now 10 ms), headings uncounted in "
            "files with CR endings (20,000: 33 s, now refused at once), no bound on lines (160,000: 2.7 s; "
            "now over 20,000 are refused). The 7.2 s YAML case of the first record (one `Random(0)` stream) "
            "did not recur: that stream replayed on its own code and on today's has no case over 0.5 s (the "
            "case was not named; that run was on a shared machine and timed the imports in its first case)."
            "\n\n"
            + table + "<!-- /fuzz_screenplays -->"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
