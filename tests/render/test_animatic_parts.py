"""The animatic's pure parts: palettes, character looks, camera paths, inserts, text."""

from __future__ import annotations

import pytest

from studio.render.animatic.camera import CameraPath, Window, ease_ramp, ease_sine, normal_move
from studio.render.animatic.figures import character_look
from studio.render.animatic.overlays import clean_text
from studio.render.animatic.palette import guess_interior, location_palette, motifs_of, parse_look, stable_int
from studio.render.animatic.props import object_kind


def test_stable_hash_is_not_pythons_salted_hash():
    assert stable_int("location", "quay") == stable_int("location", "quay")
    assert stable_int("a", "bc") != stable_int("ab", "c")


def test_location_palette_is_a_pure_function_of_place_and_time():
    a = location_palette("quay", "a stone harbour quay with fishing boats", "dawn", False)
    assert a == location_palette("quay", "a stone harbour quay with fishing boats", "dawn", False)
    assert {"sea", "boats", "stone"} <= a.motifs
    night = location_palette("quay", "a stone harbour quay with fishing boats", "night", False)
    assert sum(night.sky_top) < sum(a.sky_top) and night.dark and not a.dark
    other = location_palette("kitchen", "a small kitchen", "dawn", True)
    assert other.wall != a.wall or other.interior != a.interior


def test_interior_guess_and_motifs():
    assert guess_interior("a small kitchen with a window")
    assert not guess_interior("a busy street in the rain")
    assert guess_interior("")  # nothing to go on: a room
    assert {"rain", "windows", "lamp", "sea", "lens"} <= motifs_of(
        "the glass lamp room, a great brass lens, rain streaming down the windows, the sea far below")
    assert "stairs" in motifs_of("whitewashed spiral stairs winding up the tower")


@pytest.mark.parametrize("text", ["warm", "cold blue", "film noir", "black and white", "sepia", "pastel", "muted"])
def test_looks_change_colours(text: str):
    look = parse_look(text)
    assert not look.identity
    assert look.apply((180, 90, 60)) != (180, 90, 60)


def test_warm_and_cold_together_cancel():
    assert parse_look("warm lamplight against cold sea blues").tint == (1.0, 1.0, 1.0)
    mono = parse_look("black and white")
    r, g, b = mono.apply((200, 40, 40))
    assert r == g == b


def test_clothes_hair_and_props_from_words():
    a = character_look("ana", "a woman in a green coat over a cream blouse, red hair in a ponytail, glasses")
    assert a.feminine and a.hair_style == "ponytail" and a.glasses
    assert a.outer == (58, 120, 70) and a.top == (236, 226, 200) and a.hair == (178, 40, 40)
    b = character_look("ben", "a bald man in his seventies with a white beard, brown cardigan, dark jeans")
    assert not b.feminine and b.age == "old" and b.hair_style == "bald" and b.beard
    assert b.top == (110, 72, 44) and b.outer is None  # a cardigan is a top
    assert b.hair == (236, 236, 232)  # "white beard"
    kid = character_look("kid", "a little girl, eight, in a yellow dress")
    assert kid.age == "child" and kid.height < 1.4 and kid.dress
    # words missing: hashed from the id, stable, and different ids differ somewhere
    x, y = character_look("x", ""), character_look("y", "")
    assert x == character_look("x", "")
    assert (x.top, x.bottom, x.skin, x.hair) != (y.top, y.bottom, y.skin, y.hair)


def test_moves_and_easing():
    assert normal_move("pan") == "pan-right" and normal_move("zoom") == "zoom-in" and normal_move("?") == "static"
    for ease in (ease_sine, ease_ramp):
        assert ease(0) == 0 and ease(1) == pytest.approx(1) and ease(-1) == 0 and ease(2) == pytest.approx(1)
        assert all(ease(i / 50) <= ease((i + 1) / 50) + 1e-12 for i in range(50))
    base = Window(0.0, 1.5, 2.0)
    push = CameraPath(base, "dolly-in", 4.0, 16 / 9, (0.2, 1.6), 1)
    assert push.at(0).h > base.h and push.end() == base
    # a dolly keeps its anchor still on screen
    start = push.at(0)
    rel = lambda w: ((0.2 - w.cx) / w.h, (1.6 - w.cy) / w.h)  # noqa: E731
    assert rel(start) == pytest.approx(rel(base))
    pan = CameraPath(base, "pan-left", 4.0, 16 / 9, (0, 0), 1)
    assert pan.at(0).cx > pan.end().cx and pan.at(2.0).cx == pytest.approx(base.cx)
    cont = CameraPath(base, "static", 4.0, 16 / 9, (0, 0), 1, start=Window(3.0, 2.0, 5.0))
    assert cont.at(0) == Window(3.0, 2.0, 5.0) and cont.end() == base and not cont.still


def test_insert_objects_by_name():
    assert object_kind("the key to the tower") == "key"
    assert object_kind("the brass oil can") == "can"
    assert object_kind("the shutter lever") == "lever"
    assert object_kind("a crumpled letter") == "letter"
    assert object_kind("the thing from the attic") == "thing"


def test_text_is_cleaned_not_interpreted():
    assert clean_text('a\n\tb  "c" %{pts} \\n [x]') == 'a b "c" %{pts} \\n [x]'
    assert clean_text("zero\u200bwidth\x00") == "zerowidth"
