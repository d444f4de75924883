"""Colour along a continuity chain: keep every continuation's context frames in the
colour of the chain's start.

A video model continuing from decoded frames reproduces them with a slight colour and
contrast shift, and the next hop continues from that: over a chain of hops the shift
accumulates (reported for Wan 2.1 in Wan-Video/Wan2.1#302, Wan 2.2 in #172, VACE in
ali-vilab/VACE#44). The correction used here is the classic colour transfer of
Reinhard et al. (2001): the context frames' per-channel mean and standard deviation in
CIE L*a*b* are moved to those of the chain's *anchor*, the statistics of the first
context frames the chain handed over. Each hop then starts from the chain's colour and
adds at most one hop's drift, instead of the sum of all hops before it.

Only the frames given to the model as context are corrected; the frames a shot keeps
are the model's own. Numpy only (no torch, no colour library): the sRGB and CIE Lab
formulas are IEC 61966-2-1 and CIE 15 with the D65 white point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: (mean L*, mean a*, mean b*, std L*, std a*, std b*) of a set of frames
ColourAnchor = tuple[float, float, float, float, float, float]

# IEC 61966-2-1 (sRGB) primaries to CIE XYZ, D65
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_DELTA = 6.0 / 29.0
# a context's spread is moved at most this far towards the anchor's: a near-flat frame
# (a fade, a wall) must not have its noise amplified into texture
_MAX_SPREAD_RATIO = 2.0
_ANCHOR_DECIMALS = 4  # anchors enter cache keys: rounding keeps them stable across BLAS builds


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of sRGB colours: uint8 (0-255) or floats in [0, 1], any shape
    ending in 3. L* is in [0, 100]."""
    c = rgb.astype(np.float64) / 255.0 if rgb.dtype == np.uint8 else np.asarray(rgb, np.float64)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > _DELTA ** 3, np.cbrt(xyz), xyz / (3 * _DELTA ** 2) + 4.0 / 29.0)
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """sRGB floats of CIE L*a*b* (D65) colours; colours outside sRGB come back outside
    [0, 1] (the caller clips)."""
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > _DELTA, f ** 3, 3 * _DELTA ** 2 * (f - 4.0 / 29.0)) * _WHITE_D65
    linear = xyz @ _XYZ_TO_RGB.T
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.abs(linear) ** (1 / 2.4) - 0.055)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _lab_pixels(frames: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([srgb_to_lab(np.asarray(f)).reshape(-1, 3) for f in frames])


def colour_anchor(frames: Sequence[np.ndarray]) -> ColourAnchor:
    """The Lab mean and standard deviation per channel over all pixels of ``frames``
    (RGB uint8, H x W x 3): what a chain's later context frames are matched to."""
    if not frames:
        raise ValueError("a colour anchor needs at least one frame")
    pixels = _lab_pixels(frames)
    values = [*pixels.mean(axis=0), *pixels.std(axis=0)]
    return tuple(round(float(v), _ANCHOR_DECIMALS) for v in values)  # type: ignore[return-value]


def match_colour(frames: Sequence[np.ndarray], anchor: ColourAnchor) -> list[np.ndarray]:
    """``frames`` (RGB uint8) with their joint Lab mean and spread per channel moved to
    ``anchor``'s. The frames are corrected together, so what differs between them (a
    light that dims, a camera that moves) is kept."""
    if not frames:
        return []
    labs = [srgb_to_lab(np.asarray(f)) for f in frames]
    pixels = np.concatenate([lab.reshape(-1, 3) for lab in labs])
    mean, std = pixels.mean(axis=0), pixels.std(axis=0)
    target_mean, target_std = np.asarray(anchor[:3]), np.asarray(anchor[3:])
    ratio = np.clip(target_std / np.maximum(std, 1e-6), 1 / _MAX_SPREAD_RATIO, _MAX_SPREAD_RATIO)
    return [_to_uint8(lab_to_srgb((lab - mean) * ratio + target_mean)) for lab in labs]


def delta_e(frame: np.ndarray, reference: np.ndarray) -> float:
    """Mean CIE76 colour difference (ΔE*ab) between two RGB frames of the same size,
    pixel by pixel. About 2.3 is a just-noticeable difference."""
    if frame.shape != reference.shape:
        raise ValueError(f"frames differ in size: {frame.shape} vs {reference.shape}")
    return float(np.linalg.norm(srgb_to_lab(frame) - srgb_to_lab(reference), axis=-1).mean())


def cast_delta_e(frames: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> float:
    """CIE76 difference between the mean Lab colours of ``frames`` and of ``reference``:
    the colour cast alone, whatever moved in the picture (frames may differ in size)."""
    return float(np.linalg.norm(_lab_pixels(frames).mean(axis=0) - _lab_pixels(reference).mean(axis=0)))
