"""Streaming frames into ffmpeg: one H.264 clip per shot.

Frames go straight from the backend into ffmpeg's stdin; nothing holds a whole shot.
Each RGB frame is converted to 4:2:0 YUV here, with OpenCV (BT.601 matrix, limited
range: the conversion ffmpeg's swscale made before, within one code value), and piped
as such: on the reference machine ffmpeg spent about 1.7 ms a frame converting
854x480 RGB, OpenCV takes 0.9, and the pipe carries half the bytes (issue 19). The
clips say which matrix and range they hold (``smpte170m``, ``tv``), so players that
would guess BT.709 for an untagged HD clip decode the colours as they were made.

x264 runs its ``veryfast`` preset with two changes from the next preset down
(``superfast``): ``subme=1``, its sub-pixel refinement in place of ``veryfast``'s 2,
and ``me=dia``, its diamond motion search in place of the hexagon. On 2400 fresh animatic frames at
854x480, crf 20, x264 took 7.34 CPU-s against 10.46 (-30%) for a file of the same size
(+0.05%; the 10-minute feature's cut: +1.0%), at 54.2 dB PSNR against the frames piped
in instead of 54.9 (SSIM 0.99858 against 0.99885). Raising the crf to 21 instead would
save less (8.83 CPU-s) and lose more (53.0 dB). x264 is most of a shot's CPU, so a
render gets ~10% faster (issue 18). The diamond search then took 3.26 CPU-s against 3.39
(-4%, mean of three alternating runs on 1200 animatic frames) for +0.3% bytes at 54.54
against 54.55 dB: the animatic's motion is slow pans and pushes, which the smallest
search already finds.

Every clip of a film is encoded with the same settings, so the cut can be joined by
stream copy. The clip lands under a temporary name and is moved into place only when
ffmpeg succeeded.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType

import numpy as np

from studio.assemble.ffmpeg import failure_hint, ffmpeg_exe, log_tail
from studio.atomic import publish
from studio.errors import RenderError


@dataclass(frozen=True)
class VideoSettings:
    """H.264 settings shared by every clip of a film (stream-copy concat needs that)."""

    width: int
    height: int
    fps: int
    preset: str = "veryfast"
    crf: int = 20
    keyframe_seconds: float = 2.0
    subme: int = 1  # x264's sub-pixel motion refinement (see the module's notes); veryfast's own is 2
    motion: str = "dia"  # x264's integer motion search (see the module's notes); veryfast's own is "hex"

    def output_args(self) -> list[str]:
        gop = max(1, round(self.fps * self.keyframe_seconds))
        return [
            "-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf), "-x264-params", f"subme={self.subme}:me={self.motion}",
            "-pix_fmt", "yuv420p", "-profile:v", "high",
            "-g", str(gop), "-sc_threshold", "0", "-bf", "0",
            "-threads", "1",
            "-video_track_timescale", str(self.fps * 1000),
            "-colorspace", "smpte170m", "-color_range", "tv",
            "-movflags", "+faststart", "-fflags", "+bitexact", "-flags:v", "+bitexact",
            "-an",
        ]

    def describe(self) -> dict[str, object]:
        return {"codec": "h264", "preset": self.preset, "crf": self.crf, "subme": self.subme, "motion": self.motion,
                "gop_seconds": self.keyframe_seconds,
                "size": f"{self.width}x{self.height}", "fps": self.fps,
                "pixels": "yuv420p bt601 tv, converted by studio"}


RECENT_FRAMES = 8  # read-only frames whose conversion a ClipWriter keeps (the animatic keeps as many)


def yuv420_converter() -> Callable[[np.ndarray], np.ndarray]:
    """``convert(rgb)``: an H x W x 3 uint8 RGB frame (even sides) as planar 4:2:0 YUV
    (BT.601, limited range), an (H * 3 / 2) x W uint8 array: Y, then U, then V."""
    import cv2

    cv2.setNumThreads(1)  # every core already has a shot worker or an encoder
    return partial(cv2.cvtColor, code=cv2.COLOR_RGB2YUV_I420)


def process_peak_kb(pid: int | str = "self") -> int:
    """Peak resident memory (VmHWM, kB) of a live process, 0 where /proc cannot say.
    Unlike ``ru_maxrss`` it belongs to the process image, so it is not inherited
    across fork and exec."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class ClipWriter:
    """``with ClipWriter(path, settings) as w: w.write(frame)`` streams frames into an MP4."""

    def __init__(self, path: Path, settings: VideoSettings) -> None:
        self.path = Path(path)
        self.settings = settings
        self.frames = 0
        self.peak_rss_kb = 0  # the encoder's peak resident memory, read just before it finishes
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: Path | None = None
        self._log: tempfile._TemporaryFileWrapper[bytes] | None = None
        if settings.width % 2 or settings.height % 2:
            raise RenderError(f"{settings.width}x{settings.height} has an odd side; H.264 4:2:0 needs even sizes",
                              hint="set the film's resolution to even numbers, e.g. 854x480 or 1280x720")
        self._to_yuv = yuv420_converter()
        # read-only frames written lately, by identity, with their YUV: a held frame (a
        # still, a mouth at rest) comes back as the same array and is not converted again
        self._recent: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def __enter__(self) -> ClipWriter:
        s = self.settings
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".part.mp4", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._log = tempfile.TemporaryFile()
        cmd = [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{s.width}x{s.height}",
            "-r", str(s.fps), "-i", "pipe:0",
            *s.output_args(), "-f", "mp4", str(self._tmp),
        ]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log)
        return self

    def write(self, frame: np.ndarray) -> None:
        s = self.settings
        if frame.shape != (s.height, s.width, 3) or frame.dtype != np.uint8:
            raise RenderError(
                f"a frame of shape {frame.shape} ({frame.dtype}) does not fit a {s.width}x{s.height} RGB clip",
                hint="this is a backend bug: report it",
            )
        assert self._proc is not None and self._proc.stdin is not None
        yuv = self._yuv(frame)
        try:
            self._proc.stdin.write(yuv.data)
        except BrokenPipeError:
            raise self._failure() from None
        self.frames += 1

    def _yuv(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` as 4:2:0 YUV. A read-only frame is a promise that its pixels do not
        change (the animatic's composed frames are handed out read-only and yielded again
        while a picture holds), so the same array written again reuses its conversion;
        on the 10-minute feature 63% of frames are such repeats."""
        if frame.flags.writeable:
            return self._to_yuv(np.ascontiguousarray(frame))
        kept = self._recent.get(id(frame))
        if kept is not None and kept[0] is frame:
            self._recent.move_to_end(id(frame))
            return kept[1]
        yuv = self._to_yuv(np.ascontiguousarray(frame))
        self._recent[id(frame)] = (frame, yuv)
        if len(self._recent) > RECENT_FRAMES:
            self._recent.popitem(last=False)
        return yuv

    def _failure(self) -> RenderError:
        assert self._proc is not None and self._log is not None
        self._proc.wait()
        self._log.seek(0)
        log = self._log.read().decode("utf-8", "replace")
        return RenderError(f"ffmpeg failed while encoding {self.path.name}: {log_tail(log)}", hint=failure_hint(log))

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._proc is not None and self._tmp is not None and self._log is not None
        try:
            self.peak_rss_kb = process_peak_kb(self._proc.pid)
            if self._proc.stdin is not None:
                try:
                    self._proc.stdin.close()
                except BrokenPipeError:
                    pass
            if exc_type is not None:  # interrupted or failed: no half-written clip is left behind
                self._proc.kill()
                self._proc.wait()
                self._tmp.unlink(missing_ok=True)
                return
            if self._proc.wait() != 0:
                raise self._failure()
            publish(self._tmp, self.path)
        finally:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._log.close()
            if self._tmp.exists():
                self._tmp.unlink()
