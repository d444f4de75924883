"""Scene graph exports: GraphML for tools, and a picture for people.

The picture is a continuity map rather than a hairball: one row per scene (its
heading, location, time and cast on a card at the left), its shots left to right as
boxes as wide as they are long, each marked with size, move and the colours of the
characters in it; continuous shots are joined by a bold bar, and a legend names the
characters. It renders to SVG (text) or PNG (Pillow) from the same layout.
"""

from __future__ import annotations

import colorsys
import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from studio.atomic import atomic_output, write_text
from studio.errors import StudioError
from studio.graph.scene_graph import SceneGraph

SIZE_ABBREVIATIONS = {
    "extreme-wide": "EWS", "wide": "WS", "full": "FS", "medium-wide": "MWS", "medium": "MS",
    "medium-close-up": "MCU", "close-up": "CU", "extreme-close-up": "ECU", "over-the-shoulder": "OTS",
    "two-shot": "2S", "insert": "INS", "pov": "POV",
}


def character_colour(character_id: str) -> tuple[int, int, int]:
    """A stable, distinct-enough colour for a character, from its id."""
    h = int(hashlib.sha256(character_id.encode()).hexdigest()[:8], 16)
    hue = (h % 360) / 360.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.52, 0.62)
    return int(r * 255), int(g * 255), int(b * 255)


def write_graphml(graph: SceneGraph, path: Path) -> Path:
    """GraphML with every attribute as a plain string or number (what GraphML holds)."""
    g = nx.MultiDiGraph()
    g.graph["title"] = graph.screenplay.film.title
    for node, attrs in graph.graph.nodes(data=True):
        g.add_node(node, **{k: _scalar(v) for k, v in attrs.items()})
    for u, v, key, attrs in graph.graph.edges(keys=True, data=True):
        g.add_edge(u, v, key=key, **{k: _scalar(x) for k, x in attrs.items()})
    with atomic_output(path) as tmp:
        nx.write_graphml(g, tmp)
    return path


def _scalar(value: object) -> str | int | float | bool:
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


# --------------------------------------------------------------------------- picture


@dataclass(frozen=True)
class _Rect:
    x: float
    y: float
    w: float
    h: float
    fill: tuple[int, int, int]
    outline: tuple[int, int, int] | None = None
    radius: float = 0


@dataclass(frozen=True)
class _Text:
    x: float
    y: float
    text: str
    size: int
    fill: tuple[int, int, int]
    bold: bool = False


@dataclass(frozen=True)
class _Dot:
    x: float
    y: float
    r: float
    fill: tuple[int, int, int]


_INK = (34, 38, 46)
_MUTED = (110, 116, 128)
_PAPER = (248, 246, 241)
_CARD = (255, 255, 255)
_RULE = (214, 210, 200)
_CONTINUOUS = (214, 96, 40)

CARD_W = 260
ROW_H = 78
PX_PER_SECOND = 14
MIN_BOX = 84
MAX_ROW_W = 1900


