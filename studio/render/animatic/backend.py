"""The animatic backend: a previz animatic, drawn on the CPU, fast.

How a shot renders (see the package docstring for the look):

1. :func:`~studio.render.animatic.stage.setup_shot` composes the shot (backdrop,
   figures, an insert's object) and frames it; a :class:`CameraPath` moves that
   framing over the shot (from where a continuous shot's predecessor ended).
2. The composition is drawn *once* onto a canvas covering every window the camera
   visits, at a little more resolution than the tightest window needs (a long zoom
   gets a few canvases, one per stretch of similar sizes, drawn when reached).
   Speakers get canvas variants (lit, mouth open / closed), redrawn as patches.
3. Each frame crops and resizes its window from the canvas (a still camera resizes
   once), pastes the overlays that are live (subtitles, titles, labels), and is
   yielded as a ``(height, width, 3)`` uint8 array. A frame identical to one just made
   is the same array object again; such a frame, one that may come back, is read-only.
   A moving camera's frame comes back only while the camera rests: the others are not
   kept, and those cut straight from the canvas are writable, so the encoder does not
   keep their conversion either (at 1280x720 the 8 kept frames and the encoder's 8
   conversions were 33 MB a shot worker held for nothing during a push-in).

Everything is a pure function of the plan and the conditioning: no global random
state, no clock, no dict-order dependence.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
from PIL import Image, ImageChops

from studio.errors import StudioError
from studio.graph.export import SIZE_ABBREVIATIONS
from studio.render.animatic.acting import (
    NEUTRAL,
    FaceState,
    blink_frames,
    emphasised,
    expression_at,
    expression_of,
    gesture_at,
)
from studio.render.animatic.blocking import Staging, movements, walk_offset
from studio.render.animatic.camera import CameraPath, Window, normal_move, take_framing
from studio.render.animatic.cast_face import speaking_face
from studio.render.animatic.figures import FigureGeometry
from studio.render.animatic.lipsync import mouth_levels, mouth_track, text_track, word_times
from studio.render.animatic.overlays import (
    FILM_TITLE_SECONDS,
    TITLE_CARD_SECONDS,
    Overlay,
    Timed,
    film_title,
    guides,
    label_pill,
    prefix_colour,
    speaker_prefix,
    subtitle_pages,
    title_card,
    vignette,
)
from studio.render.animatic.palette import figure_light
from studio.render.animatic.resample import Sampler
from studio.render.animatic.stage import SPACING, Canvas, Composition, ShotSetup, setup_shot
from studio.render.backend import Conditioning
from studio.render.plan import ShotPlan
from studio.render.staging import changes

log = logging.getLogger("studio.render.animatic")

VERSION = "1.5"  # bump whenever the pixels for the same plan change

#: option -> (type, default, help)
OPTIONS: dict[str, tuple[type, Any, str]] = {
    "subtitles": (bool, True, "draw each line's subtitles"),
    "grain": (bool, False, "add a soft, moving film grain"),
    "guides": (bool, False, "draw action/title-safe frames and thirds"),
    "slate": (bool, False, "label each shot with its id, size and move (top right)"),
    "blocking": (bool, True, "stage what the action says: characters walk in and out, sit, stand, turn, cross"),
    "acting": (bool, True, "lip-sync from the speech, expressions, blinks and listeners (off: a plain board)"),
    "quality": (str, "good", "draft, good or high: how much larger than the frame the stage is drawn"),
}
#: quality -> (supersampling of every canvas (drawn that many times larger, then reduced),
#: a moving camera's canvas resolution over what its tightest window needs)
QUALITY = {"draft": (1, 1.0), "good": (2, 1.0), "high": (3, 1.25)}
MAX_CANVAS_PIXELS = 16_000_000  # drawn pixels per canvas; a long zoom is split into several
SEGMENT_RATIO = 1.6  # the widest window of a canvas over its tightest
BLEND_SECONDS = 0.5  # a continuous shot dissolves from the previous frame over this
MOUTH_HZ = 6.0  # open/close cycles per second while a line plays (acting off)
SMALL_FACE_PIXELS = 24  # a head shorter than this on screen only opens and closes its mouth (no blinks, no faces)
CACHE_FRAMES = 8  # composed frames kept for reuse (a speaking close-up alternates two)
STRIDE_METRES = 1.3  # a walk's cycle: two steps, left foot then right


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """Options with defaults filled in; an unknown option or a wrong type is a StudioError."""
    known = ", ".join(sorted(OPTIONS))
    out: dict[str, Any] = {}
    for name in sorted(options):
        if name not in OPTIONS:
            raise StudioError(f"unknown animatic option {name!r}", hint=f"known options: {known}")
    for name, (kind, default, _) in sorted(OPTIONS.items()):
        value = options.get(name, default)
        if not isinstance(value, kind):
            raise StudioError(f"animatic option {name!r} must be a {kind.__name__}, not {value!r}",
                              hint=f"e.g. {name}: {str(default).lower() if kind is bool else default}")
        out[name] = value
    if out["quality"] not in QUALITY:
        raise StudioError(f"animatic option 'quality' must be one of {', '.join(QUALITY)}, not {out['quality']!r}")
    return out


class AnimaticBackend:
    """Flat, legible previz: location backdrops, stylised figures, framing by shot
    size, eased camera moves, speaking marks, subtitles and title cards."""

    name = "animatic"
    version = VERSION
    varies = False  # deterministic: a new take only reframes, so identity QA never re-takes

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = check_options(dict(options or {}))
        self._told: set[str] = set()

    @property
    def wants_speech(self) -> bool:
        """Acting reads each shot's mouths from the lines as they were spoken."""
        return bool(self.options["acting"])

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "options": dict(sorted(self.options.items()))}

    def render(self, plan: ShotPlan, cond: Conditioning) -> Iterator[np.ndarray]:
        """Yield exactly ``plan.frames`` frames, each a C-contiguous ``(plan.height,
        plan.width, 3)`` uint8 RGB array. Frames may repeat as the same object: those
        are read-only (copy one before changing it); a writable frame is not yielded
        again."""
        if cond.keyframe is not None:
            self._tell("keyframe", "the animatic draws a shot's first frame itself: a keyframe only marks the "
                                   "shot's key (a new keyframe renders it again)")
        return _Shot(plan, cond, self.options, self._tell).frames()

    def _tell(self, key: str, message: str, level: int = logging.INFO) -> None:
        """Log ``message`` once per backend."""
        if key not in self._told:
            self._told.add(key)
            log.log(level, message)


