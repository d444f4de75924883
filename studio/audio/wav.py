"""WAV files and sample helpers shared by the audio stages: memory-mapped reading,
16-bit writing, block streaming of tracks, and fade ramps."""

from __future__ import annotations

import os
import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.atomic import atomic_output
from studio.errors import StudioError

if TYPE_CHECKING:
    from studio.audio.tts import Speech

SAMPLE_RATE = 48_000


def apply_fades(x: np.ndarray, start: int, fade_in: tuple[int, int, str], fade_out: tuple[int, int, str]) -> None:
    """Multiply the block ``x`` (frames ``start``.. on the film's clock, in place) by a
    fade in over ``fade_in = (from, to, shape)`` and a fade out over ``fade_out``. Only
    the frames inside the fades are touched: elsewhere the gain is exactly 1 (or 0
    before the fade in / after the fade out)."""
    end = start + len(x)
    for (a, b, shape), rising in ((fade_in, True), (fade_out, False)):
        lo, hi = (start, min(end, b)) if rising else (max(start, a), end)
        if hi <= lo:
            continue
        idx = np.arange(lo, hi, dtype=np.int64)
        x[lo - start:hi - start] *= ramp(idx, a, b, shape, rising)[:, None].astype(np.float32)


def ramp(idx: np.ndarray, a: int, b: int, shape: str, rising: bool) -> np.ndarray:
    """Gain over sample positions ``idx``: 0 before ``a`` rising to 1 at ``b`` (or the
    reverse when not ``rising``); ``shape`` is ``linear``, ``power`` (equal power:
    sin² + cos² = 1) or ``cosine`` (raised cosine, smooth at both ends)."""
    if b <= a:
        return (idx >= a).astype(np.float64) if rising else (idx < a).astype(np.float64)
    u = np.clip((idx - a) / float(b - a), 0.0, 1.0)
    if not rising:
        u = 1.0 - u
    if shape == "power":
        return np.sin(0.5 * np.pi * u)
    if shape == "cosine":
        return 0.5 - 0.5 * np.cos(np.pi * u)
    return u


def wav_header(frames: int, channels: int = 2, rate: int = SAMPLE_RATE, bits: int = 16) -> bytes:
    block = channels * bits // 8
    data = frames * block
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits)
            + b"data" + struct.pack("<I", data))


@dataclass(frozen=True)
class WavInfo:
    channels: int
    rate: int
    bits: int
    fmt: int  # 1 PCM, 3 float
    offset: int  # of the sample data
    frames: int


def wav_info(path: Path | str) -> WavInfo:
    """The layout of a PCM or float WAV file (for memory-mapping its samples)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise StudioError(f"{path}: not a WAV file")
        fmt = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise StudioError(f"{path}: WAV file has no data chunk")
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                body = f.read(size + (size & 1))
                tag, channels, rate, _bps, _align, bits = struct.unpack("<HHIIHH", body[:16])
                if tag == 0xFFFE and len(body) >= 26:
                    tag = struct.unpack("<H", body[24:26])[0]
                fmt = (tag, channels, rate, bits)
            elif cid == b"data":
                if fmt is None:
                    raise StudioError(f"{path}: WAV data before its format")
                tag, channels, rate, bits = fmt
                offset = f.tell()
                total = os.path.getsize(path) - offset
                frames = min(size, total) // (channels * bits // 8)
                return WavInfo(channels, rate, bits, tag, offset, frames)
            else:
                f.seek(size + (size & 1), 1)


def wav_frames(path: Path | str, info: WavInfo | None = None) -> np.ndarray:
    """The samples of a 16-bit PCM or 32-bit float WAV, memory-mapped, shape (frames, channels)."""
    info = info or wav_info(path)
    dtype = {(1, 16): "<i2", (3, 32): "<f4", (1, 32): "<i4"}.get((info.fmt, info.bits))
    if dtype is None:
        raise StudioError(f"{path}: unsupported WAV sample format ({info.fmt}, {info.bits} bits)")
    if info.frames == 0:
        return np.zeros((0, info.channels), dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=info.offset, shape=(info.frames, info.channels))


def to_float(samples: np.ndarray) -> np.ndarray:
    """A new float32 array in [-1, 1] (never a view of a memory-mapped file)."""
    if samples.dtype == np.int16 or samples.dtype == np.dtype("<i2"):
        return samples.astype(np.float32) / 32768.0
    if samples.dtype.kind == "i":
        return (samples.astype(np.float64) / 2**31).astype(np.float32)
    return np.array(samples, dtype=np.float32, copy=True)


def pcm16(block: np.ndarray) -> bytes:
    return np.clip(np.rint(block * 32767.0), -32768, 32767).astype("<i2").tobytes()


def write_track_wav(track: Any, path: Path | str, *, block: int = SAMPLE_RATE * 10, start: int = 0,
                    frames: int | None = None) -> Path:
    """Stream ``track.read`` (any object with ``read(start, n)`` and ``length``) into a
    16-bit stereo WAV, one block at a time."""
    frames = track.length - start if frames is None else frames
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(wav_header(frames))
            for pos in range(0, frames, block):
                n = min(block, frames - pos)
                f.write(pcm16(track.read(start + pos, n)))
    return Path(path)


def read_wav(path: Path | str) -> Speech:
    """A 16-bit PCM WAV (any channels, averaged to mono) as :class:`Speech`."""
    with wave.open(str(path), "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        data = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit audio; expected 16-bit PCM")
    x = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    from studio.audio.tts import Speech

    return Speech(x, rate)
