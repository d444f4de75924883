"""Colours for the animatic: stable hashing, colour words, time-of-day light and the
film's look, and each location's palette.

Everything here is a pure function of its arguments (no global random state, no
clock): the same location, time of day and look always give the same colours.
Colours are ``(r, g, b)`` tuples of ints in 0..255.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
from dataclasses import dataclass

from PIL import Image

RGB = tuple[int, int, int]

_M64 = (1 << 64) - 1


# --------------------------------------------------------------------------- hashing


def stable_int(*parts: object) -> int:
    """A 64-bit integer from the text of ``parts``: the same in every process (unlike
    ``hash()``, which Python salts per process)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def unit(*parts: object) -> float:
    """A stable float in [0, 1) from ``parts``."""
    return stable_int(*parts) / 2**64


def _mix64(x: int) -> int:
    """splitmix64's finaliser: a fast, well-mixed 64-bit integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def cell_rand(seed: int, *ints: int) -> float:
    """A stable float in [0, 1) for a cell of a repeating pattern (cheap: no sha256)."""
    h = seed & _M64
    for i in ints:
        h = _mix64(h ^ (i & _M64))
    return h / 2**64


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters, digits, apostrophes and hyphens split)."""
    return re.findall(r"[a-z0-9']+", text.lower())


# --------------------------------------------------------------------------- colour maths


def clamp8(v: float) -> int:
    return 0 if v < 0 else 255 if v > 255 else int(round(v))


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """``a`` moved a fraction ``t`` (0..1) of the way to ``b``."""
    return (clamp8(a[0] + (b[0] - a[0]) * t), clamp8(a[1] + (b[1] - a[1]) * t), clamp8(a[2] + (b[2] - a[2]) * t))


def shade(c: RGB, k: float) -> RGB:
    """``c`` with every channel multiplied by ``k`` (k < 1 darkens)."""
    return (clamp8(c[0] * k), clamp8(c[1] * k), clamp8(c[2] * k))


def hls(h: float, l: float, s: float) -> RGB:
    """A colour from hue (0..1), lightness (0..1) and saturation (0..1)."""
    r, g, b = colorsys.hls_to_rgb(h % 1.0, max(0.0, min(1.0, l)), max(0.0, min(1.0, s)))
    return (clamp8(r * 255), clamp8(g * 255), clamp8(b * 255))


def to_hls(c: RGB) -> tuple[float, float, float]:
    return colorsys.rgb_to_hls(c[0] / 255, c[1] / 255, c[2] / 255)


def luma(c: RGB) -> float:
    """Perceived brightness, 0..255."""
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def saturate(c: RGB, k: float) -> RGB:
    """Saturation scaled by ``k`` around the colour's own luma (0 = grey)."""
    y = luma(c)
    return (clamp8(y + (c[0] - y) * k), clamp8(y + (c[1] - y) * k), clamp8(y + (c[2] - y) * k))


# --------------------------------------------------------------------------- colour words

#: colour words a description may use, for clothes, hair, walls and objects
COLOUR_WORDS: dict[str, RGB] = {
    "navy": (34, 46, 88), "blue": (52, 92, 168), "cobalt": (40, 72, 170), "sky": (120, 170, 220),
    "teal": (30, 120, 120), "turquoise": (48, 170, 160), "green": (58, 120, 70), "emerald": (30, 130, 80),
    "olive": (100, 102, 48), "khaki": (160, 148, 100), "sage": (140, 160, 128), "brown": (110, 72, 44),
    "chocolate": (80, 50, 32), "tan": (190, 150, 104), "beige": (212, 196, 164), "cream": (236, 226, 200),
    "ivory": (240, 234, 214), "white": (236, 236, 232), "whitewashed": (232, 230, 222), "black": (34, 34, 38),
    "grey": (124, 126, 130), "gray": (124, 126, 130), "charcoal": (62, 64, 68), "silver": (192, 194, 198),
    "red": (178, 40, 40), "scarlet": (200, 36, 36), "crimson": (160, 24, 48), "maroon": (108, 28, 36),
    "burgundy": (112, 26, 44), "pink": (232, 150, 170), "rose": (210, 120, 140), "purple": (110, 60, 140),
    "violet": (130, 80, 180), "lavender": (180, 160, 210), "plum": (100, 50, 90), "orange": (226, 120, 40),
    "rust": (170, 80, 40), "yellow": (236, 196, 40), "mustard": (200, 160, 40), "gold": (212, 170, 60),
    "golden": (212, 170, 60), "brass": (190, 150, 70), "copper": (184, 110, 70), "bronze": (160, 112, 60),
    "denim": (70, 96, 140), "camel": (190, 150, 100), "tweed": (124, 110, 90), "oilskin": (104, 96, 58),
    "leather": (98, 64, 40), "wool": (0, 0, 0),  # material only: no colour (filtered below)
    "blonde": (222, 196, 130), "blond": (222, 196, 130), "auburn": (140, 60, 36), "ginger": (196, 96, 40),
    "dark": (50, 36, 28), "light": (200, 180, 150), "fair": (226, 204, 150), "pale": (220, 214, 200),
}
COLOUR_WORDS.pop("wool")