# --------------------------------------------------------------------------- one shot


def _load_face(path: str) -> Image.Image:
    """A face crop as a centred square image: RGBA when the file has transparency, else RGB."""
    with Image.open(path) as im:
        alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
        im = im.convert("RGBA" if alpha else "RGB")
    w, h = im.size
    s = min(w, h)
    return im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))


def _lit(image: Image.Image, key: tuple[float, float, float]) -> Image.Image:
    """``image`` under the figures' light ``key`` (per-channel multipliers; alpha kept)."""
    bands = list(image.split())
    for k in range(3):
        bands[k] = bands[k].point(lambda v, m=key[k]: min(255, round(v * m)))
    return Image.merge(image.mode, bands)


class _Segment:
    """A run of frames ``[first, last]`` drawn from one canvas."""

    def __init__(self, first: int, last: int, rect: tuple[float, float, float, float], scale: float,
                 size: tuple[int, int] | None = None) -> None:
        self.first, self.last, self.rect, self.scale, self.size = first, last, rect, scale, size


class _Shot:
    def __init__(self, plan: ShotPlan, cond: Conditioning, options: dict[str, Any], tell) -> None:  # noqa: ANN001
        self.plan = plan
        self.cond = cond
        self.options = options
        self.tell = tell
        self.w, self.h = int(plan.width), int(plan.height)
        self.aspect = self.w / self.h
        self.fps = plan.fps
        self._sampler = Sampler((self.w, self.h))  # a moving camera's frames, cut from its canvases
        self.setup: ShotSetup = setup_shot(plan)
        self.comp: Composition = self.setup.composition
        self.path = CameraPath(take_framing(self.setup.window, plan.seed), plan.move, plan.duration, self.aspect,
                               self.setup.anchor, plan.seed, self._start_window())
        self.faces = self._faces()
        self.speakers = {p.cid for p in self.comp.figures}
        self.overlays = self._overlays()
        self.fixed: list[Overlay] = self._fixed_overlays()
        self.acting = bool(options["acting"]) and self.comp.kind != "insert"
        if self.acting:
            self._prepare_acting()
        blocked = options["blocking"] and self.comp.kind != "insert"
        self.walks = self._walks() if blocked else {}
        self.stagings = self._stagings() if blocked else {}

    # ------------------------------------------------------------ set-up

    def _start_window(self) -> Window | None:
        """Where a continuous shot's camera starts: the end of the previous framing,
        when it looked at the same place."""
        cont = self.plan.continues
        if cont is None or not self.cond.previous_frames or cont.location_id != self.plan.location_id:
            return None
        if self.plan.size == "insert" or cont.size == "insert":
            return None
        prev = setup_shot(self.plan, size=cont.size, subjects=cont.subjects)
        # the previous shot's length is unknown here; every move but handheld ends
        # on the same window whatever its length
        path = CameraPath(take_framing(prev.window, cont.seed), cont.move, 1.0, self.aspect, prev.anchor, cont.seed)
        return path.base.scaled(1.035, (path.base.cx, path.base.cy)) if path.move == "handheld" else path.end()

    def _faces(self) -> dict[str, Image.Image]:
        faces: dict[str, Image.Image] = {}
        for p in self.comp.figures:
            ident = self.cond.identities.get(p.cid)
            if ident is None:
                continue
            if ident.face:
                try:
                    image = _load_face(ident.face)
                    if self.options["acting"]:  # the face takes the light the figures stand in, and speaks
                        key = figure_light(self.plan.time_of_day, self.comp.palette.interior)
                        faces[p.cid] = speaking_face(ident.face, _lit(image, key), key)
                    else:
                        faces[p.cid] = image
                except (OSError, ValueError) as e:
                    self.tell(f"face:{ident.face}", f"animatic: cannot read face image {ident.face} ({e}); "
                                                    f"drawing {p.cid}'s face instead", logging.WARNING)
            elif ident.references:
                self.tell("references", "animatic: draws figures from their descriptions; reference images "
                                        "are used only through a face crop (Identity.face)")
        return faces

    def _overlays(self) -> list[Timed]:
        plan = self.plan
        out: list[Timed] = []
        # titles fit in the shot: on a short shot they fade out before the cut
        fit = max(plan.duration - 1 / plan.fps, 0.8)
        if plan.film_title:
            card = film_title(plan.film_title, self.w, self.h, plan.film_credit)
            card.end = min(card.end, fit)
            out.append(card)
        if plan.title_card:
            start = 0.0
            if plan.film_title and plan.duration >= FILM_TITLE_SECONDS + TITLE_CARD_SECONDS:
                start = FILM_TITLE_SECONDS
            card = title_card(plan.title_card, self.w, self.h, start)
            card.end = min(card.end, max(fit, start + 0.8))
            out.append(card)
        if self.options["subtitles"]:
            for line in sorted(plan.lines, key=lambda ln: (ln.start, ln.end, ln.id)):
                accent = self.comp.looks[line.speaker].accent if line.speaker in self.comp.looks else (255, 214, 120)
                prefix = speaker_prefix(plan, line, self.setup.on_screen)
                out += subtitle_pages(line, self.w, self.h, prefix, prefix_colour(accent))
        return out

    def _fixed_overlays(self) -> list[Overlay]:
        plan = self.plan
        out: list[Overlay] = []
        top = round(self.h * 0.065)
        if self.setup.pov:
            out.append(vignette(self.w, self.h))
        if self.options["guides"]:
            out.append(guides(self.w, self.h))
        if self.options["slate"]:
            text = f"{plan.shot_id}  {SIZE_ABBREVIATIONS.get(plan.size, plan.size)}  {normal_move(plan.move)}"
            pill = label_pill(text, self.w, self.h, top, caption="SHOT")
            out.append(pill)
            top += pill.image.size[1] + round(self.h * 0.015)
        if self.comp.kind == "insert" and plan.focus:
            out.append(label_pill(plan.focus, self.w, self.h, top))
        return out

    # ------------------------------------------------------------ canvases

    def _segments(self, windows: list[Window]) -> list[_Segment]:
        """Runs of frames that share a canvas: one for a still camera (exactly the
        frame), else one per stretch of windows of similar size."""
        oversample, q_move = QUALITY[self.options["quality"]]
        if self.path.still:
            win = windows[0]
            return [_Segment(0, len(windows) - 1, win.rect(self.aspect), self.h / win.h, (self.w, self.h))]
        budget = MAX_CANVAS_PIXELS / oversample**2
        segments: list[_Segment] = []
        first = 0
        lo = hi = windows[0].h
        rect = list(windows[0].rect(self.aspect))

        def close(last: int) -> None:
            scale = q_move * self.h / lo
            pad = lo * 0.03 + 4 * lo / self.h
            area = (rect[2] - rect[0] + 2 * pad) * (rect[3] - rect[1] + 2 * pad)
            scale = min(scale, math.sqrt(budget / max(area, 1e-9)))
            # a whole number of pixels of margin: a pan's steady axis stays pixel-aligned
            margin = math.ceil(pad * scale) / scale
            r = (rect[0] - margin, rect[1] - margin, rect[2] + margin, rect[3] + margin)
            segments.append(_Segment(first, last, r, scale))

        for i in range(1, len(windows)):
            win = windows[i]
            wr = win.rect(self.aspect)
            nlo, nhi = min(lo, win.h), max(hi, win.h)
            nrect = [min(rect[0], wr[0]), min(rect[1], wr[1]), max(rect[2], wr[2]), max(rect[3], wr[3])]
            area = (nrect[2] - nrect[0]) * (nrect[3] - nrect[1]) * (q_move * self.h / nlo) ** 2
            if nhi / nlo > SEGMENT_RATIO or area > budget * 1.5:
                close(i - 1)
                first, lo, hi, rect = i, win.h, win.h, list(wr)
            else:
                lo, hi, rect = nlo, nhi, nrect
        close(len(windows) - 1)
        return segments

    def _canvas(self, seg: _Segment) -> Canvas:
        return Canvas(self.comp, seg.rect, seg.scale, self.faces, size=seg.size,
                      oversample=QUALITY[self.options["quality"]][0], walkers=frozenset(self.walks) | frozenset(self.stagings))

    # ------------------------------------------------------------ frames

    def _walks(self) -> dict[str, tuple[str, float]]:
        """Who walks in or out of this shot (the action says so): ``{cid: (kind,
        outside)}``, ``outside`` the signed metres from their mark to beyond the frame's
        edge on their side of the stage."""
        plan = self.plan
        names = {m.id: m.name for m in plan.present}
        win = self.setup.window
        half = win.h * self.aspect / 2 * 1.12  # the camera may drift: a little beyond the edge
        out: dict[str, tuple[str, float]] = {}
        for move in movements(plan.action, names):
            p = next((q for q in self.comp.figures if q.cid == move.cid and not q.back), None)
            if p is None:
                continue
            side = -1.0 if p.x < win.cx or (p.x == win.cx and p.x < 0) else 1.0
            reach = FigureGeometry.of(self.comp.looks[p.cid], p.scale).shoulder_w * 1.8 + 0.1
            out[p.cid] = (move.kind, side * (abs(win.cx + side * half - p.x) + reach))
        return out

    def _stagings(self) -> dict[str, Staging]:
        """Who sits, stands, turns or crosses in this shot (the action says so), from
        the pose the plan opens them in (what the scene's earlier action said)."""
        plan = self.plan
        members = {m.id: m for m in plan.present}
        stage = [p for p in self.comp.figures if p.scale == 1.0 and p.dim == 1.0]
        xs = {p.cid: p.x for p in stage}
        by: dict[str, list] = {}
        for ch in changes(plan.action, {m.id: m.name for m in plan.present}):
            if ch.cid in xs:
                by.setdefault(ch.cid, []).append(ch)
        out: dict[str, Staging] = {}
        order = sorted(xs, key=lambda c: (xs[c], c))
        for cid, steps in sorted(by.items()):
            x = xs[cid]
            others = [v for c, v in xs.items() if c != cid]
            rightward = order.index(cid) <= (len(order) - 1) / 2
            if not others:
                cross = SPACING
            else:
                cross = (max(others) + SPACING - x) if rightward else (min(others) - SPACING - x)
            toward = tuple(max(-1.0, min(1.0, (xs[ch.toward] - x) / SPACING)) * 0.9
                           if ch.kind == "toward" and ch.toward in xs and xs[ch.toward] != x else 0.0
                           for ch in steps)
            gaze = next(p.gaze for p in stage if p.cid == cid)
            out[cid] = Staging(members[cid].seated, members[cid].away, tuple(ch.kind for ch in steps), toward,
                               round(cross, 3), 1.0 if gaze >= 0 else -1.0)
        return out

    def _prepare_acting(self) -> None:
        """Per-frame mouths (from the shot's speech, else the lines' letters),
        each figure's lines' expressions, blinks and listeners' nods."""
        plan, n, fps = self.plan, int(self.plan.frames), self.fps
        speech = self.cond.speech
        if speech is not None and len(speech.samples):
            texts = [next((ln.text for ln in plan.lines if abs(ln.start - a) < 1.5 / fps), None)
                     for a, _ in speech.spans]
            self.mouths = mouth_track(speech.samples, speech.sample_rate, fps, n, speech.spans, texts,
                                      speech.phonemes)
            self.levels = mouth_levels(speech.samples, speech.sample_rate, fps, n)
        else:
            self.mouths = text_track([(ln.start, ln.end, ln.text) for ln in plan.lines if not ln.off_screen], fps, n)
            self.levels = [1.0] * n
        front = [p for p in self.comp.figures if not p.back]
        self.expressions = {p.cid: [(ln.start, ln.end, expression_of(ln.parenthetical, ln.text))
                                    for ln in plan.lines if ln.speaker == p.cid] for p in front}
        close = plan.size in ("close-up", "extreme-close-up", "medium-close-up")
        self.blinks = {p.cid: blink_frames(plan.seed, p.cid, n, fps, close) for p in front}
        self.nods: dict[str, set[int]] = {p.cid: set() for p in front}
        for ln in plan.lines:
            if ln.end - ln.start < 1.5:
                continue
            mid = int((ln.start + (ln.end - ln.start) * 0.55) * fps)
            for p in front:
                if p.cid != ln.speaker:  # a listener nods once through a longer line
                    self.nods[p.cid].update(range(mid, mid + max(2, round(0.3 * fps))))
        self.front = front
        self._placed = {p.cid: p for p in self.comp.figures}
        # gestures: an arm comes up on each stressed word, when the word is spoken
        self.arms: dict[str, list[float]] = {}
        starts: dict[str, list[float]] = {}
        for ln in plan.lines:
            offsets = emphasised(ln.text)
            if offsets and not ln.off_screen and ln.speaker in self._placed:
                audio = speech.samples if speech is not None else None
                timed = next((w for (a, _), w in zip(speech.spans, speech.words) if abs(ln.start - a) < 1.5 / fps),
                             None) if speech is not None else None
                starts.setdefault(ln.speaker, []).extend(
                    word_times(ln.text, offsets, ln.start, ln.end, audio, speech.sample_rate if speech else 0, timed))
        for cid, ts in starts.items():
            self.arms[cid] = [gesture_at(i / fps, ts) for i in range(n)]

    def _acts(self, i: int, speaker: str | None, win: Window) -> tuple[tuple[str, FaceState], ...]:
        """What each face does on frame ``i`` (only those not at rest)."""
        t = i / self.fps
        out = []
        small = False
        for p in self.front:
            look = self.comp.looks[p.cid]
            head_px = look.height * 0.152 * p.scale / win.h * self.h
            small = head_px < SMALL_FACE_PIXELS
            mouth = self.mouths[i] if p.cid == speaker else "rest"
            gaze = None
            talker = self._placed.get(speaker) if speaker else None
            if talker is not None and talker is not p and abs(talker.x - p.x) > 1e-6:
                # a listener looks at whoever speaks (the placement looks at the group)
                toward = max(-1.0, min(1.0, (talker.x - p.x) / 1.3)) * 0.75
                gaze = toward if abs(toward - p.gaze) > 0.05 else None
            if small:  # too small to read a face: the mouth opens and closes, nothing else
                act = FaceState(mouth="open" if mouth in ("open", "wide", "round") else "rest", gaze=gaze)
            else:
                expr, k = expression_at(t, self.expressions[p.cid])
                level = self.levels[i] if mouth in ("teeth", "round", "open", "wide") else 1.0
                arm = self.arms[p.cid][i] if p.cid in self.arms else 0.0
                act = FaceState(mouth=mouth, level=level, expression=expr, strength=k, blink=i in self.blinks[p.cid],
                                nod=1.0 if i in self.nods[p.cid] else 0.0, gaze=gaze, arm=arm)
            if act != NEUTRAL:
                out.append((p.cid, act))
        return tuple(sorted(out, key=lambda a: a[0]))

    def _walking(self, acts: Any, t: float, speaker: str | None, mouth: bool) -> tuple[tuple[str, FaceState], ...]:
        """``acts`` (or the plain board's open mouth) with every walker where they are at ``t``."""
        if isinstance(acts, bool):
            acts = ((speaker, FaceState(mouth="open")),) if mouth and speaker else ()
        faces = dict(acts)
        for cid, (kind, outside) in self.walks.items():
            step = round(walk_offset(kind, t, self.plan.duration, outside), 3)
            faces[cid] = replace(faces.get(cid, NEUTRAL), step=step)
        for cid, staging in self.stagings.items():
            posed = staging.at(t, self.plan.duration)
            face = faces.get(cid, NEUTRAL)
            faces[cid] = replace(face, step=round(face.step + posed.step, 3), seat=posed.seat, back=posed.back,
                                 chair=posed.chair, gaze=face.gaze if posed.gaze is None else posed.gaze)
        for cid in set(self.walks) | set(self.stagings):
            stride = self._stride(cid, t)
            if stride:
                faces[cid] = replace(faces[cid], stride=stride)
        return tuple(sorted(faces.items(), key=lambda a: a[0]))

    def _step(self, cid: str, t: float) -> float:
        """How far (metres) from their mark ``cid`` has walked at ``t``: an entrance or
        exit and a staged cross together."""
        step = 0.0
        if cid in self.walks:
            kind, outside = self.walks[cid]
            step += walk_offset(kind, t, self.plan.duration, outside)
        if cid in self.stagings:
            step += self.stagings[cid].at(t, self.plan.duration).step
        return step

    def _stride(self, cid: str, t: float) -> float:
        """Where a walking figure's legs are in their cycle at ``t`` (-1..1, 0 when they
        stand still): one cycle per :data:`STRIDE_METRES` walked, so the feet keep pace
        with the ground (a walk that slows onto its mark slows its steps)."""
        half = 0.5 / self.fps
        if abs(self._step(cid, t + half) - self._step(cid, max(0.0, t - half))) < 1e-4:
            return 0.0
        return round(math.sin(2 * math.pi * self._step(cid, t) / STRIDE_METRES), 2) or 0.0

    def _speaker(self, t: float) -> tuple[str | None, bool]:
        """Who is marked speaking at ``t`` seconds, and whether their mouth is open."""
        for line in self.plan.lines:
            if line.start <= t < line.end:
                if line.off_screen or line.speaker not in self.speakers:
                    return None, False
                phase = (t - line.start) * MOUTH_HZ * 2
                return line.speaker, int(phase) % 2 == 0 and line.end - t > 0.1
        return None, False

    def _previous(self) -> Image.Image | None:
        frames = self.cond.previous_frames
        if not frames:
            return None
        last = np.asarray(frames[-1])
        if last.dtype != np.uint8:
            last = np.clip(last, 0, 255).astype(np.uint8)
        if last.ndim == 2:
            last = np.repeat(last[:, :, None], 3, axis=2)
        img = Image.fromarray(np.ascontiguousarray(last[:, :, :3]))
        if img.size != (self.w, self.h):
            img = img.resize((self.w, self.h), Image.BILINEAR)
        return img

    def _grain(self) -> list[tuple[Image.Image, Image.Image]]:
        rng = np.random.default_rng(self.plan.seed)
        out = []
        for _ in range(4):
            small = rng.normal(0.0, 4.0, ((self.h + 1) // 2, (self.w + 1) // 2)).astype(np.float32)
            n = np.asarray(Image.fromarray(small).resize((self.w, self.h), Image.BILINEAR))
            pos = np.clip(n, 0, 255).astype(np.uint8)
            neg = np.clip(-n, 0, 255).astype(np.uint8)
            out.append((Image.fromarray(np.repeat(pos[:, :, None], 3, 2)),
                        Image.fromarray(np.repeat(neg[:, :, None], 3, 2))))
        return out

    def frames(self) -> Iterator[np.ndarray]:
        plan = self.plan
        n = int(plan.frames)
        if n <= 0:
            return
        previous = self._previous()
        if previous is not None:
            last = self.cond.previous_frames[-1]
            if isinstance(last, np.ndarray) and last.shape == (self.h, self.w, 3) and last.dtype == np.uint8:
                yield np.ascontiguousarray(last)
            else:
                yield np.asarray(previous)
            start = 1
        else:
            start = 0
        blend_n = max(1, round(BLEND_SECONDS * self.fps)) if previous is not None else 0
        windows = [self.path.at(i / self.fps) for i in range(n)]
        segments = self._segments(windows)
        grain = self._grain() if self.options["grain"] else None
        still = self.path.still
        cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        seg_index = 0
        canvas: Canvas | None = None
        for i in range(start, n):
            t = i / self.fps
            while segments[seg_index].last < i:
                seg_index += 1
                canvas = None
            seg = segments[seg_index]
            win = windows[i]
            # a frame can come back when its window does: always on a still camera, on a moving
            # one only while it rests (its window a neighbour's); only those are kept for reuse
            held = still or (i + 1 < n and windows[i + 1] == win) or (i > 0 and windows[i - 1] == win)
            speaker, mouth = self._speaker(t)
            variant = (speaker, self._acts(i, speaker, win) if self.acting else mouth)
            if self.walks or self.stagings:
                variant = (speaker, self._walking(variant[1], t, speaker, mouth))
            live = tuple((k, round(o.alpha(t) * 64)) for k, o in enumerate(self.overlays) if o.alpha(t) > 0)
            blend = round(i / blend_n * 256) if i < blend_n else 256
            key = (seg_index, None if still else (win.cx, win.cy, win.h), variant, live,
                   (i % 4) if grain else 0, blend)
            arr = cache.get(key) if held else None
            if arr is not None:
                cache.move_to_end(key)
                yield arr
                continue
            if canvas is None:
                canvas = self._canvas(seg)
            drawn_on = bool(self.fixed or live or grain or (blend < 256 and previous is not None))
            if still:
                frame = canvas.variant(*variant)
                if drawn_on:
                    frame = frame.copy()  # drawn on below: the canvas keeps its variant
            else:
                pixels = self._sampler.cut(canvas.variant(*variant), canvas.box(win.rect(self.aspect)))
                if not drawn_on:  # straight to the encoder, no round trip through Pillow
                    yield self._keep(cache, key, pixels) if held else pixels
                    continue
                frame = Image.fromarray(pixels)
            for o in self.fixed:
                o.paste(frame)
            for k, a in live:
                self.overlays[k].overlay.paste(frame, a / 64)
            if grain:
                pos, neg = grain[i % 4]
                frame = ImageChops.subtract(ImageChops.add(frame, pos), neg)
            if blend < 256 and previous is not None:
                frame = Image.blend(previous, frame, blend / 256)
            arr = np.asarray(frame)  # (read-only: Pillow hands its pixels over as bytes)
            yield self._keep(cache, key, arr) if held else arr

    @staticmethod
    def _keep(cache: OrderedDict[tuple, np.ndarray], key: tuple, arr: np.ndarray) -> np.ndarray:
        """``arr`` remembered under ``key`` (the oldest frame forgotten past CACHE_FRAMES),
        read-only: the same frame may be yielded again."""
        arr.flags.writeable = False
        cache[key] = arr
        if len(cache) > CACHE_FRAMES:
            cache.popitem(last=False)
        return arr


