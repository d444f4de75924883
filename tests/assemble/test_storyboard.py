"""The storyboard contact sheet: one captioned frame per shot, paged for long films."""

from __future__ import annotations

from PIL import Image

from studio.assemble.storyboard import SHOTS_PER_SHEET, StoryboardFrame, write_storyboard


def frames(tmp_path, n):
    out = []
    for k in range(n):
        path = tmp_path / f"thumb-{k}.png"
        Image.new("RGB", (480, 270), ((k * 40) % 255, 90, 160)).save(path)
        out.append(StoryboardFrame(f"s1-{k:02d}", "INT. ROOM - DAY", "close-up", "static", k == 1,
                                   f"ANA: line number {k}", path))
    return out


def test_one_sheet_for_a_short_film(tmp_path):
    (sheet,) = write_storyboard(frames(tmp_path, 7), "Film", tmp_path / "storyboard.png", 16 / 9)
    with Image.open(sheet) as im:
        assert im.width > 1000 and im.height > 2 * 160
        # the thumbnails' colours are on the sheet
        colours = {c for _, c in im.convert("RGB").getcolors(1 << 20)}
    assert (0, 90, 160) in colours and (40, 90, 160) in colours


def test_long_films_get_pages(tmp_path):
    sheets = write_storyboard(frames(tmp_path, SHOTS_PER_SHEET + 3), "Film", tmp_path / "storyboard.png", 16 / 9)
    assert [p.name for p in sheets] == ["storyboard.png", "storyboard-002.png"]


def test_unchanged_pages_are_kept(tmp_path):
    shots = frames(tmp_path, SHOTS_PER_SHEET + 3)
    first = write_storyboard(shots, "Film", tmp_path / "storyboard.png", 16 / 9)
    stamps = [p.stat().st_mtime_ns for p in first]
    # a new take of a shot on the second page changes that page only
    Image.new("RGB", (480, 270), (250, 250, 0)).save(shots[-1].image)
    again = write_storyboard(shots, "Film", tmp_path / "storyboard.png", 16 / 9)
    assert again[0].stat().st_mtime_ns == stamps[0]
    assert again[1].stat().st_mtime_ns != stamps[1]
