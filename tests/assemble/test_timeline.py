"""Timelines: OTIO that OpenTimelineIO reads back, EDL and FCP XML from its adapters."""

from __future__ import annotations

import opentimelineio as otio

from studio.assemble.timeline import TimelineShot, build_timeline, write_timeline
from studio.graph.scene_graph import SceneGraph
from studio.render.plan import plan_film
from studio.screenplay import load_screenplay


def test_timeline_round_trip(example_path, tmp_path):
    plans = plan_film(SceneGraph.from_screenplay(load_screenplay(example_path)))
    shots = [TimelineShot(p, tmp_path / f"{p.shot_id}.mp4") for p in plans]
    mix = tmp_path / "mix.wav"
    timeline = build_timeline("The Last Lamp", 24, shots, audio={"mix": mix})
    paths = write_timeline(timeline, tmp_path / "film")
    back = otio.adapters.read_from_file(str(paths["otio"]))
    (video,) = back.video_tracks()
    assert [c.name for c in video] == [p.shot_id for p in plans]
    assert video.duration().to_frames() == sum(p.frames for p in plans)
    assert back.audio_tracks()[0].duration() == video.duration()
    markers = [m.name for c in video for m in c.markers]
    assert markers == ["INT. LAMP ROOM - NIGHT", "INT. SPIRAL STAIRS - NIGHT", "INT. LAMP ROOM - NIGHT",
                       "EXT. HARBOUR QUAY - DAWN"]
    assert next(c for c in video if c.name == "climb-2").metadata["studio"]["continuity"] == "continuous"
    edl = paths["edl"].read_text()
    assert edl.startswith("TITLE: The Last Lamp") and edl.count("\n001 ") == 1
    xml = paths["fcp_xml"].read_text()
    assert "<xmeml" in xml and "climb-2" in xml
