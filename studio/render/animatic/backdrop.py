"""Location backdrops: flat, stage-set scenery drawn from a location's palette and motifs.

The world is the flat stage of :mod:`studio.render.animatic.pen` (metres, floor at
``y = 0``). Interiors are a box set: a back wall whose foot is at :data:`WALL_FOOT`,
floorboards running toward the camera, side walls at ``x = ±ROOM_HALF``. Exteriors are
sky down to the horizon at :data:`HORIZON`, with the far scenery (sea, hills,
skyline, trees) standing on it and the ground in front. Repeating things (windows,
boats, trees, stars) sit in cells whose contents come from :func:`cell_rand` of the
location's seed, so any part of the infinite backdrop draws the same every time.
"""

from __future__ import annotations

import math

from studio.render.animatic.palette import RGB, LocationPalette, cell_rand, mix, shade
from studio.render.animatic.pen import Pen

HORIZON = 1.5  # metres: exterior horizon, at a standing eye line
WALL_FOOT = 0.55  # metres: where an interior's back wall meets the floor
WALL_HEIGHT = 3.1  # metres
ROOM_HALF = 5.8  # metres: half the width of an interior
VANISH = (0.0, 1.5)  # the vanishing point of floor lines
SKY_DEPTH = 7.0  # metres over which a sky grades from horizon to top colour


def draw_backdrop(pen: Pen, pal: LocationPalette) -> None:
    """Draw the whole backdrop of a location over ``pen``'s world rectangle."""
    if pal.interior:
        _interior(pen, pal)
    else:
        _exterior(pen, pal)


# =========================================================================== exteriors


def _sky(pen: Pen, pal: LocationPalette, x0: float, x1: float, base: float, top: float) -> None:
    pen.vgradient(x0, base, x1, base + SKY_DEPTH, pal.sky_horizon, pal.sky_top)
    if top > base + SKY_DEPTH:
        pen.rect(x0, base + SKY_DEPTH, x1, top, pal.sky_top)


def _stars(pen: Pen, pal: LocationPalette, x0: float, x1: float, y0: float, y1: float) -> None:
    for cx in range(math.floor(x0), math.ceil(x1)):
        for cy in range(math.floor(max(y0, HORIZON + 0.5)), math.ceil(y1)):
            r = cell_rand(pal.seed, 11, cx, cy)
            if r < 0.5:
                sx = cx + cell_rand(pal.seed, 12, cx, cy)
                sy = cy + cell_rand(pal.seed, 13, cx, cy)
                size = 0.012 + 0.02 * cell_rand(pal.seed, 14, cx, cy)
                fade = min(1.0, (sy - HORIZON) / 3.0)
                pen.ellipse(sx, sy, size, size, (*mix(pal.sky_top, (255, 252, 230), 0.9), int(80 + 150 * fade)))


def _clouds(pen: Pen, pal: LocationPalette, x0: float, x1: float, dark: bool) -> None:
    colour = shade(mix(pal.sky_top, pal.sky_horizon, 0.5), 0.7) if dark else mix(pal.sky_horizon, (255, 255, 255), 0.55)
    period = 6.0
    for k in range(math.floor(x0 / period) - 1, math.ceil(x1 / period) + 1):
        if cell_rand(pal.seed, 21, k) < 0.35 and not dark:
            continue
        cx = k * period + period * cell_rand(pal.seed, 22, k)
        cy = HORIZON + 2.4 + 2.6 * cell_rand(pal.seed, 23, k)
        w = 1.2 + 1.6 * cell_rand(pal.seed, 24, k)
        shadow = mix(colour, pal.sky_top, 0.25)
        for j in range(4):
            ox = (j - 1.5) * w * 0.42
            r = w * (0.3 + 0.22 * cell_rand(pal.seed, 25, k, j))
            pen.ellipse(cx + ox, cy + r * 0.45, r, r * 0.62, colour)
        pen.ellipse(cx, cy + w * 0.04, w * 1.05, w * 0.2, colour)
        pen.ellipse(cx, cy - w * 0.03, w * 0.95, w * 0.08, shadow)


def _sun_or_moon(pen: Pen, pal: LocationPalette) -> None:
    if pal.sun is None:
        return
    sx = -4.0 + 8.0 * cell_rand(pal.seed, 31)
    if pal.dark:
        sy = HORIZON + 3.8 + cell_rand(pal.seed, 32)
        pen.glow(sx, sy, 1.3, 1.3, pal.sun, 0.35)
        pen.ellipse(sx, sy, 0.26, 0.26, mix(pal.sun, (255, 255, 255), 0.3))
        pen.ellipse(sx + 0.08, sy + 0.05, 0.05, 0.05, shade(pal.sun, 0.9))
    else:
        sy = HORIZON + 0.25
        pen.glow(sx, sy, 4.5, 2.6, pal.sun, 0.75, falloff=1.6)
        pen.ellipse(sx, sy, 0.4, 0.4, mix(pal.sun, (255, 255, 240), 0.5))


def _gulls(pen: Pen, pal: LocationPalette, x0: float, x1: float) -> None:
    ink = shade(pal.sky_top, 0.45) if not pal.dark else mix(pal.sky_top, (220, 220, 220), 0.5)
    for k in range(math.floor(x0 / 2.5), math.ceil(x1 / 2.5) + 1):
        if cell_rand(pal.seed, 41, k) < 0.45:
            continue
        gx = k * 2.5 + 2.5 * cell_rand(pal.seed, 42, k)
        gy = HORIZON + 1.6 + 2.5 * cell_rand(pal.seed, 43, k)
        s = 0.09 + 0.08 * cell_rand(pal.seed, 44, k)
        pen.line([(gx - s, gy + s * 0.35), (gx - s * 0.45, gy + s * 0.55), (gx, gy)], ink, 0.018, joint=True)
        pen.line([(gx, gy), (gx + s * 0.45, gy + s * 0.55), (gx + s, gy + s * 0.35)], ink, 0.018, joint=True)


