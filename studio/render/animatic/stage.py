"""The stage of a shot: who stands where, what the shot's size frames, and the canvas
that draws it once per shot.

Characters stand on the floor (``y = 0``) left to right by their
:attr:`~studio.render.plan.CastMember.slot`, :data:`SPACING` metres apart and centred
on ``x = 0``, so a scene's stage is the same in every shot of the scene. A shot's
:class:`Composition` is the stage as that shot sees it (an over-the-shoulder shot
swaps one figure for a big, dark back in the foreground; a POV leaves out whose eyes
we look through; an insert is a table top with one object). :func:`framing_window`
turns a shot size into a camera :class:`~studio.render.animatic.camera.Window` over it.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from PIL import Image

from studio.render.animatic.acting import NEUTRAL, FaceState
from studio.render.animatic.backdrop import draw_backdrop
from studio.render.animatic.camera import Window
from studio.render.animatic.figures import (
    CharacterLook,
    FigureGeometry,
    character_look,
    draw_figure,
    figure_extent,
    seat_drop,
)
from studio.render.animatic.palette import LocationPalette, Look, figure_light, location_palette, mix, parse_look
from studio.render.animatic.pen import Pen
from studio.render.animatic.props import OBJECT_Y, draw_insert_set, draw_object
from studio.render.animatic.resample import soften
from studio.render.plan import ShotPlan

MAX_VARIANTS = 24  # marked canvases kept per canvas (a speaking shot cycles through a few faces)
VARIANT_BYTES = 32 << 20  # and their pixels, at most, past the two newest (a 1280x720 moving shot's are 5-8 MB each)
MAX_GROUNDS = 8  # lit backdrop patches kept per canvas (a speaker's light, one per patch redrawn)
GROUND_BYTES = 12 << 20  # and their pixels, at most, past the two newest
LEAD_ROOM = 0.16  # a single figure sits off centre, looking into the frame: it keeps its side of the scene
SPACING = 1.3  # metres between neighbouring characters on the stage
CLOSE_SIZES = ("medium-wide", "medium", "medium-close-up", "close-up", "extreme-close-up", "two-shot")

#: people framings: (window height in figure heights, headroom as a fraction of the window, side padding in metres)
PEOPLE_SIZES: dict[str, tuple[float, float, float]] = {
    "full": (1.24, 0.07, 0.55),
    "medium-wide": (0.78, 0.09, 0.5),
    "medium": (0.57, 0.1, 0.42),
    "medium-close-up": (0.4, 0.1, 0.3),
    "close-up": (0.235, 0.07, 0.2),
    "extreme-close-up": (0.105, 0.0, 0.08),
    "two-shot": (0.64, 0.1, 0.45),
    "over-the-shoulder": (0.5, 0.11, 0.3),
}
#: space framings: (window height in metres, where the floor sits as a fraction of the window from its bottom)
SPACE_SIZES: dict[str, tuple[float, float]] = {"extreme-wide": (9.5, 0.2), "wide": (5.0, 0.17)}


@dataclass(frozen=True)
class Placement:
    """A figure on a composition: feet at ``(x, y)`` metres, drawn ``scale`` times its
    height (the foreground back of an over-the-shoulder is bigger), ``gaze`` -1..1.
    A ``seated`` figure's body stands at ``y`` (below the floor) and its feet on the
    floor, :func:`~studio.render.animatic.figures.seat_drop` higher, in a chair."""

    cid: str
    x: float
    y: float = 0.0
    scale: float = 1.0
    back: bool = False
    gaze: float = 0.0
    dim: float = 1.0
    seated: bool = False


@dataclass(frozen=True)
class Composition:
    """What a shot's canvas draws: a location palette, figures, or an insert object."""

    kind: str  # "stage" or "insert"
    palette: LocationPalette
    looks: dict[str, CharacterLook] = field(hash=False)
    figures: tuple[Placement, ...] = ()
    focus: str | None = None
    look: Look = Look()
    blur: float = 0.0  # metres: how soft the backdrop is (a long lens's shallow focus)


