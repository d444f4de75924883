"""The ``animatic`` backend: a previz animatic a director can cut before a shoot.

Flat, legible drawings rather than generated pictures: each location gets a stable
backdrop (palette and motifs from its words, light from the time of day, tinted by
the film's look), each character a stable stylised figure (colours from their
description), framed by the shot's size, moved by its camera move, marked while
speaking, with subtitles and title cards drawn by the renderer itself. It is a
pure function of the plan and conditioning, and fast enough to render a feature
in a fraction of its running time on two cores.

Modules: :mod:`.palette` (colours, light, look), :mod:`.pen` (drawing in metres),
:mod:`.backdrop` (locations), :mod:`.figures` (characters), :mod:`.props` (inserts),
:mod:`.stage` (compositions, framing, canvases), :mod:`.camera` (windows and moves),
:mod:`.overlays` (text), :mod:`.backend` (the frame loop), :mod:`.bench` (frames/s).
"""

from __future__ import annotations

from typing import Any

from studio.render.animatic.backend import OPTIONS, VERSION, AnimaticBackend

__all__ = ["AnimaticBackend", "OPTIONS", "VERSION", "make_backend"]


def make_backend(options: dict[str, Any]) -> AnimaticBackend:
    return AnimaticBackend(options)
