"""Drawing in world units.

The stage is a flat, orthographic world measured in metres: ``x`` to the right,
``y`` up, the floor (where figures stand) at ``y = 0``. A :class:`Pen` draws onto a
Pillow image that shows the world rectangle ``[x0, x1] x [y0, y1]`` at ``scale``
pixels per metre; shapes outside the image are culled before they reach Pillow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from studio.render.animatic.palette import RGB

Point = tuple[float, float]
Colour = tuple[int, int, int] | tuple[int, int, int, int]


@lru_cache(maxsize=8)
def radial_mask(falloff: float = 2.0, size: int = 128) -> Image.Image:
    """An ``L`` image: 255 at the centre fading to 0 at the inscribed circle's edge,
    as ``(1 - r^2) ** falloff`` (a soft light pool)."""
    r = (np.arange(size) + 0.5) / size * 2 - 1
    d2 = r[None, :] ** 2 + r[:, None] ** 2
    v = np.clip(1 - d2, 0, 1) ** falloff
    return Image.fromarray((v * 255 + 0.5).astype(np.uint8))


@lru_cache(maxsize=4)
def disc_mask(size: int = 256, soft: float = 0.04) -> Image.Image:
    """An ``L`` disc with a slightly soft edge (for pasting faces onto heads)."""
    r = (np.arange(size) + 0.5) / size * 2 - 1
    d = np.sqrt(r[None, :] ** 2 + r[:, None] ** 2)
    v = np.clip((1 - d) / soft, 0, 1)
    return Image.fromarray((v * 255 + 0.5).astype(np.uint8))


class Pen:
    """Draws world-space shapes onto ``image``.

    ``world`` is the world rectangle ``(x0, y0, x1, y1)`` whose top-left corner is
    pixel ``(ox, oy)`` of the full canvas; ``image`` may be a patch of that canvas
    whose own top-left is canvas pixel ``(ox, oy)``, so a patch redrawn later lines
    up with the canvas to the pixel. ``scale`` is pixels per metre.
    """

    def __init__(self, image: Image.Image, x0: float, y1: float, scale: float, ox: int = 0, oy: int = 0) -> None:
        self.image = image
        self.x0 = x0  # world x of canvas pixel column 0
        self.y1 = y1  # world y of canvas pixel row 0
        self.scale = scale
        self.ox = ox
        self.oy = oy
        self.w, self.h = image.size
        self._draw = ImageDraw.Draw(image)
        self._blend = ImageDraw.Draw(image, "RGBA")

    # ---------------------------------------------------------------- geometry

    def px(self, x: float, y: float) -> Point:
        """Pixel position (in this image) of world point ``(x, y)``."""
        return (x - self.x0) * self.scale - self.ox, (self.y1 - y) * self.scale - self.oy

    def m(self, metres: float) -> float:
        """A length in pixels."""
        return metres * self.scale

    @property
    def world(self) -> tuple[float, float, float, float]:
        """The world rectangle this image covers: ``(x0, y0, x1, y1)``."""
        x0 = self.x0 + self.ox / self.scale
        y1 = self.y1 - self.oy / self.scale
        return x0, y1 - self.h / self.scale, x0 + self.w / self.scale, y1

    def visible(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        """Whether the world box touches the image."""
        wx0, wy0, wx1, wy1 = self.world
        return x1 >= wx0 and x0 <= wx1 and y1 >= wy0 and y0 <= wy1

    def _ink(self, fill: Colour | None) -> ImageDraw.ImageDraw:
        return self._blend if fill is not None and len(fill) == 4 else self._draw

    # ---------------------------------------------------------------- shapes

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: Colour) -> None:
        if not self.visible(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)):
            return
        a = self.px(min(x0, x1), max(y0, y1))
        b = self.px(max(x0, x1), min(y0, y1))
        self._ink(fill).rectangle((max(a[0], -2), max(a[1], -2), min(b[0], self.w + 2), min(b[1], self.h + 2)),
                                  fill=fill)

    def rrect(self, x0: float, y0: float, x1: float, y1: float, radius: float, fill: Colour,
              outline: Colour | None = None, width: float = 0.0) -> None:
        if not self.visible(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)):
            return
        a = self.px(min(x0, x1), max(y0, y1))
        b = self.px(max(x0, x1), min(y0, y1))
        r = max(0.0, min(self.m(radius), (b[0] - a[0]) / 2, (b[1] - a[1]) / 2))
        if b[0] - a[0] < 1 or b[1] - a[1] < 1:
            self._ink(fill).rectangle((a, b), fill=fill)
            return
        self._ink(fill).rounded_rectangle((a, b), radius=r, fill=fill, outline=outline,
                                          width=max(1, round(self.m(width))) if outline else 0)

    def poly(self, points: Sequence[Point], fill: Colour, outline: Colour | None = None) -> None:
        if len(points) < 3:
            return
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        if not self.visible(min(xs), min(ys), max(xs), max(ys)):
            return
        self._ink(fill).polygon([self.px(x, y) for x, y in points], fill=fill, outline=outline)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: Colour | None,
                outline: Colour | None = None, width: float = 0.0) -> None:
        if not self.visible(cx - rx, cy - ry, cx + rx, cy + ry):
            return
        a = self.px(cx - rx, cy + ry)
        b = self.px(cx + rx, cy - ry)
        if b[0] - a[0] < 0.5 or b[1] - a[1] < 0.5:
            return
        ink = self._ink(fill if fill is not None else outline)
        ink.ellipse((a, b), fill=fill, outline=outline,
                    width=max(1, round(self.m(width))) if outline is not None else 1)

    def line(self, points: Sequence[Point], fill: Colour, width: float, joint: bool = False) -> None:
        """A polyline ``width`` metres wide (at least one pixel)."""
        if len(points) < 2:
            return
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        pad = width
        if not self.visible(min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad):
            return
        self._ink(fill).line([self.px(x, y) for x, y in points], fill=fill, width=max(1, round(self.m(width))),
                             joint="curve" if joint else None)

    def arc(self, cx: float, cy: float, rx: float, ry: float, start: float, end: float, fill: Colour,
            width: float) -> None:
        """An elliptical arc; angles in degrees, clockwise from 3 o'clock (Pillow's)."""
        if not self.visible(cx - rx, cy - ry, cx + rx, cy + ry):
            return
        a = self.px(cx - rx, cy + ry)
        b = self.px(cx + rx, cy - ry)
        if b[0] - a[0] < 1 or b[1] - a[1] < 1:
            return
        self._ink(fill).arc((a, b), start, end, fill=fill, width=max(1, round(self.m(width))))

    # ---------------------------------------------------------------- soft light

    def _box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int] | None:
        a = self.px(x0, y1)
        b = self.px(x1, y0)
        box = (int(np.floor(a[0])), int(np.floor(a[1])), int(np.ceil(b[0])), int(np.ceil(b[1])))
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            return None
        if box[2] <= 0 or box[3] <= 0 or box[0] >= self.w or box[1] >= self.h:
            return None
        return box

    def _paste_mask(self, colour: RGB, box: tuple[int, int, int, int], mask: Image.Image) -> None:
        """Paste ``colour`` through ``mask`` (already box-sized), clipped to the image."""
        x0, y0, x1, y1 = box
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, self.w), min(y1, self.h)
        if cx1 <= cx0 or cy1 <= cy0:
            return
        if (cx0, cy0, cx1, cy1) != box:
            mask = mask.crop((cx0 - x0, cy0 - y0, cx1 - x0, cy1 - y0))
        self.image.paste(colour, (cx0, cy0, cx1, cy1), mask)

    def glow(self, cx: float, cy: float, rx: float, ry: float, colour: RGB, alpha: float,
             falloff: float = 2.0) -> None:
        """A soft radial pool of ``colour``, opacity ``alpha`` (0..1) at its centre."""
        if alpha <= 0 or not self.visible(cx - rx, cy - ry, cx + rx, cy + ry):
            return
        # only the part inside the image is resized from the small source mask
        ax, ay = self.px(cx - rx, cy + ry)
        bx, by = self.px(cx + rx, cy - ry)
        if bx - ax < 2 or by - ay < 2:
            return
        x0, y0 = max(0, int(math.floor(ax))), max(0, int(math.floor(ay)))
        x1, y1 = min(self.w, int(math.ceil(bx))), min(self.h, int(math.ceil(by)))
        if x1 <= x0 or y1 <= y0:
            return
        src = radial_mask(falloff)
        s = src.size[0]
        sbox = (max(0.0, (x0 - ax) / (bx - ax) * s), max(0.0, (y0 - ay) / (by - ay) * s),
                min(float(s), (x1 - ax) / (bx - ax) * s), min(float(s), (y1 - ay) / (by - ay) * s))
        mask = src.resize((x1 - x0, y1 - y0), Image.BILINEAR, box=sbox)
        if alpha < 1:
            mask = mask.point([int(v * alpha + 0.5) for v in range(256)])
        self.image.paste(colour, (x0, y0, x1, y1), mask)

    def vgradient(self, x0: float, y0: float, x1: float, y1: float, bottom: RGB, top: RGB) -> None:
        """A rectangle filled with a vertical gradient from ``bottom`` (at y0) to ``top`` (at y1)."""
        if not self.visible(x0, y0, x1, y1):
            return
        wx0, wy0, wx1, wy1 = self.world
        # clip to the image first: gradients can be very tall (a whole sky)
        cy0, cy1 = max(y0, wy0 - 1 / self.scale), min(y1, wy1 + 1 / self.scale)
        cx0, cx1 = max(x0, wx0 - 1 / self.scale), min(x1, wx1 + 1 / self.scale)
        box = self._box(cx0, cy0, cx1, cy1)
        if box is None:
            return
        n = box[3] - box[1]
        # pixel row centres -> world y -> gradient position
        rows = (np.arange(n) + 0.5 + box[1] + self.oy) / self.scale
        ys = self.y1 - rows
        t = np.clip((ys - y0) / max(y1 - y0, 1e-9), 0, 1)[:, None]
        col = np.asarray(bottom, float)[None, :] * (1 - t) + np.asarray(top, float)[None, :] * t
        strip = Image.fromarray(np.ascontiguousarray(col[:, None, :].round().astype(np.uint8)))
        strip = strip.resize((box[2] - box[0], n), Image.NEAREST)
        x_0, y_0 = box[0], box[1]
        cxa, cya, cxb, cyb = max(x_0, 0), max(y_0, 0), min(box[2], self.w), min(box[3], self.h)
        if cxb <= cxa or cyb <= cya:
            return
        self.image.paste(strip.crop((cxa - x_0, cya - y_0, cxb - x_0, cyb - y_0)), (cxa, cya))

    def paste_disc(self, face: Image.Image, cx: float, cy: float, r: float, jaw: float = 0.0) -> None:
        """Paste ``face`` (any size, RGB or RGBA) into a disc of radius ``r`` metres;
        an RGBA face's own transparency is kept. ``jaw`` (a fraction of the face's
        height) stretches the lower face down, as a mouth opens."""
        box = self._box(cx - r, cy - r, cx + r, cy + r)
        if box is None:
            return
        size = (box[2] - box[0], box[3] - box[1])
        img = face.resize(size, Image.BILINEAR)
        if jaw > 0:
            w, h = size
            split = int(h * 0.58)
            if 0 < split < h:
                lower = img.crop((0, split, w, h)).resize((w, h - split + max(1, round(h * jaw))), Image.BILINEAR)
                img = img.copy()
                img.paste(lower.crop((0, 0, w, h - split)), (0, split))
        mask = disc_mask().resize(size, Image.BILINEAR)
        if img.mode == "RGBA":
            mask = ImageChops.multiply(mask, img.getchannel("A"))
            img = img.convert("RGB")
        x0, y0, x1, y1 = box
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, self.w), min(y1, self.h)
        if cx1 <= cx0 or cy1 <= cy0:
            return
        crop = (cx0 - x0, cy0 - y0, cx1 - x0, cy1 - y0)
        self.image.paste(img.crop(crop), (cx0, cy0), mask.crop(crop))
