"""Moving-camera frames cut from a canvas, and a backdrop's blur, with OpenCV.

A moving camera's frame is a window of its canvas at a sub-pixel position and, during
a push or a zoom, at a scale of its own. Pillow's bilinear ``resize(box=...)`` took
about 7 ms a frame at 854x480 on the reference machine (the largest single cost of the
drawing); ``cv2.warpAffine`` does the same sampling in about 1.3 ms. Measured against a
Lanczos reference on real animatic canvases its frames are as close or closer than
Pillow's (the canvases are already supersampled: `bench/render_feature.py` issue 19
note). OpenCV runs one thread here: every core already has a shot worker or an encoder.

Positions are fixed point (1/32 pixel) and the arithmetic integer, so the same window
gives the same bytes on every run.

:func:`soften` (a location's depth blur on its backdrop, once a canvas) likewise runs in
OpenCV, two to six times faster than Pillow's ``GaussianBlur`` on a canvas-sized picture.
"""

from __future__ import annotations

from collections import OrderedDict

import cv2
import numpy as np
from PIL import Image

cv2.setNumThreads(1)


KEPT_BYTES = 16 << 20  # the canvas pictures' arrays a Sampler keeps, at most (the latest is always kept)


class Sampler:
    """Cuts frames from canvases, keeping the pixels of the canvas pictures it used last
    as arrays (up to :data:`KEPT_BYTES`): a canvas variant serves many frames in a row,
    and a speaker's mouth shapes come back to the same few variants (on the example
    film 69% of the pictures a shot turned to were ones it had just used)."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self._kept: OrderedDict[int, tuple[Image.Image, np.ndarray]] = OrderedDict()

    def _array(self, img: Image.Image) -> np.ndarray:
        kept = self._kept.get(id(img))
        if kept is not None and kept[0] is img:
            self._kept.move_to_end(id(img))
            return kept[1]
        pixels = np.asarray(img)
        self._kept[id(img)] = (img, pixels)
        total = sum(a.nbytes for _, a in self._kept.values())
        while total > KEPT_BYTES and len(self._kept) > 1:
            total -= self._kept.popitem(last=False)[1][1].nbytes
        return pixels

    def cut(self, img: Image.Image, box: tuple[float, float, float, float]) -> np.ndarray:
        """The frame-sized pixels (height x width x 3, uint8, contiguous) of ``box``
        (canvas pixels, floats: left, top, right, bottom) of ``img``: a plain crop when
        the box is whole pixels at one canvas pixel per frame pixel, else sampled
        bilinearly (pixel centres mapped exactly as Pillow's ``resize(box=...)`` maps
        them). An array, not a picture: most frames go straight to the encoder, and a
        round trip through Pillow cost about 1 ms a frame."""
        w, h = self.size
        bx0, by0, bx1, by1 = box
        sx, sy = (bx1 - bx0) / w, (by1 - by0) / h
        if abs(sx - 1) < 1e-6 and abs(sy - 1) < 1e-6:
            ix, iy = round(bx0), round(by0)
            if abs(bx0 - ix) < 1 / 512 and abs(by0 - iy) < 1 / 512 and ix + w <= img.size[0] and iy + h <= img.size[1]:
                return np.ascontiguousarray(self._array(img)[iy:iy + h, ix:ix + w])
        # the centre of frame pixel x lies at bx0 + (x + 0.5) * sx in canvas coordinates,
        # where canvas pixel i spans [i, i + 1]; OpenCV puts pixel centres on integers
        m = np.array([[sx, 0.0, bx0 + 0.5 * sx - 0.5], [0.0, sy, by0 + 0.5 * sy - 0.5]])
        out = cv2.warpAffine(self._array(img), m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REPLICATE)
        return out


def soften(img: Image.Image, radius: float) -> Image.Image:
    """A Gaussian blur of standard deviation about ``radius`` pixels, done at reduced
    size when the radius allows (a big canvas blurs in a fraction of the time)."""
    factor = max(1, min(8, int(radius / 1.5)))
    pixels = np.asarray(img)
    if factor == 1:
        return Image.fromarray(cv2.GaussianBlur(pixels, (0, 0), radius, borderType=cv2.BORDER_REPLICATE))
    h, w = pixels.shape[:2]
    small = cv2.resize(pixels, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    del pixels  # a canvas-sized copy: gone before the canvas-sized result is made (tens of MB at 1280x720)
    small = cv2.GaussianBlur(small, (0, 0), radius / factor, borderType=cv2.BORDER_REPLICATE)
    return Image.fromarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR))