def _sea(pen: Pen, pal: LocationPalette, x0: float, x1: float, top: float, bottom: float) -> None:
    """A sea band from the horizon (``top``) down to the shore (``bottom``), with wave dashes."""
    pen.vgradient(x0, bottom, x1, top, pal.sea_dark, mix(pal.sea, pal.sky_horizon, 0.35))
    if pal.sun is not None and not pal.dark:
        sx = -4.0 + 8.0 * cell_rand(pal.seed, 31)
        pen.glow(sx, top - 0.2, 1.2, 0.5, pal.sun, 0.35)
    rows = 9
    for r in range(rows):
        t = r / rows
        y = top - (top - bottom) * (t ** 1.4) - 0.05
        length = 0.12 + 0.5 * t
        gap = 0.5 + 1.4 * t
        for k in range(math.floor(x0 / gap) - 1, math.ceil(x1 / gap) + 1):
            if cell_rand(pal.seed, 51, r, k) < 0.4:
                continue
            wx = k * gap + gap * cell_rand(pal.seed, 52, r, k)
            pen.line([(wx, y), (wx + length * 0.5, y + 0.012 + 0.02 * t), (wx + length, y)],
                     (*pal.sea_line, 150), 0.01 + 0.012 * t)


def _boats(pen: Pen, pal: LocationPalette, x0: float, x1: float, water_top: float, water_bottom: float) -> None:
    period = 4.2
    hulls: tuple[RGB, ...] = ((176, 58, 48), (48, 86, 140), (226, 222, 210), (64, 118, 90), (214, 168, 60))
    for k in range(math.floor(x0 / period) - 1, math.ceil(x1 / period) + 1):
        if cell_rand(pal.seed, 61, k) < 0.3:
            continue
        depth = cell_rand(pal.seed, 62, k)  # 0 far .. 1 near
        size = 0.7 + 1.5 * depth
        bx = k * period + period * cell_rand(pal.seed, 63, k)
        by = water_top - 0.1 - (water_top - water_bottom - 0.3) * depth * 0.75
        hull = hulls[int(cell_rand(pal.seed, 64, k) * len(hulls))]
        hull = mix(hull, pal.sky_horizon, 0.35 * (1 - depth))
        if pal.dark:
            hull = shade(hull, 0.55)
        w, hh = size, size * 0.22
        # reflection, hull, cabin, mast
        pen.poly([(bx - w / 2, by), (bx + w / 2, by), (bx + w * 0.42, by - hh * 0.9), (bx - w * 0.4, by - hh * 0.9)],
                 (*shade(hull, 0.6), 90))
        pen.poly([(bx - w / 2 - w * 0.06, by + hh), (bx + w / 2 + w * 0.08, by + hh * 1.15),
                  (bx + w * 0.4, by), (bx - w * 0.42, by)], hull)
        pen.rect(bx - w / 2 - w * 0.05, by + hh * 0.82, bx + w / 2 + w * 0.07, by + hh, shade(hull, 0.7))
        cab = mix((236, 232, 220), hull, 0.2) if not pal.dark else (90, 92, 100)
        pen.rect(bx - w * 0.05, by + hh, bx + w * 0.25, by + hh * 2.0, cab)
        pen.rect(bx + w * 0.0, by + hh * 1.4, bx + w * 0.18, by + hh * 1.8,
                 pal.glow if pal.dark else shade(pal.sky_horizon, 0.8))
        pen.line([(bx - w * 0.18, by + hh), (bx - w * 0.18, by + hh + size * 0.75)], shade(hull, 0.5), 0.02)
        pen.line([(bx - w * 0.18, by + hh + size * 0.75), (bx + w * 0.45, by + hh * 1.1)], (*shade(hull, 0.5), 160),
                 0.008)


def _hills(pen: Pen, pal: LocationPalette, x0: float, x1: float, mountains: bool) -> None:
    layers = ((1.0, 0.55, 0.3), (0.55, 0.75, 0.0)) if not mountains else ((2.6, 0.55, 0.35), (1.2, 0.75, 0.05))
    for li, (amp, mixk, lift) in enumerate(layers):
        colour = mix(pal.far, pal.sky_horizon, mixk * (0.6 if li == 0 else 0.25))
        step = 0.25
        pts = [(x0 - 1, HORIZON - 0.2)]
        xs = x0 - 1
        while xs <= x1 + 1:
            phase = cell_rand(pal.seed, 71, li) * 10
            if mountains and li == 0:
                y = HORIZON + lift + amp * (0.5 + 0.5 * math.sin(xs * 0.45 + phase)) * (0.7 + 0.3 * math.sin(xs * 1.3))
                y += 0.35 * abs(math.sin(xs * 0.9 + phase * 2))
            else:
                y = HORIZON + lift + amp * (0.3 + 0.35 * math.sin(xs * 0.33 + phase) + 0.2 * math.sin(xs * 0.9 + phase))
            pts.append((xs, y))
            xs += step
        pts.append((x1 + 1, HORIZON - 0.2))
        pen.poly(pts, colour)


def _skyline(pen: Pen, pal: LocationPalette, x0: float, x1: float, near: bool) -> None:
    period = 1.3 if not near else 2.6
    base_y = HORIZON - 0.3 if not near else 0.55
    for k in range(math.floor(x0 / period) - 1, math.ceil(x1 / period) + 1):
        r = cell_rand(pal.seed, 81 + near, k)
        bx = k * period
        w = period * (0.7 + 0.28 * cell_rand(pal.seed, 82 + near, k))
        hgt = (1.2 + 3.2 * r) if not near else (2.8 + 3.0 * r)
        colour = mix(pal.far, pal.sky_horizon, 0.3 if not near else 0.0)
        if near:
            colour = mix(colour, pal.wall, 0.5)
        else:
            colour = shade(colour, 0.85 + 0.2 * cell_rand(pal.seed, 83, k))
        pen.rect(bx, base_y, bx + w, base_y + hgt, colour)
        # windows: lit at night, glinting by day
        win = 0.16 if not near else 0.32
        cols = max(1, int((w - win) / (win * 1.8)))
        rows = max(1, int((hgt - win) / (win * 2.0)))
        for i in range(cols):
            for j in range(rows):
                lit = cell_rand(pal.seed, 84 + near, k, i, j)
                if pal.dark:
                    if lit < 0.55:
                        continue
                    wc = pal.glow if lit > 0.7 else shade(pal.glow, 0.75)
                else:
                    wc = mix(colour, pal.sky_horizon, 0.45)
                wx = bx + win * 0.8 + i * win * 1.8
                wy = base_y + hgt - win * 1.6 - j * win * 2.0
                pen.rect(wx, wy, wx + win, wy + win * 1.2, wc)


