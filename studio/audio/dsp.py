"""Small, deterministic signal processing for dialogue: resampling, trimming, loudness,
breathiness, and the measurements the tests (and quality checks) use.

Everything works on mono float32 numpy arrays in [-1, 1]. Randomness (the breath
noise) always comes from a seeded generator, so the same inputs give the same samples.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

OUTPUT_RATE = 48_000  # every line of dialogue ends up at this rate
TARGET_DBFS = -20.0  # RMS of the spoken (active) part of a neutral line
SILENCE_DB = -40.0  # below the line's loudest 10 ms by this much counts as silence


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def resample(x: np.ndarray, from_rate: float, to_rate: int = OUTPUT_RATE) -> np.ndarray:
    """Band-limited polyphase resampling (Kaiser-windowed sinc, ~90 dB stop band).

    ``from_rate`` may be fractional (the pitch shift plays audio "at" ``rate * factor``);
    the ratio is approximated by a fraction with a denominator below 1000, which is
    exact for 22,050 -> 48,000 (320/147) and within 1e-6 otherwise."""
    from scipy import signal
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x.astype(np.float32)
    ratio = Fraction(to_rate) / Fraction(from_rate).limit_denominator(100_000)
    if ratio == 1:
        return x.astype(np.float32)
    ratio = ratio.limit_denominator(1000)
    up, down = ratio.numerator, ratio.denominator
    y = signal.resample_poly(x, up, down, window=("kaiser", 9.0))
    return y.astype(np.float32)


def frame_rms(x: np.ndarray, rate: int, frame_seconds: float = 0.01) -> np.ndarray:
    n = max(1, int(rate * frame_seconds))
    usable = (len(x) // n) * n
    if usable == 0:
        return np.zeros(0)
    frames = np.asarray(x[:usable], dtype=np.float64).reshape(-1, n)
    return np.sqrt(np.mean(frames**2, axis=1))


def rms(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


def active_rms(x: np.ndarray, rate: int) -> float:
    """RMS over the spoken frames only (silence would make quiet lines look quieter)."""
    fr = frame_rms(x, rate)
    if fr.size == 0 or fr.max() <= 0:
        return 0.0
    active = fr[fr > fr.max() * db_to_gain(SILENCE_DB)]
    return float(np.sqrt(np.mean(active**2)))


def speech_bounds(x: np.ndarray, rate: int, threshold_db: float = SILENCE_DB) -> tuple[int, int]:
    """First and one-past-last sample of the spoken part (10 ms resolution)."""
    n = max(1, int(rate * 0.01))
    fr = frame_rms(x, rate)
    if fr.size == 0 or fr.max() <= 1e-7:
        return 0, 0
    loud = np.nonzero(fr > fr.max() * db_to_gain(threshold_db))[0]
    return int(loud[0] * n), int(min(len(x), (loud[-1] + 1) * n))


def leading_silence(x: np.ndarray, rate: int) -> float:
    """Seconds before the first spoken sound (relative to the line's loudest part)."""
    return speech_bounds(x, rate)[0] / rate


def trim_span(x: np.ndarray, rate: int, margin: float = 0.03) -> tuple[int, int]:
    """The samples :func:`trim` keeps, ``x[a:b]`` as ``(a, b)``; ``(0, 0)`` when silent."""
    start, end = speech_bounds(x, rate)
    if end <= start:
        return 0, 0
    m = int(rate * margin)
    return max(0, start - m), min(len(x), end + m)


def trim(x: np.ndarray, rate: int, margin: float = 0.03) -> np.ndarray:
    """Cut leading and trailing silence, keeping ``margin`` seconds on each side."""
    a, b = trim_span(x, rate, margin)
    return np.asarray(x[a:b], dtype=np.float32)


def fade(x: np.ndarray, rate: int, seconds: float = 0.005) -> np.ndarray:
    """Short raised-cosine fades at both ends: no clicks where a cut was made."""
    x = np.array(x, dtype=np.float32)
    n = min(int(rate * seconds), len(x) // 2)
    if n > 0:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))).astype(np.float32)
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def highpass(x: np.ndarray, rate: int, cutoff: float) -> np.ndarray:
    from scipy import signal
    sos = signal.butter(2, cutoff, btype="highpass", fs=rate, output="sos")
    return signal.sosfilt(sos, np.asarray(x, dtype=np.float64)).astype(np.float32)