#: backdrop softness by shot size, as a fraction of the framing's height
BLUR: dict[str, float] = {
    "extreme-close-up": 0.012, "close-up": 0.012, "medium-close-up": 0.01, "over-the-shoulder": 0.009,
    "medium": 0.006, "two-shot": 0.005, "medium-wide": 0.004, "insert": 0.008, "pov": 0.003,
}


@dataclass(frozen=True)
class ShotSetup:
    """A shot's composition, its framing (the camera window before any move, in
    metres), the move's anchor point and the ids of the figures in frame."""

    composition: Composition
    window: Window
    anchor: tuple[float, float]
    on_screen: frozenset[str]
    pov: bool = False


def stage_x(slot: int, count: int) -> float:
    """Where slot ``slot`` of ``count`` stands (metres; the group is centred on 0)."""
    return (slot - (count - 1) / 2) * SPACING


def scene_looks(plan: ShotPlan) -> dict[str, CharacterLook]:
    """Every present character's look, lit for the scene (the film's look is applied
    to the drawn canvas)."""
    interior = location_palette(plan.location_id, plan.location_description, plan.time_of_day, plan.interior,
                                plan.look, plan.location_name).interior
    key = figure_light(plan.time_of_day, interior)
    return {m.id: character_look(m.id, m.description).lit(key) for m in plan.present}


def _positions(plan: ShotPlan) -> dict[str, float]:
    """Each present character's stage x (metres), from their slot."""
    count = max(len(plan.present), max((m.slot for m in plan.present), default=-1) + 1)
    return {m.id: stage_x(m.slot, count) for m in plan.present}


def _gaze(cid: str, xs: dict[str, float]) -> float:
    others = [x for c, x in xs.items() if c != cid]
    if not others:
        return 0.0
    d = sum(others) / len(others) - xs[cid]
    return max(-1.0, min(1.0, d / SPACING)) * 0.75


def _people_window(size: str, members: list[tuple[float, CharacterLook, float]], aspect: float,
                   lead: float = 0.0) -> Window:
    """Frame ``members`` (x, look, y: a seated body's base below the floor) at a people size."""
    factor, headroom, pad = PEOPLE_SIZES[size]
    tallest = max(look.height for _, look, _ in members)
    crown = max(y + look.height for _, look, y in members)
    h = factor * tallest
    xs = [x for x, _, _ in members]
    need = (max(xs) - min(xs)) + 2 * pad if len(xs) > 1 else 0.0
    if need > h * aspect:
        h = need / aspect
    cx = (max(xs) + min(xs)) / 2 + lead * h * aspect
    if size == "extreme-close-up":
        x, look, y = members[0]
        g = FigureGeometry.of(look)
        return Window(cx, y + g.eye_y - g.head_h * 0.08, h)
    top = crown + headroom * h
    return Window(cx, top - h / 2, h)


def _space_window(size: str, xs: list[float], aspect: float, focus_xs: list[float]) -> Window:
    h, floor = SPACE_SIZES[size]
    centre = sum(focus_xs) / len(focus_xs) if focus_xs else (sum(xs) / len(xs) if xs else 0.0)
    if xs:
        half = h * aspect / 2 - 0.6
        centre = min(max(centre, max(xs) - half), min(xs) + half) if max(xs) - min(xs) < 2 * half else \
            (max(xs) + min(xs)) / 2
    return Window(centre, -floor * h + h / 2, h)


def setup_shot(plan: ShotPlan, *, size: str | None = None, subjects: tuple[str, ...] | None = None) -> ShotSetup:
    """The composition and framing of ``plan`` (or of another size/subjects on the
    same stage: the framing a continuous shot picks up from)."""
    setup = _setup(plan, size or plan.size, plan.subjects if subjects is None else subjects)
    blur = BLUR.get(size or plan.size, 0.0) * setup.window.h
    setup = replace(setup, composition=replace(setup.composition, blur=blur, look=parse_look(plan.look)))
    return setup


