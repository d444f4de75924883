"""The camera: a window over the flat stage, and how it moves during a shot.

A :class:`Window` is the world rectangle the frame shows: its centre ``(cx, cy)``
and height ``h`` in metres (its width is ``h`` times the frame's aspect ratio).
A :class:`CameraPath` moves the shot's framing window over the shot's duration
(seconds) with easing; a continuous shot starts from the window the previous shot
ended on and eases into its own path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MOVE_ALIASES = {"pan": "pan-right", "tilt": "tilt-up", "dolly": "dolly-in", "zoom": "zoom-in"}
MOVES = ("static", "pan-left", "pan-right", "tilt-up", "tilt-down", "dolly-in", "dolly-out", "zoom-in", "zoom-out",
         "truck-left", "truck-right", "crane-up", "crane-down", "handheld")

PAN = 0.2  # of the frame width, either side of the framing
TILT = 0.22  # of the frame height
TRUCK = 0.15
DOLLY = 1.45  # how much wider a dolly-in starts
ZOOM = 1.7
CRANE = 0.25


@dataclass(frozen=True)
class Window:
    """A camera window: centre ``(cx, cy)`` and height ``h``, in metres."""

    cx: float
    cy: float
    h: float

    def rect(self, aspect: float) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` in metres for a frame of width/height ``aspect``."""
        hw = self.h * aspect / 2
        return self.cx - hw, self.cy - self.h / 2, self.cx + hw, self.cy + self.h / 2

    def scaled(self, k: float, anchor: tuple[float, float]) -> Window:
        """``k`` times the size, keeping world point ``anchor`` where it is in the frame."""
        ax, ay = anchor
        return Window(ax + (self.cx - ax) * k, ay + (self.cy - ay) * k, self.h * k)

    def shifted(self, dx: float, dy: float) -> Window:
        return Window(self.cx + dx, self.cy + dy, self.h)


def take_framing(window: Window, seed: int) -> Window:
    """The framing as this take's camera operator set it up: the same shot, nudged a
    little (up to 4.5% of the frame height sideways, 2.5% up or down, 5% tighter or
    looser) by the take's seed, so a new take of a shot is a visibly different take."""
    dx, dy, ds = np.random.default_rng([seed, 0x7A4E]).uniform(-1.0, 1.0, 3)
    return Window(window.cx + 0.045 * window.h * dx, window.cy + 0.025 * window.h * dy, window.h * (1 + 0.05 * ds))


def lerp_window(a: Window, b: Window, u: float) -> Window:
    """Between ``a`` (u = 0) and ``b`` (u = 1); size changes geometrically, so a push
    feels even."""
    if u <= 0:
        return a
    if u >= 1:
        return b
    return Window(a.cx + (b.cx - a.cx) * u, a.cy + (b.cy - a.cy) * u, a.h * (b.h / a.h) ** u)


def ease_sine(u: float) -> float:
    """Ease in and out (a pan or tilt on a fluid head)."""
    u = min(1.0, max(0.0, u))
    return 0.5 - 0.5 * math.cos(math.pi * u)


def ease_ramp(u: float, r: float = 0.2) -> float:
    """Constant speed with ``r`` of the time spent accelerating and decelerating (a
    dolly on a track)."""
    u = min(1.0, max(0.0, u))
    v = 1.0 / (1.0 - r)  # peak speed for unit distance
    if u < r:
        return v * u * u / (2 * r)
    if u > 1 - r:
        return 1.0 - v * (1 - u) ** 2 / (2 * r)
    return v * (u - r / 2)


def normal_move(move: str) -> str:
    """A move's full name (``pan`` is ``pan-right``...); unknown moves are static."""
    move = MOVE_ALIASES.get(move, move)
    return move if move in MOVES else "static"


class CameraPath:
    """Where the camera looks at each moment of a shot.

    ``base`` is the shot's framing; ``anchor`` the world point a push keeps steady
    (the subject's eyes); ``start`` the window a continuous shot begins on.
    """

    def __init__(self, base: Window, move: str, duration: float, aspect: float, anchor: tuple[float, float],
                 seed: int, start: Window | None = None) -> None:
        self.base = base
        self.move = normal_move(move)
        self.duration = max(duration, 1e-6)
        self.aspect = aspect
        self.anchor = anchor
        self.start = start
        self.settle = max(min(self.duration, 0.5), self.duration * 0.7)  # seconds to leave ``start`` behind
        if self.move == "handheld":
            rng = np.random.default_rng(seed)
            self._shake = [(rng.uniform(0.2, 1.3, 3), rng.uniform(0, 2 * math.pi, 3)) for _ in range(3)]

    @property
    def still(self) -> bool:
        """True when every frame has the same window."""
        return self.move == "static" and (self.start is None or self.start == self.base)

    def own(self, t: float) -> Window:
        """The window of the shot's own move at ``t`` seconds."""
        b = self.base
        u = t / self.duration
        w = b.h * self.aspect
        m = self.move
        if m == "static":
            return b
        if m in ("pan-right", "pan-left"):
            s = -1 if m == "pan-left" else 1
            return b.shifted(s * PAN * w * (2 * ease_sine(u) - 1), 0.0)
        if m in ("tilt-up", "tilt-down"):
            s = -1 if m == "tilt-down" else 1
            return b.shifted(0.0, s * TILT * b.h * (2 * ease_sine(u) - 1))
        if m in ("truck-right", "truck-left"):
            s = -1 if m == "truck-left" else 1
            return b.shifted(s * TRUCK * w * (2 * ease_ramp(u) - 1), 0.0)
        if m == "dolly-in":
            return lerp_window(b.scaled(DOLLY, self.anchor), b, ease_ramp(u))
        if m == "dolly-out":
            return lerp_window(b, b.scaled(DOLLY, self.anchor), ease_ramp(u))
        if m == "zoom-in":
            return lerp_window(b.scaled(ZOOM, (b.cx, b.cy)), b, ease_sine(u))
        if m == "zoom-out":
            return lerp_window(b, b.scaled(ZOOM, (b.cx, b.cy)), ease_sine(u))
        if m in ("crane-up", "crane-down"):
            low = Window(b.cx, b.cy - CRANE * b.h, b.h * 0.94)
            high = Window(b.cx, b.cy + CRANE * b.h, b.h * 1.1)
            a, z = (low, high) if m == "crane-up" else (high, low)
            return lerp_window(a, z, ease_ramp(u, 0.3))
        if m == "handheld":
            (fx, px), (fy, py), (fs, ps) = self._shake
            tau = 2 * math.pi * t
            dx = sum(math.sin(tau * f + p) / (i + 1) for i, (f, p) in enumerate(zip(fx, px))) / 1.83
            dy = sum(math.sin(tau * f + p) / (i + 1) for i, (f, p) in enumerate(zip(fy, py))) / 1.83
            ds = sum(math.sin(tau * f + p) / (i + 1) for i, (f, p) in enumerate(zip(fs, ps))) / 1.83
            return Window(b.cx + 0.012 * w * dx, b.cy + 0.014 * b.h * dy, b.h * (1.035 + 0.008 * ds))
        return b

    def at(self, t: float) -> Window:
        """The window at ``t`` seconds from the shot's start."""
        own = self.own(t)
        if self.start is None:
            return own
        return lerp_window(self.start, own, ease_sine(t / self.settle))

    def end(self) -> Window:
        """The window the shot ends on (what a continuous next shot picks up)."""
        return self.at(self.duration)
