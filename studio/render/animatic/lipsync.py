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
from functools import lru_cache

import numpy as np

from studio.audio import phonemes

SHAPES = ("rest", "closed", "teeth", "round", "open", "wide")
#: how far each shape opens the mouth (0 = lips together, 1 = widest)
OPENING: dict[str, float] = {"rest": 0.0, "closed": 0.0, "teeth": 0.2, "round": 0.45, "open": 0.7, "wide": 1.0}
MIN_HOLD = 2  # frames: a shape shorter than this is merged into a neighbour
SILENCE_DB = -30.0  # below the shot's speech level: a pause, the mouth rests
WINDOW_SECONDS = 0.042  # the spectrum's window around each frame's middle
NASAL = 20.0  # nasal / voice-bar energy over the formants' above which the lips are closed
ROUND = 0.08  # second formant band over the first's below which the lips round
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
                spans: Sequence[tuple[float, float]], texts: Sequence[str | None] = (),
                timings: Sequence[Sequence[tuple[float, str]] | None] = ()) -> list[str]:
    """A mouth shape per frame for a shot's speech (``samples`` mono at ``rate``,
    ``spans`` the lines' ``(start, end)`` seconds, ``texts`` their words when known,
    ``timings`` their phonemes ``(seconds in the shot, mnemonic)`` as the engine that
    spoke them timed them, when known). Frames outside every span rest. A line's
    phonemes place its bilabials (closed) and f/v (teeth) (:func:`timed_marks`); a line
    with words but no timing, by espeak-ng's en-us timing stretched over the line's
    voiced audio (:func:`phoneme_marks`)."""
    bands = frame_bands(samples, rate, fps, frames)
    total = sum(bands.values())
    level = 10 * np.log10(total)
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
        if bands["low"][i] > NASAL * voiced and rel < -6.0:  # a murmur through the nose or behind closed lips
            shapes.append("closed")
            continue
        amount = (rel - SILENCE_DB) / -SILENCE_DB
        if amount < 0.15:
            shapes.append("closed")
        elif bands["f2"][i] < ROUND * bands["f1"][i] and amount < 0.85:
            shapes.append("round")
        elif amount < 0.72:
            shapes.append("open")
        else:
            shapes.append("wide")
    for k, (a, b) in enumerate(spans):
        timed = timings[k] if k < len(timings) else None
        text = texts[k] if k < len(texts) else None
        if timed is not None:
            forced = timed_marks(timed, fps)
        elif text:
            forced = phoneme_marks(text, samples, rate, a, b, fps)
        else:
            continue
        for i, shape in forced.items():
            if 0 <= i < frames and shapes[i] != "rest":
                shapes[i] = shape
    return hold(shapes)


def timed_marks(events: Sequence[tuple[float, str]], fps: float) -> dict[int, str]:
    """Frames forced to a shape by phonemes at known times (seconds of the shot): each
    m, b, p closes, and each f, v shows the teeth, on every frame its first
    :data:`MARK_SECONDS` (at most, to the next phoneme) fall in (then :func:`hold`
    keeps it at least two frames)."""
    out: dict[int, str] = {}
    for n, (t, ph) in enumerate(events):
        shape = PHONEME_SHAPES.get(ph)
        if shape is None:
            continue
        nxt = events[n + 1][0] if n + 1 < len(events) else t + MARK_SECONDS
        t1 = max(t, min(nxt, t + MARK_SECONDS) - 1e-6)
        for i in range(int(np.floor(t * fps)), int(np.floor(t1 * fps)) + 1):
            if shape == "closed" or i not in out:
                out[i] = shape
    return out


#: espeak-ng phoneme mnemonics -> the mouth shape they force
PHONEME_SHAPES = {"m": "closed", "b": "closed", "p": "closed", "f": "teeth", "v": "teeth"}
MARK_SECONDS = 0.04  # a forced shape covers this much of its phoneme (at most)


def phoneme_marks(text: str, samples: np.ndarray, rate: int, start: float, end: float,
                  fps: float) -> dict[int, str]:
    """Frames (of the shot) forced to a shape by the line's phonemes: espeak-ng speaks
    ``text`` (en-us) and its phonemes' times are stretched from its voiced stretch onto
    the voiced stretch of ``samples[start:end]``. Empty when libespeak-ng is missing."""
    try:
        events, own = _timing(text)
    except (OSError, ValueError):
        return {}
    a, b = int(start * rate), int(end * rate)
    line = phonemes.voiced_span(np.asarray(samples[a:b]), rate)
    if own is None or line is None or own[1] <= own[0]:
        return {}
    k = (line[1] - line[0]) / (own[1] - own[0])
    out: dict[int, str] = {}
    for n, (t, ph) in enumerate(events):
        shape = PHONEME_SHAPES.get(ph)
        if shape is None:
            continue
        nxt = events[n + 1][0] if n + 1 < len(events) else t + MARK_SECONDS
        t0 = start + line[0] + (t - own[0]) * k
        t1 = start + line[0] + (min(nxt, t + MARK_SECONDS) - own[0]) * k
        for i in range(int(t0 * fps), int(np.ceil(t1 * fps))):
            if shape == "closed" or i not in out:
                out[i] = shape
    return out


