"""A damaged cache heals in the run that finds it, and a killed run's temporary files go
on the next run (issue 21, items 11, 12 and 15's .part files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studio.cache.store import file_sha256
from studio.run.local import render_film
from studio.screenplay import parse_screenplay
from tests.conftest import MINIMAL

CONTINUOUS = MINIMAL.replace("  title: Two Rooms", "  title: Two Rooms\n  resolution: 96x64\n  fps: 12") + """\
    shots:
      - {id: a, size: wide, covers: [1, 2], duration: 1}
      - {id: b, size: close-up, continuity: continuous, covers: [3], duration: 1}
"""


def _render(root: Path, **options):
    screenplay = parse_screenplay(CONTINUOUS, str(root / "film.yaml"), base_dir=root)
    return render_film(screenplay, root / "out", cache_dir=root / "cache", name="film", audio=False, **options)


@pytest.fixture
def rendered(tmp_path: Path):
    first = _render(tmp_path)
    assert [c.shot_id for c in first.clips] == ["a", "b"]
    return tmp_path, first


@pytest.mark.parametrize("verify", [False, True])
def test_a_truncated_tail_frame_is_dropped_and_rendered_again(rendered, verify: bool):
    root, first = rendered
    tail = first.clips[0].tails[0]
    whole = tail.read_bytes()
    tail.write_bytes(whole[: len(whole) // 2])
    again = _render(root, verify=verify)
    assert again.report["corrupt_entries_replaced"] >= 1
    assert tail.read_bytes() == whole  # the same shot, rendered anew, the same frame
    assert again.film.is_file()


def test_a_flipped_byte_behind_a_kept_size_and_mtime_is_found_and_rendered_again(rendered):
    root, first = rendered
    clip = first.clips[0].path
    stat = clip.stat()
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0xFF
    clip.write_bytes(bytes(data))
    os.utime(clip, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (root / "out" / "render-report.json").unlink()  # make the cut rebuild, reading every clip in full
    again = _render(root)  # one run, no --verify, no "run again"
    assert again.report["corrupt_entries_replaced"] == 1
    assert file_sha256(again.clips[0].path) == first.clips[0].sha256
    assert again.film.is_file()


def test_a_killed_runs_part_files_are_cleaned_on_the_next_run(rendered):
    root, first = rendered
    out = root / "out"
    (out / "music").mkdir(exist_ok=True)
    leftovers = [out / ".film.mp4.k3j_9xq2.part.mp4", out / ".film.dialogue.flac.abcdefgh.part.flac",
                 out / "music" / ".cue-1.flac.0a1b2c3d.part.flac"]
    key = first.clips[0].key
    partial_clip = first.clips[0].path.with_name(f".{key}.mp4.zz99yy88.part.mp4")
    for path in [*leftovers, partial_clip]:
        path.write_bytes(b"\0" * 1000)
    mine = out / ".notes.part"  # not a studio temporary name: kept
    mine.write_text("mine")
    first.clips[0].path.unlink()  # shot a renders again, beside its partial clip
    _render(root)
    assert not any(p.exists() for p in [*leftovers, partial_clip])
    assert mine.read_text() == "mine"