def _setup(plan: ShotPlan, size: str, subjects: tuple[str, ...]) -> ShotSetup:
    """:func:`setup_shot` before the backdrop softness and the look are added."""
    aspect = plan.width / plan.height
    pal = location_palette(plan.location_id, plan.location_description, plan.time_of_day, plan.interior, plan.look,
                           plan.location_name)
    looks = scene_looks(plan)
    xs = _positions(plan)
    order = [m.id for m in sorted(plan.present, key=lambda m: (xs[m.id], m.id))]
    subj = [s for s in dict.fromkeys(subjects) if s in xs]
    seated = {m.id for m in plan.present if m.seated}
    away = {m.id for m in plan.present if m.away}
    ys = {c: -seat_drop(looks[c]) if c in seated else 0.0 for c in xs}

    def place(cid: str, gaze: float | None = None) -> Placement:
        return Placement(cid, xs[cid], ys[cid], gaze=_gaze(cid, xs) if gaze is None else gaze, back=cid in away,
                         seated=cid in seated)

    if size == "insert":
        comp = Composition("insert", pal, looks, (), plan.focus or "the object")
        return ShotSetup(comp, Window(0.0, OBJECT_Y + 0.14, 0.62), (0.0, OBJECT_Y + 0.1), frozenset())

    if size == "pov":
        # through the first subject's eyes: they are not drawn, the others look at them
        holder = subj[0] if subj else None
        others = [c for c in order if c != holder]
        eye = FigureGeometry.of(looks[holder]).eye_y + ys[holder] if holder else 1.6

        def toward_holder(c: str) -> float:
            if holder is None:
                return _gaze(c, xs) * 0.3
            return max(-1.0, min(1.0, (xs[holder] - xs[c]) / SPACING)) * 0.4

        figures = tuple(place(c, toward_holder(c)) for c in others)
        cx = sum(xs[c] for c in others) / len(others) if others else (xs[holder] if holder else 0.0)
        h = 2.3
        if others:
            span = max(xs[c] for c in others) - min(xs[c] for c in others) + 1.2
            h = max(h, span / aspect)
        comp = Composition("stage", pal, looks, figures)
        return ShotSetup(comp, Window(cx, eye, h), (cx, eye), frozenset(others), pov=True)

    if size == "over-the-shoulder" and subj:
        a = subj[0]
        b = subj[1] if len(subj) > 1 else next((c for c in sorted(order, key=lambda c: abs(xs[c] - xs[a]))
                                                if c != a), None)
        if b is None:
            size = "medium-close-up"
        else:
            side = 1.0 if xs[b] >= xs[a] else -1.0
            la, lb = looks[a], looks[b]
            win = _people_window("over-the-shoulder", [(xs[a], la, ys[a])], aspect)
            width = win.h * aspect
            win = Window(xs[a] + side * 0.16 * width, win.cy, win.h)
            scale = 1.5
            gb = FigureGeometry.of(lb, scale)
            crown = (win.cy - win.h / 2) + 0.8 * win.h
            fg = Placement(b, win.cx + side * 0.42 * width, crown - gb.height, scale=scale, back=True, dim=0.42)
            figures = tuple(place(c, side * 0.8 if c == a else None) for c in order if c != b) + (fg,)
            comp = Composition("stage", pal, looks, figures)
            ga = FigureGeometry.of(la)
            return ShotSetup(comp, win, (xs[a], ys[a] + ga.eye_y), frozenset({a, b}))

    figures = tuple(place(c) for c in order)
    comp = Composition("stage", pal, looks, figures)
    if size in SPACE_SIZES or size not in PEOPLE_SIZES or not order:
        if size not in SPACE_SIZES and not order:
            # nobody on stage: frame the space at an equivalent height
            h = {"full": 2.4, "medium-wide": 1.6, "medium": 1.2, "medium-close-up": 0.9, "close-up": 0.6,
                 "extreme-close-up": 0.35, "two-shot": 1.4, "over-the-shoulder": 1.0}.get(size, 2.4)
            win = Window(0.0, 1.5, h)
        else:
            win = _space_window(size if size in SPACE_SIZES else "wide", list(xs.values()), aspect,
                                [xs[s] for s in subj])
        visible = frozenset(c for c in order if _in_window(comp, c, win, aspect))
        return ShotSetup(comp, win, (win.cx, win.cy), visible)

    people = subj if subj else order
    if size == "two-shot" and len(people) < 2:
        people = (people + [c for c in order if c not in people])[:2]
    if size == "two-shot":
        people = people[:2]
    if size in ("close-up", "extreme-close-up", "medium-close-up") and len(people) > 1 and not subj:
        people = people[:1]
    members = [(xs[c], looks[c], ys[c]) for c in people]
    lead = _gaze(people[0], xs) * LEAD_ROOM if len(people) == 1 else 0.0
    win = _people_window(size, members, aspect, lead)
    g = FigureGeometry.of(looks[people[0]])
    anchor = (sum(xs[c] for c in people) / len(people), ys[people[0]] + g.eye_y)
    visible = frozenset(c for c in order if _in_window(comp, c, win, aspect))
    return ShotSetup(comp, win, anchor, visible)


