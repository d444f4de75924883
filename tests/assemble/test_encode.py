"""ClipWriter: frames converted to 4:2:0 YUV in studio, as ffmpeg would have, tagged."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.assemble.encode import ClipWriter, VideoSettings, yuv420_converter
from studio.assemble.ffmpeg import ffmpeg_exe
from studio.errors import RenderError

W, H = 96, 64


def _frames(n: int) -> list[np.ndarray]:
    """Saturated colours, a gradient and hard edges: where a wrong matrix, range or
    chroma siting would show."""
    y, x = np.mgrid[0:H, 0:W]
    out = []
    for i in range(n):
        img = np.zeros((H, W, 3), np.uint8)
        img[..., 0] = (x * 255 // (W - 1)).astype(np.uint8)
        img[..., 1] = (y * 255 // (H - 1)).astype(np.uint8)
        img[..., 2] = 128
        img[10:30, 10 + i:40 + i] = (220, 30, 40)
        img[35:60, 50:90] = (20, 200, 60)
        out.append(img)
    return out


def _ffmpeg(frames: list[np.ndarray], src: str, dst: str) -> np.ndarray:
    """``frames`` (raw ``src`` pixels) converted by ffmpeg's swscale to ``dst``."""
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", src, "-s", f"{W}x{H}",
                          "-i", "-", "-f", "rawvideo", "-pix_fmt", dst, "-"],
                         input=b"".join(f.tobytes() for f in frames), capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(len(frames), -1)


def test_the_conversion_is_ffmpegs_within_a_code_value_and_as_faithful(tmp_path: Path) -> None:
    frames = _frames(6)
    convert = yuv420_converter()
    ours = [convert(f) for f in frames]
    theirs = _ffmpeg(frames, "rgb24", "yuv420p")  # swscale's, what clips were made of before
    assert all(o.shape == (H * 3 // 2, W) for o in ours)
    luma = np.abs(np.stack(ours).reshape(6, -1)[:, :W * H].astype(int) - theirs[:, :W * H])
    assert luma.max() <= 1 and luma.mean() < 0.1  # the same matrix and range
    # chroma is sampled differently (a 2x2 mean here); back in RGB it is as close to the
    # frames as swscale's (measured on animatic frames: mean error 1.25 against 1.33)
    rgb = np.stack(frames).reshape(6, -1).astype(int)
    ours_back = np.abs(_ffmpeg(ours, "yuv420p", "rgb24") - rgb).mean()
    theirs_back = np.abs(_ffmpeg(list(theirs), "yuv420p", "rgb24") - rgb).mean()
    assert ours_back <= 1.1 * theirs_back
    # a wrong matrix or range is far off: full-range luma of the same frames
    full = np.stack([(0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]).round() for f in frames])
    assert np.abs(full.reshape(6, -1) - theirs[:, :W * H]).max() > 10


def test_a_clip_decodes_to_the_frames_written(tmp_path: Path) -> None:
    frames = _frames(6)
    clip = tmp_path / "c.mp4"
    with ClipWriter(clip, VideoSettings(W, H, 24)) as writer:
        for f in frames:
            writer.write(f)
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(clip), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    back = np.frombuffer(raw, np.uint8).reshape(6, H, W, 3).astype(int)
    assert np.abs(back - np.stack(frames)).mean() < 4.0  # 4:2:0 and H.264 blur colour edges only
    assert np.abs(back - np.stack(frames)[:, :, :, ::-1]).mean() > 20  # and red is not blue


def test_clips_say_their_matrix_and_range(tmp_path: Path) -> None:
    clip = tmp_path / "c.mp4"
    with ClipWriter(clip, VideoSettings(W, H, 24)) as writer:
        for f in _frames(3):
            writer.write(f)
    probe = shutil.which("ffprobe")
    if probe is None:  # ffmpeg itself reads the tags back from its own log otherwise
        info = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(clip)], capture_output=True, text=True).stderr
        assert "smpte170m" in info and "tv" in info
        return
    streams = json.loads(subprocess.run([probe, "-v", "error", "-of", "json", "-show_entries",
                                         "stream=color_space,color_range", str(clip)],
                                        capture_output=True, text=True, check=True).stdout)["streams"]
    assert streams == [{"color_space": "smpte170m", "color_range": "tv"}]


def test_an_odd_size_is_refused_with_a_fix(tmp_path: Path) -> None:
    with pytest.raises(RenderError) as err:
        ClipWriter(tmp_path / "c.mp4", VideoSettings(95, 64, 24))
    assert "95x64" in str(err.value) and "even" in (err.value.hint or "")


def test_a_frame_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    with ClipWriter(tmp_path / "c.mp4", VideoSettings(W, H, 24)) as writer:
        writer.write(_frames(1)[0])
        with pytest.raises(RenderError):
            writer.write(np.asarray(Image.new("RGB", (W + 2, H))))


def test_clips_are_encoded_with_the_settings_their_key_names(tmp_path: Path) -> None:
    """x264 writes its options into the stream: the clip holds the sub-pixel refinement and
    motion search the settings (and so the shot keys) name, and veryfast's own where asked for."""
    for subme, motion in ((1, "dia"), (2, "hex")):
        clip = tmp_path / f"c{subme}.mp4"
        video = VideoSettings(W, H, 24, subme=subme, motion=motion)
        with ClipWriter(clip, video) as writer:
            for f in _frames(3):
                writer.write(f)
        options = re.search(rb"x264 - core \d+.*?options: ([^\x00]*)", clip.read_bytes())
        assert options is not None
        assert f" subme={subme} ".encode() in options.group(1) and b" crf=20.0 " in options.group(1)
        assert f" me={motion} ".encode() in options.group(1)
        assert video.describe()["subme"] == subme and video.describe()["motion"] == motion
    assert VideoSettings(W, H, 24).describe() != VideoSettings(W, H, 24, subme=2).describe()
    assert VideoSettings(W, H, 24).describe() != VideoSettings(W, H, 24, motion="hex").describe()


def test_a_read_only_frame_written_again_gives_the_clip_its_copies_give(tmp_path: Path) -> None:
    """A held picture comes back as the same read-only array; its conversion is reused,
    and the clip is byte for byte the one distinct copies make. A writable array is
    converted every time: changed in place between writes, the change is in the clip."""
    a, b = _frames(2)
    for f in (a, b):
        f.flags.writeable = False
    order = [a, a, b, a, b, b, a]
    with ClipWriter(tmp_path / "held.mp4", VideoSettings(W, H, 24)) as writer:
        for f in order:
            writer.write(f)
    with ClipWriter(tmp_path / "copies.mp4", VideoSettings(W, H, 24)) as writer:
        for f in order:
            writer.write(f.copy())
    assert (tmp_path / "held.mp4").read_bytes() == (tmp_path / "copies.mp4").read_bytes()
    moving = a.copy()
    with ClipWriter(tmp_path / "moving.mp4", VideoSettings(W, H, 24)) as writer:
        for f in order:
            moving[...] = f
            writer.write(moving)
    assert (tmp_path / "moving.mp4").read_bytes() == (tmp_path / "copies.mp4").read_bytes()
