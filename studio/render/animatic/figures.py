"""Characters as flat, stylised figures.

:func:`character_look` reads a character's description ("silver hair in a loose
braid, navy wool sweater, oilskin coat") into a :class:`CharacterLook`: skin, hair,
clothes and props, with anything the words leave open hashed from the character's
id, so a character looks the same in every shot. :func:`draw_figure` draws one at
any size with a :class:`~studio.render.animatic.pen.Pen`, facing the camera (eyes,
brows, nose, mouth open or closed, glancing toward ``gaze``) or seen from behind.

Figure geometry is in metres: the feet at ``(x, y)``, the crown at ``y + height``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from PIL import Image

from studio.graph.export import character_colour
from studio.render.animatic.acting import NEUTRAL, FaceState
from studio.render.animatic.lipsync import OPENING
from studio.render.animatic.palette import (
    COLOUR_WORDS,
    RGB,
    clamp8,
    mix,
    shade,
    stable_int,
    unit,
    words,
)
from studio.render.animatic.pen import Pen

TOPS = ("sweater", "jumper", "cardigan", "hoodie", "shirt", "blouse", "t-shirt", "tshirt", "tee", "top", "vest",
        "jersey", "pullover", "turtleneck", "polo", "tunic", "waistcoat", "sweatshirt", "fleece")
COATS = ("coat", "raincoat", "overcoat", "parka", "anorak", "trench", "mac", "cloak", "cape", "poncho", "duster")
JACKETS = ("jacket", "blazer", "suit", "uniform", "windbreaker", "bomber", "gilet")
BOTTOMS = ("trousers", "jeans", "pants", "skirt", "shorts", "slacks", "leggings", "overalls", "dungarees", "chinos")
DRESSES = ("dress", "gown", "robe", "frock", "habit", "kimono", "sari")
HATS = ("hat", "cap", "beanie", "beret", "bonnet", "helmet", "fedora", "trilby", "bowler")
FEMININE = ("woman", "girl", "grandmother", "granny", "mother", "mum", "mom", "daughter", "sister", "aunt", "wife",
            "lady", "queen", "princess", "actress", "widow", "niece", "grandma", "matriarch", "nun", "she", "her",
            "hers", "herself")
MASCULINE = ("man", "boy", "grandfather", "grandson", "father", "dad", "son", "brother", "uncle", "husband",
             "gentleman", "king", "prince", "actor", "widower", "nephew", "grandpa", "monk", "he", "him", "his",
             "himself", "bearded", "guy")
PRONOUNS = ("she", "her", "hers", "herself", "he", "him", "his", "himself")
OLD = ("sixties", "seventies", "eighties", "nineties", "elderly", "old", "aged", "grandmother", "grandfather",
       "granny", "grandma", "grandpa", "retired", "wrinkled", "ancient", "sixty", "seventy", "eighty")
YOUNG = ("teen", "teenager", "teenage", "seventeen", "sixteen", "fifteen", "eighteen", "nineteen", "young",
         "youthful", "student", "grandson", "granddaughter", "twenties")
CHILD = ("child", "kid", "little", "toddler", "schoolgirl", "schoolboy", "eight", "nine", "ten", "seven", "six")
SKINS: tuple[RGB, ...] = ((244, 210, 184), (234, 192, 158), (220, 170, 130), (198, 146, 104), (170, 118, 82),
                          (136, 92, 64), (104, 70, 50))
HAIRS: tuple[RGB, ...] = ((38, 30, 28), (66, 44, 32), (104, 70, 44), (140, 68, 36), (206, 174, 108), (58, 40, 30))
TOP_COLOURS: tuple[RGB, ...] = ((176, 64, 56), (64, 110, 150), (90, 130, 90), (196, 150, 70), (120, 90, 140),
                                (210, 200, 180), (70, 80, 96), (160, 110, 80), (200, 120, 120), (80, 140, 140))
BOTTOM_COLOURS: tuple[RGB, ...] = ((60, 78, 110), (56, 58, 64), (96, 76, 58), (150, 136, 104), (40, 40, 46),
                                   (84, 90, 70))
STOP_WORDS = {"and", "with", "under", "over", "a", "an", "the", "in", "on", "of", "her", "his", "their", "its", ","}


@dataclass(frozen=True)
class CharacterLook:
    """How a character is drawn. Colours are RGB; ``height`` is metres; ``build``
    scales shoulder width (1.0 = average)."""

    id: str
    height: float
    build: float
    feminine: bool
    age: str  # "child", "young", "adult", "old"
    skin: RGB
    hair: RGB
    hair_style: str  # short, long, curly, braid, bun, ponytail, bald
    top: RGB
    outer: RGB | None  # a coat or jacket worn open over the top
    bottom: RGB
    shoes: RGB
    dress: bool
    skirt: bool  # a skirt instead of trousers (``bottom`` is its colour)
    collar: RGB | None  # a shirt collar and tie under a suit
    glasses: bool
    hat: RGB | None
    scarf: RGB | None
    beard: bool
    props: tuple[str, ...]  # "radio", "clipboard", "bag", "umbrella", "book"
    accent: RGB  # the character's colour in every studio picture

    def lit(self, key: tuple[float, float, float]) -> CharacterLook:
        """This look lit by ``key`` (per-channel multipliers of every colour)."""

        def g(c: RGB | None) -> RGB | None:
            if c is None:
                return None
            return clamp8(c[0] * key[0]), clamp8(c[1] * key[1]), clamp8(c[2] * key[2])

        return replace(self, skin=g(self.skin), hair=g(self.hair), top=g(self.top), outer=g(self.outer),
                       bottom=g(self.bottom), shoes=g(self.shoes), collar=g(self.collar), hat=g(self.hat),
                       scarf=g(self.scarf))


def _tokens(text: str) -> list[str]:
    """Lower-case words with commas kept as tokens (a comma ends a colour phrase)."""
    return re.findall(r"[a-z0-9'-]+|,", text.lower().replace(";", ",").replace(".", ","))


def _colour_before(tokens: list[str], i: int, reach: int = 3) -> RGB | None:
    """The colour word among the (up to ``reach``) words before ``tokens[i]``."""
    for j in range(i - 1, max(-1, i - 1 - reach), -1):
        t = tokens[j]
        if t in STOP_WORDS:
            return None
        for part in reversed(t.split("-")):
            if part in COLOUR_WORDS:
                c = COLOUR_WORDS[part]
                if j > 0 and tokens[j - 1] in ("light", "pale") and part not in ("light", "pale"):
                    c = mix(c, (245, 245, 245), 0.4)
                elif j > 0 and tokens[j - 1] == "dark" and part != "dark":
                    c = shade(c, 0.6)
                return c
    return None


def _garment_colour(tokens: list[str], names: tuple[str, ...]) -> tuple[RGB | None, str | None]:
    """The first garment of ``names`` in ``tokens``: (its colour or None, its name)."""
    for i, t in enumerate(tokens):
        base = t.rstrip("s") if t.endswith("s") and t.rstrip("s") in names else t
        if base in names:
            return _colour_before(tokens, i), base
    return None, None


def character_look(character_id: str, description: str) -> CharacterLook:
    """A character's look from its id and description: a pure function of both."""
    seed = stable_int("character", character_id)
    toks = _tokens(description)
    w = set(words(description))

    fem_nouns = sum(1 for t in toks if t in FEMININE and t not in PRONOUNS)
    masc_nouns = sum(1 for t in toks if t in MASCULINE and t not in PRONOUNS)
    if fem_nouns != masc_nouns:
        feminine = fem_nouns > masc_nouns
    else:
        fem = sum(1 for t in toks if t in FEMININE)
        masc = sum(1 for t in toks if t in MASCULINE)
        feminine = fem > masc if fem != masc else unit(seed, "gender") < 0.5

    age = "adult"
    if w & set(CHILD) and not w & (set(YOUNG) | set(OLD)):
        age = "child"
    elif w & set(OLD):
        age = "old"
    elif w & set(YOUNG):
        age = "young"

    height = (1.65 if feminine else 1.77) + (unit(seed, "height") - 0.5) * 0.08
    if w & {"tall", "lanky", "towering", "gangly", "long-legged"}:
        height += 0.08
    if w & {"short", "small", "petite", "tiny", "stooped"}:
        height -= 0.09
    if age == "child":
        height = 1.25 + (unit(seed, "height") - 0.5) * 0.1
    build = 1.0 + (unit(seed, "build") - 0.5) * 0.1
    if w & {"lanky", "thin", "slim", "skinny", "wiry", "slender", "gaunt", "gangly"}:
        build = 0.88
    if w & {"stocky", "broad", "burly", "heavy", "stout", "portly", "big", "muscular", "heavyset"}:
        build = 1.16
    if feminine:
        build *= 0.93

    # skin: "<colour> skin", "<word>-skinned", else hashed
    skin = SKINS[int(unit(seed, "skin") * len(SKINS))]
    for i, t in enumerate(toks):
        if t in ("skin", "complexion") and i > 0:
            word = toks[i - 1]
            table = {"pale": SKINS[0], "fair": SKINS[0], "light": SKINS[1], "olive": SKINS[2], "tanned": SKINS[3],
                     "tan": SKINS[3], "brown": SKINS[4], "dark": SKINS[5], "deep": SKINS[6], "black": SKINS[6]}
            skin = table.get(word, skin)
        elif t.endswith("-skinned"):
            skin = {"pale": SKINS[0], "fair": SKINS[0], "olive": SKINS[2], "dark": SKINS[5],
                    "brown": SKINS[4]}.get(t.split("-")[0], skin)
    if "weathered" in w or "ruddy" in w or "sunburnt" in w:
        skin = mix(skin, (206, 128, 100), 0.16)

    # hair
    hair: RGB | None = None
    for i, t in enumerate(toks):
        if t in ("hair", "hair's", "curls", "braid", "ponytail", "bun", "beard", "locks"):
            hair = hair or _colour_before(toks, i, 3)
    if hair is None:
        for t in toks:
            if t in ("silver-haired", "grey-haired", "gray-haired", "white-haired"):
                hair = COLOUR_WORDS["silver"]
            elif t.endswith("-haired") and t.split("-")[0] in COLOUR_WORDS:
                hair = COLOUR_WORDS[t.split("-")[0]]
    if hair is None:
        hair = (184, 182, 184) if age == "old" else HAIRS[int(unit(seed, "hair") * len(HAIRS))]
    if w & {"bald", "shaved", "shaven"}:
        style = "bald"
    elif "braid" in w or "braids" in w or "plait" in w:
        style = "braid"
    elif "ponytail" in w:
        style = "ponytail"
    elif "bun" in w:
        style = "bun"
    elif w & {"curly", "curls", "afro", "frizzy", "wavy"}:
        style = "curly"
    elif w & {"long", "flowing"} and "hair" in w:
        style = "long"
    elif w & {"short", "cropped", "crew", "buzz"} and "hair" in w:
        style = "short"
    else:
        style = ("long" if unit(seed, "style") < 0.6 else "bun") if feminine else "short"

    # clothes
    top, top_name = _garment_colour(toks, TOPS)
    coat, coat_name = _garment_colour(toks, COATS)
    jacket, jacket_name = _garment_colour(toks, JACKETS)
    bottom, bottom_name = _garment_colour(toks, BOTTOMS)
    dress_colour, dress_name = _garment_colour(toks, DRESSES)
    hat_colour, hat_name = _garment_colour(toks, HATS)
    scarf, scarf_name = _garment_colour(toks, ("scarf", "shawl", "muffler"))
    # a material word before a garment names its colour when there's no colour word
    material = {"oilskin": COLOUR_WORDS["oilskin"], "tweed": COLOUR_WORDS["tweed"], "denim": COLOUR_WORDS["denim"],
                "leather": COLOUR_WORDS["leather"], "camel": COLOUR_WORDS["camel"]}
    hashed_top = TOP_COLOURS[int(unit(seed, "top") * len(TOP_COLOURS))]
    outer: RGB | None = None
    collar: RGB | None = None
    if coat_name:
        outer = coat or hashed_outer(seed)
        if jacket_name:  # e.g. a suit under a raincoat: the suit is the layer beneath
            top = top or jacket or hashed_top
    elif jacket_name:
        outer = jacket or hashed_outer(seed)
    if jacket_name == "suit":
        collar = (236, 236, 232)
        bottom = bottom or jacket or (70, 72, 78)
    top = top or (dress_colour if dress_name else None) or hashed_top
    if outer is not None and top == outer:
        top = mix(top, (240, 236, 226), 0.5)
    bottom = bottom or BOTTOM_COLOURS[int(unit(seed, "bottom") * len(BOTTOM_COLOURS))]
    for name, colour in material.items():
        if name in w and coat_name and coat is None:
            outer = colour
    shoes = (44, 36, 32) if unit(seed, "shoes") < 0.6 else (28, 28, 30)
    if w & {"boots", "wellies", "wellingtons"}:
        shoes = (40, 40, 40)

    props = tuple(p for p in ("radio", "clipboard", "bag", "umbrella", "book", "lantern", "torch", "cane", "satchel")
                  if p in w)
    return CharacterLook(
        id=character_id, height=round(height, 3), build=round(build, 3), feminine=feminine, age=age,
        skin=skin, hair=hair, hair_style=style, top=top, outer=outer, bottom=bottom, shoes=shoes,
        dress=bool(dress_name), skirt=bottom_name == "skirt", collar=collar,
        glasses=bool(w & {"glasses", "spectacles", "specs", "bifocals", "monocle", "sunglasses"}),
        hat=(hat_colour or (70, 60, 50)) if hat_name else None,
        scarf=(scarf or (170, 60, 50)) if scarf_name else None,
        beard=bool(w & {"beard", "bearded", "moustache", "mustache", "stubble", "goatee"}),
        props=props, accent=character_colour(character_id),
    )