def _tree(pen: Pen, pal: LocationPalette, x: float, base: float, size: float, key: int) -> None:
    trunk = shade(pal.wood, 0.7)
    leaf = mix(pal.far, (60, 110, 60), 0.4)
    if pal.dark:
        leaf = shade(leaf, 0.6)
    pen.rect(x - size * 0.06, base, x + size * 0.06, base + size * 0.55, trunk)
    for j in range(5):
        ox = (cell_rand(pal.seed, 91, key, j) - 0.5) * size * 0.6
        oy = size * (0.65 + 0.35 * cell_rand(pal.seed, 92, key, j))
        r = size * (0.28 + 0.12 * cell_rand(pal.seed, 93, key, j))
        pen.ellipse(x + ox, base + oy, r, r * 0.95, shade(leaf, 0.88 + 0.16 * (j % 3) / 2))


def _trees(pen: Pen, pal: LocationPalette, x0: float, x1: float) -> None:
    # a far tree line, then nearer trees
    line = mix(pal.far, pal.sky_horizon, 0.25)
    for k in range(math.floor(x0 / 0.45) - 1, math.ceil(x1 / 0.45) + 1):
        r = 0.25 + 0.25 * cell_rand(pal.seed, 94, k)
        pen.ellipse(k * 0.45, HORIZON + r * 0.5, r, r * 1.1, line)
    pen.rect(x0, HORIZON - 0.3, x1, HORIZON + 0.1, line)
    period = 3.0
    for k in range(math.floor(x0 / period) - 1, math.ceil(x1 / period) + 1):
        if cell_rand(pal.seed, 95, k) < 0.3:
            continue
        tx = k * period + period * cell_rand(pal.seed, 96, k)
        if abs(tx) < 1.9:  # keep the acting area clear
            tx += 3.8 if tx >= 0 else -3.8
        _tree(pen, pal, tx, 0.9 + 0.4 * cell_rand(pal.seed, 97, k), 2.4 + 1.4 * cell_rand(pal.seed, 98, k), k)


def _quay(pen: Pen, pal: LocationPalette, x0: float, x1: float, edge: float, bottom: float) -> None:
    """Stone ground with courses of blocks, a coping edge at ``edge``."""
    pen.vgradient(x0, bottom, x1, edge, shade(pal.ground, 0.92), pal.ground)
    pen.rect(x0, edge - 0.1, x1, edge, mix(pal.ground, (255, 255, 255), 0.15))
    pen.rect(x0, edge - 0.13, x1, edge - 0.1, shade(pal.ground, 0.75))
    joint = (*pal.ground_line, 170)
    y = edge - 0.13
    course = 0
    while y > bottom:
        h = 0.16 + 0.1 * (edge - y)
        y -= h
        pen.line([(x0, y), (x1, y)], joint, 0.008)
        length = 0.7 + 0.25 * (edge - y)
        off = (course % 2) * length / 2
        for k in range(math.floor((x0 - off) / length), math.ceil((x1 - off) / length) + 1):
            bx = k * length + off
            pen.line([(bx, y), (bx, y + h)], joint, 0.008)
        course += 1


def _bollards_ropes(pen: Pen, pal: LocationPalette, x0: float, x1: float, edge: float) -> None:
    iron = shade(pal.metal, 0.9)
    for k in range(math.floor(x0 / 4.0) - 1, math.ceil(x1 / 4.0) + 1):
        bx = k * 4.0 + 1.3
        if abs(bx) < 1.8:
            continue
        pen.rrect(bx - 0.13, edge - 0.08, bx + 0.13, edge + 0.32, 0.06, iron)
        pen.ellipse(bx, edge + 0.33, 0.19, 0.06, shade(iron, 1.3))
    rope = (168, 140, 96) if not pal.dark else (96, 86, 70)
    for k in range(math.floor(x0 / 3.4) - 1, math.ceil(x1 / 3.4) + 1):
        if cell_rand(pal.seed, 101, k) < 0.45:
            continue
        rx = k * 3.4 + 3.4 * cell_rand(pal.seed, 102, k)
        if abs(rx) < 2.0:
            continue
        ry = edge - 0.35 - 0.3 * cell_rand(pal.seed, 103, k)
        for j in range(4):
            rr = 0.36 - j * 0.08
            pen.ellipse(rx, ry, rr, rr * 0.32, None, outline=shade(rope, 0.8 + 0.06 * j), width=0.035)


def _puddles(pen: Pen, pal: LocationPalette, x0: float, x1: float, top: float) -> None:
    for k in range(math.floor(x0 / 2.6) - 1, math.ceil(x1 / 2.6) + 1):
        if cell_rand(pal.seed, 111, k) < 0.4:
            continue
        px = k * 2.6 + 2.6 * cell_rand(pal.seed, 112, k)
        py = top - 0.4 - 0.9 * cell_rand(pal.seed, 113, k)
        w = 0.35 + 0.5 * cell_rand(pal.seed, 114, k)
        pen.ellipse(px, py, w, w * 0.16, mix(pal.sky_horizon, pal.ground, 0.35))
        pen.ellipse(px - w * 0.2, py + w * 0.03, w * 0.45, w * 0.05, (*mix(pal.sky_horizon, (255, 255, 255), 0.4), 120))


