"""The mix: dialogue on top, music ducked under every line, ambience low, the
effects (the video model's own sound, when the film uses it) ducked like the music,
and the whole normalised to broadcast loudness.

Everything streams in blocks (memory stays flat for a feature):

1. each block sums the dialogue track (every line at its place on the film's clock),
   the score (multiplied by the ducking envelope), the ambience bed and, when there is
   one, the effects stem (multiplied by the same envelope), at their stem gains; the
   stems and the pre-mix stream into FLAC encoders, and a BS.1770
   meter (:mod:`studio.audio.loudness`) measures the pre-mix as it goes;
2. one ffmpeg pass applies the gain that brings it to the target integrated loudness
   (−23 LUFS by default, −14 for the web), writes the FLAC mix and the AAC delivery
   encode, and measures the result with ``ebur128``; when the true peak would pass the
   ceiling (−1 dBTP, less a margin), the pass runs again with a peak limiter;
3. those ffmpeg measurements go into the render report.

The ducking envelope is a closed-form function of the sample position (the line
spans are known), so any block split gives the same samples. Only numbers enter the
ffmpeg filter graphs; no user text.
"""

from __future__ import annotations

import bisect
import math
import re
import subprocess
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from studio.assemble.ffmpeg import ffmpeg_exe
from studio.atomic import atomic_output
from studio.audio.loudness import LoudnessMeter
from studio.audio.wav import ramp, to_float, wav_frames
from studio.errors import RenderError

SAMPLE_RATE = 48_000
BLOCK = SAMPLE_RATE * 10
EBU_R128 = -23.0
TRUE_PEAK_MARGIN = 0.5
WEB = -14.0


class Track(Protocol):
    length: int

    def read(self, start: int, n: int) -> np.ndarray: ...


@dataclass(frozen=True)
class PlacedLine:
    """A spoken line on the film's clock: mono WAV (48 kHz) starting at ``start`` samples."""

    path: Path
    start: int
    frames: int


class PlacedTrack:
    """Sounds at their places on the film's clock (each with ``path``, ``start`` and
    ``frames`` in samples), read as stereo float32 blocks: a file is mapped once and kept
    among the last few used."""

    def __init__(self, items: list[Any], length: int) -> None:
        self.items = sorted(items, key=lambda item: item.start)
        self._starts = [item.start for item in self.items]
        self._longest = max((item.frames for item in self.items), default=0)
        self.length = length
        self._maps: OrderedDict[Path, np.ndarray] = OrderedDict()

    def _samples(self, path: Path) -> np.ndarray:
        if path not in self._maps:
            self._maps[path] = wav_frames(path)
            while len(self._maps) > 16:
                self._maps.popitem(last=False)
        return self._maps[path]

    @staticmethod
    def _channels(x: np.ndarray) -> np.ndarray:
        """A sound's samples as they go into the stereo block: mono, centred."""
        return x[:, :1]

    def read(self, start: int, n: int) -> np.ndarray:
        out = np.zeros((n, 2), np.float32)
        end = start + n
        first = bisect.bisect_left(self._starts, start - self._longest)
        for item in self.items[first:bisect.bisect_left(self._starts, end)]:
            lo, hi = max(start, item.start), min(end, item.start + item.frames)
            if hi <= lo:
                continue
            x = to_float(np.asarray(self._samples(item.path)[lo - item.start:hi - item.start]))
            out[lo - start:hi - start] += self._channels(x)
        return out


class DialogueTrack(PlacedTrack):
    """Every line of the film at its place, mono and centred."""

    def __init__(self, lines: list[PlacedLine], length: int) -> None:
        super().__init__(lines, length)
        self.lines = self.items


@dataclass(frozen=True)
class Ducking:
    """Music under dialogue: ``depth_db`` lower from ``attack`` seconds before a line
    starts to ``release`` seconds after it ends, with smooth (raised-cosine) ramps."""

    depth_db: float = 12.0
    attack: float = 0.15
    release: float = 0.45


class DuckingEnvelope:
    def __init__(self, spans: list[tuple[int, int]], ducking: Ducking) -> None:
        self.ducking = ducking
        self.floor = 10 ** (-ducking.depth_db / 20)
        a, r = round(ducking.attack * SAMPLE_RATE), round(ducking.release * SAMPLE_RATE)
        merged: list[list[int]] = []
        for s, e in sorted(spans):
            s, e = s - a, e + r  # the ramps sit outside the line, so every word is fully ducked
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        self.spans = [(s, e) for s, e in merged]
        self._starts = [s for s, _ in self.spans]
        self._a, self._r = a, r

    def gains(self, start: int, n: int) -> np.ndarray:
        g = np.ones(n, np.float32)
        end = start + n
        first = max(0, bisect.bisect_right(self._starts, start) - 1)
        for s, e in self.spans[first:]:
            if s >= end:
                break
            lo, hi = max(s, start), min(e, end)
            if hi <= lo:
                continue
            idx = np.arange(lo, hi, dtype=np.int64)
            down = ramp(idx, s, s + self._a, "cosine", True)  # 0 → 1 over the attack
            up = ramp(idx, e - self._r, e, "cosine", False)  # 1 → 0 over the release
            depth = np.minimum(down, up)
            g[lo - start:hi - start] = np.minimum(g[lo - start:hi - start], 1.0 - (1.0 - self.floor) * depth)
        return g


