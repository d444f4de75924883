"""A shot worker's memory: a canvas keeps its marked pictures within a byte budget (a
1280x720 pan's are 5 MB each: 24 of them were 130 MB), counted as Pillow holds them; a
lit patch too large for its budget is drawn again rather than kept; and a finished shot
hands the C heap's free pages back (glibc's malloc_trim)."""

from __future__ import annotations

import dataclasses
import platform
import weakref

import numpy as np
import pytest
from PIL import Image

from studio.render.animatic import AnimaticBackend, stage
from studio.render.animatic.stage import GROUND_BYTES, VARIANT_BYTES, _Kept
from studio.render.backend import Conditioning
from studio.run import local
from tests.render.test_animatic import shot


def _picture(width: int) -> Image.Image:
    return Image.new("RGB", (width, 10))


def test_kept_pictures_go_least_recently_used_first_past_their_count_or_bytes():
    kept = _Kept(count=3, budget=3 * 10 * 10 * 4)  # three 10x10 pictures' pixels (Pillow: 4 bytes an RGB pixel)
    for key in "abc":
        kept.put((key,), _picture(10))
    assert kept.get(("a",)) is not None  # a is now the most recently used: b, c, a
    kept.put(("d",), _picture(10))  # one too many: b, the least recently used, goes
    assert ("b",) not in kept and all((k,) in kept for k in "acd") and len(kept) == 3
    kept.put(("e",), _picture(20))  # twice the pixels: past the bytes, c and then a go
    assert [k for k in "acde" if (k,) in kept] == ["d", "e"] and kept.bytes == (100 + 200) * 4
    kept.put(("f",), _picture(100))  # past the whole budget: the two most recently used always stay
    assert [k for k in "def" if (k,) in kept] == ["e", "f"] and kept.bytes == (200 + 1000) * 4
    kept.put(("f",), _picture(10))  # a key put again replaces its picture and its bytes
    assert len(kept) == 2 and kept.bytes == (200 + 100) * 4
    assert kept.fits(_picture(30)) and not kept.fits(_picture(31))
    assert _Kept._size(Image.new("L", (10, 10))) == 100 and _Kept._size(Image.new("RGBA", (10, 10))) == 400


def test_a_lit_patch_too_large_to_keep_gives_the_same_pictures(monkeypatch):
    """The speaker's lit backdrop patch is kept (and copied) when it fits its budget, else
    drawn again each time and drawn on itself: the marked pictures are the same bytes."""
    plan = dataclasses.replace(shot("storm-05"), width=640, height=360, frames=48)  # a speaking dolly-in

    def frames() -> list[bytes]:
        return [np.asarray(f).tobytes() for f in AnimaticBackend({"subtitles": False}).render(plan, Conditioning())]

    kept_grounds: list[int] = []
    put = _Kept.put

    def counted_put(self, key, img):  # noqa: ANN001
        if self.count == stage.MAX_GROUNDS:  # a canvas's lit patches (its pictures are kept 24 at most)
            kept_grounds.append(_Kept._size(img))
        return put(self, key, img)

    monkeypatch.setattr(_Kept, "put", counted_put)
    kept = frames()
    assert kept_grounds, "the shot kept no lit patch"
    monkeypatch.setattr(stage, "GROUND_BYTES", 0)  # every lit patch now too large to keep
    kept_grounds.clear()
    assert frames() == kept and not kept_grounds


def test_a_speaking_push_in_at_1280x720_keeps_its_pictures_within_the_budget(monkeypatch):
    """Without the byte budget this close-up's canvas kept every marked picture it made (up to 24)."""
    canvases: weakref.WeakSet = weakref.WeakSet()
    made: list[int] = []
    grounds: list[int] = []
    init, put = stage.Canvas.__init__, _Kept.put

    def canvas_init(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        init(self, *args, **kwargs)
        canvases.add(self)

    def counted_put(self, key, img):  # noqa: ANN001
        (made if self.budget == VARIANT_BYTES else grounds).append(_Kept._size(img))
        return put(self, key, img)

    monkeypatch.setattr(stage.Canvas, "__init__", canvas_init)
    monkeypatch.setattr(_Kept, "put", counted_put)
    plan = dataclasses.replace(shot("storm-05"), width=1280, height=720, frames=72)  # a speaking dolly-in
    assert plan.lines and plan.move != "static"
    most = {"variants": 0, "grounds": 0}
    for _ in AnimaticBackend({"subtitles": False}).render(plan, Conditioning()):
        for canvas in list(canvases):
            most["variants"] = max(most["variants"], canvas._variants.bytes)
            most["grounds"] = max(most["grounds"], canvas._grounds.bytes)
    assert made, "the shot made no marked picture"
    largest = max(made)
    # the budget bound: together the pictures made were more than it holds at once
    assert sum(made) > VARIANT_BYTES + 2 * largest
    # kept: within the budget, or the two newest where they alone pass it
    assert 0 < most["variants"] <= max(VARIANT_BYTES, 2 * largest)
    assert most["grounds"] <= max(GROUND_BYTES, 2 * max(grounds, default=0))


def _resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc_trim")
def test_a_finished_shot_hands_the_heaps_free_pages_back():
    assert local._MALLOC_TRIM is not None
    # 128 MB in 64 KB pieces (below glibc's mmap threshold: on the heap), all freed but the last, which pins
    # the heap's top: the freed pages stay resident until they are handed back
    pieces = [np.ones(64 * 1024, np.uint8) for _ in range(2048)]
    last = pieces[-1]
    del pieces
    before = _resident_mb()
    local.give_back_memory()
    after = _resident_mb()
    assert last.sum() == 64 * 1024
    assert before - after > 64, (before, after)