def _rain(pen: Pen, pal: LocationPalette, x0: float, y0: float, x1: float, y1: float, key: int,
          alpha: int = 90) -> None:
    """Diagonal rain streaks over a world box."""
    cell = 0.45
    colour = (*pal.rain, alpha)
    for cx in range(math.floor(x0 / cell), math.ceil(x1 / cell) + 1):
        for cy in range(math.floor(y0 / cell), math.ceil(y1 / cell) + 1):
            r = cell_rand(pal.seed, 121, key, cx, cy)
            if r < 0.35:
                continue
            sx = (cx + cell_rand(pal.seed, 122, key, cx, cy)) * cell
            sy = (cy + cell_rand(pal.seed, 123, key, cx, cy)) * cell
            ln = 0.18 + 0.22 * r
            if sx < x0 or sx > x1 or sy - ln < y0 or sy > y1:
                continue
            pen.line([(sx, sy), (sx - ln * 0.18, sy - ln)], colour, 0.009)


def _snow(pen: Pen, pal: LocationPalette, x0: float, y0: float, x1: float, y1: float) -> None:
    cell = 0.4
    for cx in range(math.floor(x0 / cell), math.ceil(x1 / cell) + 1):
        for cy in range(math.floor(y0 / cell), math.ceil(y1 / cell) + 1):
            if cell_rand(pal.seed, 131, cx, cy) < 0.5:
                continue
            sx = (cx + cell_rand(pal.seed, 132, cx, cy)) * cell
            sy = (cy + cell_rand(pal.seed, 133, cx, cy)) * cell
            r = 0.015 + 0.02 * cell_rand(pal.seed, 134, cx, cy)
            pen.ellipse(sx, sy, r, r, (250, 250, 255, 200))


def _fog(pen: Pen, pal: LocationPalette, x0: float, x1: float) -> None:
    fog = mix(pal.sky_horizon, (230, 230, 235), 0.5)
    for j, (y, a) in enumerate(((HORIZON + 0.2, 110), (HORIZON - 0.4, 80), (HORIZON + 1.0, 60))):
        pen.rect(x0, y - 0.5, x1, y + 0.5, (*fog, a))


def _exterior(pen: Pen, pal: LocationPalette) -> None:
    x0, y0, x1, y1 = pen.world
    m = pal.motifs
    _sky(pen, pal, x0, x1, HORIZON - 0.5, y1)
    if pal.dark and "rain" not in m:
        _stars(pen, pal, x0, x1, HORIZON, y1)
    _sun_or_moon(pen, pal)
    _clouds(pen, pal, x0, x1, dark="rain" in m or "snow" in m)
    if "gulls" in m:
        _gulls(pen, pal, x0, x1)
    if "mountains" in m:
        _hills(pen, pal, x0, x1, mountains=True)
    elif "hills" in m and "sea" not in m:
        _hills(pen, pal, x0, x1, mountains=False)
    if "city" in m and "sea" not in m:
        _skyline(pen, pal, x0, x1, near=False)
    if "sea" in m:
        shore = 0.45
        _sea(pen, pal, x0, x1, HORIZON, shore)
        if "boats" in m:
            _boats(pen, pal, x0, x1, HORIZON, shore)
        if "city" in m:
            _skyline(pen, pal, x0, x1, near=False)
        _quay(pen, pal, x0, x1, shore, min(y0, -1.0) - 1) if "stone" in m or "boats" in m else \
            pen.vgradient(x0, min(y0, -1.0) - 1, x1, shore, shade(pal.ground, 0.85), pal.ground)
        if "boats" in m or "ropes" in m:
            _bollards_ropes(pen, pal, x0, x1, shore)
        ground_top = shore
    else:
        if "trees" in m:
            _trees(pen, pal, x0, x1)
        ground_top = HORIZON - 0.2
        ground = pal.ground
        pen.vgradient(x0, min(y0, -1.0) - 1, x1, ground_top, shade(ground, 0.8), mix(ground, pal.sky_horizon, 0.25))
        if "city" in m:
            _skyline(pen, pal, x0, x1, near=True)
            pen.rect(x0, 0.3, x1, 0.55, shade(pal.ground, 1.1))  # pavement
            pen.rect(x0, 0.28, x1, 0.31, shade(pal.ground, 0.7))
        elif "trees" in m:
            for k in range(math.floor(x0 / 0.6), math.ceil(x1 / 0.6) + 1):  # tufts of grass
                if cell_rand(pal.seed, 141, k) < 0.5:
                    continue
                gx = k * 0.6 + 0.6 * cell_rand(pal.seed, 142, k)
                gy = -0.2 + 1.0 * cell_rand(pal.seed, 143, k)
                pen.line([(gx - 0.05, gy), (gx, gy + 0.08), (gx + 0.05, gy)], shade(ground, 0.8), 0.012)
        if "trees" in m:
            pass
    if "puddles" in m or "rain" in m:
        _puddles(pen, pal, x0, x1, ground_top)
    if "fog" in m:
        _fog(pen, pal, x0, x1)
    if "rain" in m:
        _rain(pen, pal, x0, y0, x1, y1, key=0, alpha=70)
    if "snow" in m:
        _snow(pen, pal, x0, y0, x1, y1)


# =========================================================================== interiors


def _floor_line_x(x_back: float, y: float) -> float:
    """Where the floor line through ``(x_back, WALL_FOOT)`` (seen from the vanishing
    point) crosses height ``y``."""
    vx, vy = VANISH
    s = (WALL_FOOT - y) / (vy - WALL_FOOT)
    return x_back + (x_back - vx) * s


