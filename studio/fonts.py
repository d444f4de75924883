"""Fonts for everything studio draws (frames, subtitles, sheets, graphs).

DejaVu Sans when the system has it (Debian's fonts-dejavu-core, installed by setup),
else the font Pillow ships, so drawing never depends on a download.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    candidate = _DEJAVU / name
    if candidate.is_file():
        return ImageFont.truetype(str(candidate), size)
    return ImageFont.load_default(size=size)
