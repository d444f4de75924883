"""Finding and running ffmpeg.

The static ffmpeg that ships inside the ``imageio-ffmpeg`` wheel (a dependency), else
the system's ``ffmpeg``; ``STUDIO_FFMPEG`` names another. The wheel's binary comes first
because it is the same build on every machine that installs the same studio (the same
x264, so the same clip bytes), it starts in about 15 ms where Debian's 5.1, linked
against some 200 shared libraries, takes about 90 ms (once per shot: a feature has a
thousand), and ffmpeg 7 and later convert the frames' colours on a thread of their own
beside the encoder (issue 19 note). Arguments are always
passed as a list (never through a shell) and user text never enters a filter graph:
text is drawn into frames by studio itself, and metadata goes through FFMETADATA
files with their documented escaping.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from studio.errors import MissingToolError, RenderError


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary to use: ``STUDIO_FFMPEG``, else imageio-ffmpeg's, else the
    system's."""
    override = os.environ.get("STUDIO_FFMPEG")
    if override:
        return override
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        pass
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise MissingToolError("ffmpeg is not installed",
                           hint="install it (`apt-get install ffmpeg`) or `pip install imageio-ffmpeg`")


@lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True, check=False)
    m = re.search(r"ffmpeg version (\S+)", out.stdout)
    return m.group(1) if m else "unknown"


def run_ffmpeg(args: list[str], *, what: str, cwd: Path | None = None) -> None:
    """Run ffmpeg with ``args`` (after the binary); raise :class:`RenderError` with the
    tail of its log when it fails."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=False)
    if proc.returncode != 0:
        raise RenderError(f"ffmpeg failed while {what}: {log_tail(proc.stderr)}", hint=failure_hint(proc.stderr))


def log_tail(log: str, lines: int = 6) -> str:
    kept = [line for line in log.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept) or "no output"


def failure_hint(log: str) -> str:
    if "No space left on device" in log:
        return "the disk is full: free some space (`studio cache gc`) and run again; finished shots are kept"
    if "Unknown encoder" in log:
        return "this ffmpeg lacks an encoder studio needs; install Debian's ffmpeg or imageio-ffmpeg"
    return "run again; finished shots are kept in the cache"


def escape_ffmetadata(text: str) -> str:
    """Escape text for an FFMETADATA file: '=', ';', '#', '\\' and newlines are special."""
    out = []
    for ch in text:
        if ch in "=;#\\\n":
            out.append("\\" + ch)
        elif ch == "\r":
            continue
        else:
            out.append(ch)
    return "".join(out)
