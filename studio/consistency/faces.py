"""Faces: detection, alignment and 128-D embeddings with dlib.

dlib comes from the ``dlib-bin`` wheel (prebuilt, nothing compiles); the model files
(the 5-point shape predictor and the ResNet face recognition model) from the
``face-recognition-models`` package. That package's ``__init__`` imports
``pkg_resources``, which current setuptools no longer has, so its ``models/`` folder
is located without importing it.

Embeddings of the same person lie within about 0.6 of each other (Euclidean);
different people usually lie further apart: :data:`MATCH_DISTANCE`.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from studio.errors import StudioError

MATCH_DISTANCE = 0.6  # dlib's documented same-person threshold for its ResNet model
#: a detection scoring below this is not a face we trust (dlib's HOG detector finds a
#: weak second "face" in many photos, scored around 0.1; real frontal faces score > 1)
MIN_SCORE = 0.5
CHIP_SIZE = 150  # the aligned face the ResNet model reads, in pixels
MODEL_FILES = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")


@dataclass(frozen=True)
class Face:
    """A detected face: its box in image pixels ``(left, top, right, bottom)`` and the
    detector's confidence."""

    box: tuple[int, int, int, int]
    score: float

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def models_dir() -> Path:
    """The ``models/`` folder of the ``face-recognition-models`` package."""
    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        folder = Path(location) / "models"
        if all((folder / name).is_file() for name in MODEL_FILES):
            return folder
    raise StudioError("the face models are not installed",
                      hint="pip install face-recognition-models (or ./run.sh setup)")


class _Models:
    """dlib's detector, shape predictor and recognition model, loaded once (≈ 0.8 s)."""

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError:
            raise StudioError("dlib is not installed", hint="pip install dlib-bin (or ./run.sh setup)") from None
        folder = models_dir()
        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.shapes = dlib.shape_predictor(str(folder / MODEL_FILES[0]))
        self.recognizer = dlib.face_recognition_model_v1(str(folder / MODEL_FILES[1]))
        self.lock = threading.Lock()  # dlib objects are not documented as thread-safe


@lru_cache(maxsize=1)
def _models() -> _Models:
    return _Models()


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image, got {image.shape} {image.dtype}")
    return np.ascontiguousarray(image)


def detect(image: np.ndarray, upsample: int = 1, min_score: float = MIN_SCORE) -> list[Face]:
    """Frontal faces in ``image`` (RGB uint8), most confident first. ``upsample``
    doubles the image that many times first: 0 finds faces of about 80 pixels and up,
    1 of about 40, 2 of about 20 (each step costs about 4x)."""
    m = _models()
    with m.lock:
        rects, scores, _ = m.detector.run(_rgb(image), upsample, min(0.0, min_score))
    faces = [Face((r.left(), r.top(), r.right(), r.bottom()), float(s)) for r, s in zip(rects, scores)
             if s >= min_score]
    return sorted(faces, key=lambda f: -f.score)


def _shape(m: _Models, image: np.ndarray, face: Face) -> Any:
    return m.shapes(image, m.dlib.rectangle(*face.box))


def embed(image: np.ndarray, face: Face) -> np.ndarray:
    """The 128-D embedding (float64) of ``face`` in ``image``."""
    m = _models()
    image = _rgb(image)
    with m.lock:
        return np.asarray(m.recognizer.compute_face_descriptor(image, _shape(m, image, face)), dtype=np.float64)


def chip(image: np.ndarray, face: Face, size: int = 256, padding: float = 0.25) -> np.ndarray:
    """The face cut out, upright (eyes level) and centred, ``size`` pixels square;
    ``padding`` adds that fraction of the face's size around it."""
    m = _models()
    image = _rgb(image)
    with m.lock:
        return np.asarray(m.dlib.get_face_chip(image, _shape(m, image, face), size=size, padding=padding))


def distance(a: np.ndarray | tuple[float, ...], b: np.ndarray | tuple[float, ...]) -> float:
    """Euclidean distance between two embeddings: ≤ :data:`MATCH_DISTANCE` is the same person."""
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))