def _in_window(comp: Composition, cid: str, win: Window, aspect: float) -> bool:
    p = next((f for f in comp.figures if f.cid == cid), None)
    if p is None:
        return False
    x0, y0, x1, y1 = figure_extent(comp.looks[cid], p.x, p.y, p.scale)
    wx0, wy0, wx1, wy1 = win.rect(aspect)
    # in frame when a good part of the figure's width is inside
    overlap = min(x1, wx1) - max(x0, wx0)
    return overlap > 0.35 * (x1 - x0) and y1 > wy0 and y0 < wy1


# --------------------------------------------------------------------------- canvas


class _Kept:
    """Pictures kept by key for reuse: the least recently used is forgotten first once
    there are more than ``count`` or their pixels pass ``budget`` bytes, but the two most
    recently used always stay (a speaker's mouth alternates between two pictures). A byte
    budget, not only a count: a canvas's pictures are 1.6 MB on a 854x480 still and 5-8 MB
    on a 1280x720 pan or push-in (as Pillow holds them), and a shot worker keeps one
    canvas's."""

    KEEP = 2

    def __init__(self, count: int, budget: int) -> None:
        self.count, self.budget = count, budget
        self.bytes = 0
        self._pictures: OrderedDict[tuple, Image.Image] = OrderedDict()

    @staticmethod
    def _size(img: Image.Image) -> int:
        """The bytes Pillow holds for ``img``'s pixels: four a pixel in every mode of more
        than one band (an RGB picture is stored as RGBX), one in ``L`` and ``P``."""
        return img.size[0] * img.size[1] * (1 if img.mode in ("1", "L", "P") else 4)

    def fits(self, img: Image.Image) -> bool:
        """Whether ``img`` alone is within the byte budget (one that is not would only be
        kept as one of the two newest, past the budget)."""
        return self._size(img) <= self.budget

    def __contains__(self, key: tuple) -> bool:
        return key in self._pictures

    def __len__(self) -> int:
        return len(self._pictures)

    def get(self, key: tuple) -> Image.Image | None:
        img = self._pictures.get(key)
        if img is not None:
            self._pictures.move_to_end(key)
        return img

    def put(self, key: tuple, img: Image.Image) -> Image.Image:
        old = self._pictures.pop(key, None)
        if old is not None:
            self.bytes -= self._size(old)
        self._pictures[key] = img
        self.bytes += self._size(img)
        while len(self._pictures) > self.KEEP and (len(self._pictures) > self.count or self.bytes > self.budget):
            self.bytes -= self._size(self._pictures.popitem(last=False)[1])
        return img


