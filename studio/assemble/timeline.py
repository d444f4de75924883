"""The cut as an editorial timeline: OpenTimelineIO (lossless, native), plus EDL (CMX
3600) and FCP XML through the OTIO adapters (lossy, for other editors)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opentimelineio as otio

from studio.assemble.text import edl_text, otio_text, xml_text
from studio.atomic import atomic_output
from studio.render.plan import ShotPlan


@dataclass(frozen=True)
class TimelineShot:
    plan: ShotPlan
    clip: Path  # the shot's clip file


def build_timeline(title: str, fps: int, shots: list[TimelineShot], *, audio: dict[str, Path] | None = None,
                   film_frames: int | None = None) -> otio.schema.Timeline:
    """A timeline with one video track of shots, scene markers, and audio tracks
    (``audio`` maps a track name, such as 'mix' or 'dialogue', to a file)."""
    timeline = otio.schema.Timeline(name=otio_text(title), global_start_time=otio.opentime.RationalTime(0, fps))
    video = otio.schema.Track(name="picture", kind=otio.schema.TrackKind.Video)
    frame = 0
    last_scene = None
    for shot in shots:
        plan = shot.plan
        length = otio.opentime.RationalTime(plan.frames, fps)
        available = otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps), length)
        clip = otio.schema.Clip(
            name=plan.shot_id,
            media_reference=otio.schema.ExternalReference(
                target_url=shot.clip.resolve().as_uri(), available_range=available
            ),
            source_range=available,
        )
        clip.metadata["studio"] = {
            "shot": plan.shot_id, "scene": plan.scene_id, "size": plan.size, "move": plan.move,
            "continuity": plan.continuity, "subjects": list(plan.subjects),
            "lines": [{"speaker": line.speaker, "text": otio_text(line.text)} for line in plan.lines],
        }
        if plan.scene_id != last_scene:
            clip.markers.append(otio.schema.Marker(
                name=otio_text(plan.scene_heading),
                marked_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps),
                                                     otio.opentime.RationalTime(0, fps)),
                metadata={"studio": {"scene": plan.scene_id}},
            ))
            last_scene = plan.scene_id
        video.append(clip)
        frame += plan.frames
    timeline.tracks.append(video)
    total = otio.opentime.RationalTime(film_frames if film_frames is not None else frame, fps)
    for name, path in (audio or {}).items():
        track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio)
        rng = otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps), total)
        track.append(otio.schema.Clip(
            name=name,
            media_reference=otio.schema.ExternalReference(target_url=path.resolve().as_uri(), available_range=rng),
            source_range=rng,
        ))
        timeline.tracks.append(track)
    return timeline


def _relabelled(timeline: otio.schema.Timeline, clean: Callable[[str], str]) -> otio.schema.Timeline:
    """A copy of ``timeline`` whose names (its own, its tracks', clips' and markers') and
    metadata texts a format's writer can hold: ``clean`` is that format's rule from
    :mod:`studio.assemble.text`."""
    copy = timeline.clone()
    copy.name = clean(copy.name)
    for track in copy.tracks:
        track.name = clean(track.name)
        for item in track:
            item.name = clean(item.name)
            _clean_metadata(item.metadata, clean)
            for marker in item.markers:
                marker.name = clean(marker.name)
                _clean_metadata(marker.metadata, clean)
    return copy


def _clean_metadata(node: Any, clean: Callable[[str], str]) -> None:
    items = node.items() if hasattr(node, "items") else enumerate(node)
    for key, value in list(items):
        if isinstance(value, str):
            node[key] = clean(value)
        elif hasattr(value, "items") or isinstance(value, otio._otio.AnyVector):
            _clean_metadata(value, clean)


# frame rates SMPTE timecode (and so CMX 3600 and FCP XML) can express
SMPTE_RATES = (23.976, 24, 25, 29.97, 30, 47.952, 48, 50, 59.94, 60)


def write_timeline(timeline: otio.schema.Timeline, stem: Path) -> dict[str, Path]:
    """Write ``<stem>.otio``, ``<stem>.edl`` and ``<stem>.xml`` (FCP 7 XML). The EDL and
    the XML need SMPTE timecode and are skipped at rates it cannot express (e.g. 12 fps)."""
    out: dict[str, Path] = {}
    rate = timeline.global_start_time.rate if timeline.global_start_time else 24
    for kind, suffix, adapter in (("otio", ".otio", "otio_json"), ("edl", ".edl", "cmx_3600"),
                                  ("fcp_xml", ".xml", "fcp_xml")):
        if adapter != "otio_json" and not any(abs(rate - r) < 0.01 for r in SMPTE_RATES):
            continue
        path = stem.with_suffix(suffix)
        source = timeline
        if adapter == "cmx_3600":
            # CMX 3600 holds one video track and reel names of 8 characters
            source = otio.schema.Timeline(name=timeline.name, global_start_time=timeline.global_start_time)
            source.tracks.append(timeline.video_tracks()[0].clone())
            source = _relabelled(source, edl_text)
        elif adapter == "fcp_xml":
            source = _relabelled(timeline, xml_text)
        with atomic_output(path) as tmp:
            otio.adapters.write_to_file(source, str(tmp), adapter_name=adapter)
        out[kind] = path
    return out