def _window_view(pen: Pen, pal: LocationPalette, x0: float, y0: float, x1: float, y1: float, key: int) -> None:
    """What a window shows: sky, and the sea or far scenery below an eye-line horizon."""
    m = pal.motifs
    horizon = min(max(y0 + (y1 - y0) * 0.32, y0 + 0.2), y1)
    pen.vgradient(x0, horizon, x1, y1 + 0.5, pal.sky_horizon, pal.sky_top)
    if pal.dark and "rain" not in m:
        for k in range(6):
            sx = x0 + (x1 - x0) * cell_rand(pal.seed, 151, key, k)
            sy = horizon + (y1 - horizon) * cell_rand(pal.seed, 152, key, k)
            pen.ellipse(sx, sy, 0.012, 0.012, (240, 240, 220, 200))
    if "sea" in m:
        pen.vgradient(x0, y0, x1, horizon, pal.sea_dark, mix(pal.sea, pal.sky_horizon, 0.3))
        for k in range(int((x1 - x0) / 0.25)):
            wx = x0 + (k + cell_rand(pal.seed, 153, key, k)) * 0.25
            wy = y0 + (horizon - y0) * cell_rand(pal.seed, 154, key, k)
            pen.line([(wx, wy), (wx + 0.1, wy)], (*pal.sea_line, 120), 0.008)
    elif "trees" in m:
        pen.rect(x0, y0, x1, horizon, shade(pal.far, 0.9))
        for k in range(int((x1 - x0) / 0.3) + 1):
            pen.ellipse(x0 + k * 0.3, horizon, 0.22, 0.3, pal.far)
    elif "city" in m:
        pen.rect(x0, y0, x1, horizon, shade(pal.far, 0.8))
        for k in range(int((x1 - x0) / 0.3) + 1):
            bh = 0.2 + 0.6 * cell_rand(pal.seed, 155, key, k)
            pen.rect(x0 + k * 0.3, horizon, x0 + k * 0.3 + 0.26, horizon + bh, shade(pal.far, 0.9))
            if pal.dark and cell_rand(pal.seed, 156, key, k) < 0.6:
                pen.rect(x0 + k * 0.3 + 0.08, horizon + bh * 0.5, x0 + k * 0.3 + 0.14, horizon + bh * 0.5 + 0.06,
                         pal.glow)
    else:
        pen.rect(x0, y0, x1, horizon, mix(pal.far, pal.sky_horizon, 0.4))
    if "rain" in m:
        _rain(pen, pal, x0, y0, x1, y1, key=key + 1, alpha=110)
    if "snow" in m:
        _snow(pen, pal, x0, y0, x1, y1)


def _glazing(pen: Pen, pal: LocationPalette, x0: float, x1: float) -> None:
    """A wall of glass panes (a lamp room, a conservatory)."""
    bottom, top = WALL_FOOT + 0.95, WALL_FOOT + WALL_HEIGHT - 0.2
    pane = 1.15
    frame = shade(pal.metal, 1.2) if not pal.dark else shade(pal.metal, 0.9)
    k0 = math.floor((max(x0, -ROOM_HALF)) / pane) - 1
    k1 = math.ceil((min(x1, ROOM_HALF)) / pane) + 1
    for k in range(k0, k1):
        px0 = k * pane
        px1 = px0 + pane
        if px1 < -ROOM_HALF or px0 > ROOM_HALF:
            continue
        _window_view(pen, pal, max(px0, -ROOM_HALF), bottom, min(px1, ROOM_HALF), top, key=k)
        if k % 2 == 0:
            pen.line([(px0 + pane * 0.2, top - 0.15), (px0 + pane * 0.5, bottom + 0.7)], (255, 255, 255, 16), 0.1)
    pen.rect(-ROOM_HALF, top, ROOM_HALF, top + 0.12, frame)
    pen.rect(-ROOM_HALF, bottom - 0.1, ROOM_HALF, bottom, frame)
    pen.rect(-ROOM_HALF, bottom - 0.16, ROOM_HALF, bottom - 0.1, shade(frame, 0.7))
    for k in range(k0, k1 + 1):
        mx = k * pane
        if -ROOM_HALF <= mx <= ROOM_HALF:
            pen.rect(mx - 0.04, bottom, mx + 0.04, top, frame)
    # the diagonal astragals of a lighthouse lantern
    if "lens" in pal.motifs or "lamp" in pal.motifs:
        for k in range(k0, k1):
            px0 = k * pane
            if -ROOM_HALF <= px0 <= ROOM_HALF - pane:
                pen.line([(px0, bottom), (px0 + pane, top)], (*frame, 140), 0.015)


def _windows(pen: Pen, pal: LocationPalette, x0: float, x1: float, avoid: list[tuple[float, float]]) -> None:
    period = 3.4
    frame = pal.trim
    off = 3.4 * cell_rand(pal.seed, 161)
    for k in range(math.floor((x0 - off) / period) - 1, math.ceil((x1 - off) / period) + 1):
        cx = k * period + off
        if abs(cx) > ROOM_HALF - 0.9 or any(a - 0.8 < cx < b + 0.8 for a, b in avoid):
            continue
        w, bottom, top = 1.15, WALL_FOOT + 1.0, WALL_FOOT + 2.55
        _window_view(pen, pal, cx - w / 2, bottom, cx + w / 2, top, key=k + 100)
        pen.rect(cx - w / 2 - 0.08, top, cx + w / 2 + 0.08, top + 0.08, frame)
        pen.rect(cx - w / 2 - 0.14, bottom - 0.1, cx + w / 2 + 0.14, bottom, frame)
        pen.rect(cx - w / 2 - 0.08, bottom, cx - w / 2, top, frame)
        pen.rect(cx + w / 2, bottom, cx + w / 2 + 0.08, top, frame)
        pen.rect(cx - 0.03, bottom, cx + 0.03, top, frame)
        pen.rect(cx - w / 2, (bottom + top) / 2 - 0.03, cx + w / 2, (bottom + top) / 2 + 0.03, frame)
        if cell_rand(pal.seed, 162, k) < 0.6:  # curtains
            cur = mix(pal.accent, pal.wall, 0.3)
            for s in (-1, 1):
                pen.poly([(cx + s * (w / 2 + 0.05), top + 0.1), (cx + s * (w / 2 - 0.3), top + 0.1),
                          (cx + s * (w / 2 - 0.12), bottom - 0.2), (cx + s * (w / 2 + 0.3), bottom - 0.2)], cur)


