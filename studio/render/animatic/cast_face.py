"""A cast likeness that speaks: the real person's face, its mouth warped to the shapes.

:class:`SpeakingFace` finds the face's 68 landmarks once (dlib's 68-point shape
predictor, shipped with ``face-recognition-models``), then :meth:`SpeakingFace.posed`
makes the face for a :class:`~studio.render.animatic.acting.FaceState`: the lower lip
and the chin move down as the mouth opens (by the shape's opening and the voice's
level), the corners draw in for a rounded mouth, the inner lips meet for a closed one;
a piecewise-affine warp (scikit-image) carries the skin with them, and the opening
between the inner lips is painted as the mouth's dark inside. A blink draws the lids
down over the eyes in the skin's own colour. Only the lower face and the eyes change,
so the person stays recognisable while they speak. A face without findable landmarks
falls back to stretching the lower face (the old jaw drop).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from studio.render.animatic.acting import FaceState
from studio.render.animatic.lipsync import OPENING

PREDICTOR = "shape_predictor_68_face_landmarks.dat"
WORK_SIZE = 192  # the face is warped at this many pixels square
JAW = list(range(3, 14))  # jaw points that follow the chin down
OUTER_LIP, INNER_LIP = list(range(48, 60)), list(range(60, 68))
LOWER_LIP = [54, 55, 56, 57, 58, 59, 48, 64, 65, 66, 67, 60]
EYES = (list(range(36, 42)), list(range(42, 48)))
POSES_KEPT = 48

_LOCK = threading.Lock()
_PREDICTOR: list = []
_FACES: OrderedDict[tuple, SpeakingFace] = OrderedDict()


def _predictor():  # noqa: ANN202
    if not _PREDICTOR:
        import dlib

        from studio.consistency.faces import models_dir

        _PREDICTOR.append((dlib, dlib.shape_predictor(str(models_dir() / PREDICTOR))))
    return _PREDICTOR[0]


def landmarks(image: np.ndarray) -> np.ndarray | None:
    """The 68 landmarks ``(x, y)`` of the most confident face in ``image`` (RGB uint8),
    or None when dlib finds no face."""
    from studio.consistency.faces import detect

    faces = detect(image, upsample=1)
    if not faces:
        return None
    dlib, predictor = _predictor()
    with _LOCK:
        shape = predictor(np.ascontiguousarray(image), dlib.rectangle(*faces[0].box))
    return np.array([(shape.part(k).x, shape.part(k).y) for k in range(68)], dtype=np.float64)


class SpeakingFace:
    """A face image (square, RGB or RGBA) that can be posed; poses are cached."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.mode = image.mode
        work = image.convert("RGB").resize((WORK_SIZE, WORK_SIZE), Image.BILINEAR)
        self.rgb = np.asarray(work)
        try:
            self.points = landmarks(self.rgb)
        except Exception:  # noqa: BLE001 - no dlib or no model: fall back to the jaw drop
            self.points = None
        self._poses: OrderedDict[tuple, Image.Image] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def posed(self, act: FaceState) -> Image.Image:
        """The face as ``act`` has it (mouth shape and level, blink)."""
        opening = OPENING.get(act.mouth, 0.0) * (0.25 + 0.75 * act.level)
        key = (act.mouth, round(opening, 3), act.blink)
        with self._lock:
            hit = self._poses.get(key)
            if hit is not None:
                self._poses.move_to_end(key)
                return hit
        img = self._pose(act.mouth, opening, act.blink)
        with self._lock:
            self._poses[key] = img
            if len(self._poses) > POSES_KEPT:
                self._poses.popitem(last=False)
        return img

    def _pose(self, mouth: str, opening: float, blink: bool) -> Image.Image:
        if self.points is None:
            return _jaw_drop(self.image, 0.08 * opening)
        src = self.points
        dst = src.copy()
        mouth_h = np.linalg.norm(src[57] - src[51])  # the lips' height at rest
        drop = opening * mouth_h * 0.85
        if mouth == "rest" and not blink:
            return self.image
        if mouth == "closed" or drop <= 0:  # the inner lips meet
            for up, low in ((61, 67), (62, 66), (63, 65)):
                y = (src[up, 1] + src[low, 1]) / 2
                dst[up, 1] = dst[low, 1] = y
        if drop > 0:
            for k in LOWER_LIP:
                dst[k, 1] += drop
            for k in JAW:
                dst[k, 1] += drop * (0.9 if 5 <= k <= 11 else 0.45)
            for k in (61, 62, 63, 50, 51, 52):  # the upper lip lifts a little
                dst[k, 1] -= drop * 0.1
        if mouth == "round":
            centre = src[OUTER_LIP].mean(axis=0)
            for k in OUTER_LIP + INNER_LIP:
                dst[k, 0] = centre[0] + (src[k, 0] - centre[0]) * 0.72
        h, w = self.rgb.shape[:2]
        # warp only the lower face: the eyes and brows (what identity rests on) stay as they are
        lower = np.vstack([src[2:15], src[31:68], dst[2:15], dst[48:68]])
        x0, y0 = np.floor(lower.min(axis=0)) - 6
        x1, y1 = np.ceil(lower.max(axis=0)) + 6
        x0, y0, x1, y1 = int(max(0, x0)), int(max(0, y0)), int(min(w, x1)), int(min(h, y1))
        out_arr = self.rgb.copy()
        if drop > 0 or mouth in ("closed", "round"):
            sub = self.rgb[y0:y1, x0:x1]
            sh, sw = sub.shape[:2]
            border = np.array([(0, 0), (sw - 1, 0), (0, sh - 1), (sw - 1, sh - 1), (sw // 2, 0), (sw // 2, sh - 1),
                               (0, sh // 2), (sw - 1, sh // 2)], dtype=np.float64)
            keep = [k for k in range(68) if x0 < src[k, 0] < x1 - 1 and y0 < src[k, 1] < y1 - 1
                    and x0 < dst[k, 0] < x1 - 1 and y0 < dst[k, 1] < y1 - 1]
            off = np.array([x0, y0], dtype=np.float64)
            out_arr[y0:y1, x0:x1] = _warp(sub, np.vstack([src[keep] - off, border]),
                                          np.vstack([dst[keep] - off, border]))
        if drop > 0.5:  # the mouth's inside, soft-edged: dark, a tongue low in it, the upper teeth when open
            lip = self.rgb[int(src[57, 1]), int(src[57, 0])].astype(np.float32)
            out_arr = _inside(out_arr, dst[INNER_LIP], lip, drop, opening >= 0.5)
        out = Image.fromarray(out_arr)
        draw = ImageDraw.Draw(out)
        if blink:
            for eye in EYES:
                pts = src[eye]
                centre = pts.mean(axis=0)
                lid = centre + (pts - centre) * 1.35
                above = int(max(0, pts[:, 1].min() - 0.9 * (pts[:, 1].max() - pts[:, 1].min() + 3)))
                skin = tuple(int(v) for v in self.rgb[above, int(centre[0])])
                draw.polygon([tuple(p) for p in lid], fill=skin)
                draw.line([tuple(lid[0]), tuple(lid[5]), tuple(lid[4]), tuple(lid[3])],
                          fill=tuple(int(v * 0.45) for v in skin), width=max(1, round(WORK_SIZE / 128)))
        out = out.resize(self.image.size, Image.BILINEAR)
        if self.mode == "RGBA":
            out.putalpha(self.image.getchannel("A"))
        return out


INSIDE_SUPERSAMPLE = 4  # the inner lips' outline is drawn this much finer, then averaged down: a soft edge
THROAT, TONGUE, TEETH = (22.0, 4.0, 8.0), (78.0, 26.0, 30.0), (226.0, 222.0, 212.0)


def _inside(rgb: np.ndarray, inner: np.ndarray, lip: np.ndarray, drop: float, teeth: bool) -> np.ndarray:
    """``rgb`` with the mouth's inside painted between the inner lips ``inner`` (points
    60-67 as posed): a dark throat that deepens towards the corners, a tongue rising in
    the lower middle, both tinted by the ``lip`` colour; with ``teeth``, the upper teeth
    hang ``drop * 0.3`` below the upper inner lip's middle, arching up and shading
    towards the corners. Every
    edge is soft (the outline's corners rounded and anti-aliased, a one-pixel ramp under
    the teeth)."""
    h, w = rgb.shape[:2]
    k = INSIDE_SUPERSAMPLE
    outline = Image.new("L", (w * k, h * k), 0)
    ImageDraw.Draw(outline).polygon([(float(x) * k, float(y) * k) for x, y in _rounded(inner)], fill=255)
    mask = np.asarray(outline.resize((w, h), Image.BOX), np.float32)[..., None] / 255.0
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    top, bottom = float(inner[:, 1].min()), float(inner[:, 1].max())
    cx = float(inner[:, 0].mean())
    half = max(1.0, float(inner[:, 0].max() - inner[:, 0].min()) / 2)
    v = np.clip((ys - top) / max(1.0, bottom - top), 0.0, 1.0)  # 0 under the upper lip .. 1 on the lower
    u = np.clip(np.abs(xs - cx) / half, 0.0, 1.0)  # 0 in the middle .. 1 at the corners
    throat = lip * 0.1 + np.array(THROAT, np.float32) * 0.6
    tongue = lip * 0.3 + np.array(TONGUE, np.float32) * 0.5
    t = (np.clip((v - 0.55) / 0.45, 0.0, 1.0) ** 1.5 * (1.0 - u * u))[..., None]
    colour = (throat * (1.0 - t) + tongue * t) * (1.0 - 0.3 * u[..., None])
    if teeth:
        # the teeth's lower edge: an arch from under the upper lip's middle (61-63), rising to the corners
        band = max(2.0, drop * 0.3)
        edge = float(inner[1:4, 1].mean()) + band * (1.0 - 0.9 * u * u)
        a = np.clip(edge - ys + 0.5, 0.0, 1.0)[..., None]  # a one-pixel ramp at the teeth's edge
        shade = (1.0 - 0.35 * u * u)[..., None] * (1.0 - 0.12 * np.clip((ys - edge + band) / band,
                                                                            0.0, 1.0))[..., None]
        colour = colour * (1.0 - a) + np.array(TEETH, np.float32) * shade * a
    out = rgb.astype(np.float32) * (1.0 - mask) + colour * mask
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _rounded(points: np.ndarray, passes: int = 2) -> np.ndarray:
    """A closed polygon with its corners cut (Chaikin): the inner lips' eight points
    as a rounded opening."""
    p = np.asarray(points, np.float64)
    for _ in range(passes):
        q = np.roll(p, -1, axis=0)
        p = np.column_stack([0.75 * p + 0.25 * q, 0.25 * p + 0.75 * q]).reshape(-1, 2)
    return p


def _warp(image: np.ndarray, src: np.ndarray, dst: np.ndarray, step: int = 4) -> np.ndarray:
    """``image`` warped so that the points ``src`` land on ``dst`` (piecewise affine).
    The map is computed on a grid every ``step`` pixels and interpolated (the warp is
    smooth inside each triangle, and this is ~16x faster than mapping every pixel)."""
    from scipy.ndimage import map_coordinates
    from scipy.spatial import Delaunay

    # each output pixel maps back to where it came from: triangulate the destination
    # points; inside a triangle, the same barycentric weights over the source points
    tri = Delaunay(dst)
    h, w = image.shape[:2]
    gy, gx = np.mgrid[0:h + step:step, 0:w + step:step].astype(np.float64)
    grid = np.column_stack([np.minimum(gx.ravel(), w - 1), np.minimum(gy.ravel(), h - 1)])
    simplex = tri.find_simplex(grid)
    inside = simplex >= 0
    t = tri.transform[simplex[inside]]
    b = np.einsum("nij,nj->ni", t[:, :2], grid[inside] - t[:, 2])
    weights = np.column_stack([b, 1.0 - b.sum(axis=1)])
    mapped = grid.copy()
    mapped[inside] = np.einsum("ni,nij->nj", weights, src[tri.simplices[simplex[inside]]])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) / step
    sx = map_coordinates(mapped[:, 0].reshape(gx.shape), [yy, xx], order=1, mode="nearest")
    sy = map_coordinates(mapped[:, 1].reshape(gx.shape), [yy, xx], order=1, mode="nearest")
    out = np.empty_like(image)
    for ch in range(image.shape[2]):
        out[..., ch] = np.clip(map_coordinates(image[..., ch].astype(np.float32), [sy, sx], order=1,
                                               mode="nearest"), 0, 255).astype(np.uint8)
    return out


def _jaw_drop(img: Image.Image, jaw: float) -> Image.Image:
    if jaw <= 0:
        return img
    w, h = img.size
    split = int(h * 0.58)
    lower = img.crop((0, split, w, h)).resize((w, h - split + max(1, round(h * jaw))), Image.BILINEAR)
    out = img.copy()
    out.paste(lower.crop((0, 0, w, h - split)), (0, split))
    return out


def speaking_face(path: str, image: Image.Image, light: tuple[float, ...] = (1.0, 1.0, 1.0)) -> SpeakingFace:
    """The :class:`SpeakingFace` of the face file ``path`` (loaded, under ``light``, as
    ``image``), kept across shots while the file is unchanged."""
    try:
        st = Path(path).stat()
        key = (str(Path(path).resolve()), st.st_mtime_ns, st.st_size, tuple(light))
    except OSError:
        key = (path, 0, 0, tuple(light))
    with _LOCK:
        face = _FACES.get(key)
    if face is None:
        face = SpeakingFace(image)
        with _LOCK:
            _FACES[key] = face
            if len(_FACES) > 16:
                _FACES.popitem(last=False)
    return face
