"""Mouth shapes from the speech: what a speaker's mouth does on each frame.

The shapes are the Preston Blair / Rhubarb set, reduced to what a flat figure can
show: ``rest`` (silence, lips together, relaxed), ``closed`` (m, b, p: lips pressed),
``teeth`` (f, v, s and other fricatives: lips parted over the teeth), ``round``
(o, u, w), ``open`` and ``wide`` (open vowels, by loudness).

:func:`mouth_track` reads them from the audio that was spoken for the shot (the
:class:`~studio.render.backend.ShotSpeech` track, already placed at each line's start):
per frame, the spectrum of the ~40 ms around the frame's middle splits into a nasal
/ voice-bar band (under 350 Hz), the first and second formant bands and a fricative
band. Silence and pauses rest; a murmur with no formant energy (an m, the closure of
a b or p) closes; hiss over voice shows the teeth; a weak second formant against the
first rounds; the rest opens by loudness. :func:`text_track` is the fallback when no
audio was made (``--no-audio``): the line's letters spread over its time.
Both hold every shape at least :data:`MIN_HOLD` frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SHAPES = ("rest", "closed", "teeth", "round", "open", "wide")
#: how far each shape opens the mouth (0 = lips together, 1 = widest)
OPENING: dict[str, float] = {"rest": 0.0, "closed": 0.0, "teeth": 0.2, "round": 0.45, "open": 0.7, "wide": 1.0}
MIN_HOLD = 2  # frames: a shape shorter than this is merged into a neighbour
SILENCE_DB = -30.0  # below the shot's speech level: a pause, the mouth rests
WINDOW_SECONDS = 0.042  # the spectrum's window around each frame's middle
BANDS = {"low": (60.0, 350.0), "f1": (350.0, 1100.0), "f2": (1100.0, 3400.0), "hiss": (3400.0, 11000.0)}


def frame_bands(samples: np.ndarray, rate: int, fps: float, frames: int) -> dict[str, np.ndarray]:
    """Energy per band (:data:`BANDS`) for each frame, from a Hann-windowed spectrum
    of :data:`WINDOW_SECONDS` around the frame's middle (``(i + 0.5) / fps`` s)."""
    x = np.asarray(samples, dtype=np.float32)
    n = int(round(WINDOW_SECONDS * rate))
    n += n % 2
    window = np.hanning(n).astype(np.float32)
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    padded = np.concatenate([np.zeros(n, np.float32), x, np.zeros(n, np.float32)])
    starts = np.round((np.arange(frames) + 0.5) / fps * rate).astype(np.int64) - n // 2 + n
    starts = np.clip(starts, 0, len(padded) - n)
    chunks = padded[starts[:, None] + np.arange(n)[None, :]] * window
    power = np.abs(np.fft.rfft(chunks, axis=1)) ** 2
    return {name: power[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) + 1e-12 for name, (lo, hi) in BANDS.items()}


def envelope(samples: np.ndarray, rate: int, fps: float, frames: int) -> np.ndarray:
    """The speech envelope: each frame's level in dB (RMS over one frame's time
    around its middle); the measure's reference, independent of the shapes."""
    x = np.asarray(samples, dtype=np.float64)
    half = max(1, int(round(rate / fps / 2)))
    out = np.empty(frames)
    for i in range(frames):
        c = int(round((i + 0.5) / fps * rate))
        seg = x[max(0, c - half):c + half]
        out[i] = 10 * np.log10(float(np.mean(seg * seg)) + 1e-12) if len(seg) else -120.0
    return out


def mouth_track(samples: np.ndarray, rate: int, fps: float, frames: int,
                spans: Sequence[tuple[float, float]]) -> list[str]:
    """A mouth shape per frame for a shot's speech (``samples`` mono at ``rate``,
    ``spans`` the lines' ``(start, end)`` seconds). Frames outside every span rest."""
    bands = frame_bands(samples, rate, fps, frames)
    total = sum(bands.values())
    level = 10 * np.log10(total)
    formant = 10 * np.log10(bands["f1"] + bands["f2"])
    t = (np.arange(frames) + 0.5) / fps
    inside = np.zeros(frames, dtype=bool)
    for a, b in spans:
        inside |= (t >= a) & (t < b)
    if not inside.any():
        return ["rest"] * frames
    ref = float(np.percentile(level[inside], 95))
    shapes: list[str] = []
    for i in range(frames):
        rel = level[i] - ref
        if not inside[i] or rel < SILENCE_DB:
            shapes.append("rest")
            continue
        voiced = bands["f1"][i] + bands["f2"][i]
        if bands["hiss"][i] > 1.5 * (voiced + bands["low"][i]):
            shapes.append("teeth")
            continue
        if bands["low"][i] > 6.0 * voiced:  # a murmur through the nose or behind closed lips
            shapes.append("closed")
            continue
        amount = (formant[i] - ref - SILENCE_DB * 0.85) / (-SILENCE_DB * 0.75)
        if amount < 0.22:
            shapes.append("closed")
        elif bands["f2"][i] < 0.12 * bands["f1"][i] and amount < 0.9:
            shapes.append("round")
        elif amount < 0.4:
            shapes.append("teeth")
        elif amount < 0.75:
            shapes.append("open")
        else:
            shapes.append("wide")
    return hold(shapes)


_LETTERS = {**{c: "open" for c in "aei"}, **{c: "round" for c in "ouwq"}, **{c: "closed" for c in "mbp"},
            **{c: "teeth" for c in "fvsztcjx"}, "y": "open", "h": "open"}


def text_track(lines: Sequence[tuple[float, float, str]], fps: float, frames: int) -> list[str]:
    """Mouth shapes from the lines' letters alone (``(start, end, text)``), each line's
    letters spread evenly over its time (the last 0.1 s rests)."""
    shapes = ["rest"] * frames
    for start, end, text in lines:
        letters = [c for c in text.lower() if c.isalpha() or c in " ,.;:!?-"]
        speak = max(end - start - 0.1, 1e-3)
        if not letters:
            continue
        for i in range(max(0, int(start * fps)), min(frames, int(np.ceil(end * fps)))):
            u = ((i + 0.5) / fps - start) / speak
            if 0 <= u < 1:
                c = letters[min(len(letters) - 1, int(u * len(letters)))]
                shapes[i] = _LETTERS.get(c, "rest" if not c.isalpha() else "teeth")
    return hold(shapes)


def hold(shapes: list[str]) -> list[str]:
    """``shapes`` with every run shorter than :data:`MIN_HOLD` frames merged into the
    run before it (a closed lip always wins: a bilabial is never smoothed away)."""
    out = list(shapes)
    i = 0
    while i < len(out):
        j = i
        while j < len(out) and out[j] == out[i]:
            j += 1
        if j - i < MIN_HOLD:
            if out[i] == "closed":  # widen a closure into its neighbour instead
                k = j if j < len(out) else i - 1
                if 0 <= k < len(out):
                    out[k] = "closed"
                i = j + 1
                continue
            elif i > 0:
                out[i:j] = [out[i - 1]] * (j - i)
            elif j < len(out):
                out[i:j] = [out[j]] * (j - i)
        i = j
    return out