@dataclass(frozen=True)
class StemLevels:
    """Gains (dB) of each stem in the pre-mix, before loudness normalisation. Lines
    arrive at about −20 dBFS RMS, music cues about −20, ambience about −30, the effects
    stem at −30 LUFS (see :mod:`studio.audio.effects`)."""

    dialogue: float = 0.0
    music: float = -7.0
    ambience: float = -4.0
    effects: float = -4.0


@dataclass
class MixResult:
    mix: Path
    stems: dict[str, Path]
    loudness: dict[str, float] = field(default_factory=dict)


class _FlacWriter:
    """Raw float32 stereo blocks into a FLAC file, through ffmpeg."""

    def __init__(self, path: Path, fast: bool = False) -> None:
        self._out = atomic_output(path)
        tmp = self._out.__enter__()
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
               "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "2", "-i", "pipe:0",
               "-c:a", "flac", "-sample_fmt", "s16", *(["-compression_level", "0"] if fast else []),
               "-fflags", "+bitexact", "-f", "flac", str(tmp)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, block: np.ndarray) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(block, dtype="<f4").tobytes())
        except BrokenPipeError:
            self._fail()

    def _fail(self) -> None:
        err = self._proc.stderr.read().decode("utf-8", "replace") if self._proc.stderr else ""
        self._proc.wait()
        raise RenderError(f"ffmpeg failed while writing audio: {err.strip()[-300:]}")

    def close(self, ok: bool = True) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except BrokenPipeError:
            pass
        code = self._proc.wait()
        if ok and code != 0:
            self._out.__exit__(RenderError, RenderError("ffmpeg"), None)
            self._fail()
        if ok:
            self._out.__exit__(None, None, None)
        else:
            self._out.__exit__(RenderError, RenderError("aborted"), None)


def premix(dialogue: Track, music: Track | None, ambience: Track | None, envelope: DuckingEnvelope,
           levels: StemLevels, length: int, out_dir: Path, stem_name: str,
           meter: LoudnessMeter | None = None, effects: Track | None = None) -> tuple[Path, dict[str, Path]]:
    """Write the stems (dialogue, music, ambience, and effects when given) and their sum
    (the pre-mix) as FLAC; return their paths."""
    g_d, g_m, g_a, g_e = (10 ** (x / 20) for x in (levels.dialogue, levels.music, levels.ambience, levels.effects))
    paths = {
        "dialogue": out_dir / f"{stem_name}.dialogue.flac",
        "music": out_dir / f"{stem_name}.music.flac",
        "ambience": out_dir / f"{stem_name}.ambience.flac",
    }
    if effects is not None:
        paths["effects"] = out_dir / f"{stem_name}.effects.flac"
    mix_path = out_dir / f".{stem_name}.premix.flac"
    writers = {k: _FlacWriter(p, fast=k != "premix") for k, p in {**paths, "premix": mix_path}.items()}
    ok = False
    try:
        for pos in range(0, length, BLOCK):
            n = min(BLOCK, length - pos)
            duck = envelope.gains(pos, n)[:, None]
            d = dialogue.read(pos, n) * g_d
            m = music.read(pos, n) * (duck * g_m) if music else np.zeros((n, 2), np.float32)
            a = ambience.read(pos, n) * g_a if ambience else np.zeros((n, 2), np.float32)
            writers["dialogue"].write(d)
            writers["music"].write(m)
            writers["ambience"].write(a)
            mixed = d + m + a
            if effects is not None:
                e = effects.read(pos, n) * (duck * g_e)  # ducked under the lines like the music
                writers["effects"].write(e)
                mixed += e
            if meter is not None:
                meter.add(mixed)
            writers["premix"].write(mixed)
        ok = True
    finally:
        for writer in writers.values():
            writer.close(ok)
    return mix_path, paths


