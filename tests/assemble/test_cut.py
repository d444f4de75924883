"""Encoding and the cut: real ffmpeg, stream-copy concat, chapters and metadata."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from studio.assemble.cut import Chapter, assemble_cut, concat_list, ffmetadata, film_metadata
from studio.assemble.encode import ClipWriter, VideoSettings
from studio.errors import RenderError

SETTINGS = VideoSettings(64, 48, 24)


def ffprobe(path: Path) -> dict:
    exe = shutil.which("ffprobe")
    if exe is None:
        pytest.skip("ffprobe is not installed")
    out = subprocess.run([exe, "-v", "error", "-show_streams", "-show_format", "-show_chapters", "-count_frames",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def write_clip(path: Path, frames: int, shade: int) -> Path:
    with ClipWriter(path, SETTINGS) as writer:
        for i in range(frames):
            frame = np.full((48, 64, 3), shade, np.uint8)
            frame[:, i % 64] = 255
            writer.write(frame)
    return path


def test_clip_writer_makes_h264_with_exact_frames(tmp_path):
    clip = write_clip(tmp_path / "clips" / "aa" / "a.mp4", 30, 40)
    info = ffprobe(clip)
    (stream,) = info["streams"]
    assert stream["codec_name"] == "h264" and stream["pix_fmt"] == "yuv420p"
    assert int(stream["nb_read_frames"]) == 30
    assert [p.name for p in clip.parent.iterdir()] == ["a.mp4"]  # no temporary left behind


def test_encoding_is_deterministic(tmp_path):
    a = write_clip(tmp_path / "a.mp4", 20, 90).read_bytes()
    b = write_clip(tmp_path / "b.mp4", 20, 90).read_bytes()
    assert a == b


def test_a_wrong_frame_is_refused_and_nothing_is_left(tmp_path):
    path = tmp_path / "bad.mp4"
    with pytest.raises(RenderError, match="does not fit"):
        with ClipWriter(path, SETTINGS) as writer:
            writer.write(np.zeros((10, 10, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_cut_by_stream_copy_with_chapters_and_metadata(tmp_path):
    cache = tmp_path / "cache"
    clips = [write_clip(cache / "clips" / "ab" / f"{k}.mp4", n, 30 * k) for k, n in enumerate([25, 31, 19])]
    chapters = [Chapter("INT. ROOM - DAY", 0, 56 / 24), Chapter('EXT. "YARD"; 50% = night #2', 56 / 24, 75 / 24)]
    meta = film_metadata('My "Film"; part=1', "animatic")
    film = assemble_cut(clips, cache, None, tmp_path / "out" / "film.mp4", seconds=75 / 24, metadata=meta,
                        chapters=chapters)
    info = ffprobe(film)
    kinds = sorted(s["codec_type"] for s in info["streams"] if s["codec_type"] != "data")
    assert kinds == ["audio", "video"]  # (mp4 keeps chapters in a data track of their own)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert int(video["nb_read_frames"]) == 75
    assert abs(float(info["format"]["duration"]) - 75 / 24) <= 1 / 24
    assert [c["tags"]["title"] for c in info["chapters"]] == [c.title for c in chapters]
    tags = info["format"]["tags"]
    assert tags["title"] == 'My "Film"; part=1'
    assert "AI-generated" in tags["comment"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["film.mp4"]
    assert not list(cache.glob("cut-*.txt"))


def test_concat_list_is_relative_and_safe(tmp_path):
    cache = tmp_path / "cache"
    clip = write_clip(cache / "clips" / "cd" / "cdef.mp4", 2, 0)
    listing = concat_list([clip], cache)
    assert listing.parent == cache
    assert listing.read_text() == "ffconcat version 1.0\nfile clips/cd/cdef.mp4\n"
    odd = cache / "clips" / "cd" / "it's here.mp4"
    shutil.copy(clip, odd)
    with pytest.raises(ValueError):
        concat_list([odd], cache)


def test_ffmetadata_escapes_special_characters():
    text = ffmetadata({"title": "a=b;c#d\\e\nf"}, [Chapter("x=y", 0, 1)])
    assert "title=a\\=b\\;c\\#d\\\\e\\\nf" in text
    assert "title=x\\=y" in text