def hashed_outer(seed: int) -> RGB:
    options = ((80, 64, 48), (58, 70, 60), (70, 76, 96), (128, 96, 64), (96, 40, 40))
    return options[int(unit(seed, "outer") * len(options))]


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class FigureGeometry:
    """Key heights (metres above the feet) and half-widths of a figure of a given size."""

    height: float
    head_h: float
    head_w: float
    head_cy: float
    eye_y: float
    shoulder_y: float
    shoulder_w: float  # half-width
    waist_y: float
    hip_y: float
    knee_y: float

    @classmethod
    def of(cls, look: CharacterLook, scale: float = 1.0) -> FigureGeometry:
        h = look.height * scale
        head_h = h * (0.17 if look.age == "child" else 0.152)
        head_w = head_h * 0.8
        return cls(
            height=h, head_h=head_h, head_w=head_w, head_cy=h - head_h / 2, eye_y=h - head_h * 0.5,
            shoulder_y=h - head_h - h * 0.04, shoulder_w=h * 0.125 * look.build,
            waist_y=h * 0.56, hip_y=h * 0.48, knee_y=h * 0.27,
        )


def seat_drop(look: CharacterLook, scale: float = 1.0) -> float:
    """How far (metres) a figure's body comes down when it sits: hips onto a seat at knee height."""
    g = FigureGeometry.of(look, scale)
    return g.hip_y - g.knee_y