def mouth_levels(samples: np.ndarray, rate: int, fps: float, frames: int) -> list[float]:
    """How loud each frame is against the shot's speech (0 at :data:`SILENCE_DB`, 1 at
    its level), in quarters: an open mouth opens further the louder the voice."""
    env = envelope(samples, rate, fps, frames)
    voiced = env[env > -100]
    if not len(voiced):
        return [0.0] * frames
    ref = float(np.percentile(voiced, 95))
    amount = np.clip((env - ref - SILENCE_DB) / -SILENCE_DB, 0.0, 1.0)
    return [round(float(a) * 4) / 4 for a in amount]


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
    """``shapes`` with every run at least :data:`MIN_HOLD` frames long: a closed lip
    (a bilabial) is never smoothed away but widened forward; short runs of other shapes
    between two closed lips that together hold long enough become the most open of
    them; any other short run
    takes the shape before it (at the start, the one after)."""
    out = list(shapes)
    n = len(out)
    i = 0
    while i < n:
        if out[i] != "closed":
            i += 1
            continue
        j = i
        while j < n and out[j] == "closed":
            j += 1
        while j - i < MIN_HOLD and j < n:
            out[j] = "closed"
            j += 1
        if j - i < MIN_HOLD and i > 0:
            out[i - 1] = "closed"
        i = j
    i = 0
    while i < n:
        j = i
        while j < n and out[j] == out[i]:
            j += 1
        if j - i < MIN_HOLD and out[i] != "closed":
            # a flicker of short, different shapes between two closed lips (the vowel of
            # "Bob") is one shape, the most open of them, when together they last long
            # enough; else it takes the shape before it (at the start, the one after)
            k = j
            while k < n and out[k] != "closed":
                m = k
                while m < n and out[m] == out[k]:
                    m += 1
                if m - k >= MIN_HOLD:
                    break
                k = m
            between = i > 0 and out[i - 1] == "closed" and k < n and out[k] == "closed"
            if between and k - i >= MIN_HOLD and out[i] != "rest":
                fill = max(out[i:k], key=lambda shape: (OPENING.get(shape, 0.0), shape))
                out[i:k] = [fill] * (k - i)
                i = k
                continue
            fill = out[i - 1] if i > 0 else (out[j] if j < n else out[i])
            out[i:j] = [fill] * (j - i)
        i = j
    return out


# --------------------------------------------------------------------------- espeak-ng's phoneme timing

BILABIALS = ("m", "b", "p")
spoken_text = phonemes.spoken_text

def espeak_phonemes(text: str, voice: str, words_per_minute: int) -> tuple[list[tuple[float, str]], np.ndarray, int]:
    """espeak-ng's phonemes for ``text`` with their start (seconds), its audio and sample
    rate (see :func:`espeak_timing`)."""
    events, _, audio, rate = espeak_timing(text, voice, words_per_minute)
    return events, audio, rate


def espeak_timing(text: str, voice: str, words_per_minute: int
                  ) -> tuple[list[tuple[float, str]], list[tuple[float, int]], np.ndarray, int]:
    """espeak-ng's phonemes, words, audio and sample rate for ``text`` spoken by the
    language of ``voice`` (its variant dropped) at ``words_per_minute``, in a fresh
    process (:func:`studio.audio.phonemes.espeak_timing`). OSError when it cannot run."""
    return phonemes.espeak_timing(text, voice.split("+")[0], words_per_minute, strict=False)


@lru_cache(maxsize=4096)
def _timing(text: str) -> tuple[tuple[tuple[float, str], ...], tuple[float, float] | None]:
    """A line's phonemes (en-us, 175 words a minute) and espeak-ng's voiced stretch."""
    events, _, voiced = _timed(text)
    return events, voiced


@lru_cache(maxsize=4096)
def _timed(text: str) -> tuple[tuple[tuple[float, str], ...], tuple[tuple[float, int], ...], tuple[float, float] | None]:
    events, words, audio, rate = espeak_timing(text, "en-us", 175)
    return tuple(events), tuple(words), phonemes.voiced_span(audio, rate)


def word_times(text: str, offsets: Sequence[int], start: float, end: float, samples: np.ndarray | None = None,
               rate: int = 0, timed: Sequence[tuple[float, int]] | None = None) -> list[float]:
    """When (seconds of the shot) the words at character ``offsets`` of
    :func:`spoken_text` ``(text)`` begin in a line spoken from ``start`` to ``end``: by
    espeak-ng's word timing stretched onto the line's voiced audio (``samples``, the
    shot's speech track) like :func:`phoneme_marks`; without audio, or without
    libespeak-ng, in proportion to the characters over the line's time. ``timed``, the
    line's words as the engine that spoke it timed them (seconds of the shot, offset),
    is used when given."""
    spoken = spoken_text(text)
    speak = max(end - start - 0.1, 1e-3)
    fallback = [start + speak * min(1.0, o / max(1, len(spoken))) for o in offsets]
    if timed:
        return [next((t for t, pos in reversed(timed) if pos <= o), guess) for o, guess in zip(offsets, fallback)]
    if samples is None or not len(samples):
        return fallback
    try:
        _, words, own = _timed(text)
    except (OSError, ValueError):
        return fallback
    a, b = int(start * rate), int(end * rate)
    line = phonemes.voiced_span(np.asarray(samples[a:b]), rate)
    if own is None or line is None or own[1] <= own[0] or not words:
        return fallback
    k = (line[1] - line[0]) / (own[1] - own[0])
    out = []
    for o, guess in zip(offsets, fallback):
        # the word espeak-ng started at or just before this offset
        at = [t for t, pos in words if pos <= o]
        out.append(start + line[0] + (at[-1] - own[0]) * k if at else guess)
    return out


