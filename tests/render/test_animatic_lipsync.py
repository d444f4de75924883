"""Lip-sync and acting, measured from rendered frames (issue 18's acceptance list)."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from studio.render.animatic import AnimaticBackend
from studio.render.animatic.acting import expression_of
from studio.render.animatic.lipsync import MIN_HOLD, hold, mouth_track
from studio.render.animatic.measure import film_lipsync, mouth_box, opening, summarise
from studio.render.backend import Conditioning
from studio.render.plan import PlannedLine, plan_film
from studio.screenplay import load_screenplay

FILM = """\
version: 1
film: {title: Lips, fps: 24, resolution: 426x240, seed: 3, render: {backend: animatic}}
characters:
  - id: bea
    name: Bea
    description: a baker in her fifties, grey hair in a bun, white apron
    voice: {engine: espeak-ng, voice: en-us+f2, rate: 1.0}
  - id: pim
    name: Pim
    description: a postman in his thirties, short brown hair, blue uniform
    voice: {engine: espeak-ng, voice: en-gb+m3, rate: 1.0}
locations:
  - {id: shop, name: Bakery, description: a small bakery with bread on wooden shelves, interior: true}
scenes:
  - id: morning
    heading: INT. BAKERY - MORNING
    location: shop
    time: morning
    characters: [bea, pim]
    beats:
      - action: Bea kneads dough. Pim waits by the counter.
      - {speaker: pim, line: "Morning, Bea. Is the bread ready yet? I have a long round today."}
      - {speaker: bea, line: "Nearly. Take a seat by the window. The oven is slow when it turns cold."}
      - {speaker: pim, line: "Then I will wait. Tell Bob the parcel came on Monday."}
"""


@lru_cache(maxsize=1)
def _measured(tmp: str) -> tuple:
    root = Path(tmp)
    (root / "lips.yaml").write_text(FILM, encoding="utf-8")
    sp = load_screenplay(root / "lips.yaml")
    (root / "work").mkdir(exist_ok=True)
    return tuple(film_lipsync(sp, root / "cache", root / "work"))


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    return _measured(str(tmp_path_factory.mktemp("lips")))


def test_mouth_follows_the_speech_in_decoded_frames(measured: tuple) -> None:
    total = summarise(measured)
    assert total["frames"] > 100
    # the r >= 0.6, here on a small film's three lines at a quarter of the pixels
    assert total["r"] >= 0.6, total
    assert total["pause_frames"] >= 5 and total["pause_closed"] >= 0.9, total
    # every bilabial closed: the mouths are timed by the voice that spoke each line
    assert total["bilabial_frames"] >= 6 and total["bilabial_closed"] == 1.0, total


def test_acting_off_mouth_does_not_follow(tmp_path: Path) -> None:
    """The same measure fails the timer mouth of a plain board: it can tell."""
    (tmp_path / "lips.yaml").write_text(FILM, encoding="utf-8")
    sp = load_screenplay(tmp_path / "lips.yaml")
    shots = film_lipsync(sp, tmp_path / "cache", tmp_path, options={"acting": False})
    total = summarise(shots)
    assert total["r"] < 0.45
    assert total["bilabial_closed"] < 0.85


def test_shapes_hold_two_frames_and_rest_in_silence() -> None:
    rate, fps = 48000, 24
    t = np.arange(rate * 2) / rate
    voice = (0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)
    voice[rate // 2: rate] = 0.0  # half a second of silence inside the line
    shapes = mouth_track(voice, rate, fps, 48, [(0.0, 2.0)])
    assert all(s == "rest" for s in shapes[14:23])
    assert any(s not in ("rest", "closed") for s in shapes)
    runs, i = [], 0
    while i < len(shapes):
        j = i
        while j < len(shapes) and shapes[j] == shapes[i]:
            j += 1
        runs.append(j - i)
        i = j
    assert min(runs) >= MIN_HOLD
    assert hold(["open"] * 3 + ["closed"] + ["open"] * 3).count("closed") == 2  # a bilabial is kept, widened
    # the vowel between two bilabials ("Bob") stays open: a flicker of shapes is one shape, not a closed lip
    assert hold(["closed"] * 2 + ["wide", "round"] + ["closed"] * 2) == ["closed"] * 2 + ["wide"] * 2 + ["closed"] * 2


def test_off_screen_line_moves_no_mouth() -> None:
    sp = load_screenplay(Path(__file__).resolve().parents[2] / "screenplays" / "the-last-lamp.yaml")
    plan = next(p for p in plan_film(__import__("studio.graph.scene_graph", fromlist=["SceneGraph"])
                                     .SceneGraph.from_screenplay(sp)) if p.shot_id == "storm-09")
    plan = dataclasses.replace(plan, width=320, height=180, frames=24)
    line = PlannedLine("x", "theo", "Theo", "Mama, maybe bring the map.", None, True, 0.0, 1.0)
    backend = AnimaticBackend({"subtitles": False})
    vo = list(backend.render(dataclasses.replace(plan, lines=(line,)), Conditioning()))
    silent = list(backend.render(dataclasses.replace(plan, lines=()), Conditioning()))
    assert all(a.tobytes() == b.tobytes() for a, b in zip(vo, silent))


def test_expression_words() -> None:
    assert expression_of("(angry)") == "angry"
    assert expression_of("furiously") == "angry"
    assert expression_of("(happy)") == "happy"
    assert expression_of("whispering") == "whispering"
    assert expression_of(None, "The lamp is out.") == "neutral"
    assert expression_of("(to Theo)", "Go!") == "neutral"
    assert expression_of(None, "Go now!") == "surprised"


def _face_region(plan, frames, cid):  # noqa: ANN001, ANN202
    """The speaker's face (brows to chin) on the middle frame, as float pixels."""
    i = len(frames) // 2
    box = mouth_box(plan, Conditioning(), cid, i)
    assert box is not None
    _, (x0, y0, x1, y1), hh = box
    top = max(0, int(y0 - hh * 1.0))
    return frames[i][top:y1, x0:x1].astype(np.float32)