def _stairs(pen: Pen, pal: LocationPalette, x0: float, y0: float, x1: float, y1: float) -> None:
    """Flights of stairs zig-zagging up the back wall (a spiral, unrolled), with an
    iron railing and slit windows; the wall continues up the tower."""
    rise, run = 0.19, 0.27
    steps = 15
    flight_h = rise * steps
    stone = mix(pal.wall, (255, 255, 255), 0.2)
    side = shade(pal.wall, 0.82)
    edge = shade(pal.wall, 0.66)
    rail = pal.metal
    half = steps * run / 2
    for f in range(max(0, math.floor((y0 - WALL_FOOT) / flight_h) - 1), math.ceil((y1 - WALL_FOOT) / flight_h) + 1):
        base = WALL_FOOT + f * flight_h
        direction = 1 if f % 2 == 0 else -1
        start = -half * direction
        # the stringer (the underside of the flight)
        top_pt = (start + direction * steps * run, base + flight_h)
        pen.poly([(start, base), top_pt, (top_pt[0], top_pt[1] - 0.35), (start + direction * 0.5, base - 0.35)], side)
        treads = []
        for i in range(steps):
            sx = start + direction * i * run
            sy = base + i * rise
            treads += [(sx, sy + rise), (sx + direction * run, sy + rise)]
        pen.poly([(start, base)] + treads + [top_pt], stone)
        for i in range(steps):
            sx = start + direction * i * run
            sy = base + (i + 1) * rise
            pen.line([(sx, sy), (sx + direction * run, sy)], edge, 0.018)
        # landing
        lx = top_pt[0]
        pen.rect(min(lx, lx + direction * 0.9), top_pt[1] - 0.35, max(lx, lx + direction * 0.9), top_pt[1], side)
        pen.rect(min(lx, lx + direction * 0.9), top_pt[1] - 0.04, max(lx, lx + direction * 0.9), top_pt[1], stone)
        # railing
        r0 = (start, base + 0.95)
        r1 = (top_pt[0], top_pt[1] + 0.95)
        pen.line([r0, r1], rail, 0.035)
        for i in range(0, steps, 2):
            bx = start + direction * (i + 0.5) * run
            by = base + (i + 1) * rise
            pen.line([(bx, by), (bx, by + 0.95 - 0.02)], rail, 0.014)
        # a slit window beside each landing
        wx = -direction * (half - 0.6)
        wy = base + flight_h * 0.55
        if pal.dark:  # a wall lamp beside each window
            lx = wx + direction * 1.1
            pen.glow(lx, wy + 0.3, 1.6, 1.3, pal.glow, 0.3)
            pen.rect(lx - 0.03, wy + 0.05, lx + 0.03, wy + 0.25, pal.metal)
            pen.ellipse(lx, wy + 0.32, 0.09, 0.11, mix(pal.glow, (255, 255, 255), 0.4))
        pen.rrect(wx - 0.16, wy, wx + 0.16, wy + 0.9, 0.16, shade(pal.wall, 0.6))
        _window_view(pen, pal, wx - 0.11, wy + 0.05, wx + 0.11, wy + 0.8, key=f + 300)
    # the curve of the tower: shade toward the sides
    for i in range(14):
        pen.rect(-ROOM_HALF * 3, y0, -half - 0.4 - i * 0.22, y1, (*pal.ink, 7))
        pen.rect(half + 0.4 + i * 0.22, y0, ROOM_HALF * 3, y1, (*pal.ink, 7))


def _lens(pen: Pen, pal: LocationPalette, cx: float) -> None:
    """A lighthouse's great lens on its pedestal, lit from within."""
    brass = pal.accent
    base = 0.35
    pen.rrect(cx - 0.45, base, cx + 0.45, base + 0.22, 0.05, shade(pal.metal, 1.1))
    pen.rect(cx - 0.22, base + 0.22, cx + 0.22, base + 0.95, shade(pal.metal, 1.3))
    pen.rect(cx - 0.55, base + 0.95, cx + 0.55, base + 1.05, brass)
    lo, hi = base + 1.05, base + 2.35
    lit = pal.dark
    glass = mix(pal.glow, (255, 255, 255), 0.35) if lit else mix((190, 210, 220), pal.wall, 0.3)
    if lit:
        pen.glow(cx, (lo + hi) / 2, 2.6, 2.2, pal.glow, 0.55, falloff=1.5)
    pen.rrect(cx - 0.6, lo, cx + 0.6, hi, 0.3, shade(glass, 0.9))
    n = 9
    for i in range(n):
        yy = lo + (hi - lo) * (i + 0.5) / n
        w = 0.6 * math.sqrt(max(0.0, 1 - ((yy - (lo + hi) / 2) / ((hi - lo) / 2 + 0.15)) ** 2))
        pen.line([(cx - w, yy), (cx + w, yy)], shade(brass, 0.9), 0.02)
    pen.rect(cx - 0.035, lo, cx + 0.035, hi, brass)
    pen.rect(cx - 0.62, lo, cx - 0.56, hi, brass)
    pen.rect(cx + 0.56, lo, cx + 0.62, hi, brass)
    pen.ellipse(cx, (lo + hi) / 2, 0.2, 0.2, (255, 250, 226) if lit else shade(glass, 1.05))
    pen.ellipse(cx, (lo + hi) / 2, 0.32, 0.32, None, outline=brass, width=0.025)
    pen.rrect(cx - 0.66, hi, cx + 0.66, hi + 0.1, 0.04, brass)
    pen.poly([(cx - 0.4, hi + 0.1), (cx + 0.4, hi + 0.1), (cx + 0.12, hi + 0.4), (cx - 0.12, hi + 0.4)],
             shade(brass, 0.8))
    if lit:  # beams out through the glass
        y = (lo + hi) / 2
        for s in (-1, 1):
            pen.poly([(cx, y + 0.12), (cx + s * 5.0, y + 1.0), (cx + s * 5.0, y - 0.55), (cx, y - 0.12)],
                     (*pal.glow, 34))