# --------------------------------------------------------------------------- light and look


@dataclass(frozen=True)
class TimeLight:
    """How a time of day lights a scene: sky gradient, the key light multiplier
    (per channel, applied to lit surfaces) and whether it is dark outside."""

    sky_top: RGB
    sky_horizon: RGB
    key: tuple[float, float, float]
    dark: bool
    sun: RGB | None  # a low sun/moon disc colour, or None


TIMES: dict[str, TimeLight] = {
    "dawn": TimeLight((64, 74, 136), (250, 178, 160), (0.92, 0.80, 0.82), False, (255, 214, 170)),
    "morning": TimeLight((104, 160, 222), (222, 232, 232), (1.0, 0.98, 0.94), False, None),
    "day": TimeLight((84, 148, 222), (196, 224, 242), (1.0, 1.0, 1.0), False, None),
    "afternoon": TimeLight((96, 148, 212), (240, 220, 178), (1.0, 0.95, 0.86), False, None),
    "dusk": TimeLight((58, 48, 110), (246, 142, 92), (0.86, 0.66, 0.62), False, (255, 170, 90)),
    "evening": TimeLight((30, 36, 82), (140, 86, 112), (0.58, 0.54, 0.70), True, None),
    "night": TimeLight((8, 14, 38), (28, 44, 86), (0.40, 0.47, 0.72), True, (236, 236, 214)),
}

#: interiors are lit by their own lamps once it is dark outside
INTERIOR_NIGHT_KEY = (0.96, 0.80, 0.62)
INTERIOR_DAY_KEY = (0.98, 0.98, 1.0)


def time_light(time_of_day: str) -> TimeLight:
    return TIMES.get(time_of_day.lower().strip(), TIMES["day"])


@dataclass(frozen=True)
class Look:
    """The film's look, read from its ``look`` words: a per-channel tint, a
    saturation factor, a lift toward white (pastel) and monochrome/sepia."""

    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    saturation: float = 1.0
    lift: float = 0.0
    mono: bool = False
    sepia: bool = False
    contrast: float = 1.0

    @property
    def identity(self) -> bool:
        return self == Look()

    def matrix(self) -> tuple[float, ...]:
        """The look's colour matrix (tint, then saturation, then mono/sepia), as the
        12 numbers ``Image.convert("RGB", matrix)`` takes."""
        y = (0.299, 0.587, 0.114)
        k = 0.0 if (self.mono or self.sepia) else self.saturation
        rows = []
        for i, out_scale in enumerate((1.07, 0.95, 0.78) if self.sepia else (1.0, 1.0, 1.0)):
            row = [(1 - k) * y[j] + (k if i == j else 0.0) for j in range(3)]
            rows.append([row[j] * self.tint[j] * out_scale for j in range(3)] + [0.0])
        return tuple(v for r in rows for v in r)

    def lut(self) -> list[int]:
        """The look's per-channel curve (contrast, then a lift toward paper white) as a
        768-entry ``Image.point`` table."""
        table: list[int] = []
        for white in (250, 248, 244):
            for v in range(256):
                x = 128 + (v - 128) * self.contrast
                x = x + (white - x) * self.lift
                table.append(clamp8(x))
        return table

    def apply(self, c: RGB) -> RGB:
        """One colour through the look (what :meth:`image` does to every pixel)."""
        m = self.matrix()
        out = tuple(clamp8(m[4 * i] * c[0] + m[4 * i + 1] * c[1] + m[4 * i + 2] * c[2]) for i in range(3))
        lut = self.lut()
        return (lut[out[0]], lut[256 + out[1]], lut[512 + out[2]])

    def image(self, img: Image.Image) -> Image.Image:
        """``img`` (RGB) through the look."""
        if self.identity:
            return img
        out = img.convert("RGB", self.matrix())
        if self.contrast != 1.0 or self.lift:
            out = out.point(self.lut())
        return out