def figure_extent(look: CharacterLook, x: float, y: float, scale: float = 1.0) -> tuple[float, float, float, float]:
    """The world box a figure can cover (arms, hair and props included)."""
    g = FigureGeometry.of(look, scale)
    half = g.shoulder_w * 1.7 + 0.08 * scale
    return x - half, y - 0.02 * scale, x + half, y + g.height + 0.08 * scale


# --------------------------------------------------------------------------- drawing


STRIDE_REACH = 0.085  # of the figure's height: how far a foot swings out at the height of a step
STRIDE_LIFT = 0.03  # of the figure's height: how high the swinging foot comes off the floor


def _foot(stride: float, side: int, height: float) -> tuple[float, float]:
    """Where the foot on ``side`` (-1 screen left, 1 right) is moved by a walk at
    ``stride`` (-1..1): the legs scissor (one foot out to one side as the other goes
    to the other) and the foot swinging through is lifted. (0, 0) standing still."""
    if not stride:
        return 0.0, 0.0
    swing = stride * side
    return swing * STRIDE_REACH * height, max(0.0, swing) * STRIDE_LIFT * height


def draw_figure(pen: Pen, look: CharacterLook, x: float, y: float, *, scale: float = 1.0, back: bool = False,
                gaze: float = 0.0, mouth_open: bool = False, face: Image.Image | None = None,
                dim: float = 1.0, rim: RGB | None = None, act: FaceState | None = None,
                floor: float | None = None, chair: bool = False) -> None:
    """Draw ``look`` standing with feet at ``(x, y)``. ``gaze`` (-1..1) turns the face
    toward screen left/right; ``dim`` (0..1) darkens everything (a silhouette in the
    foreground); ``face`` is a face image composited onto the head (front view);
    ``rim`` outlines head and shoulders with a light of that colour (the speaker);
    ``act`` is what the face does (mouth shape, expression, blink), else a resting
    face with the mouth open or not by ``mouth_open``. ``floor`` is where the feet
    are when above ``y`` (the body comes down onto a seat: the legs fold); ``chair``
    draws a chair behind them, its seat at knee height over the floor. ``act.arm``
    raises the arm on the side of ``gaze`` (a gesture)."""
    if act is None:
        act = FaceState(mouth="open") if mouth_open else NEUTRAL
    g = FigureGeometry.of(look, scale)
    foot = y if floor is None else max(y, floor)
    if not pen.visible(*figure_extent(look, x, min(y, foot), scale)) and not (
            foot > y and pen.visible(*figure_extent(look, x, foot, scale))):
        return

    def c(col: RGB | None) -> RGB:
        assert col is not None
        return shade(col, dim) if dim != 1.0 else col

    h = g.height
    sw = g.shoulder_w
    skin = c(look.skin)
    hair = c(look.hair)
    top = c(look.top)
    outer = c(look.outer) if look.outer else None
    coat_len = g.knee_y + 0.06 * h if outer and look.outer is not None else None

    if chair:
        _chair(pen, x, foot, g, sw, c)
    # legs and shoes
    leg_w = sw * 0.36
    gap = sw * 0.07
    legs = c(look.bottom)
    if foot > y + 1e-6:  # seated: the thighs come toward us, the shins stand on the floor
        for s in (-1, 1):
            x0, x1 = sorted((x + s * gap, x + s * (gap + leg_w * 1.08)))
            pen.poly([(x0, y + g.hip_y), (x1, y + g.hip_y), (x1 + s * 0.004 * h, foot + h * 0.035),
                      (x0 + s * 0.004 * h, foot + h * 0.035)], legs)
            pen.ellipse((x0 + x1) / 2, y + g.hip_y - h * 0.02, leg_w * 0.62, h * 0.035, shade(legs, 1.1))
            sx = x + s * (gap + leg_w * 0.5) + s * 0.012 * h
            pen.ellipse(sx + s * 0.01 * h, foot + h * 0.022, leg_w * 0.72, h * 0.024, c(look.shoes))
        if look.dress or look.skirt:
            cloth = top if look.dress else legs
            pen.poly([(x - sw * 0.85, y + g.waist_y), (x + sw * 0.85, y + g.waist_y), (x + sw * 1.1, y + g.hip_y - h * 0.05),
                      (x - sw * 1.1, y + g.hip_y - h * 0.05)], cloth)
    elif look.dress or look.skirt:
        hem = y + h * 0.24
        for s in (-1, 1):  # bare legs (or stockings) below the hem
            lx0, lx1 = sorted((x + s * (gap + leg_w * 0.15), x + s * (gap + leg_w * 0.8)))
            dx, lift = _foot(act.stride, s, h)
            if dx or lift:  # a step: the leg swings from the hem
                pen.poly([(lx0, hem + h * 0.02), (lx1, hem + h * 0.02), (lx1 + dx, y + h * 0.03 + lift),
                          (lx0 + dx, y + h * 0.03 + lift)], shade(skin, 0.92))
            else:
                pen.rect(lx0, y + h * 0.03, lx1, hem + h * 0.02, shade(skin, 0.92))
        cloth = top if look.dress else legs
        pen.poly([(x - sw * 0.85, y + g.waist_y), (x + sw * 0.85, y + g.waist_y), (x + sw * 1.05, hem),
                  (x - sw * 1.05, hem)], cloth)
        pen.rect(x - sw * 1.05, hem, x + sw * 1.05, hem + h * 0.012, shade(cloth, 0.82))
    else:
        for s in (-1, 1):
            x0, x1 = sorted((x + s * gap, x + s * (gap + leg_w)))
            dx, lift = _foot(act.stride, s, h)
            pen.poly([(x0 - s * 0.0, y + g.hip_y), (x1, y + g.hip_y),
                      (x1 + (0.01 * h if s > 0 else 0) + dx, y + h * 0.035 + lift),
                      (x0 - (0.01 * h if s < 0 else 0) + dx, y + h * 0.035 + lift)], legs)
        pen.rect(x - gap * 0.6, y + g.hip_y - h * 0.06, x + gap * 0.6, y + g.hip_y + 0.01, shade(legs, 0.85))
    for s in (-1, 1):
        if foot > y + 1e-6:
            break
        dx, lift = _foot(act.stride, s, h)
        sx = x + s * (gap + leg_w * 0.5) + s * 0.012 * h + dx
        pen.ellipse(sx + s * 0.01 * h, y + h * 0.022 + lift, leg_w * 0.72, h * 0.024, c(look.shoes))

    # back hair (behind the head and shoulders)
    hx, hy = x, y + g.head_cy - act.nod * g.head_h * 0.05
    hw, hh = g.head_w / 2, g.head_h / 2
    if rim is not None:
        e = max(g.head_h * 0.022, 1.2 / pen.scale)
        rim = (*rim[:3], 170)  # type: ignore[assignment]
        pen.ellipse(hx, hy + hh * 0.08, hw * 1.07 + e, hh * 1.02 + e, rim)
        pen.poly([(x - sw - e, y + g.shoulder_y - sw * 0.17), (x - sw * 0.34, y + g.shoulder_y + h * 0.022 + e),
                  (x + sw * 0.34, y + g.shoulder_y + h * 0.022 + e), (x + sw + e, y + g.shoulder_y - sw * 0.17),
                  (x + sw * 1.05 + e, y + g.hip_y), (x - sw * 1.05 - e, y + g.hip_y)], rim)
    if not back and look.hair_style == "long":
        pen.poly([(hx - hw * 1.12, hy + hh * 0.2), (hx + hw * 1.12, hy + hh * 0.2), (hx + hw * 1.22, hy - hh * 1.75),
                  (hx - hw * 1.22, hy - hh * 1.75)], hair)
        pen.ellipse(hx, hy + hh * 0.15, hw * 1.14, hh * 1.05, hair)

    # arms (behind the torso)
    arm_w = sw * 0.34
    sleeve = outer or top
    sy = y + g.shoulder_y
    hand_y = y + g.hip_y - h * 0.05
    raised = (1 if gaze >= 0 else -1) if act.arm > 0 and not back else 0
    for s in (-1, 1):
        ax = x + s * (sw - arm_w * 0.5)
        hxx = x + s * (sw + arm_w * 0.45)
        if s == raised:  # a gesture: the forearm comes up, the open hand at the shoulder
            k = act.arm
            ex, ey = ax + s * sw * (0.3 + 0.35 * k), sy - h * (0.16 - 0.02 * k)
            hx2, hy2 = ex + s * sw * 0.25 * k, hand_y + (sy + h * 0.03 - hand_y) * k
            pen.line([(ax, sy - arm_w * 0.5), (ex, ey)], sleeve, arm_w)
            pen.line([(ex, ey), (hx2, hy2)], sleeve, arm_w * 0.9)
            pen.ellipse(ex, ey, arm_w * 0.45, arm_w * 0.45, sleeve)
            pen.ellipse(ax, sy - arm_w * 0.5, arm_w * 0.5, arm_w * 0.5, sleeve)
            pen.ellipse(hx2, hy2 + arm_w * 0.2, arm_w * 0.48, arm_w * 0.62, skin)
            continue
        pen.poly([(ax - arm_w / 2, sy - arm_w * 0.5), (ax + arm_w / 2, sy - arm_w * 0.5),
                  (hxx + arm_w * 0.42, hand_y + h * 0.03), (hxx - arm_w * 0.42, hand_y + h * 0.03)], sleeve)
        pen.ellipse(ax, sy - arm_w * 0.5, arm_w * 0.5, arm_w * 0.5, sleeve)
        pen.rect(hxx - arm_w * 0.42, hand_y + h * 0.03, hxx + arm_w * 0.42, hand_y + h * 0.045, shade(sleeve, 0.85))
        pen.ellipse(hxx, hand_y, arm_w * 0.44, arm_w * 0.55, skin)

    # torso: a shirt/sweater, then an open coat over it
    neck_y = sy + h * 0.022
    torso = [(x - sw * 0.34, neck_y), (x + sw * 0.34, neck_y), (x + sw * 0.86, sy), (x + sw, sy - arm_w * 0.5),
             (x + sw * 0.88, y + g.waist_y), (x + sw * 0.9, y + g.hip_y - h * 0.02),
             (x - sw * 0.9, y + g.hip_y - h * 0.02), (x - sw * 0.88, y + g.waist_y), (x - sw, sy - arm_w * 0.5),
             (x - sw * 0.86, sy)]
    if back:
        pen.poly(torso, outer or top)
        if outer and coat_len is not None:
            pen.poly([(x - sw * 0.9, y + g.hip_y), (x + sw * 0.9, y + g.hip_y), (x + sw * 0.98, y + coat_len),
                      (x - sw * 0.98, y + coat_len)], outer)
    else:
        pen.poly(torso, top)
        pen.rect(x - sw * 0.9, y + g.hip_y - h * 0.02, x + sw * 0.9, y + g.hip_y + h * 0.012, shade(top, 0.82))
        if look.collar:
            # a shirt front and a tie
            pen.poly([(x - sw * 0.3, neck_y), (x + sw * 0.3, neck_y), (x, sy - h * 0.13)], c(look.collar))
            pen.poly([(x - sw * 0.06, neck_y - h * 0.008), (x + sw * 0.06, neck_y - h * 0.008),
                      (x + sw * 0.09, sy - h * 0.16), (x, sy - h * 0.19), (x - sw * 0.09, sy - h * 0.16)],
                     c((96, 40, 44)))
        if outer is not None and coat_len is not None:
            opening = sw * (0.22 if look.collar else 0.3)
            for s in (-1, 1):
                pts = [(x + s * sw * 0.34, neck_y), (x + s * sw * 0.86, sy), (x + s * sw, sy - arm_w * 0.5),
                       (x + s * sw * 0.92, y + g.waist_y), (x + s * sw * 1.02, y + coat_len),
                       (x + s * opening * 1.05, y + coat_len), (x + s * opening, sy - h * 0.17),
                       (x + s * sw * 0.3, neck_y - h * 0.01)]
                pen.poly(pts, outer)
                # lapel, a shade darker
                pen.poly([(x + s * sw * 0.34, neck_y), (x + s * sw * 0.5, neck_y - h * 0.004),
                          (x + s * sw * 0.52, sy - h * 0.07), (x + s * opening * 1.02, sy - h * 0.16),
                          (x + s * sw * 0.3, neck_y - h * 0.01)], shade(outer, 0.82))
                pen.line([(x + s * opening * 1.05, sy - h * 0.17), (x + s * opening * 1.05, y + coat_len)],
                         shade(outer, 0.7), h * 0.004)
        elif look.collar is None and not look.dress:
            # a neckline
            pen.ellipse(x, neck_y - h * 0.004, sw * 0.3, h * 0.016, shade(top, 0.78))
    if look.scarf:
        pen.rrect(x - sw * 0.5, sy - h * 0.012, x + sw * 0.5, neck_y + h * 0.008, h * 0.012, c(look.scarf))
        if not back:
            pen.rect(x + sw * 0.1, sy - h * 0.15, x + sw * 0.28, sy, c(look.scarf))

    # props
    if "radio" in look.props and not back:
        pen.line([(x - sw * 0.85, sy + h * 0.01), (x + sw * 0.7, y + g.hip_y + h * 0.02)], c((60, 44, 36)), h * 0.012)
        bx, by = x + sw * 0.72, y + g.hip_y - h * 0.02
        pen.rrect(bx - sw * 0.32, by - h * 0.06, bx + sw * 0.32, by + h * 0.035, h * 0.008, c((70, 74, 70)))
        pen.ellipse(bx - sw * 0.1, by - h * 0.013, h * 0.017, h * 0.017, c((40, 42, 40)))
        pen.rect(bx + sw * 0.1, by + h * 0.012, bx + sw * 0.24, by + h * 0.022, c((200, 170, 90)))
        pen.line([(bx + sw * 0.22, by + h * 0.035), (bx + sw * 0.32, by + h * 0.09)], c((40, 40, 40)), h * 0.004)
    if "clipboard" in look.props and not back:
        cx = x - sw * 1.02
        cy = hand_y + h * 0.06
        pen.poly([(cx - sw * 0.34, cy - h * 0.1), (cx + sw * 0.3, cy - h * 0.1), (cx + sw * 0.36, cy + h * 0.08),
                  (cx - sw * 0.28, cy + h * 0.08)], c((150, 112, 70)))
        pen.poly([(cx - sw * 0.26, cy - h * 0.085), (cx + sw * 0.24, cy - h * 0.085), (cx + sw * 0.29, cy + h * 0.06),
                  (cx - sw * 0.21, cy + h * 0.06)], c((238, 236, 226)))
        pen.rect(cx - sw * 0.1, cy + h * 0.065, cx + sw * 0.14, cy + h * 0.085, c((150, 152, 156)))
        pen.ellipse(cx + sw * 0.33, cy - h * 0.01, arm_w * 0.44, arm_w * 0.55, skin)
    if ("bag" in look.props or "satchel" in look.props) and not back:
        pen.line([(x + sw * 0.8, sy), (x - sw * 0.6, y + g.hip_y)], c((90, 60, 40)), h * 0.012)
        pen.rrect(x - sw * 1.0, y + g.hip_y - h * 0.08, x - sw * 0.25, y + g.hip_y + h * 0.03, h * 0.01,
                  c((120, 80, 50)))

    # neck and head
    neck_w = g.head_w * 0.34
    pen.rect(x - neck_w / 2, sy - h * 0.005, x + neck_w / 2, y + g.head_cy - hh * 0.6, shade(skin, 0.88))
    if back:
        if outer is not None:  # the coat's collar
            pen.rrect(x - sw * 0.42, sy - h * 0.004, x + sw * 0.42, sy + h * 0.03, h * 0.012, shade(outer, 1.12))
        for s in (-1, 1):
            pen.ellipse(hx + s * hw * 0.97, hy - hh * 0.05, hw * 0.15, hh * 0.2, shade(skin, 0.9))
        pen.ellipse(hx, hy, hw, hh, skin)
        if look.hair_style != "bald":
            pen.ellipse(hx, hy + hh * 0.06, hw * 1.05, hh * 1.0, hair)
            if look.hair_style == "long":
                pen.poly([(hx - hw * 1.05, hy + hh * 0.1), (hx + hw * 1.05, hy + hh * 0.1),
                          (hx + hw * 1.12, hy - hh * 1.7), (hx - hw * 1.12, hy - hh * 1.7)], hair)
            else:  # the nape below the hairline
                pen.ellipse(hx, hy - hh * 0.88, hw * 0.42, hh * 0.2, shade(skin, 0.92))
                pen.ellipse(hx, hy - hh * 0.62, hw * 0.9, hh * 0.3, hair)
            if look.hair_style == "braid":
                _braid(pen, hx, hy - hh * 0.6, hh * 1.9, hw * 0.5, hair, 0.0)
            elif look.hair_style == "bun":
                pen.ellipse(hx, hy + hh * 0.3, hw * 0.42, hh * 0.32, shade(hair, 0.9))
            elif look.hair_style == "ponytail":
                pen.poly([(hx - hw * 0.2, hy), (hx + hw * 0.2, hy), (hx + hw * 0.1, hy - hh * 1.5),
                          (hx - hw * 0.1, hy - hh * 1.5)], shade(hair, 0.9))
            elif look.hair_style == "curly":
                for k in range(9):
                    a = -1.0 + k * 0.25
                    pen.ellipse(hx + hw * a * 0.95, hy + hh * (0.75 - 0.45 * a * a), hw * 0.28, hh * 0.26, hair)
            pen.arc(hx - hw * 0.2, hy + hh * 0.3, hw * 0.6, hh * 0.55, 200, 260, (255, 255, 255, 40), hh * 0.05)
        if look.hat:
            _hat(pen, look, hx, hy, hw, hh, c(look.hat))
        return

    # ears, face, features
    if look.hair_style != "bald":
        pen.ellipse(hx, hy + hh * 0.1, hw * 1.07, hh * 1.0, hair)
    for s in (-1, 1):
        pen.ellipse(hx + s * hw * 0.98, hy - hh * 0.02, hw * 0.15, hh * 0.2, shade(skin, 0.92))
    pen.ellipse(hx, hy, hw, hh, skin)
    fx = hx + gaze * hw * 0.16  # the face turns a little toward its gaze
    if face is not None:
        if hasattr(face, "posed"):  # a cast face that speaks (see cast_face)
            pen.paste_disc(face.posed(act), hx, hy - hh * 0.02, hw * 0.98)
        else:
            pen.paste_disc(face, hx, hy - hh * 0.02, hw * 0.98, jaw=0.08 * OPENING.get(act.mouth, 0.0))
    else:
        _features(pen, look, fx, hy, hw, hh, skin, hair, gaze, act, c)
    _hair_front(pen, look, hx, hy, hw, hh, hair, gaze, with_face=face is not None)
    if look.hat:
        _hat(pen, look, hx, hy, hw, hh, c(look.hat))