def lpc(frame: np.ndarray, order: int, rate: int = OUTPUT_RATE) -> np.ndarray:
    """Linear-prediction coefficients ``a`` (a[0] = 1) by the autocorrelation method."""
    from scipy.linalg import solve_toeplitz
    r = np.correlate(frame, frame, "full")[len(frame) - 1: len(frame) + order]
    if r[0] <= 1e-10:
        return np.concatenate([[1.0], np.zeros(order)])
    r = r.copy()
    r[0] *= 1.0 + 1e-6  # a little white-noise correction keeps the filter stable
    r[1:] *= np.exp(-0.5 * (2 * np.pi * 40.0 / rate * np.arange(1, order + 1)) ** 2)  # lag window
    coeffs = solve_toeplitz(r[:-1], -r[1:])
    return np.concatenate([[1.0], coeffs])


def whisperize(x: np.ndarray, rate: int, amount: float, seed: int) -> np.ndarray:
    """Breathiness: replace ``amount`` (0..1) of the voiced excitation with noise.

    Each 21 ms frame is analysed by linear prediction (the vocal tract's envelope);
    its residual (the voice source) is mixed with white noise of the same energy and
    sent back through the envelope. At 1.0 the result is a whisper that keeps the
    words (formants) but has no pitch; at 0.3 a breathy, soft voice."""
    from scipy import signal
    amount = float(np.clip(amount, 0.0, 1.0))
    x = np.asarray(x, dtype=np.float64)
    if amount <= 0 or x.size == 0:
        return x.astype(np.float32)
    rng = np.random.default_rng(seed)
    n = 1 << int(np.ceil(np.log2(rate * 0.021)))
    hop = n // 2
    order = int(min(40, 4 + rate // 1500))
    win = np.hanning(n + 1)[:-1]  # periodic: 50% overlap-add sums to one
    padded = np.concatenate([np.zeros(n), x, np.zeros(n)])
    out = np.zeros_like(padded)
    for start in range(0, len(padded) - n + 1, hop):
        seg = padded[start: start + n]
        if not seg.any():
            continue
        a = lpc(seg * win, order, rate)
        residual = signal.lfilter(a, [1.0], seg)
        noise = rng.standard_normal(n)
        noise *= rms(residual[order:]) / max(rms(noise), 1e-12)
        excitation = (1.0 - amount) * residual + amount * noise
        out[start: start + n] += signal.lfilter([1.0], a, excitation) * win
    y = out[n: n + len(x)]
    y = np.nan_to_num(y)
    return y.astype(np.float32)


def soft_limit(x: np.ndarray, knee: float = 0.9) -> np.ndarray:
    """Leave samples under ``knee`` alone; squeeze louder ones smoothly below 1.0."""
    x = np.asarray(x, dtype=np.float32)
    mag = np.abs(x)
    over = mag > knee
    if over.any():
        head = 1.0 - knee
        squeezed = knee + head * np.tanh((mag[over] - knee) / head)
        x = x.copy()
        x[over] = np.sign(x[over]) * squeezed
    return x


def normalize(x: np.ndarray, rate: int, gain_db: float = 0.0, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Set the spoken part's RMS to ``target_dbfs + gain_db``, then soft-limit peaks."""
    level = active_rms(x, rate)
    if level <= 1e-9:
        return np.asarray(x, dtype=np.float32)
    y = np.asarray(x, dtype=np.float32) * np.float32(db_to_gain(target_dbfs + gain_db) / level)
    return soft_limit(y)


def silence(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(int(round(max(0.0, seconds) * rate)), dtype=np.float32)


# -- measurements ---------------------------------------------------------------


def estimate_f0(x: np.ndarray, rate: int, fmin: float = 60.0, fmax: float = 500.0) -> float:
    """Median fundamental frequency (Hz) of the voiced frames, by YIN; 0 if unvoiced."""
    x = np.asarray(x, dtype=np.float64)
    if rate != 16_000:
        x = resample(x, rate, 16_000).astype(np.float64)
        rate = 16_000
    w = int(0.032 * rate)
    max_lag = int(rate / fmin) + 1
    min_lag = max(2, int(rate / fmax))
    hop = w // 2
    fr = frame_rms(x, rate, 0.032)
    gate = (fr.max() if fr.size else 0.0) * db_to_gain(-25.0)
    found: list[float] = []
    for start in range(0, len(x) - w - max_lag, hop):
        seg = x[start: start + w + max_lag]
        if rms(seg[:w]) < gate or gate <= 0:
            continue
        head = seg[:w]
        # difference function d(tau) = sum (x_j - x_{j+tau})^2, via correlations
        energy = np.cumsum(np.concatenate([[0.0], seg**2]))
        e0 = energy[w] - energy[0]
        etau = energy[np.arange(max_lag) + w] - energy[np.arange(max_lag)]
        cross = np.correlate(seg[: w + max_lag - 1], head, "valid")[:max_lag]
        d = e0 + etau - 2 * cross
        d[0] = 0.0
        cmnd = d[1:] * np.arange(1, max_lag) / np.maximum(np.cumsum(d[1:]), 1e-12)
        cmnd = np.concatenate([[1.0], cmnd])
        below = np.nonzero(cmnd[min_lag:] < 0.15)[0]
        if below.size == 0:
            continue
        tau = below[0] + min_lag
        while tau + 1 < max_lag and cmnd[tau + 1] < cmnd[tau]:
            tau += 1
        # parabolic interpolation around the dip
        if 0 < tau < max_lag - 1:
            a, b, c = cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]
            denom = a - 2 * b + c
            shift = 0.5 * (a - c) / denom if abs(denom) > 1e-12 else 0.0
        else:
            shift = 0.0
        found.append(rate / (tau + shift))
    return float(np.median(found)) if found else 0.0


def spectral_centroid(x: np.ndarray, rate: int) -> float:
    """Mean spectral centroid (Hz) of the spoken frames: a measure of brightness."""
    x = np.asarray(x, dtype=np.float64)
    n = 1024
    if len(x) < n:
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[:: n // 2]
    energy = np.sqrt(np.mean(frames**2, axis=1))
    frames = frames[energy > energy.max() * db_to_gain(-30.0)]
    spec = np.abs(np.fft.rfft(frames * np.hanning(n), axis=1))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    centroids = (spec * freqs).sum(axis=1) / np.maximum(spec.sum(axis=1), 1e-12)
    return float(np.mean(centroids))


def finish(
    x: np.ndarray,
    rate: int,
    *,
    gain_db: float = 0.0,
    breath: float = 0.0,
    pause: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """The common end of every engine: trim, breathe, level, de-click, pause.

    Cuts the engine's own leading and trailing silence (30 ms kept), mixes in
    ``breath`` (whisper, 0..1), removes rumble below 60 Hz (below 180 Hz for a breathy
    line: whispers have no low end), levels the spoken part to -20 dBFS RMS + ``gain_db``
    with a soft limiter on peaks, fades the ends over 5 ms and puts ``pause`` seconds of
    silence in front."""
    y = trim(x, rate)
    if y.size == 0:
        return silence(max(pause, 0.2), rate)
    if breath > 0:
        y = whisperize(y, rate, breath, seed)
    y = highpass(y, rate, 60.0 + 120.0 * min(1.0, breath / 0.9))
    y = normalize(y, rate, gain_db)
    y = fade(y, rate)
    return np.concatenate([silence(pause, rate), y]).astype(np.float32)


def finish_shift(x: np.ndarray, rate: int, pause: float = 0.0) -> float | None:
    """Seconds to add to a time in ``x`` to find it in ``finish(x, rate, pause=pause)``
    (its trim and its pause: nothing else in :func:`finish` moves a sound in time); None
    when ``x`` is silent (then nothing of it is kept)."""
    a, b = trim_span(x, rate)
    if b <= a:
        return None
    return (len(silence(pause, rate)) - a) / rate
