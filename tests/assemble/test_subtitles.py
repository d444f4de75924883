"""Subtitles are timed from the planned dialogue and keep user text literal."""

from __future__ import annotations

from dataclasses import replace

from studio.assemble.subtitles import cues, srt, webvtt, write_subtitles
from studio.graph.scene_graph import SceneGraph
from studio.render.plan import plan_film
from studio.screenplay import load_screenplay


def lamp_plans(example_path):
    return plan_film(SceneGraph.from_screenplay(load_screenplay(example_path)))


def test_cues_follow_the_film_clock(example_path):
    plans = lamp_plans(example_path)
    all_cues = cues(plans)
    assert len(all_cues) == sum(len(p.lines) for p in plans) == 18
    assert all(a.end <= b.start for a, b in zip(all_cues, all_cues[1:]))
    first_with_line = next(p for p in plans if p.lines)
    assert all_cues[0].start == round(first_with_line.start_frame / 24 + first_with_line.lines[0].start, 3)
    assert all_cues[-1].end <= sum(p.frames for p in plans) / 24


def test_srt_and_vtt_format(example_path, tmp_path):
    srt_path, vtt_path = write_subtitles(lamp_plans(example_path), tmp_path / "film")
    text = srt_path.read_text()
    first = text.split("\n\n")[0].splitlines()
    assert first[0] == "1" and " --> " in first[1] and "," in first[1]
    assert first[2].startswith("Gran, the radio says")
    vtt = vtt_path.read_text()
    assert vtt.startswith("WEBVTT\n") and "<v Theo>Gran, the radio says" in vtt


def test_hostile_text_stays_text(example_path):
    plans = lamp_plans(example_path)
    plan = next(p for p in plans if p.lines)
    hostile = 'He said: "50% off"; [now] {x} %{pts} <b>bold</b> --> done\n\nNEXT'
    plan = replace(plan, lines=(replace(plan.lines[0], text=hostile),))
    one = cues([plan])
    assert "\n\n" not in srt(one).split("\n", 2)[2].rstrip("\n")
    vtt = webvtt(one)
    assert "&lt;b&gt;bold&lt;/b&gt;" in vtt and "%{pts}" in vtt
    assert vtt.count("-->") == 1  # only the timing arrow