#: expression -> (inner brow raise, outer brow raise, brow lift, eye opening, mouth corners (+ up), mouth opening)
#: in head half-heights except the two scales
EXPRESSION_SHAPES: dict[str, tuple[float, float, float, float, float, float]] = {
    "neutral": (0.0, 0.0, 0.0, 1.0, 0.0, 1.0),
    "angry": (-0.09, 0.04, -0.03, 0.7, -0.5, 1.0),
    "sad": (0.09, -0.05, 0.0, 0.8, -0.8, 0.8),
    "afraid": (0.1, 0.03, 0.05, 1.35, -0.3, 1.0),
    "happy": (0.02, 0.03, 0.02, 0.85, 1.0, 1.0),
    "surprised": (0.07, 0.07, 0.09, 1.4, 0.0, 1.2),
    "whispering": (0.03, 0.0, 0.0, 0.9, 0.0, 0.5),
    "shouting": (-0.06, 0.05, -0.01, 1.1, -0.2, 1.3),
}
#: mouth shape -> (half-width, half-height) of the open mouth in head half-widths / half-heights
MOUTH_SIZES: dict[str, tuple[float, float]] = {"teeth": (0.2, 0.04), "round": (0.11, 0.085), "open": (0.19, 0.09),
                                               "wide": (0.22, 0.125)}


