"""Mutated screenplays, hostile values included: only the project's own error type ever
escapes, and every case is decided quickly.

A seeded mutator (``random.Random(seed)``, so a failing case is reproduced by its number)
takes the example film's data and, one to four times, replaces a value with a hostile one
(control characters, NUL, lone surrogates, SRT timing lines, huge or fractional numbers,
strings where numbers go, frame sizes no encoder takes, blank names), deletes or
duplicates one, or adds an unknown key; every tenth case is instead a text splice of YAML
syntax into the file. Each case is dumped to YAML and run through load, check (the
validation every command does) and shot planning. Fountain input is left out: its
importer is being rewritten for its own worst cases (issue 21, item 2).

Usage::

    python bench/fuzz_screenplays.py [--cases 10000] [--seed 0] [--no-record]
"""

from __future__ import annotations

import argparse
import copy
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
    """One mutated screenplay, as YAML text."""
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


def attempt(text: str) -> str:
    """'ok' or 'refused'; anything but a StudioError propagates."""
    from studio.graph.scene_graph import SceneGraph
    from studio.screenplay import parse_screenplay

    try:
        SceneGraph.from_screenplay(parse_screenplay(text, "mutant.yaml"))
    except StudioError:
        return "refused"
    return "ok"


def fuzz(cases: int, seed: int = 0) -> dict[str, Any]:
    """Run ``cases`` mutants; return counts, the slowest case and every traceback."""
    rng = random.Random(seed)
    counts = {"ok": 0, "refused": 0}
    tracebacks: list[str] = []
    slowest, slow_cases, total = 0.0, [], 0.0
    for n in range(cases):
        text = mutate(rng)
        started = time.perf_counter()
        try:
            counts[attempt(text)] += 1
        except Exception:  # noqa: BLE001 - what we are counting
            tracebacks.append(f"case {n}: {traceback.format_exc(limit=3)}")
        seconds = time.perf_counter() - started
        total += seconds
        slowest = max(slowest, seconds)
        if seconds >= LIMIT_SECONDS:
            slow_cases.append(n)
    return {"cases": cases, "seed": seed, **counts, "tracebacks": tracebacks, "slowest": slowest,
            "over_limit": slow_cases, "mean": total / max(cases, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-record", action="store_true", help="Do not write BENCHMARKS.md.")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = fuzz(args.cases, args.seed)
    wall = time.perf_counter() - started
    rows = [
        ("cases", f"{result['cases']}"), ("seed", f"{result['seed']}"),
        ("valid (planned into shots)", f"{result['ok']}"), ("refused with StudioError", f"{result['refused']}"),
        ("tracebacks (other exceptions)", f"{len(result['tracebacks'])}"),
        ("slowest case", f"{result['slowest'] * 1000:.0f} ms"), ("mean case", f"{result['mean'] * 1000:.1f} ms"),
        (f"cases over {LIMIT_SECONDS:.0f} s", f"{len(result['over_limit'])}"), ("wall time", f"{wall:.0f} s"),
    ]
    table = "| measure | value |\n| --- | --- |\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)
    print(table)
    for tb in result["tracebacks"][:5]:
        print(tb)
    if result["over_limit"]:
        print(f"cases over {LIMIT_SECONDS:.0f} s: {result['over_limit'][:20]}")
    if not args.no_record:
        write_section("fuzz_screenplays", (
            "<!-- fuzz_screenplays -->\n## Mutated screenplays (`bench/fuzz_screenplays.py`)\n\n"
            f"`python bench/fuzz_screenplays.py --cases {args.cases} --seed {args.seed}` on {machine()}: load, "
            "check and shot planning of each mutant of the example film (hostile values, deletions, "
            "duplicates, unknown keys, YAML syntax splices). Target: zero tracebacks, only `StudioError`, "
            f"each case under {LIMIT_SECONDS:.0f} s.\n\n" + table + "<!-- /fuzz_screenplays -->"))
    return 1 if result["tracebacks"] or result["over_limit"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
