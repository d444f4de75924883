"""Inserts: a clean close view of one object on a surface.

The insert world is a small set in metres: a table top (or the ground, outside)
from ``y = SURFACE`` down, the location's wall or sky softly lit behind, and the
object named by the shot's ``focus`` standing at the origin. :func:`object_kind`
picks a drawing from the focus words (a key, an oil can, a lever, a letter...),
falling back to a generic parcel with a tag.
"""

from __future__ import annotations

import math

from studio.render.animatic.palette import COLOUR_WORDS, RGB, LocationPalette, mix, shade, words
from studio.render.animatic.pen import Pen

SURFACE = 0.1  # metres: the back edge of the table, where the wall begins
OBJECT_Y = -0.17  # metres: where the object stands

KINDS: dict[str, tuple[str, ...]] = {
    "key": ("key", "keys"),
    "can": ("can", "oilcan", "jug", "kettle", "jerrycan", "canister", "teapot"),
    "lever": ("lever", "switch", "handle", "shutter", "throttle", "crank"),
    "letter": ("letter", "envelope", "paper", "papers", "document", "documents", "note", "report", "page", "map",
               "contract", "telegram", "list", "ticket", "plans"),
    "book": ("book", "diary", "notebook", "journal", "ledger", "logbook", "bible", "album"),
    "radio": ("radio", "phone", "telephone", "receiver", "transmitter", "walkie-talkie"),
    "cup": ("cup", "mug", "teacup", "glass", "tumbler"),
    "bottle": ("bottle", "vial", "flask", "decanter", "potion"),
    "knife": ("knife", "dagger", "blade", "scissors"),
    "lantern": ("lantern", "lamp", "candle", "torch", "flashlight"),
    "box": ("box", "case", "chest", "parcel", "package", "crate", "suitcase", "tin"),
    "photo": ("photo", "photograph", "picture", "portrait", "postcard"),
    "ring": ("ring", "necklace", "locket", "pendant", "bracelet"),
    "clock": ("clock", "watch", "pocketwatch", "stopwatch", "compass"),
    "coins": ("coin", "coins", "money", "cash"),
}
MATERIALS: dict[str, RGB] = {
    "iron": (70, 72, 78), "steel": (150, 156, 164), "metal": (130, 134, 140), "wooden": (140, 96, 58),
    "wood": (140, 96, 58), "paper": (236, 230, 214), "glass": (180, 210, 220), "tin": (170, 172, 176),
    "rusty": (150, 80, 44), "old": (150, 120, 80), "battered": (120, 110, 90),
}
DEFAULT_COLOUR: dict[str, RGB] = {
    "key": (196, 160, 70), "can": (190, 150, 70), "lever": (70, 72, 78), "letter": (236, 230, 214),
    "book": (120, 50, 40), "radio": (70, 74, 70), "cup": (220, 216, 206), "bottle": (60, 110, 80),
    "knife": (170, 174, 180), "lantern": (60, 62, 66), "box": (150, 110, 70), "photo": (236, 232, 220),
    "ring": (212, 170, 60), "clock": (190, 150, 70), "coins": (212, 170, 60), "thing": (170, 120, 80),
}


def object_kind(focus: str) -> str:
    """Which drawing fits the words of ``focus`` (the last matching noun wins: "the
    key to the tower" is a key, "the oil can lid" is a can)."""
    found = "thing"
    for w in words(focus):
        for kind, keys in KINDS.items():
            if w in keys:
                found = kind
                if w == "key":
                    return "key"
    return found


def object_colour(focus: str, kind: str) -> RGB:
    for w in words(focus):
        if w in COLOUR_WORDS and w not in ("light", "dark", "pale", "fair"):
            return COLOUR_WORDS[w]
        if w in MATERIALS:
            return MATERIALS[w]
    return DEFAULT_COLOUR[kind]


def draw_insert_set(pen: Pen, pal: LocationPalette) -> None:
    """The surface and the softly lit background of an insert."""
    x0, y0, x1, y1 = pen.world
    back = shade(pal.wall if pal.interior else mix(pal.sky_horizon, pal.far, 0.4), 0.7)
    pen.vgradient(x0, SURFACE, x1, max(y1, SURFACE + 1.0), back, shade(back, 0.7))
    pen.glow(0.0, SURFACE + 0.25, 0.9, 0.5, mix(pal.glow, back, 0.4), 0.45)
    if pal.interior:
        top = pal.wood
        pen.vgradient(x0, min(y0, -1.0), x1, SURFACE, shade(top, 1.05), shade(top, 0.85))
        for k in range(-12, 13):  # grain
            yy = SURFACE - 0.03 - (k + 12) * 0.045
            pen.line([(x0, yy), (x1, yy + 0.006 * math.sin(k))], (*shade(top, 0.8), 90), 0.003)
        pen.rect(x0, SURFACE - 0.012, x1, SURFACE, shade(top, 1.25))
    else:
        top = pal.ground
        pen.vgradient(x0, min(y0, -1.0), x1, SURFACE, shade(top, 1.0), shade(top, 0.8))
        for k in range(-3, 4):
            pen.line([(x0, SURFACE - 0.16 - k * 0.0 - (k + 3) * 0.16), (x1, SURFACE - 0.16 - (k + 3) * 0.16)],
                     (*pal.ground_line, 140), 0.004)
            for j in range(-4, 5):
                bx = j * 0.32 + (k % 2) * 0.16
                yy = SURFACE - 0.16 - (k + 3) * 0.16
                pen.line([(bx, yy), (bx, yy + 0.16)], (*pal.ground_line, 140), 0.004)
    pen.glow(0.0, OBJECT_Y + 0.02, 0.75, 0.32, pal.glow, 0.22)