def parse_look(text: str) -> Look:
    """The :class:`Look` of a film's ``look`` text. Warm and cold together (e.g. "warm
    lamplight against cold sea blues") cancel: the palette already has both."""
    t = text.lower()
    w = set(words(t))
    warm = bool(w & {"warm", "golden", "amber", "sunny", "honey"})
    cold = bool(w & {"cold", "cool", "icy", "wintry", "steel", "teal"})
    tint = (1.0, 1.0, 1.0)
    if warm and not cold:
        tint = (1.06, 1.0, 0.88)
    elif cold and not warm:
        tint = (0.90, 0.98, 1.08)
    mono = bool(w & {"noir", "monochrome", "grayscale", "greyscale"}) or "black and white" in t or "b&w" in t \
        or "black-and-white" in t
    sepia = "sepia" in w
    saturation = 1.0
    lift = 0.0
    contrast = 1.0
    if w & {"pastel", "pastels"}:
        lift, saturation = 0.22, 0.75
    if w & {"muted", "desaturated", "faded", "washed"}:
        saturation *= 0.7
    if w & {"vivid", "saturated", "vibrant", "technicolor", "colourful", "colorful"}:
        saturation *= 1.2
    if w & {"noir", "high-contrast", "contrasty", "gritty"} or "high contrast" in t:
        contrast = 1.15
    return Look(tint, saturation, lift, mono, sepia, contrast)


# --------------------------------------------------------------------------- locations

#: description words that switch on a backdrop motif
MOTIF_WORDS: dict[str, tuple[str, ...]] = {
    "sea": ("sea", "ocean", "waves", "wave", "harbour", "harbor", "bay", "coast", "shore", "beach", "seaside",
            "quay", "pier", "dock", "docks", "marina", "lighthouse", "cliff", "cliffs"),
    "rain": ("rain", "raining", "rainy", "storm", "stormy", "downpour", "drizzle", "streaming"),
    "snow": ("snow", "snowy", "snowing", "blizzard", "frost", "icy"),
    "fog": ("fog", "foggy", "mist", "misty", "haze"),
    "windows": ("window", "windows", "glass", "glazed", "conservatory", "greenhouse"),
    "glasshouse": ("glass",),
    "stairs": ("stairs", "stair", "staircase", "stairwell", "steps", "spiral", "tower"),
    "trees": ("tree", "trees", "forest", "wood", "woods", "woodland", "park", "garden", "orchard", "jungle", "pines"),
    "city": ("city", "street", "streets", "buildings", "building", "town", "skyline", "downtown", "alley",
             "rooftop", "avenue", "shops", "village"),
    "boats": ("boat", "boats", "ship", "ships", "trawler", "fishing", "yacht", "ferry", "harbour", "harbor",
              "quay", "marina"),
    "lamp": ("lamp", "lens", "lantern", "candle", "candles", "chandelier"),
    "lens": ("lens",),
    "table": ("table", "kitchen", "diner", "cafe", "café", "restaurant", "desk", "dining", "bar", "pub"),
    "kitchen": ("kitchen", "stove", "cooker", "sink"),
    "shelves": ("library", "books", "bookshelf", "bookshelves", "shelves", "study", "office", "shop", "archive"),
    "bed": ("bed", "bedroom", "hospital", "ward"),
    "sofa": ("sofa", "couch", "living", "lounge", "parlour", "parlor"),
    "fire": ("fireplace", "hearth", "fire", "stove"),
    "hills": ("hill", "hills", "field", "fields", "meadow", "countryside", "farm", "valley", "moor", "moors"),
    "mountains": ("mountain", "mountains", "peaks", "alpine", "ridge"),
    "desert": ("desert", "dunes", "sand"),
    "ropes": ("rope", "ropes", "coiled", "nets"),
    "puddles": ("puddle", "puddles", "wet"),
    "gulls": ("gull", "gulls", "seagull", "seagulls", "birds"),
    "railing": ("railing", "railings", "banister", "balustrade"),
    "door": ("door", "doorway", "hall", "hallway", "corridor", "entrance", "porch"),
    "stone": ("stone", "cobbled", "cobblestones", "quay", "castle", "cellar", "crypt"),
}

