"""Fixtures for identities and likenesses: real face photos (scikit-image's astronaut,
Eileen Collins, NASA, public domain) and the example film cast with one of them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import EXAMPLE

#: big enough that the animatic's composited face survives H.264 and dlib finds it
#: at medium and closer (at 320x180 a medium shot's face is about 20 pixels: too small)
FACE_RESOLUTION = {"resolution": "426x240", "fps": 12}
CONSENT = "I, Eileen Collins, agree that my face may play Mara in The Last Lamp."


def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def save(image: np.ndarray, path: Path, **kwargs) -> Path:
    Image.fromarray(image).save(path, **kwargs)
    return path


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> dict[str, Path]:
    """Photos for enrolment: one face, no face, two faces, a small face, broken files."""
    from skimage import data

    root = tmp_path_factory.mktemp("photos")
    face = astronaut()
    jpeg = io.BytesIO()
    Image.fromarray(face).save(jpeg, format="JPEG", quality=92)
    (root / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 3])
    (root / "garbage.jpg").write_bytes(bytes(range(256)) * 40)
    (root / "notes.png").write_text("this is not a picture\n")
    return {
        "astronaut": save(face, root / "astronaut.jpg", quality=92),
        "mirror": save(np.ascontiguousarray(face[:, ::-1]), root / "mirror.png"),
        "coffee": save(data.coffee(), root / "coffee.png"),
        "two": save(np.concatenate([face, face], axis=1), root / "two.png"),
        "small": save(np.asarray(Image.fromarray(face).resize((200, 200), Image.Resampling.LANCZOS)),
                      root / "small.png"),
        "truncated": root / "truncated.jpg",
        "garbage": root / "garbage.jpg",
        "notes": root / "notes.png",
        "missing": root / "nowhere.jpg",
    }


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty likeness store, the default for this test ($STUDIO_LIKENESSES)."""
    from studio.consistency.likeness import LikenessStore

    root = tmp_path / "likenesses"
    monkeypatch.setenv("STUDIO_LIKENESSES", str(root))
    return LikenessStore(root)


def lamp(update: dict[str, str]):
    from studio.screenplay import load_screenplay

    screenplay = load_screenplay(EXAMPLE)
    return screenplay.model_copy(update={"film": screenplay.film.model_copy(update=update)})


@pytest.fixture(scope="session")
def cast_lamp(tmp_path_factory, photos):
    """The example film at 426x240 with Mara cast as the astronaut, rendered once (no
    sound): (screenplay, RenderResult, folder holding out/ and cache/, store, seconds)."""
    import time

    from studio.consistency.cast import apply_cast
    from studio.consistency.likeness import LikenessStore
    from studio.run.local import render_film

    root = tmp_path_factory.mktemp("cast-lamp")
    store = LikenessStore(root / "likenesses")
    started = time.perf_counter()
    store.add("astro", [photos["astronaut"]], CONSENT, person="Eileen Collins")
    enrolled = time.perf_counter() - started
    screenplay = apply_cast(lamp(FACE_RESOLUTION), {"mara": "astro"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STUDIO_LIKENESSES", str(store.root))
        started = time.perf_counter()
        result = render_film(screenplay, root / "out", cache_dir=root / "cache", name="the-last-lamp", audio=False)
    return screenplay, result, root, store, {"enrol": enrolled, "render": time.perf_counter() - started}