class Canvas:
    """A composition drawn once over a world rectangle, at ``scale`` pixels per metre.

    It is drawn ``oversample`` times larger and reduced (box-filtered), so edges are
    anti-aliased. ``base`` has everyone with closed mouths; :meth:`variant` adds a
    speaker's light and open or closed mouth by redrawing only the patch around them
    (on the kept full-resolution backdrop) and reducing that patch.
    """

    def __init__(self, comp: Composition, rect: tuple[float, float, float, float], scale: float,
                 faces: dict[str, Image.Image], size: tuple[int, int] | None = None, oversample: int = 1,
                 walkers: frozenset[str] = frozenset()) -> None:
        x0, y0, x1, y1 = rect
        self.comp = comp
        self.scale = scale
        self.k = k = max(1, int(oversample))
        self.x0, self.y1 = x0, y1
        width, height = size or (max(2, math.ceil((x1 - x0) * scale)), max(2, math.ceil((y1 - y0) * scale)))
        self.faces = faces
        self.walkers = walkers  # figures left off the base, drawn (where they are) in every variant
        hi = scale * k
        backdrop = Image.new("RGB", (width * k, height * k), comp.palette.wall)
        pen = Pen(backdrop, x0, y1, hi)
        if comp.kind == "insert":
            draw_insert_set(pen, comp.palette)
        else:
            draw_backdrop(pen, comp.palette)
        del pen  # it holds the unblurred backdrop: gone once the blur has replaced it (up to 64 MB)
        radius = comp.blur * hi
        if radius >= 0.75:
            backdrop = soften(backdrop, radius)
        self.backdrop = backdrop  # full resolution, for speakers' patches
        base = backdrop.copy()
        self._draw_layer(Pen(base, x0, y1, hi), None, {})
        self.base = comp.look.image(base.reduce(k) if k > 1 else base)
        self._variants = _Kept(MAX_VARIANTS, VARIANT_BYTES)
        self._grounds = _Kept(MAX_GROUNDS, GROUND_BYTES)  # full-resolution backdrop patches with a speaker's light

    @property
    def size(self) -> tuple[int, int]:
        return self.base.size

    def box(self, rect: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """The pixel box (floats) of a world rectangle on the (reduced) canvas, clamped to it."""
        x0, y0, x1, y1 = rect
        w, h = self.base.size
        bx0 = (x0 - self.x0) * self.scale
        by0 = (self.y1 - y1) * self.scale
        bx1 = (x1 - self.x0) * self.scale
        by1 = (self.y1 - y0) * self.scale
        return max(0.0, bx0), max(0.0, by0), min(float(w), bx1), min(float(h), by1)

    def _draw_layer(self, pen: Pen, speaker: str | None, acts: dict[str, FaceState], light: bool = True,
                    region: tuple[float, float, float, float] | None = None) -> None:
        """Every figure (with ``acts``) and, with ``light``, the speaker's light. With a
        ``region`` (a patch's world box) the figures that cannot reach it are left out:
        they would draw nothing on the patch (a figure stays inside :func:`_figure_box`;
        the test is made with a margin of a quarter metre and two pixels)."""
        comp = self.comp
        if comp.kind == "insert":
            draw_object(pen, comp.focus or "", comp.palette)
            return
        for p in comp.figures:
            if p.cid == speaker and light:
                _speaker_light(pen, comp, p)
        for p in comp.figures:
            if p.cid in self.walkers and p.cid not in acts:
                continue
            act = acts.get(p.cid, NEUTRAL)
            if region is not None and not _overlaps(_figure_box(comp, replace(p, x=p.x + act.step) if act.step else p),
                                                    region, 0.25 + 2.0 / self.scale):
                continue
            rim = _rim_colour(comp, p) if p.cid == speaker else None
            look_to = act.gaze if act.gaze is not None else p.gaze
            back = p.back if act.back is None else act.back
            look = comp.looks[p.cid]
            floor, y = p.y, p.y
            if p.seated or act.chair or act.seat is not None:
                drop = seat_drop(look, p.scale)
                floor = p.y + (drop if p.seated else 0.0)
                y = floor - drop * (act.seat if act.seat is not None else float(p.seated))
            draw_figure(pen, look, p.x + act.step, y, scale=p.scale, back=back, gaze=look_to,
                        face=None if back else self.faces.get(p.cid), dim=p.dim, rim=rim, act=act,
                        floor=floor, chair=act.chair or p.seated)

    def _patched(self, under: Image.Image, boxes: list[tuple[float, float, float, float]], lit: Placement | None,
                 acts: dict[str, FaceState]) -> Image.Image:
        """``under`` with the world ``boxes`` redrawn: backdrop, the speaker's light, every
        figure (with ``acts``), reduced and through the look, pasted back."""
        img = under.copy()
        w, h = self.base.size
        k = self.k
        for x0, y0, x1, y1 in boxes:
            box = (max(0, math.floor((x0 - self.x0) * self.scale)), max(0, math.floor((self.y1 - y1) * self.scale)),
                   min(w, math.ceil((x1 - self.x0) * self.scale)), min(h, math.ceil((self.y1 - y0) * self.scale)))
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            hi_box = (box[0] * k, box[1] * k, box[2] * k, box[3] * k)
            patch = self._lit_ground(lit, hi_box)
            pen = Pen(patch, self.x0, self.y1, self.scale * k, hi_box[0], hi_box[1])
            self._draw_layer(pen, lit.cid if lit else None, acts, light=False, region=(x0, y0, x1, y1))
            img.paste(self.comp.look.image(patch.reduce(k) if k > 1 else patch), box[:2])
        return img

    def _lit_ground(self, lit: Placement | None, hi_box: tuple[int, int, int, int]) -> Image.Image:
        """The full-resolution backdrop inside ``hi_box`` with ``lit``'s light on it, a
        picture of the caller's own to draw on. It is the same for every face and pose
        drawn over it, so it is drawn once and kept (a copy handed out) when it fits the
        grounds' budget; a larger one (a speaker's light over most of a 1280x720 push-in
        is 20-32 MB) is drawn again when needed, and handed out itself."""
        key = (lit.cid if lit else None, lit.x if lit else None, hi_box)
        ground = self._grounds.get(key)
        if ground is not None:
            return ground.copy()
        ground = self.backdrop.crop(hi_box)
        if lit is not None:
            _speaker_light(Pen(ground, self.x0, self.y1, self.scale * self.k, hi_box[0], hi_box[1]), self.comp, lit)
        if not self._grounds.fits(ground):
            return ground
        return self._grounds.put(key, ground).copy()

    def variant(self, speaker: str | None, acts: bool | tuple[tuple[str, FaceState], ...] = ()) -> Image.Image:
        """The (reduced) canvas with ``speaker`` marked (lit) and the faces in ``acts``
        (``(cid, FaceState)`` pairs; a figure not named rests). ``True`` / ``False`` for
        ``acts`` is the speaker's mouth open or at rest."""
        if isinstance(acts, bool):
            acts = ((speaker, FaceState(mouth="open")),) if acts and speaker else ()
        placements = {p.cid: p for p in self.comp.figures}
        acts = tuple((cid, a) for cid, a in acts if cid in placements and (a != NEUTRAL or cid in self.walkers))
        lit = placements.get(speaker) if speaker else None
        if lit is None and not acts:
            return self.base
        key = (lit.cid if lit else None, acts)
        moved = dict(acts).get(lit.cid) if lit is not None else None
        if moved is not None and moved.step:  # the light goes with a speaker who walks
            lit = replace(lit, x=lit.x + moved.step)
        if key not in self._variants and acts and not self.walkers:
            # only faces change: redraw just the heads over the speaker's lit (resting) canvas
            under = self.variant(speaker, ())
            heads = [_head_extent(self.comp, placements[cid]) if not a.arm else
                     _grown(self.comp, _figure_box(self.comp, placements[cid])) for cid, a in acts]
            return self._variants.put(key, self._patched(under, heads, lit, dict(acts)))
        kept = self._variants.get(key)
        if kept is None:
            boxes = [_light_extent(self.comp, lit)] if lit else []
            for cid, a in acts:
                q = placements[cid]
                e0 = _figure_box(self.comp, q)
                e1 = _figure_box(self.comp, replace(q, x=q.x + a.step))
                boxes.append(_grown(self.comp, (min(e0[0], e1[0]), e0[1], max(e0[2], e1[2]), e0[3])))
            x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
            x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
            w, h = self.base.size
            k = self.k
            # the patch in reduced pixels, then exactly k times that on the backdrop
            box = (max(0, math.floor((x0 - self.x0) * self.scale)), max(0, math.floor((self.y1 - y1) * self.scale)),
                   min(w, math.ceil((x1 - self.x0) * self.scale)), min(h, math.ceil((self.y1 - y0) * self.scale)))
            img = self.base.copy()
            if box[2] > box[0] and box[3] > box[1]:
                hi_box = (box[0] * k, box[1] * k, box[2] * k, box[3] * k)
                patch = self._lit_ground(lit, hi_box)
                self._draw_layer(Pen(patch, self.x0, self.y1, self.scale * k, hi_box[0], hi_box[1]),
                                 lit.cid if lit else None, dict(acts), light=False, region=(x0, y0, x1, y1))
                img.paste(self.comp.look.image(patch.reduce(k) if k > 1 else patch), box[:2])
            kept = self._variants.put(key, img)
        return kept


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float], margin: float) -> bool:
    """Whether world boxes ``a`` and ``b`` come within ``margin`` metres of each other."""
    return a[0] < b[2] + margin and b[0] < a[2] + margin and a[1] < b[3] + margin and b[1] < a[3] + margin


