"""The animatic backend: frame counts, determinism, continuity, framing, moves,
speech marks, subtitles, titles, stable looks, options and face compositing."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from studio.consistency.identity import Identity
from studio.errors import StudioError
from studio.graph.scene_graph import SceneGraph
from studio.render.animatic import AnimaticBackend
from studio.render.animatic.stage import scene_looks
from studio.render.backend import Backend, Conditioning, load_backend
from studio.render.plan import PlannedLine, ShotPlan, plan_film
from studio.screenplay import load_screenplay

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "screenplays" / "the-last-lamp.yaml"


@lru_cache(maxsize=1)
def _plans() -> tuple[ShotPlan, ...]:
    return tuple(plan_film(SceneGraph.from_screenplay(load_screenplay(EXAMPLE))))


def shot(shot_id: str, **changes) -> ShotPlan:  # noqa: ANN003
    plan = next(p for p in _plans() if p.shot_id == shot_id)
    return dataclasses.replace(plan, **changes) if changes else plan


def small(plan: ShotPlan, width: int = 320, height: int = 180, **changes) -> ShotPlan:  # noqa: ANN003
    return dataclasses.replace(plan, width=width, height=height, **changes)


def frames(plan: ShotPlan, cond: Conditioning | None = None, **options) -> list[np.ndarray]:  # noqa: ANN003
    return list(AnimaticBackend(options).render(plan, cond or Conditioning()))


def digest(fs: Iterable[np.ndarray]) -> str:
    h = hashlib.sha256()
    for f in fs:
        h.update(np.ascontiguousarray(f).tobytes())
    return h.hexdigest()


def near(frame: np.ndarray, colour: tuple[int, int, int], tol: int = 10) -> float:
    """The fraction of pixels within ``tol`` of ``colour`` on every channel."""
    diff = np.abs(frame.astype(np.int16) - np.asarray(colour, np.int16)[None, None, :]).max(axis=2)
    return float((diff <= tol).mean())


# --------------------------------------------------------------------------- basics


def test_registered_and_described():
    backend = load_backend("animatic", {"grain": True})
    assert isinstance(backend, AnimaticBackend)
    assert isinstance(backend, Backend)
    info = backend.describe()
    assert info["name"] == "animatic" and isinstance(info["version"], str) and info["version"]
    assert info["options"]["grain"] is True and info["options"]["subtitles"] is True


def test_unknown_option_is_named_with_the_known_ones():
    with pytest.raises(StudioError) as e:
        load_backend("animatic", {"subtitels": False})
    assert "subtitels" in str(e.value)
    for known in ("subtitles", "grain", "guides", "quality"):
        assert known in str(e.value)
    with pytest.raises(StudioError, match="subtitles"):
        AnimaticBackend({"subtitles": "yes"})
    with pytest.raises(StudioError, match="quality"):
        AnimaticBackend({"quality": "ultra"})


def test_every_shot_yields_exactly_its_frames():
    prev: list[np.ndarray] = []
    for plan in _plans():
        plan = small(plan, 256, 144, frames=min(plan.frames, 30))
        cond = Conditioning(previous_frames=prev if plan.continuity == "continuous" else [])
        out = frames(plan, cond)
        assert len(out) == plan.frames, plan.shot_id
        for f in out:
            assert f.shape == (144, 256, 3) and f.dtype == np.uint8 and f.flags.c_contiguous
        prev = out[-2:]


def test_full_length_shot_at_film_resolution():
    plan = shot("dawn-07")
    out = frames(plan)
    assert len(out) == plan.frames
    assert all(f.shape == (plan.height, plan.width, 3) for f in out)


def test_frames_stream_and_a_frame_that_comes_back_is_read_only():
    """A frame yielded again is the same read-only array; a moving camera's frame that
    cannot come back (its window never rests there) is neither kept nor read-only."""

    def repeats(out: list[np.ndarray]) -> list[np.ndarray]:
        times: dict[int, int] = {}
        for f in out:  # (every frame is alive in ``out``: an id is one array's)
            times[id(f)] = times.get(id(f), 0) + 1
        return [f for f in out if times[id(f)] > 1]

    plan = small(shot("dawn-01"))
    assert plan.move != "static"
    it = AnimaticBackend().render(plan, Conditioning())
    first = next(it)  # a generator: nothing is rendered ahead
    moving = [first, *it]
    assert len(moving) == plan.frames
    assert first.flags.writeable and not any(f is first for f in moving[1:])
    assert not any(f.flags.writeable for f in repeats(moving))
    still = frames(small(shot("dawn-01"), move="static"))
    assert repeats(still) and not any(f.flags.writeable for f in still)


def test_zero_frames():
    assert frames(small(shot("storm-09"), frames=0)) == []


# --------------------------------------------------------------------------- determinism


def test_same_plan_same_bytes():
    for sid in ("storm-03", "dawn-01", "climb-1"):
        plan = small(shot(sid), frames=40)
        assert digest(frames(plan)) == digest(frames(plan)), sid


def test_same_bytes_in_another_process():
    code = (
        "import dataclasses, hashlib\n"
        "from studio.screenplay import load_screenplay\n"
        "from studio.graph.scene_graph import SceneGraph\n"
        "from studio.render.plan import plan_film\n"
        "from studio.render.backend import load_backend, Conditioning\n"
        f"plans = plan_film(SceneGraph.from_screenplay(load_screenplay({str(EXAMPLE)!r})))\n"
        "p = next(p for p in plans if p.shot_id == 'storm-05')\n"
        "p = dataclasses.replace(p, width=320, height=180, frames=30)\n"
        "h = hashlib.sha256()\n"
        "for f in load_backend('animatic').render(p, Conditioning()): h.update(f.tobytes())\n"
        "print(h.hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == digest(frames(small(shot("storm-05"), frames=30)))


# --------------------------------------------------------------------------- continuity


def test_continuous_shot_starts_on_the_previous_frame():
    plan = small(shot("climb-2"))
    assert plan.continues is not None
    rng = np.random.default_rng(0)
    last = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    out = frames(plan, Conditioning(previous_frames=[np.zeros_like(last), last]))
    assert out[0].tobytes() == last.tobytes()
    own = frames(plan)
    # the first half second dissolves from that frame into the shot's own picture
    d1 = np.abs(out[1].astype(int) - last.astype(int)).mean()
    d_end = np.abs(out[-1].astype(int) - own[-1].astype(int)).mean()
    assert d1 < np.abs(own[1].astype(int) - last.astype(int)).mean()
    assert d_end < 2  # the same framing (drawn on another canvas)


def test_continuous_camera_picks_up_the_previous_framing():
    """climb-2 (medium) continues climb-1 (a wide): it opens wide and pushes in."""
    wide = frames(small(shot("climb-1")))
    cont = frames(small(shot("climb-2")), Conditioning(previous_frames=[wide[-1]]))
    cut = frames(small(shot("climb-2"), continues=None, continuity="cut"))
    blend_end = 13  # past the half-second dissolve at 24 fps
    # just after the dissolve the continuous shot still looks like the wide's ending...
    assert np.abs(cont[blend_end].astype(int) - wide[-1].astype(int)).mean() < \
        np.abs(cut[blend_end].astype(int) - wide[-1].astype(int)).mean()
    # ...and it ends on its own framing
    assert np.abs(cont[-1].astype(int) - cut[-1].astype(int)).mean() < 2


def test_previous_frame_of_another_size_is_scaled():
    plan = small(shot("climb-2"))
    out = frames(plan, Conditioning(previous_frames=[np.full((90, 160, 3), 200, np.uint8)]))
    assert out[0].shape == (180, 320, 3) and np.all(out[0] == 200)


# --------------------------------------------------------------------------- framing


def _figure_fraction(plan: ShotPlan, cid: str) -> float:
    look = scene_looks(plan)[cid]
    f = frames(dataclasses.replace(plan, frames=1))[0]
    return sum(near(f, c, 6) for c in {look.outer, look.top, look.skin} if c is not None)


def test_close_up_is_much_bigger_than_a_wide():
    base = small(shot("climb-4"), lines=(), move="static")
    cu = _figure_fraction(dataclasses.replace(base, size="close-up", subjects=("theo",)), "theo")
    wide = _figure_fraction(dataclasses.replace(base, size="wide", subjects=("theo",)), "theo")
    medium = _figure_fraction(dataclasses.replace(base, size="medium", subjects=("theo",)), "theo")
    assert cu > 0.1
    assert wide < 0.05
    assert cu > 6 * wide and medium > 3 * wide


def test_insert_shows_its_object_and_no_people():
    plan = small(shot("dawn-06"))
    f = frames(dataclasses.replace(plan, frames=1))[0]
    for cid, look in scene_looks(plan).items():
        assert near(f, look.outer or look.top, 4) < 0.002, cid
    # the key is drawn in its colour, big enough to read
    key = frames(dataclasses.replace(plan, frames=1, focus="a red key"))[0]
    assert np.abs(key.astype(int) - f.astype(int)).max(axis=2).astype(bool).mean() > 0.02


def test_over_the_shoulder_has_a_dark_foreground_shoulder():
    plan = small(shot("storm-03"), lines=())
    f = frames(dataclasses.replace(plan, frames=1))[0].astype(int)
    # theo faces camera at one side; mara's back darkens the other side
    left, right = f[:, : f.shape[1] // 4].mean(), f[:, -f.shape[1] // 4:].mean()
    assert min(left, right) < 0.8 * max(left, right)


# --------------------------------------------------------------------------- moves


def test_pan_moves_and_static_holds():
    pan = frames(small(shot("dawn-01")))
    assert pan[0].tobytes() != pan[-1].tobytes()
    still = frames(small(shot("storm-09")))
    assert not shot("storm-09").lines
    assert still[0].tobytes() == still[-1].tobytes()
    assert still[0] is still[-1]  # an unchanged frame is the same array again


@pytest.mark.parametrize("move", ["pan", "pan-left", "tilt", "tilt-down", "dolly", "dolly-out", "zoom", "zoom-out",
                                  "truck-left", "truck-right", "crane-up", "crane-down", "handheld"])
def test_every_move_moves(move: str):
    plan = small(shot("storm-09"), move=move, frames=24)
    out = frames(plan)
    assert out[0].tobytes() != out[-1].tobytes()


def test_handheld_is_seeded():
    plan = small(shot("storm-09"), move="handheld", frames=24)
    assert digest(frames(plan)) == digest(frames(plan))
    assert digest(frames(plan)) != digest(frames(dataclasses.replace(plan, seed=plan.seed + 1)))


# --------------------------------------------------------------------------- speech and subtitles


def test_subtitles_appear_only_during_lines():
    plan = small(shot("storm-06"), 854, 480)
    line = plan.lines[0]
    on = frames(plan)
    off = frames(plan, subtitles=False)
    during = int((line.start + 1.0) * plan.fps)
    band = slice(int(480 * 0.7), 480)
    assert on[during][band].tobytes() != off[during][band].tobytes()
    assert on[during][:240].tobytes() == off[during][:240].tobytes()
    assert on[0].tobytes() == off[0].tobytes()  # before the line starts
    # the subtitle is white text on a dark box
    diff = np.abs(on[during].astype(int) - off[during].astype(int)).max(axis=2)
    assert (on[during][diff > 0] > 230).all(axis=1).sum() > 200


def test_hostile_subtitle_text_renders_literally():
    text = 'He said: "50% off; [now] {x} %{pts} \\n"' + " ¿ça va? — ‘quoted’ \\ back\\slash\n\ttab"
    base = small(shot("storm-06"), 854, 480)
    line = dataclasses.replace(base.lines[0], text=text)
    plan = dataclasses.replace(base, lines=(line,))
    t = int((line.start + 0.5) * plan.fps)
    on = frames(plan)[t]
    off = frames(plan, subtitles=False)[t]
    band = slice(int(480 * 0.7), 480)
    assert np.abs(on[band].astype(int) - off[band].astype(int)).sum() > 10_000


def test_long_lines_are_paged_and_wrapped():
    from studio.render.animatic.overlays import subtitle_pages

    line = PlannedLine("l", "mara", "Mara", " ".join(["lighthouse"] * 60), None, False, 0.0, 12.0)
    pages = subtitle_pages(line, 854, 480)
    assert len(pages) > 1
    assert pages[0].start == 0.0 and pages[-1].end == 12.0
    for a, b in zip(pages, pages[1:]):
        assert a.end == pytest.approx(b.start)
    for p in pages:
        w, h = p.overlay.image.size
        assert w <= 854 * 0.8 + 60
        assert h < 480 * 0.3  # at most a few text lines


def test_off_screen_line_names_its_speaker_and_marks_no_one():
    from studio.render.animatic.overlays import speaker_prefix

    base = small(shot("storm-09"), lines=())
    line = PlannedLine("x", "theo", "Theo", "Gran?", None, True, 0.0, base.duration)
    assert speaker_prefix(base, line, frozenset({"theo", "mara"})) == "THEO (V.O.)"
    seen = dataclasses.replace(line, off_screen=False)
    assert speaker_prefix(base, seen, frozenset({"theo"})) is None
    assert speaker_prefix(base, seen, frozenset({"mara"})) == "THEO (O.S.)"
    # off screen: the picture (without subtitles) is exactly the silent picture
    vo = frames(dataclasses.replace(base, lines=(line,), frames=12), subtitles=False)
    silent = frames(dataclasses.replace(base, frames=12), subtitles=False)
    assert digest(vo) == digest(silent)


def test_speaker_is_marked_and_mouth_moves():
    base = small(shot("storm-09"), lines=(), frames=24)
    line = PlannedLine("x", "theo", "Theo", "Gran?", None, False, 0.0, base.duration)
    talking = frames(dataclasses.replace(base, lines=(line,)), subtitles=False, acting=False)
    silent = frames(base, subtitles=False, acting=False)
    assert talking[0].tobytes() != silent[0].tobytes()  # lit and marked
    # a plain board: the mouth alternates about six times a second
    assert talking[0].tobytes() != talking[2].tobytes()
    assert talking[0].tobytes() == talking[4].tobytes()
    # acting (no audio here): the mouth follows the line's letters, and rests at its end
    acted = frames(dataclasses.replace(base, lines=(line,)), subtitles=False)
    assert len({f.tobytes() for f in acted}) >= 3


# --------------------------------------------------------------------------- titles


def test_title_card_and_film_title():
    plan = small(shot("storm-01"), 854, 480)
    assert plan.film_title and plan.title_card
    bare = dataclasses.replace(plan, film_title=None, title_card=None)
    a, b = frames(plan), frames(bare)
    centre = (slice(170, 300), slice(150, 700))
    t1 = 24  # 1 s: the film's title over a darkened picture
    assert np.abs(a[t1][centre].astype(int) - b[t1][centre].astype(int)).mean() > 10
    assert a[t1].mean() < b[t1].mean()
    # then the scene heading, top left, which fades away
    t4 = int(4.0 * plan.fps)
    top_left = (slice(0, 80), slice(0, 420))
    assert np.abs(a[t4][top_left].astype(int) - b[t4][top_left].astype(int)).mean() > 5
    assert a[-1].tobytes() == b[-1].tobytes()


def test_title_card_on_a_short_shot():
    plan = small(shot("climb-1"), frames=30)
    bare = dataclasses.replace(plan, title_card=None)
    assert frames(plan)[15].tobytes() != frames(bare)[15].tobytes()


# --------------------------------------------------------------------------- stable looks


def test_same_location_same_backdrop_in_different_shots():
    a = small(shot("storm-01"), present=(), lines=(), subjects=(), move="static", title_card=None, film_title=None,
              frames=1, seed=11)
    b = small(shot("standoff-01"), present=(), lines=(), subjects=(), move="static", title_card=None, frames=1,
              seed=11)  # the same take framing: only the location decides the picture
    assert a.location_id == b.location_id and a.shot_id != b.shot_id
    assert frames(a)[0].tobytes() == frames(b)[0].tobytes()
    # another location looks different
    c = small(shot("climb-1"), present=(), lines=(), subjects=(), move="static", title_card=None, frames=1, seed=11)
    assert frames(c)[0].tobytes() != frames(a)[0].tobytes()


def test_characters_have_distinct_stable_looks():
    from studio.render.animatic.figures import character_look

    plan = shot("standoff-02")
    looks = scene_looks(plan)
    assert looks["mara"].outer != looks["theo"].outer
    assert looks["theo"].outer != looks["inspector"].outer
    mara = character_look("mara", plan.member("mara").description)
    assert mara == character_look("mara", plan.member("mara").description)
    assert mara.hair_style == "braid" and mara.top == (34, 46, 88)  # "navy wool sweater"
    theo = character_look("theo", plan.member("theo").description)
    assert theo.outer == (236, 196, 40) and theo.hair_style == "curly" and "radio" in theo.props
    hale = character_look("inspector", plan.member("inspector").description)
    assert hale.outer == (34, 34, 38) and hale.glasses and hale.collar is not None  # grey suit, black raincoat
    # the same figure colours show up in a close-up of each
    for cid, sid in (("theo", "climb-4"), ("inspector", "climb-5")):
        p = small(shot(sid), lines=(), frames=1)
        assert near(frames(p)[0], scene_looks(p)[cid].skin, 3) > 0.05


def test_look_text_tints_the_palette():
    plan = small(shot("dawn-05"), frames=1)
    colour = frames(plan)[0].astype(int)
    mono = frames(dataclasses.replace(plan, look="film noir, black and white"))[0].astype(int)
    assert np.abs(mono[:, :, 0] - mono[:, :, 1]).max() <= 40  # greys (overlays aside)
    assert np.abs(colour[:, :, 0] - colour[:, :, 2]).mean() > np.abs(mono[:, :, 0] - mono[:, :, 2]).mean() + 10


# --------------------------------------------------------------------------- faces


def test_face_image_is_composited_onto_the_head(tmp_path: Path):
    face = tmp_path / "theo-face.png"
    img = Image.new("RGB", (128, 160), (30, 30, 30))
    ImageDraw.Draw(img).ellipse((8, 24, 120, 136), fill=(255, 0, 255))
    img.save(face)
    plan = small(shot("climb-4"), lines=(), frames=1)
    ident = Identity("theo", "a young man", 1, face=str(face))
    with_face = frames(plan, Conditioning(identities={"theo": ident}), acting=False)[0]
    without = frames(plan, acting=False)[0]
    assert near(with_face, (255, 0, 255), 40) > 0.08
    assert near(without, (255, 0, 255), 40) == 0.0
    # acting, the face takes the light the figures stand in
    from studio.render.animatic.palette import figure_light
    from studio.render.animatic.stage import setup_shot

    key = figure_light(plan.time_of_day, setup_shot(plan).composition.palette.interior)
    acted = frames(plan, Conditioning(identities={"theo": ident}))[0]
    assert near(acted, (round(255 * key[0]), 0, round(255 * key[2])), 40) > 0.08
    # a face with transparency keeps it: its clear corners show the drawn head
    clear = tmp_path / "clear.png"
    rgba = Image.new("RGBA", (100, 100), (0, 255, 0, 0))
    ImageDraw.Draw(rgba).ellipse((30, 30, 70, 70), fill=(255, 0, 255, 255))
    rgba.save(clear)
    small_face = frames(plan, Conditioning(identities={"theo": Identity("theo", "", 1, face=str(clear))}),
                        acting=False)[0]
    assert 0 < near(small_face, (255, 0, 255), 40) < near(with_face, (255, 0, 255), 40)
    assert near(small_face, (0, 255, 0), 60) == 0.0
    # a missing face file is not fatal: the drawn face is used
    missing = Identity("theo", "a young man", 1, face=str(tmp_path / "nope.png"))
    assert frames(plan, Conditioning(identities={"theo": missing}), acting=False)[0].tobytes() == without.tobytes()


# --------------------------------------------------------------------------- options


def test_grain_guides_and_slate_change_pixels_deterministically():
    plan = small(shot("storm-09"), frames=6)
    plain = frames(plan)
    for opts in ({"grain": True}, {"guides": True}, {"slate": True}, {"quality": "draft"}, {"quality": "high"}):
        out = frames(plan, **opts)
        assert len(out) == 6 and out[0].shape == plain[0].shape
        assert digest(out) != digest(plain), opts
        assert digest(out) == digest(frames(plan, **opts)), opts
    grain = frames(plan, grain=True)
    assert grain[0].tobytes() != grain[1].tobytes()  # grain moves


def test_pov_and_generic_locations_render():
    """Sizes and places the example doesn't use: a POV, an exterior city at night,
    a forest at dusk, an unknown room, a location with no people."""
    plan = small(shot("standoff-02"), lines=(), frames=3)
    pov = frames(dataclasses.replace(plan, size="pov", subjects=("mara",)))
    assert pov[0].std() > 5
    for desc, interior, time in (("a busy city street with shop windows", False, "night"),
                                 ("a pine forest clearing", None, "dusk"),
                                 ("a room", True, "morning"),
                                 ("a kitchen with a big table and a window", True, "afternoon"),
                                 ("snowy mountains under fog", False, "day")):
        p = dataclasses.replace(plan, location_id="x", location_description=desc, interior=interior, time_of_day=time)
        for size in ("wide", "medium", "insert", "extreme-close-up", "full"):
            f = frames(dataclasses.replace(p, size=size, focus="a letter", frames=1))[0]
            assert f.std() > 3, (desc, size)
    empty = dataclasses.replace(plan, present=(), subjects=(), size="close-up", frames=1)
    assert frames(empty)[0].shape == (180, 320, 3)