EXTERIOR_WORDS = ("street", "quay", "pier", "beach", "field", "forest", "park", "garden", "harbour", "harbor",
                  "road", "yard", "courtyard", "rooftop", "cliff", "hill", "mountain", "desert", "outside",
                  "outdoors", "sky", "shore", "dock", "square", "meadow", "alley", "bridge", "woods")
INTERIOR_WORDS = ("room", "kitchen", "hall", "hallway", "office", "bedroom", "stairs", "staircase", "inside",
                  "interior", "corridor", "apartment", "flat", "house", "cabin", "cellar", "library", "bar",
                  "cafe", "diner", "restaurant", "shop", "studio", "tower", "attic", "lounge", "church", "ward")


def guess_interior(description: str, name: str = "") -> bool:
    """Interior or exterior from the words of a location (ties go to interior)."""
    w = words(description + " " + name)
    inside = sum(1 for x in w if x in INTERIOR_WORDS)
    outside = sum(1 for x in w if x in EXTERIOR_WORDS)
    return inside >= outside


def motifs_of(description: str, name: str = "") -> frozenset[str]:
    """The backdrop motifs a location's words switch on."""
    w = set(words(description + " " + name))
    return frozenset(m for m, keys in MOTIF_WORDS.items() if w & set(keys))


@dataclass(frozen=True)
class LocationPalette:
    """A location's colours, already lit for the time of day and graded by the look.

    ``seed`` drives the layout (where windows, boats, trees stand); it depends only
    on the location, never on the shot."""

    seed: int
    interior: bool
    time: str
    dark: bool
    motifs: frozenset[str]
    sky_top: RGB
    sky_horizon: RGB
    sun: RGB | None
    wall: RGB
    wall_shadow: RGB
    trim: RGB
    floor: RGB
    floor_line: RGB
    ceiling: RGB
    ground: RGB
    ground_line: RGB
    far: RGB  # hills, skyline, tree line
    sea: RGB
    sea_dark: RGB
    sea_line: RGB
    wood: RGB
    metal: RGB
    accent: RGB
    glow: RGB  # lamplight, lit windows
    rain: RGB
    ink: RGB  # outlines and deep shadows


def _wall_colour(w: list[str], seed: int) -> RGB:
    for i, x in enumerate(w):
        if x in ("whitewashed", "whitewash", "white"):
            return (226, 224, 214)
        if x in ("brick", "bricks"):
            return (150, 84, 64)
        if x in ("stone", "concrete"):
            return (150, 146, 136)
        if x in ("wooden", "wood", "timber", "panelled", "paneled", "log"):
            return (136, 96, 62)
        if x in COLOUR_WORDS and i + 1 < len(w) and w[i + 1] in ("wall", "walls", "room", "kitchen", "paint"):
            return COLOUR_WORDS[x]
    # a hue that suits the place: cool by the sea, green among trees, warm indoors
    choices = [0.08, 0.11, 0.14, 0.3, 0.45, 0.55, 0.6, 0.95]
    if set(w) & set(MOTIF_WORDS["sea"]):
        choices = [0.48, 0.52, 0.56, 0.6]
    elif set(w) & set(MOTIF_WORDS["trees"]):
        choices = [0.22, 0.28, 0.33, 0.12]
    elif set(w) & set(MOTIF_WORDS["kitchen"]) | set(MOTIF_WORDS["fire"]):
        choices = [0.08, 0.11, 0.14, 0.3]
    h = choices[int(unit(seed, "hue") * len(choices))] + (unit(seed, "jitter") - 0.5) * 0.04
    return hls(h, 0.56 + 0.08 * unit(seed, "l"), 0.18 + 0.12 * unit(seed, "s"))