def _figure_box(comp: Composition, p: Placement) -> tuple[float, float, float, float]:
    """The world box a figure can cover whatever its pose: standing on its floor, or seated."""
    look = comp.looks[p.cid]
    x0, y0, x1, y1 = figure_extent(look, p.x, p.y, p.scale)
    floor = p.y + (seat_drop(look, p.scale) if p.seated else 0.0)
    return x0, min(y0, floor - 0.02 * p.scale), x1, max(y1, floor + look.height * p.scale + 0.08 * p.scale)


def _head_extent(comp: Composition, p: Placement) -> tuple[float, float, float, float]:
    """The world box a face can change (features, a nod, a blink, eyes turning)."""
    g = FigureGeometry.of(comp.looks[p.cid], p.scale)
    cy = p.y + g.head_cy
    return p.x - g.head_w * 0.8, cy - g.head_h * 0.72, p.x + g.head_w * 0.8, cy + g.head_h * 0.62


def _light_extent(comp: Composition, p: Placement) -> tuple[float, float, float, float]:
    """The world box a speaker's highlight can change (their light and every figure it touches)."""
    look = comp.looks[p.cid]
    g = FigureGeometry.of(look, p.scale)
    x0, y0, x1, y1 = figure_extent(look, p.x, p.y, p.scale)
    gx0, gy0, gx1, gy1 = p.x - g.height * 0.55, p.y - g.height * 0.1, p.x + g.height * 0.55, p.y + g.height * 1.25
    return _grown(comp, (min(x0, gx0), min(y0, gy0), max(x1, gx1), max(y1, gy1)))