def draw_object(pen: Pen, focus: str, pal: LocationPalette) -> None:
    """The object named by ``focus``, standing at ``(0, OBJECT_Y)``, about 0.3 m big."""
    kind = object_kind(focus)
    c = object_colour(focus, kind)
    if pal.dark:
        c = mix(c, pal.glow, 0.15)
    hi = mix(c, (255, 255, 255), 0.45)
    lo = shade(c, 0.65)
    ink = (40, 34, 34)
    y = OBJECT_Y
    # contact shadow
    pen.ellipse(0.02, y + 0.005, 0.2, 0.028, (0, 0, 0, 70))
    if kind == "key":
        y += 0.02
        pen.ellipse(-0.14, y + 0.04, 0.075, 0.075, None, outline=c, width=0.03)
        pen.rrect(-0.07, y + 0.027, 0.17, y + 0.053, 0.008, c)
        pen.rect(0.1, y - 0.03, 0.125, y + 0.03, c)
        pen.rect(0.14, y - 0.02, 0.16, y + 0.03, c)
        pen.line([(-0.06, y + 0.047), (0.16, y + 0.047)], hi, 0.004)
    elif kind == "can":
        pen.arc(-0.12, y + 0.12, 0.07, 0.075, 90, 270, lo, 0.02)  # handle
        pen.poly([(0.05, y + 0.15), (0.09, y + 0.15), (0.24, y + 0.29), (0.225, y + 0.305)], c)  # spout
        pen.ellipse(0.232, y + 0.298, 0.012, 0.012, lo)
        pen.rrect(-0.12, y, 0.12, y + 0.17, 0.025, c)
        pen.poly([(-0.12, y + 0.16), (0.12, y + 0.16), (0.045, y + 0.225), (-0.045, y + 0.225)], shade(c, 0.9))
        pen.rrect(-0.035, y + 0.22, 0.035, y + 0.25, 0.008, lo)
        pen.rect(-0.12, y + 0.025, 0.12, y + 0.04, lo)
        pen.rect(-0.12, y + 0.13, 0.12, y + 0.14, lo)
        pen.rrect(-0.085, y + 0.05, -0.06, y + 0.12, 0.01, (*hi, 150))
    elif kind == "lever":
        pen.rrect(-0.18, y - 0.02, 0.18, y + 0.05, 0.01, shade(c, 0.9))
        for s in (-1, 1):
            pen.ellipse(s * 0.14, y + 0.015, 0.012, 0.012, hi)
        pen.arc(0.0, y + 0.05, 0.15, 0.15, 200, 340, lo, 0.015)
        pen.line([(0.0, y + 0.05), (0.12, y + 0.3)], c, 0.028)
        pen.ellipse(0.0, y + 0.05, 0.035, 0.035, hi)
        pen.ellipse(0.125, y + 0.31, 0.04, 0.04, (170, 40, 40))
        pen.ellipse(0.115, y + 0.32, 0.012, 0.012, (240, 160, 160))
    elif kind == "letter":
        pen.poly([(-0.2, y - 0.02), (0.18, y - 0.04), (0.22, y + 0.2), (-0.16, y + 0.22)], (250, 246, 234))
        for k in range(6):
            yy = y + 0.16 - k * 0.028
            pen.line([(-0.14, yy + 0.005), (0.13 - 0.04 * (k == 5), yy - 0.002)], (110, 110, 130), 0.004)
    elif kind == "book":
        pen.poly([(-0.2, y), (0.2, y), (0.2, y + 0.06), (-0.2, y + 0.06)], (236, 230, 210))
        pen.poly([(-0.21, y + 0.06), (0.21, y + 0.06), (0.19, y + 0.09), (-0.19, y + 0.09)], c)
        pen.rect(-0.21, y - 0.01, 0.21, y + 0.01, lo)
        pen.rect(-0.05, y + 0.062, 0.05, y + 0.075, (212, 170, 60))
    elif kind == "radio":
        pen.rrect(-0.17, y, 0.17, y + 0.2, 0.02, c)
        pen.ellipse(-0.07, y + 0.1, 0.055, 0.055, lo)
        pen.rect(0.03, y + 0.12, 0.13, y + 0.16, (200, 170, 90))
        pen.line([(0.12, y + 0.2), (0.2, y + 0.38)], ink, 0.008)
    elif kind == "cup":
        pen.poly([(-0.09, y + 0.17), (0.09, y + 0.17), (0.075, y), (-0.075, y)], c)
        pen.arc(0.1, y + 0.09, 0.05, 0.05, 270, 90, c, 0.015)
        pen.ellipse(0.0, y + 0.17, 0.09, 0.02, lo)
    elif kind == "bottle":
        pen.rrect(-0.07, y, 0.07, y + 0.2, 0.03, c)
        pen.poly([(-0.07, y + 0.19), (0.07, y + 0.19), (0.025, y + 0.26), (-0.025, y + 0.26)], c)
        pen.rect(-0.022, y + 0.26, 0.022, y + 0.33, c)
        pen.rect(-0.026, y + 0.33, 0.026, y + 0.35, (150, 110, 70))
        pen.rect(-0.05, y + 0.06, 0.05, y + 0.13, (236, 230, 210))
        pen.rect(-0.045, y + 0.02, -0.03, y + 0.18, (*hi, 120))
    elif kind == "knife":
        pen.poly([(-0.2, y + 0.02), (0.08, y + 0.02), (0.08, y + 0.06), (-0.14, y + 0.05)], c)
        pen.rrect(0.08, y + 0.012, 0.22, y + 0.068, 0.015, (90, 60, 40))
    elif kind == "lantern":
        pen.rect(-0.1, y, 0.1, y + 0.03, c)
        pen.glow(0.0, y + 0.14, 0.3, 0.3, pal.glow, 0.6)
        pen.rrect(-0.08, y + 0.03, 0.08, y + 0.24, 0.02, (*mix(pal.glow, (255, 255, 255), 0.3), 200))
        for s in (-1, 1):
            pen.rect(s * 0.085 - 0.01, y + 0.03, s * 0.085 + 0.01, y + 0.24, c)
        pen.poly([(-0.11, y + 0.24), (0.11, y + 0.24), (0.0, y + 0.32)], c)
        pen.arc(0.0, y + 0.34, 0.05, 0.04, 180, 360, c, 0.012)
    elif kind == "box":
        pen.rect(-0.18, y, 0.18, y + 0.18, c)
        pen.poly([(-0.18, y + 0.18), (0.18, y + 0.18), (0.22, y + 0.22), (-0.14, y + 0.22)], hi)
        pen.poly([(0.18, y), (0.22, y + 0.04), (0.22, y + 0.22), (0.18, y + 0.18)], lo)
        pen.rect(-0.02, y, 0.02, y + 0.18, shade(c, 0.8))
    elif kind == "photo":
        pen.poly([(-0.17, y - 0.02), (0.17, y - 0.03), (0.18, y + 0.22), (-0.16, y + 0.23)], (246, 242, 232))
        pen.poly([(-0.14, y + 0.01), (0.14, y), (0.15, y + 0.2), (-0.13, y + 0.21)], (120, 130, 140))
        pen.ellipse(0.0, y + 0.13, 0.035, 0.04, (200, 180, 160))
        pen.poly([(-0.06, y + 0.01), (0.06, y + 0.01), (0.04, y + 0.08), (-0.04, y + 0.08)], (80, 80, 90))
    elif kind == "ring":
        pen.ellipse(0.0, y + 0.05, 0.08, 0.05, None, outline=c, width=0.02)
        pen.ellipse(0.0, y + 0.11, 0.025, 0.025, (200, 230, 250))
    elif kind == "clock":
        pen.ellipse(0.0, y + 0.13, 0.13, 0.13, c)
        pen.ellipse(0.0, y + 0.13, 0.105, 0.105, (246, 242, 230))
        pen.line([(0.0, y + 0.13), (0.0, y + 0.21)], ink, 0.008)
        pen.line([(0.0, y + 0.13), (0.05, y + 0.1)], ink, 0.008)
        pen.rect(-0.02, y + 0.26, 0.02, y + 0.29, c)
    elif kind == "coins":
        for k, (cx, cy) in enumerate(((-0.08, 0.0), (0.05, 0.01), (0.0, 0.03), (0.12, -0.01))):
            pen.ellipse(cx, y + cy + 0.02, 0.05, 0.02, shade(c, 0.85 + 0.05 * k))
    else:  # a parcel with a tag: something, clearly labelled
        pen.rrect(-0.16, y, 0.16, y + 0.2, 0.02, c)
        pen.rect(-0.16, y + 0.09, 0.16, y + 0.11, lo)
        pen.rect(-0.01, y, 0.01, y + 0.2, lo)
        pen.line([(0.12, y + 0.18), (0.2, y + 0.1)], ink, 0.004)
        pen.rrect(0.17, y + 0.04, 0.25, y + 0.1, 0.008, (240, 234, 214))
