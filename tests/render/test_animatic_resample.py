"""The moving camera's resampler (studio.render.animatic.resample) against Pillow's."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studio.render.animatic.resample import Sampler


@pytest.fixture(scope="module")
def canvas() -> Image.Image:
    """A smooth picture with edges (gradients, soft stripes, a disc, a bar): what a
    supersampled canvas looks like."""
    h, w = 300, 500
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    stripes = 60 * np.sin(2 * np.pi * (x + 0.6 * y) / 14)
    img = np.stack([x / w * 180 + 40 + stripes, y / h * 255, (x + y) / (w + h) * 200 + 30 - stripes], axis=-1)
    img = np.clip(img, 0, 255)
    img[(x - 200) ** 2 + (y - 150) ** 2 < 60**2] = (240, 40, 40)
    img[100:110, 50:450] = (20, 20, 200)
    return Image.fromarray(img.astype(np.uint8))


def test_a_whole_pixel_window_at_one_to_one_is_a_plain_crop(canvas: Image.Image) -> None:
    frame = Sampler((160, 90)).cut(canvas, (37.0, 21.0, 197.0, 111.0))
    assert frame.shape == (90, 160, 3) and frame.dtype == np.uint8 and frame.flags.c_contiguous
    assert np.array_equal(frame, np.asarray(canvas.crop((37, 21, 197, 111))))


@pytest.mark.parametrize("box", [
    (37.25, 21.0, 197.25, 111.0),  # a pan between pixels
    (10.3, 5.7, 10.3 + 160 * 1.37, 5.7 + 90 * 1.37),  # a wider window: a pull-back
    (50.5, 40.25, 50.5 + 160 * 0.8, 40.25 + 90 * 0.8),  # a tighter one: a push-in
])
def test_sub_pixel_and_scaled_windows_sample_what_pillow_samples(canvas: Image.Image, box: tuple) -> None:
    """Same geometry as ``Image.resize(box=...)``: a mapping off by half a pixel would
    differ by far more than the two filters differ."""
    ours = np.asarray(Sampler((160, 90)).cut(canvas, box), np.float64)
    pillow = np.asarray(canvas.resize((160, 90), Image.BILINEAR, box=box), np.float64)
    assert ours.shape == pillow.shape == (90, 160, 3)
    assert np.abs(ours - pillow).mean() < 1.5  # measured 0.0, 0.88, 0.10 (of 255)
    shifted = np.asarray(canvas.resize((160, 90), Image.BILINEAR,
                                       box=(box[0] + 0.5, box[1], box[2] + 0.5, box[3])), np.float64)
    assert np.abs(ours - shifted).mean() > 3 * np.abs(ours - pillow).mean()


def test_the_same_window_gives_the_same_bytes_and_the_canvas_array_follows_the_picture(canvas: Image.Image) -> None:
    sampler = Sampler((160, 90))
    box = (12.4, 8.9, 12.4 + 160 * 1.2, 8.9 + 90 * 1.2)
    first = np.asarray(sampler.cut(canvas, box)).copy()
    assert np.array_equal(first, np.asarray(Sampler((160, 90)).cut(canvas, box)))
    other = canvas.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # a new variant of the canvas
    flipped = np.asarray(sampler.cut(other, box))
    assert not np.array_equal(first, flipped)
    assert np.array_equal(flipped, np.asarray(Sampler((160, 90)).cut(other, box)))


@pytest.mark.parametrize("radius", [1.0, 4.0, 10.0])
def test_soften_blurs_as_pillow_blurs(canvas: Image.Image, radius: float) -> None:
    from PIL import ImageFilter

    from studio.render.animatic.resample import soften

    ours = np.asarray(soften(canvas, radius), np.float64)
    pillow = np.asarray(canvas.filter(ImageFilter.GaussianBlur(radius)), np.float64)
    source = np.asarray(canvas, np.float64)
    assert ours.shape == source.shape
    # much nearer Pillow's blur than the picture it blurred (reduced-size blurs differ a little)
    assert np.abs(ours - pillow).mean() < 0.25 * np.abs(source - pillow).mean()
    # and blurred as much: the pixel-to-pixel steps shrink as Pillow's do
    step = lambda a: np.abs(np.diff(a, axis=1)).mean()  # noqa: E731
    assert step(ours) < step(source)
    assert step(ours) == pytest.approx(step(pillow), rel=0.25)  # measured 1%, 13%, 0%


def test_a_sampler_turning_between_pictures_cuts_what_a_fresh_one_cuts(canvas: Image.Image, monkeypatch) -> None:
    """Pictures come back (a speaker's mouth shapes): their arrays are kept, within
    KEPT_BYTES, and a picture changed into another object is never mistaken for one kept."""
    from studio.render.animatic import resample

    monkeypatch.setattr(resample, "KEPT_BYTES", 2 * canvas.width * canvas.height * 3)
    pictures = [canvas, canvas.transpose(Image.Transpose.FLIP_LEFT_RIGHT), canvas.rotate(180)]
    sampler = Sampler((160, 90))
    box = (37.25, 21.0, 197.25, 111.0)
    for k in [0, 1, 0, 2, 1, 0, 0, 2]:
        assert np.array_equal(sampler.cut(pictures[k], box), Sampler((160, 90)).cut(pictures[k], box))
        assert len(sampler._kept) <= 2
    assert sampler._kept[id(pictures[2])][0] is pictures[2]  # the latest is kept