def _grown(comp: Composition, start: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """``start`` grown over every figure it overlaps, so they redraw whole."""
    box = list(start)
    changed = True
    while changed:  # grow over figures that overlap the patch, so they redraw whole
        changed = False
        for q in comp.figures:
            e = _figure_box(comp, q)
            if e[2] > box[0] and e[0] < box[2] and e[3] > box[1] and e[1] < box[3]:
                grown = [min(box[0], e[0]), min(box[1], e[1]), max(box[2], e[2]), max(box[3], e[3])]
                if grown != box:
                    box, changed = grown, True
    return box[0], box[1], box[2], box[3]


def _rim_colour(comp: Composition, p: Placement) -> tuple[int, int, int]:
    """The light that outlines a speaker: warm light tinted by their colour."""
    return mix(mix(comp.palette.glow, (255, 255, 255), 0.3), comp.looks[p.cid].accent, 0.3)


def _speaker_light(pen: Pen, comp: Composition, p: Placement) -> None:
    """A soft light behind the speaker's head and shoulders and a ring at their
    feet, in their colour."""
    look = comp.looks[p.cid]
    g = FigureGeometry.of(look, p.scale)
    colour = mix(comp.palette.glow, look.accent, 0.35)
    pen.glow(p.x, p.y + g.head_cy - g.head_h * 0.7, g.height * 0.34, g.height * 0.42, colour, 0.5, falloff=1.5)
    if not p.back:
        foot = p.y + (seat_drop(look, p.scale) if p.seated else 0.0)
        pen.ellipse(p.x, foot + 0.01, g.shoulder_w * 1.9, g.height * 0.045, None, outline=(*look.accent, 200),
                    width=g.height * 0.012)