def test_angry_and_happy_faces_differ_and_no_parenthetical_is_neutral() -> None:
    sp = load_screenplay(Path(__file__).resolve().parents[2] / "screenplays" / "the-last-lamp.yaml")
    from studio.graph.scene_graph import SceneGraph

    plan = next(p for p in plan_film(SceneGraph.from_screenplay(sp)) if p.size == "close-up" and p.lines
                and not p.lines[0].off_screen)
    plan = dataclasses.replace(plan, width=640, height=360, frames=12, continuity="cut", continues=None)
    cid = plan.lines[0].speaker
    backend = AnimaticBackend({"subtitles": False})

    def face(parenthetical: str | None):  # noqa: ANN202
        line = dataclasses.replace(plan.lines[0], text="Hmm", parenthetical=parenthetical, start=0.0, end=0.5)
        frames = list(backend.render(dataclasses.replace(plan, lines=(line,)), Conditioning()))
        return _face_region(plan, frames, cid)

    angry, happy, plain = face("(angry)"), face("(happy)"), face(None)
    neutral = face("(to him)")
    diff = lambda a, b: float(np.abs(a - b).mean())  # noqa: E731
    assert diff(angry, happy) > 1.0
    assert diff(plain, neutral) == 0.0  # no parenthetical: the neutral face
    assert diff(plain, angry) > 0.5 and diff(plain, happy) > 0.5


def test_opening_is_read_from_pixels() -> None:
    frame = np.full((40, 40, 3), 200, np.uint8)
    face = (0, 0, 40, 40)
    mouth = (15, 15, 25, 25)
    assert opening(frame, mouth, face, 10.0) == 0.0
    frame[18:22, 16:24] = 30
    assert opening(frame, mouth, face, 10.0) == pytest.approx(32 / 100)