def _table(pen: Pen, pal: LocationPalette, cx: float, kitchen: bool) -> None:
    wood = pal.wood
    top_y = 0.55 + 0.75
    pen.rect(cx - 0.9, top_y - 0.07, cx + 0.9, top_y, shade(wood, 1.1))
    pen.rect(cx - 0.86, top_y - 0.12, cx + 0.86, top_y - 0.07, shade(wood, 0.8))
    for s in (-1, 1):
        pen.rect(cx + s * 0.78 - 0.04, 0.4, cx + s * 0.78 + 0.04, top_y - 0.1, shade(wood, 0.75))
    # things on it
    pen.rrect(cx - 0.5, top_y, cx - 0.38, top_y + 0.12, 0.02, (236, 232, 222))
    pen.rrect(cx + 0.2, top_y, cx + 0.3, top_y + 0.28, 0.03, mix(pal.accent, (40, 90, 60), 0.5))
    if kitchen:
        pen.ellipse(cx - 0.05, top_y + 0.02, 0.2, 0.04, (220, 220, 214))


def _kitchen(pen: Pen, pal: LocationPalette, x0: float, x1: float) -> None:
    unit_c = mix(pal.wall, pal.trim, 0.6)
    counter = shade(pal.wood, 1.05)
    for xs in (3.0, -ROOM_HALF + 0.3):
        xe = xs + 2.4
        pen.rect(xs, WALL_FOOT - 0.1, xe, WALL_FOOT + 0.85, unit_c)
        pen.rect(xs - 0.04, WALL_FOOT + 0.85, xe + 0.04, WALL_FOOT + 0.92, counter)
        for k in range(4):
            pen.rect(xs + 0.05 + k * 0.6, WALL_FOOT, xs + 0.55 + k * 0.6, WALL_FOOT + 0.78, shade(unit_c, 0.94))
            pen.rect(xs + 0.26 + k * 0.6, WALL_FOOT + 0.65, xs + 0.34 + k * 0.6, WALL_FOOT + 0.69, pal.metal)
        pen.rect(xs, WALL_FOOT + 1.6, xe, WALL_FOOT + 2.3, unit_c)
        for k in range(4):
            pen.rect(xs + 0.05 + k * 0.6, WALL_FOOT + 1.64, xs + 0.55 + k * 0.6, WALL_FOOT + 2.26, shade(unit_c, 0.94))


def _shelves(pen: Pen, pal: LocationPalette, cx: float) -> None:
    wood = pal.wood
    pen.rect(cx - 1.0, WALL_FOOT, cx + 1.0, WALL_FOOT + 2.3, shade(wood, 0.7))
    for j in range(5):
        sy = WALL_FOOT + 0.1 + j * 0.45
        pen.rect(cx - 0.95, sy, cx + 0.95, sy + 0.04, shade(wood, 1.0))
        bx = cx - 0.9
        k = 0
        while bx < cx + 0.85:
            bw = 0.05 + 0.05 * cell_rand(pal.seed, 171, j, k)
            bh = 0.25 + 0.12 * cell_rand(pal.seed, 172, j, k)
            col = ((150, 50, 40), (50, 80, 120), (60, 100, 70), (190, 160, 90), (90, 60, 90))[
                int(cell_rand(pal.seed, 173, j, k) * 5)]
            pen.rect(bx, sy + 0.04, bx + bw, sy + 0.04 + bh, shade(col, 0.9 if pal.dark else 1.0))
            bx += bw + 0.01
            k += 1


def _door(pen: Pen, pal: LocationPalette, cx: float) -> None:
    wood = shade(pal.wood, 0.95)
    pen.rect(cx - 0.6, WALL_FOOT - 0.02, cx + 0.6, WALL_FOOT + 2.25, pal.trim)
    pen.rect(cx - 0.5, WALL_FOOT, cx + 0.5, WALL_FOOT + 2.15, wood)
    for yy in (WALL_FOOT + 0.2, WALL_FOOT + 1.2):
        pen.rect(cx - 0.38, yy, cx + 0.38, yy + 0.8, shade(wood, 0.88))
    pen.ellipse(cx + 0.36, WALL_FOOT + 1.05, 0.045, 0.045, pal.accent)


def _pictures(pen: Pen, pal: LocationPalette, x0: float, x1: float, avoid: list[tuple[float, float]]) -> None:
    for k in range(math.floor(x0 / 2.2) - 1, math.ceil(x1 / 2.2) + 1):
        cx = k * 2.2 + 1.1
        if abs(cx) > ROOM_HALF - 0.6 or any(a - 0.6 < cx < b + 0.6 for a, b in avoid):
            continue
        if cell_rand(pal.seed, 181, k) < 0.45:
            continue
        w = 0.4 + 0.3 * cell_rand(pal.seed, 182, k)
        h = 0.35 + 0.3 * cell_rand(pal.seed, 183, k)
        cy = WALL_FOOT + 1.9
        pen.rect(cx - w / 2 - 0.04, cy - h / 2 - 0.04, cx + w / 2 + 0.04, cy + h / 2 + 0.04, shade(pal.wood, 0.8))
        inner = mix(pal.accent, pal.wall, 0.5)
        pen.rect(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, inner)
        pen.poly([(cx - w / 2, cy - h / 2), (cx - w * 0.1, cy + h * 0.1), (cx + w * 0.15, cy - h * 0.15),
                  (cx + w / 2, cy + h * 0.2), (cx + w / 2, cy - h / 2)], shade(inner, 0.75))


def _pendant(pen: Pen, pal: LocationPalette, cx: float) -> None:
    top = WALL_FOOT + WALL_HEIGHT
    pen.line([(cx, top + 2.0), (cx, top - 0.6)], shade(pal.metal, 0.8), 0.012)
    pen.poly([(cx - 0.25, top - 0.85), (cx + 0.25, top - 0.85), (cx + 0.08, top - 0.6), (cx - 0.08, top - 0.6)],
             shade(pal.accent, 0.9))
    if pal.dark:
        pen.glow(cx, top - 0.9, 2.2, 1.6, pal.glow, 0.35)
        pen.ellipse(cx, top - 0.86, 0.1, 0.04, (255, 246, 220))


