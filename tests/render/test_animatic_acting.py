"""Faces that feel: expressions held and eased, seeded blinks, listeners who look at the speaker."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from studio.graph.scene_graph import SceneGraph
from studio.render.animatic import AnimaticBackend
from studio.render.animatic.acting import BLINK_FRAMES, NO_BLINK_SECONDS, blink_frames, expression_at
from studio.render.backend import Conditioning
from studio.render.plan import PlannedLine, plan_film
from studio.screenplay import load_screenplay

EXAMPLE = Path(__file__).resolve().parents[2] / "screenplays" / "the-last-lamp.yaml"


def test_blinks_are_seeded_spaced_and_spare_a_close_ups_first_second() -> None:
    fps, frames = 24, 24 * 30
    a = blink_frames(7, "mara", frames, fps, close_up=True)
    assert a == blink_frames(7, "mara", frames, fps, close_up=True)
    assert a != blink_frames(8, "mara", frames, fps, close_up=True)
    assert not any(i < NO_BLINK_SECONDS * fps for i in a)
    starts = sorted(i for i in a if i - 1 not in a)
    assert 5 <= len(starts) <= 13  # every 2.5-5.5 s over 30 s
    assert all(b - s >= 2.5 * fps - 1 for s, b in zip(starts, starts[1:]))
    assert all(len({s + k for k in range(BLINK_FRAMES)} & a) == BLINK_FRAMES for s in starts)


def test_an_expression_holds_through_its_line_and_eases_back() -> None:
    lines = [(1.0, 3.0, "angry")]
    assert expression_at(0.5, lines) == ("neutral", 1.0)
    assert expression_at(2.0, lines) == ("angry", 1.0)
    mid = expression_at(3.3, lines)
    assert mid[0] == "angry" and 0 < mid[1] < 1
    assert expression_at(4.0, lines) == ("neutral", 1.0)


def test_a_listener_looks_at_whoever_speaks() -> None:
    plans = plan_film(SceneGraph.from_screenplay(load_screenplay(EXAMPLE)))
    plan = next(p for p in plans if len(p.present) >= 3 and p.size in ("wide", "full", "medium-wide"))
    plan = dataclasses.replace(plan, width=640, height=360, frames=2, continuity="cut", continues=None,
                               title_card=None, film_title=None, move="static")
    backend = AnimaticBackend({"subtitles": False})

    def picture(speaker: str) -> np.ndarray:
        line = PlannedLine("x", speaker, speaker, "...", None, True, 0.0, 1.0)  # off screen: no mouth, no light
        line = dataclasses.replace(line, off_screen=False)
        return np.asarray(list(backend.render(dataclasses.replace(plan, lines=(line,)), Conditioning()))[-1],
                          np.float32)

    # the same shot, spoken by the leftmost and then the rightmost: the one between turns their eyes
    from studio.render.animatic.backend import _Shot, check_options

    xs = {f.cid: f.x for f in _Shot(plan, Conditioning(), check_options({}), print).comp.figures}
    left, mid, right = sorted(xs, key=xs.get)[:3] if len(xs) == 3 else sorted(xs, key=xs.get)[0:3]
    looks = {}
    for speaker in (left, right):
        line = PlannedLine("x", speaker, speaker, "Well.", None, False, 0.0, 1.0)
        shot = _Shot(dataclasses.replace(plan, lines=(line,)), Conditioning(), check_options({}), print)
        acts = dict(shot._acts(1, speaker, shot.path.at(1 / plan.fps)))
        placed = next(f for f in shot.comp.figures if f.cid == mid)
        looks[speaker] = acts[mid].gaze if mid in acts and acts[mid].gaze is not None else placed.gaze
    assert looks[left] < 0 < looks[right]
    a, b = picture(left), picture(right)
    assert np.abs(a - b).mean() > 0.1


def test_stressed_words_are_found() -> None:
    from studio.render.animatic.acting import emphasised

    def words(text: str) -> list[str]:
        spoken = " ".join(text.split())
        return [spoken[o:].split()[0] for o in emphasised(text)]

    assert words("We leave NOW, before the tide.") == ["NOW,"]
    assert words("I said *never*  again.") == ["*never*"]
    assert words("I am _not_ joking.") == ["_not_"]
    assert words("Go! Now.") == ["Go!"]
    assert words("I know. A plain line.") == []
    assert words("GET OUT OF HERE NOW") == []  # a shouted line: no word stands out


def test_a_word_is_timed_by_espeak_ngs_own_word_events() -> None:
    from studio.render.animatic.lipsync import espeak_timing, word_times

    text = "We leave NOW, before the tide."
    _, words, audio, rate = espeak_timing(text, "en-us", 175)
    now = next(t for t, at in words if at == 9)
    pad = np.zeros(rate // 2, np.float32)  # the line starts half a second into the shot
    shot = np.concatenate([pad, audio, pad])
    start = len(pad) / rate
    (got,) = word_times(text, [9], start, start + len(audio) / rate, shot, rate)
    assert abs(got - (start + now)) < 0.03, (got, start + now)
    (plain,) = word_times(text, [9], 0.0, 2.4)  # no audio: in proportion to the characters
    assert plain == pytest.approx(2.3 * 9 / 30)


def test_an_arm_comes_up_on_the_stressed_word_and_only_then() -> None:
    from studio.render.animatic.acting import GESTURE_FALL, GESTURE_HOLD, GESTURE_RISE
    from studio.render.animatic.measure import mouth_box

    plan = next(p for p in plan_film(SceneGraph.from_screenplay(load_screenplay(EXAMPLE))) if p.shot_id == "storm-09")
    plan = dataclasses.replace(plan, width=640, height=360, frames=72, continuity="cut", continues=None,
                               title_card=None, film_title=None, move="static", action="")
    backend = AnimaticBackend({"subtitles": False})

    def frames(text: str) -> list[np.ndarray]:
        line = PlannedLine("g", "mara", "Mara", text, None, False, 0.0, 2.4)
        return [np.asarray(f, np.float32) for f in backend.render(dataclasses.replace(plan, lines=(line,)),
                                                                  Conditioning())]

    stressed, plain = frames("We leave NOW, before the tide."), frames("We leave now, before the tide.")
    word = 2.3 * 9 / 30  # where NOW falls in the line (no audio: by its characters)
    changed = [i for i, (a, b) in enumerate(zip(stressed, plain)) if (np.abs(a - b).sum(axis=2) > 40).sum() > 30]
    assert changed, "no gesture"
    assert min(changed) / plan.fps >= word - GESTURE_RISE - 1 / plan.fps
    assert max(changed) / plan.fps <= word + GESTURE_HOLD + GESTURE_FALL
    assert int(word * plan.fps) in changed
    # what changes is the arm: beside Mara's body, below her mouth, on Theo's side
    i = int(word * plan.fps) + 2
    mask = np.abs(stressed[i] - plain[i]).sum(axis=2) > 40
    ys, xs = np.nonzero(mask)
    mouth, face, _ = mouth_box(plan, Conditioning(), "mara", i)
    assert (ys > mouth[1]).mean() > 0.9
    assert (xs > (face[0] + face[2]) / 2).mean() > 0.9