def location_palette(location_id: str, description: str, time_of_day: str, interior: bool | None,
                     look: str = "", name: str = "") -> LocationPalette:
    """The palette of a location lit for a time of day: a pure function of its
    arguments. (The film's ``look`` is applied to the drawn picture, see
    :meth:`Look.image`; ``look`` is accepted for symmetry and ignored here.)"""
    seed = stable_int("location", location_id, description)
    is_interior = guess_interior(description, name) if interior is None else interior
    motifs = motifs_of(description, name)
    w = words(description + " " + name)
    light = time_light(time_of_day)

    wall = _wall_colour(w, seed)
    hue = to_hls(wall)[0]
    floor = hls(hue + 0.05, 0.32, 0.22) if "stone" not in motifs else (112, 108, 100)
    if "stairs" in motifs or "stone" in motifs:
        floor = (124, 118, 108)
    ground = (112, 110, 104) if "stone" in motifs else (96, 124, 70) if motifs & {"trees", "hills"} else \
        (206, 184, 138) if "desert" in motifs else (118, 112, 100)
    far = (86, 116, 88) if "trees" in motifs else (118, 128, 150) if "city" in motifs else \
        (120, 140, 110) if "hills" in motifs else (120, 132, 160)
    sea = (42, 96, 122)
    metal = (70, 72, 78)
    if "railing" in motifs or "iron" in w:
        metal = (44, 46, 52)
    base = dict(
        wall=wall, wall_shadow=shade(wall, 0.78), trim=mix(wall, (250, 248, 240), 0.45), floor=floor,
        floor_line=shade(floor, 0.8), ceiling=shade(wall, 0.7), ground=ground, ground_line=shade(ground, 0.82),
        far=far, sea=sea, sea_dark=shade(sea, 0.72), sea_line=mix(sea, (220, 236, 240), 0.35),
        wood=(124, 84, 52), metal=metal, accent=COLOUR_WORDS["brass"] if "brass" in w else hls(hue + 0.5, 0.5, 0.45),
    )

    if is_interior:
        key = INTERIOR_NIGHT_KEY if light.dark else INTERIOR_DAY_KEY
        brightness = 0.84 if light.dark else 1.0
    else:
        key = light.key
        brightness = 1.0

    def lit(c: RGB) -> RGB:
        k = brightness
        return clamp8(c[0] * key[0] * k), clamp8(c[1] * key[1] * k), clamp8(c[2] * key[2] * k)

    def outside(c: RGB) -> RGB:  # what a window shows: the exterior light
        return clamp8(c[0] * light.key[0]), clamp8(c[1] * light.key[1]), clamp8(c[2] * light.key[2])

    out = {k: lit(v) for k, v in base.items()}
    if is_interior:
        out["sea"], out["sea_dark"], out["sea_line"] = (outside(base["sea"]), outside(base["sea_dark"]),
                                                        outside(base["sea_line"]))
        out["far"] = outside(base["far"])
    glow = (255, 214, 140) if light.dark else (255, 238, 196)
    return LocationPalette(
        seed=seed, interior=is_interior, time=time_of_day, dark=light.dark, motifs=motifs,
        sky_top=light.sky_top, sky_horizon=light.sky_horizon, sun=light.sun,
        glow=glow, rain=(196, 214, 232), ink=(24, 24, 32),
        **out,  # type: ignore[arg-type]
    )


def figure_light(time_of_day: str, interior: bool) -> tuple[float, float, float]:
    """The light that falls on figures: half way between neutral and the scene's key
    (figures stay readable at night)."""
    light = time_light(time_of_day)
    key = (INTERIOR_NIGHT_KEY if light.dark else INTERIOR_DAY_KEY) if interior else light.key
    soft = tuple(0.5 + 0.5 * k for k in key)
    if light.dark and not interior:
        soft = tuple(0.3 + 0.6 * k for k in key)
    return soft  # type: ignore[return-value]