def test_a_cast_face_speaks_in_sync_and_stays_recognisable(tmp_path: Path) -> None:
    from PIL import Image
    from skimage import data

    from studio.consistency import faces
    from studio.consistency.identity import Identity
    from studio.render.animatic.measure import decode_clip

    photo = data.astronaut()  # Eileen Collins, NASA, public domain
    chip = faces.chip(photo, faces.detect(photo)[0], size=256, padding=0.25)
    Image.fromarray(chip).save(tmp_path / "face.png")
    reference = faces.embed(chip, faces.detect(chip)[0])
    (tmp_path / "lips.yaml").write_text(FILM, encoding="utf-8")
    sp = load_screenplay(tmp_path / "lips.yaml")
    cast = {"bea": Identity("bea", "", 1, face=str(tmp_path / "face.png"))}
    shots = film_lipsync(sp, tmp_path / "cache", tmp_path, identities=cast, speakers={"bea"})
    total = summarise(shots)
    assert total["frames"] >= 40
    assert total["r"] >= 0.6, total
    assert total["pause_closed"] >= 0.9, total
    # identity QA while she speaks: every decoded frame sampled mid-line finds her
    from studio.audio.speech import speech_seconds, synthesize_lines
    from studio.graph.scene_graph import SceneGraph

    plans = {p.shot_id: p for p in plan_film(SceneGraph.from_screenplay(
        sp, speech_seconds(synthesize_lines(sp, tmp_path / "cache"))))}
    checked = 0
    for s in shots:
        plan = plans[s.shot_id]
        if plan.size not in ("medium", "medium-close-up", "close-up", "extreme-close-up", "over-the-shoulder"):
            continue
        frames = decode_clip(str(tmp_path / f"{s.shot_id}.mp4"), plan.width, plan.height)
        line = next(ln for ln in plan.lines if ln.speaker == "bea")
        for u in (0.3, 0.5, 0.7):
            frame = np.ascontiguousarray(frames[int((line.start + u * (line.end - line.start)) * plan.fps)])
            found = faces.detect(frame, upsample=1)
            assert found, (s.shot_id, u)
            assert min(faces.distance(reference, faces.embed(frame, f)) for f in found) <= 0.6
            checked += 1
    assert checked >= 3


def test_timed_bilabials_close_the_mouth_on_their_frames() -> None:
    """A line's phonemes as its engine timed them close the lips on the frame the
    measure looks at (the closure's middle), held two frames; without them the loud
    vowel-like sound opens the mouth there."""
    rate, fps = 48000, 24
    t = np.arange(rate * 2) / rate
    voice = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 1500 * t)).astype(np.float32)
    marks = ((0.50, "h"), (0.561, "m"), (0.63, "a"), (1.207, "b"), (1.26, "o"))
    timed = mouth_track(voice, rate, fps, 48, [(0.0, 2.0)], (), (marks,))
    plain = mouth_track(voice, rate, fps, 48, [(0.0, 2.0)])
    for start, nxt in ((0.561, 0.63), (1.207, 1.26)):
        frame = int(round((start + min(0.04, (nxt - start) / 2)) * fps - 0.5))
        assert timed[frame] == "closed" and plain[frame] != "closed", (frame, timed[frame - 2:frame + 3])
        assert timed[frame - 1:frame + 1] == ["closed"] * 2 or timed[frame:frame + 2] == ["closed"] * 2
    assert timed.count("closed") <= 6  # only there


def test_closure_middles_fall_inside_each_bilabial() -> None:
    from studio.render.animatic.measure import closure_middles

    events = [(0.10, "m"), (0.13, "a"), (0.30, "p"), (0.50, "ɪ"), (0.62, "b")]
    # 40 ms in, or halfway to the next phoneme when it comes sooner (the last one lasts 60 ms)
    assert closure_middles(events) == pytest.approx([0.115, 0.34, 0.65])
