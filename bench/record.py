"""What every benchmark shares: a one-line description of the machine, and writing the
script's own section of BENCHMARKS.md (between ``<!-- MARK -->`` and ``<!-- /MARK -->``)
without touching the others."""

from __future__ import annotations

import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nRecorded by the scripts in `bench/` (see `bench/README.md`).\n"


def machine() -> str:
    """``"2 cores, AMD EPYC ..., Python 3.11.7"``."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def write_section(mark: str, section: str, path: Path = BENCHMARKS) -> None:
    """Replace the ``mark`` section of ``path`` with ``section`` (which starts with
    ``<!-- mark -->`` and ends with ``<!-- /mark -->``), or append it. Written atomically."""
    start, end = f"<!-- {mark} -->", f"<!-- /{mark} -->"
    section = section.strip("\n")
    if not (section.startswith(start) and section.endswith(end)):
        raise ValueError(f"a {mark} section must be wrapped in {start} ... {end}")
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