def _features(pen: Pen, look: CharacterLook, fx: float, hy: float, hw: float, hh: float, skin: RGB, hair: RGB,
              gaze: float, act: FaceState, c) -> None:  # noqa: ANN001
    base = EXPRESSION_SHAPES["neutral"]
    shape = EXPRESSION_SHAPES.get(act.expression, base)
    k = act.strength
    inner, outer, lift, eye_k, corners, open_k = (b + (v - b) * k for b, v in zip(base, shape))
    dark = c((40, 30, 34))
    eye_y = hy + hh * 0.02
    ex = hw * 0.38
    white = c((246, 244, 240))
    big = pen.m(hw) > 14  # enough pixels for whites, irises and lids
    for s in (-1, 1):
        cx = fx + s * ex
        if act.blink:
            pen.ellipse(cx, eye_y, hw * 0.19, hh * 0.09, shade(skin, 0.95))
            pen.arc(cx, eye_y + hh * 0.03, hw * 0.17, hh * 0.06, 25, 155, shade(skin, 0.45), hh * 0.022)
        elif big:
            pen.ellipse(cx, eye_y, hw * 0.17, hh * 0.075 * eye_k, white)
            pen.ellipse(cx + gaze * hw * 0.07, eye_y - hh * 0.005, hw * 0.095, hh * 0.068 * min(1.0, eye_k),
                        c((70, 56, 44)))
            pen.ellipse(cx + gaze * hw * 0.08, eye_y - hh * 0.005, hw * 0.05, hh * 0.04 * min(1.0, eye_k), dark)
            pen.ellipse(cx + gaze * hw * 0.08 + hw * 0.03, eye_y + hh * 0.02, hw * 0.018, hh * 0.014, white)
            pen.arc(cx, eye_y, hw * 0.18, hh * 0.085 * eye_k, 190, 350, shade(skin, 0.6), hh * 0.016)
        else:
            pen.ellipse(cx + gaze * hw * 0.05, eye_y, hw * 0.1, hh * 0.07 * eye_k, dark)
        # brows: the inner end rises in sorrow and fear, falls in anger
        brow = shade(hair, 0.8) if sum(hair) < 600 else shade(hair, 0.72)
        bx = cx + s * hw * 0.02
        y_in = eye_y + hh * (0.16 + lift + inner)
        y_out = eye_y + hh * (0.19 + lift + outer)
        left, right = (y_in, y_out) if s > 0 else (y_out, y_in)
        pen.line([(bx - hw * 0.17, left), (bx + hw * 0.17, right)], brow, hh * 0.035)
        if look.age == "old" and big:
            pen.arc(cx, eye_y - hh * 0.09, hw * 0.14, hh * 0.05, 20, 160, shade(skin, 0.8), hh * 0.01)
    # nose: a soft shadow on the side away from the light, and the nostrils' curve
    nx = fx + gaze * hw * 0.1
    side = 1 if gaze >= 0 else -1
    pen.poly([(nx + side * hw * 0.02, eye_y - hh * 0.08), (nx + side * hw * 0.1, eye_y - hh * 0.27),
              (nx + side * hw * 0.02, eye_y - hh * 0.29)], (*shade(skin, 0.7), 120))
    pen.arc(nx, eye_y - hh * 0.27, hw * 0.1, hh * 0.045, 20, 160, shade(skin, 0.68), hh * 0.02)
    # cheeks
    if big:
        for s in (-1, 1):
            pen.ellipse(fx + s * hw * 0.52, hy - hh * 0.28, hw * 0.17, hh * 0.08, (*c((232, 120, 110)), 46))
    my = hy - hh * 0.52
    _mouth(pen, fx, my, hw, hh, skin, act.mouth, corners, open_k * (0.25 + 0.75 * act.level), big, c)
    if look.beard:
        pen.poly([(fx - hw * 0.82, hy - hh * 0.15), (fx - hw * 0.3, my + hh * 0.02), (fx + hw * 0.3, my + hh * 0.02),
                  (fx + hw * 0.82, hy - hh * 0.15), (fx + hw * 0.55, hy - hh * 0.85), (fx, hy - hh * 1.02),
                  (fx - hw * 0.55, hy - hh * 0.85)], (*hair, 235))
        _mouth(pen, fx, my, hw, hh, skin, act.mouth, corners, open_k * (0.25 + 0.75 * act.level), big, c)
    if look.glasses:
        frame = c((60, 60, 66))
        for s in (-1, 1):
            pen.ellipse(fx + s * ex, eye_y, hw * 0.25, hh * 0.15, None, outline=frame, width=hh * 0.022)
        pen.line([(fx - ex + hw * 0.25, eye_y + hh * 0.02), (fx + ex - hw * 0.25, eye_y + hh * 0.02)], frame, hh * 0.02)