def _layout(graph: SceneGraph) -> tuple[list[object], int, int]:
    sp = graph.screenplay
    items: list[object] = []
    chars = [c.id for c in sp.characters]
    y = 20
    items.append(_Text(24, y, sp.film.title, 26, _INK, bold=True))
    runtime = graph.runtime
    items.append(_Text(24, y + 34, f"{len(sp.scenes)} scenes · {len(graph.shots)} shots · "
                       f"{int(runtime // 60)}:{int(runtime % 60):02d} · {len(graph.chains)} continuity chains",
                       14, _MUTED))
    # legend
    x = 24
    y += 62
    for cid in chars:
        name = sp.character(cid).name
        items.append(_Dot(x + 6, y + 8, 6, character_colour(cid)))
        items.append(_Text(x + 16, y, name, 13, _INK))
        x += 30 + 8 * len(name)
        if x > MAX_ROW_W - 200:
            x, y = 24, y + 22
    items.append(_Rect(x + 4, y + 3, 26, 10, _CONTINUOUS, radius=3))
    items.append(_Text(x + 36, y, "continuous (one unbroken take)", 13, _INK))
    y += 36
    width = 0
    for scene in sp.scenes:
        shots = graph.scene_shots(scene.id)
        loc = sp.location(scene.location)
        rows = 1
        # lay shot boxes, wrapping long scenes onto extra lines
        x = 24 + CARD_W + 16
        line_y = y
        boxes: list[tuple[float, float, float, object]] = []
        for shot in shots:
            w = max(MIN_BOX, shot.duration * PX_PER_SECOND)
            if x + w > MAX_ROW_W and x > 24 + CARD_W + 16:
                x = 24 + CARD_W + 16
                line_y += ROW_H
                rows += 1
            boxes.append((x, line_y, w, shot))
            x += w + 8
            width = max(width, int(x))
        height = rows * ROW_H - 10
        items.append(_Rect(24, y, CARD_W, height, _CARD, _RULE, radius=6))
        heading = scene.heading or f"{scene.id.upper()} - {loc.name or loc.id}"
        items.append(_Text(34, y + 8, _clip(heading, 34), 13, _INK, bold=True))
        items.append(_Text(34, y + 28, _clip(f"{scene.id} · {loc.name or loc.id} · {scene.time}", 40), 12, _MUTED))
        for k, cid in enumerate(dict.fromkeys(scene.characters)):
            items.append(_Dot(40 + 16 * k, y + 56, 6, character_colour(cid)))
        prev_right: tuple[float, float] | None = None
        for bx, by, bw, shot in boxes:
            assert hasattr(shot, "id")
            if shot.continuous and prev_right and abs(prev_right[1] - by) < 1:  # type: ignore[attr-defined]
                items.append(_Rect(prev_right[0] - 2, by + 26, bx - prev_right[0] + 4, 12, _CONTINUOUS, radius=3))
            outline = _CONTINUOUS if shot.continuous else _RULE  # type: ignore[attr-defined]
            items.append(_Rect(bx, by, bw, ROW_H - 10, _CARD, outline, radius=5))
            items.append(_Text(bx + 6, by + 6, _clip(shot.id, int(bw / 7)), 12, _INK, bold=True))  # type: ignore[attr-defined]
            label = f"{SIZE_ABBREVIATIONS.get(shot.size, shot.size)} {shot.move if shot.move != 'static' else ''}"  # type: ignore[attr-defined]
            items.append(_Text(bx + 6, by + 24, _clip(label.strip(), int(bw / 6.5)), 11, _MUTED))
            items.append(_Text(bx + 6, by + 40, f"{shot.duration:.1f}s", 11, _MUTED))  # type: ignore[attr-defined]
            subjects = shot.subjects[:5]  # type: ignore[attr-defined]
            for k, cid in enumerate(subjects):
                items.append(_Dot(bx + bw - 10 - 12 * (len(subjects) - 1 - k), by + 56, 4.5, character_colour(cid)))
            prev_right = (bx + bw, by)
        y += height + 14
    return items, max(width + 24, 900), y + 20


def _clip(text: str, n: int) -> str:
    n = max(n, 3)
    return text if len(text) <= n else text[: n - 1] + "…"


def render_svg(graph: SceneGraph) -> str:
    items, width, height = _layout(graph)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
        f'<rect width="100%" height="100%" fill="{_hex(_PAPER)}"/>',
    ]
    for it in items:
        if isinstance(it, _Rect):
            stroke = f' stroke="{_hex(it.outline)}"' if it.outline else ""
            out.append(f'<rect x="{it.x:.1f}" y="{it.y:.1f}" width="{it.w:.1f}" height="{it.h:.1f}" '
                       f'rx="{it.radius}" fill="{_hex(it.fill)}"{stroke}/>')
        elif isinstance(it, _Text):
            weight = ' font-weight="bold"' if it.bold else ""
            out.append(f'<text x="{it.x:.1f}" y="{it.y + it.size:.1f}" font-size="{it.size}" '
                       f'fill="{_hex(it.fill)}"{weight}>{html.escape(it.text)}</text>')
        elif isinstance(it, _Dot):
            out.append(f'<circle cx="{it.x:.1f}" cy="{it.y:.1f}" r="{it.r}" fill="{_hex(it.fill)}"/>')
    out.append("</svg>")
    return "\n".join(out)


def render_png(graph: SceneGraph, path: Path) -> Path:
    from PIL import Image, ImageDraw

    from studio.fonts import font

    items, width, height = _layout(graph)
    image = Image.new("RGB", (width, height), _PAPER)
    draw = ImageDraw.Draw(image)
    for it in items:
        if isinstance(it, _Rect):
            draw.rounded_rectangle((it.x, it.y, it.x + it.w, it.y + it.h), radius=it.radius, fill=it.fill,
                                   outline=it.outline)
        elif isinstance(it, _Text):
            draw.text((it.x, it.y), it.text, fill=it.fill, font=font(it.size, bold=it.bold))
        elif isinstance(it, _Dot):
            draw.ellipse((it.x - it.r, it.y - it.r, it.x + it.r, it.y + it.r), fill=it.fill)
    with atomic_output(path) as tmp:
        image.save(tmp, format="PNG")
    return path


def _hex(rgb: tuple[int, int, int] | None) -> str:
    return "none" if rgb is None else "#%02x%02x%02x" % rgb


def export_graph(graph: SceneGraph, path: Path) -> Path:
    """Write the graph in the format the file extension asks for."""
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        return write_graphml(graph, path)
    if suffix == ".svg":
        return write_text(path, render_svg(graph))
    if suffix == ".png":
        return render_png(graph, path)
    raise StudioError(f"cannot write a graph as {suffix or 'a file without extension'!r}: {path}",
                      hint="use a .graphml, .svg or .png file name")