def measure_ebur128(path: Path) -> dict[str, float]:
    """Integrated loudness (LUFS), loudness range (LU) and true peak (dBTP) of a file,
    by ffmpeg's EBU R128 analysis."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-i", str(path), "-af", "ebur128=peak=true",
         "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise RenderError(f"ffmpeg could not measure the loudness of {path.name}")
    return _ebur128_summary(proc.stderr, path.name)


def _ebur128_summary(log: str, what: str) -> dict[str, float]:
    summary = log[log.rfind("Summary:"):]

    def grab(pattern: str) -> float:
        m = re.search(pattern, summary)
        if not m:
            raise RenderError(f"ffmpeg could not measure the loudness of {what}")
        return float("-inf") if m.group(1) == "-inf" else float(m.group(1))

    return {
        "integrated_lufs": grab(r"I:\s+(-?[\d.]+|-inf) LUFS"),
        "loudness_range_lu": grab(r"LRA:\s+(-?[\d.]+) LU"),
        "true_peak_dbtp": grab(r"Peak:\s+(-?[\d.]+|-inf) dBFS"),
    }


def deliver(premix_path: Path, mix: Path, aac: Path | None, gain_db: float,
            limit_dbtp: float | None = None) -> dict[str, float]:
    """One ffmpeg pass over the pre-mix: apply the normalising gain (and a peak limiter
    when asked), write the FLAC mix and the AAC delivery encode, and measure the result
    with ``ebur128`` on the way. Only numbers enter the filter graph."""
    chain = f"volume={gain_db:.4f}dB"
    if limit_dbtp is not None:
        chain += f",alimiter=limit={10 ** (limit_dbtp / 20):.6f}:level=disabled:attack=5:release=80"
    outputs = 3 if aac is not None else 2
    graph = f"[0:a]{chain},asplit={outputs}" + "".join(f"[o{k}]" for k in range(outputs))
    graph += f";[o{outputs - 1}]ebur128=peak=true[meter]"
    with atomic_output(mix) as mix_tmp:
        args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-y", "-i", str(premix_path),
                "-filter_complex", graph,
                "-map", "[o0]", "-ar", str(SAMPLE_RATE), "-c:a", "flac", "-sample_fmt", "s16",
                "-fflags", "+bitexact", "-f", "flac", str(mix_tmp)]
        aac_out = None
        if aac is not None:
            aac_out = atomic_output(aac)
            aac_tmp = aac_out.__enter__()
            args += ["-map", "[o1]", "-ar", str(SAMPLE_RATE), "-c:a", "aac", "-aac_coder", "fast", "-b:a", "192k",
                     "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "mp4", str(aac_tmp)]
        args += ["-map", "[meter]", "-f", "null", "-"]
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            if aac_out is not None:
                aac_out.__exit__(RenderError, RenderError("ffmpeg"), None)
            raise RenderError(f"ffmpeg failed while finishing the mix: {proc.stderr.strip()[-300:]}")
        if aac_out is not None:
            aac_out.__exit__(None, None, None)
    return _ebur128_summary(proc.stderr, mix.name)


def mix_film(dialogue: Track, music: Track | None, ambience: Track | None, spans: list[tuple[int, int]],
             length: int, out_dir: Path, stem_name: str, *, target_lufs: float = EBU_R128,
             true_peak: float = -1.0, ducking: Ducking | None = None,
             levels: StemLevels | None = None, aac: bool = True, effects: Track | None = None) -> MixResult:
    """Mix the film's audio into ``<out_dir>/<stem_name>.mix.flac`` (and ``.m4a``, the
    AAC delivery encode) plus its stems, at ``target_lufs`` with true peaks at or under
    ``true_peak`` dBTP. ``effects``: the effects stem (the video model's sound), if the
    film has one."""
    envelope = DuckingEnvelope(spans, ducking or Ducking())
    meter = LoudnessMeter()
    premix_path, stems = premix(dialogue, music, ambience, envelope, levels or StemLevels(), length, out_dir,
                                stem_name, meter, effects)
    mix = out_dir / f"{stem_name}.mix.flac"
    encode = out_dir / f"{stem_name}.m4a" if aac else None
    measured = meter.integrated
    gain = 0.0 if math.isinf(measured) else target_lufs - measured
    # half a dB of headroom under the ceiling: the AAC encode overshoots a little on
    # the peaks it smooths
    ceiling = true_peak - TRUE_PEAK_MARGIN
    try:
        result = deliver(premix_path, mix, encode, gain)
        limited = False
        # too hot for the ceiling: limit the peaks, and make up the loudness the limiter
        # takes away (it converges in a pass or two: it only shaves peaks)
        for _ in range(3):
            if result["true_peak_dbtp"] <= ceiling and (not limited or abs(result["integrated_lufs"] - target_lufs) <= 0.3):
                break
            if limited:
                gain += target_lufs - result["integrated_lufs"]
            result = deliver(premix_path, mix, encode, gain, limit_dbtp=ceiling - 0.5)
            limited = True
    finally:
        premix_path.unlink(missing_ok=True)
    loudness = {"target_lufs": target_lufs, "measured_premix_lufs": round(measured, 2), "gain_db": round(gain, 2),
                "limited": limited, **result, "true_peak_ceiling_dbtp": true_peak}
    return MixResult(mix=mix, stems=stems, loudness=loudness)