def _mouth(pen: Pen, fx: float, my: float, hw: float, hh: float, skin: RGB, mouth: str, corners: float,
           open_k: float, big: bool, c) -> None:  # noqa: ANN001
    """A mouth shape (see :mod:`~studio.render.animatic.lipsync`) centred at ``(fx, my)``:
    ``corners`` > 0 lifts its corners (a smile), < 0 drops them; ``open_k`` scales how
    far it opens (a whisper barely parts the lips, a shout opens wide)."""
    lip = c(mix(skin, (170, 60, 70), 0.55))
    inside = c(mix(shade(skin, 0.22), (70, 10, 25), 0.5))
    size = MOUTH_SIZES.get(mouth)
    if size is not None:
        w, h = size
        h = h * open_k
        w = w * (1 + 0.25 * max(0.0, corners))
        pen.ellipse(fx, my, hw * w, hh * h, inside)
        if big and mouth in ("teeth", "open", "wide"):
            pen.rect(fx - hw * w * 0.55, my + hh * h * 0.6, fx + hw * w * 0.55, my + hh * h * 0.92,
                     c((240, 236, 230)))
        pen.ellipse(fx, my, hw * w, hh * h, None, outline=lip, width=hh * 0.02)
    elif mouth == "closed":  # lips pressed together
        pen.line([(fx - hw * 0.2, my + hh * 0.01), (fx + hw * 0.2, my + hh * 0.01)], lip, hh * 0.045)
    elif corners >= 0:  # at rest: a slight smile, wider and deeper when happy
        pen.arc(fx, my + hh * (0.06 + 0.05 * corners), hw * (0.24 + 0.06 * corners), hh * (0.09 + 0.06 * corners),
                25, 155, lip, hh * 0.032)
    else:  # the corners drop
        pen.arc(fx, my - hh * (0.05 - 0.05 * corners), hw * 0.24, hh * (0.06 - 0.04 * corners), 205, 335, lip,
                hh * 0.032)