def _interior(pen: Pen, pal: LocationPalette) -> None:
    x0, y0, x1, y1 = pen.world
    m = pal.motifs
    top = WALL_FOOT + WALL_HEIGHT
    tower = "stairs" in m
    # floor, with boards converging toward the vanishing point
    pen.rect(x0, y0, x1, WALL_FOOT, pal.floor)
    if y0 < WALL_FOOT:
        for k in range(-30, 31):
            xb = k * 0.42
            pen.line([(xb, WALL_FOOT), (_floor_line_x(xb, y0 - 1), y0 - 1)], (*pal.floor_line, 150), 0.012)
        for j in range(1, 8):
            yy = WALL_FOOT - (j ** 1.5) * 0.14
            pen.line([(x0, yy), (x1, yy)], (*pal.floor_line, 70), 0.01)
    # back wall (a tower has no ceiling in view)
    wall_top = y1 + 1 if tower else top
    pen.vgradient(x0, WALL_FOOT, x1, min(wall_top, top + 1), pal.wall, pal.wall_shadow)
    if tower and wall_top > top + 1:
        pen.rect(x0, top + 1, x1, wall_top, pal.wall_shadow)
    if not tower:
        pen.rect(x0, top, x1, max(y1, top) + 1, pal.ceiling)
        pen.rect(x0, top - 0.06, x1, top + 0.06, shade(pal.ceiling, 0.85))
        for k in range(-12, 13):  # ceiling boards
            xb = k * 0.9
            pen.line([(xb, top), (xb + (xb - VANISH[0]) * 2.0, top + (top - VANISH[1]) * 2.0)],
                     (*shade(pal.ceiling, 0.8), 160), 0.012)
    # skirting
    pen.rect(x0, WALL_FOOT, x1, WALL_FOOT + 0.14, shade(pal.trim, 0.85))
    pen.rect(x0, WALL_FOOT + 0.14, x1, WALL_FOOT + 0.17, shade(pal.trim, 0.7))

    avoid: list[tuple[float, float]] = []
    if tower:
        _stairs(pen, pal, x0, y0, x1, y1)
    elif "glasshouse" in m or ("windows" in m and "lens" in m):
        _glazing(pen, pal, x0, x1)
        avoid.append((-ROOM_HALF, ROOM_HALF))
    else:
        if "door" in m or cell_rand(pal.seed, 191) < 0.5:
            dx = (ROOM_HALF - 1.3) * (1 if cell_rand(pal.seed, 192) < 0.5 else -1)
            _door(pen, pal, dx)
            avoid.append((dx - 0.6, dx + 0.6))
        if "kitchen" in m:
            _kitchen(pen, pal, x0, x1)
            avoid += [(3.0, 5.4), (-ROOM_HALF + 0.3, -ROOM_HALF + 2.7)]
        if "shelves" in m:
            sx = -3.2 if not any(a < -3.2 < b for a, b in avoid) else 3.2
            _shelves(pen, pal, sx)
            avoid.append((sx - 1.0, sx + 1.0))
        if "windows" in m or cell_rand(pal.seed, 193) < 0.65:
            _windows(pen, pal, x0, x1, avoid)
            avoid.append((-ROOM_HALF, ROOM_HALF)) if "windows" in m else None
        if not ({"windows", "kitchen", "shelves"} & m):
            _pictures(pen, pal, x0, x1, avoid)
    # lamps and furniture
    if "lens" in m:
        _lens(pen, pal, 3.1)
    elif not tower and ("lamp" in m or pal.dark):
        _pendant(pen, pal, 0.0 if "lamp" in m else 2.2)
    if "table" in m and "lens" not in m:
        _table(pen, pal, -2.9 if "kitchen" not in m else 0.0 + 2.9, "kitchen" in m)
    if "fire" in m and not tower:
        fx = -3.6
        pen.rect(fx - 0.8, WALL_FOOT, fx + 0.8, WALL_FOOT + 1.3, shade(pal.trim, 0.8))
        pen.rect(fx - 0.5, WALL_FOOT, fx + 0.5, WALL_FOOT + 0.8, pal.ink)
        pen.glow(fx, WALL_FOOT + 0.3, 0.9, 0.7, (255, 150, 60), 0.9)
        pen.rect(fx - 0.95, WALL_FOOT + 1.3, fx + 0.95, WALL_FOOT + 1.4, shade(pal.wood, 0.9))
    if "sofa" in m or "bed" in m:
        bx = 2.9 if "lens" not in m else -3.0
        colour = mix(pal.accent, pal.wall, 0.25)
        pen.rrect(bx - 1.1, WALL_FOOT - 0.05, bx + 1.1, WALL_FOOT + 0.9, 0.12, shade(colour, 0.85))
        pen.rrect(bx - 1.0, WALL_FOOT + 0.3, bx + 1.0, WALL_FOOT + 0.6, 0.1, colour)
    # the side walls of the set, receding toward the vanishing point
    vx, vy = VANISH
    for s in (-1, 1):
        cx = s * ROOM_HALF
        far = s * (ROOM_HALF + 60)
        foot_slope = (WALL_FOOT - vy) / (cx - vx)
        foot_far = WALL_FOOT + (far - cx) * foot_slope
        if tower:
            top_far = y1 + 100
            top_c = y1 + 100
        else:
            top_slope = (top - vy) / (cx - vx)
            top_c = top
            top_far = top + (far - cx) * top_slope
        pen.poly([(cx, WALL_FOOT), (cx, top_c), (far, top_far), (far, foot_far)], pal.wall_shadow)
        pen.line([(cx, WALL_FOOT), (cx, top_c)], shade(pal.wall_shadow, 0.85), 0.025)
        pen.line([(cx, WALL_FOOT), (far, foot_far)], shade(pal.floor, 0.75), 0.02)
    # lamplight pools on the floor at night, cool window light by day
    if pal.dark:
        pen.glow(0.0, WALL_FOOT + 1.2, 6.5, 3.2, pal.glow, 0.16, falloff=1.3)
    if "rain" in m and not ("glasshouse" in m or "windows" in m):
        pass