def _hair_front(pen: Pen, look: CharacterLook, hx: float, hy: float, hw: float, hh: float, hair: RGB, gaze: float,
                with_face: bool) -> None:
    """The hair over the forehead and at the sides of the face (drawn after the face)."""
    import math

    style = look.hair_style
    if style == "bald":
        pen.ellipse(hx - hw * 0.3, hy + hh * 0.6, hw * 0.25, hh * 0.12, (255, 255, 255, 40))
        return
    line = 0.62 if style in ("braid", "bun", "ponytail") else 0.5  # hairline height (head radii above centre)
    if with_face:
        line = max(line, 0.66)
    part = hx + hw * (0.05 if style in ("braid", "bun") else 0.38)
    outline = [(hx + math.cos(math.radians(a)) * hw * 1.04, hy + hh * 0.06 + math.sin(math.radians(a)) * hh * 1.0)
               for a in range(8, 173, 8)]
    lower = [(hx - hw * 0.98, hy + hh * 0.16), (hx - hw * 0.8, hy + hh * (line - 0.1)),
             (hx - hw * 0.45, hy + hh * (line + 0.02)), (part - hw * 0.12, hy + hh * (line + 0.12)),
             (part, hy + hh * (line + 0.24)), (part + hw * 0.1, hy + hh * (line + 0.1)),
             (hx + hw * 0.78, hy + hh * (line - 0.12)), (hx + hw * 0.98, hy + hh * 0.16)]
    pen.poly(outline + lower, hair)
    if style == "curly":
        for k in range(11):
            a = math.radians(12 + k * 15.6)
            pen.ellipse(hx + math.cos(a) * hw * 1.0, hy + hh * 0.08 + math.sin(a) * hh * 0.98, hw * 0.24,
                        hh * 0.21, hair)
        for k in range(4):
            pen.ellipse(hx - hw * 0.55 + k * hw * 0.36, hy + hh * (line + 0.08), hw * 0.2, hh * 0.16, hair)
    elif style == "long":
        for sgn in (-1, 1):
            pen.poly([(hx + sgn * hw * 0.8, hy + hh * 0.55), (hx + sgn * hw * 1.1, hy + hh * 0.3),
                      (hx + sgn * hw * 1.18, hy - hh * 1.45), (hx + sgn * hw * 0.88, hy - hh * 1.55),
                      (hx + sgn * hw * 0.86, hy - hh * 0.2)], hair)
    elif style == "braid":
        # pulled back into a braid that falls over the left shoulder
        side = -1
        _braid(pen, hx + side * hw * 0.98, hy - hh * 0.45, hh * 1.9, hw * 0.5, hair, side * hw * 0.2)
    elif style == "ponytail":
        pen.ellipse(hx + hw * 1.1, hy + hh * 0.1, hw * 0.22, hh * 0.5, hair)
    elif style == "bun":
        pen.ellipse(hx, hy + hh * 1.06, hw * 0.42, hh * 0.28, hair)
    # strands and a soft sheen
    strand = shade(hair, 0.8)
    pen.line([(part, hy + hh * (line + 0.24)), (part - hw * 0.1, hy + hh * 0.95)], strand, hh * 0.018)
    pen.arc(hx - hw * 0.15, hy + hh * 0.55, hw * 0.55, hh * 0.32, 200, 270, (255, 255, 255, 55), hh * 0.035)


def _chair(pen: Pen, x: float, floor: float, g: FigureGeometry, sw: float, c) -> None:  # noqa: ANN001
    """A wooden chair seen from the front, its seat at knee height over ``floor``: the
    seat's edge and the back's posts and rail show beside whoever sits in it."""
    wood = c((118, 82, 54))
    dark = shade(wood, 0.7)
    h = g.height
    seat = floor + g.knee_y
    half = sw * 1.45
    for s in (-1, 1):
        pen.rect(x + s * half * 0.92 - h * 0.012, floor, x + s * half * 0.92 + h * 0.012, seat, dark)
        pen.rect(x + s * half * 0.86 - h * 0.013, seat, x + s * half * 0.86 + h * 0.013, seat + h * 0.3, wood)
    pen.rect(x - half * 0.9, seat + h * 0.22, x + half * 0.9, seat + h * 0.29, wood)
    pen.rect(x - half, seat - h * 0.025, x + half, seat + h * 0.012, shade(wood, 1.12))


def _braid(pen: Pen, x: float, top: float, length: float, width: float, hair: RGB, drift: float) -> None:
    """A plait hanging from ``(x, top)``: overlapping strands crossing left and right,
    tapering to a tie and a tuft."""
    n = 6
    seg = length / n
    dark = shade(hair, 0.72)
    for k in range(n):
        t = k / n
        cx = x + drift * t
        cy = top - k * seg
        w = width * (1 - 0.35 * t) / 2
        s = 1 if k % 2 else -1
        pen.poly([(cx - w, cy + seg * 0.1 * s), (cx, cy + seg * 0.55), (cx + w, cy - seg * 0.1 * s),
                  (cx + w * 0.6, cy - seg * 0.55), (cx, cy - seg * 0.7), (cx - w * 0.6, cy - seg * 0.55)],
                 shade(hair, 0.95 if k % 2 else 1.0))
        pen.line([(cx - w * 0.8, cy + seg * 0.15 * s), (cx + w * 0.8, cy - seg * 0.25 * s)], dark, seg * 0.06)
    end = top - n * seg
    pen.rect(x + drift - width * 0.14, end - seg * 0.05, x + drift + width * 0.14, end + seg * 0.25, dark)
    pen.poly([(x + drift - width * 0.2, end), (x + drift + width * 0.2, end), (x + drift, end - seg * 0.8)], hair)


def _hat(pen: Pen, look: CharacterLook, hx: float, hy: float, hw: float, hh: float, colour: RGB) -> None:
    pen.ellipse(hx, hy + hh * 0.62, hw * 1.45, hh * 0.14, shade(colour, 0.85))
    pen.rrect(hx - hw * 0.9, hy + hh * 0.62, hx + hw * 0.9, hy + hh * 1.35, hh * 0.2, colour)
    pen.rect(hx - hw * 0.9, hy + hh * 0.66, hx + hw * 0.9, hy + hh * 0.8, shade(colour, 0.6))
