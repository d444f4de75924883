"""Lip-sync, measured from the pictures: does a speaker's mouth follow the voice?

:func:`mouth_openings` looks at rendered frames (decoded from the shot's clip, see
:func:`decode_clip`): it finds the speaker's mouth from the shot's known layout (where
the stage puts the figure and where the camera looks on that frame) and counts the
mouth's dark inside, as a fraction of the head's size. :func:`shot_lipsync` sets that
against the speech as it was spoken (the shot's :class:`~studio.render.backend.ShotSpeech`):
the envelope per frame, the pauses inside a line (longer than :data:`PAUSE_SECONDS`)
and the moments of its bilabials (m, b, p): for lines spoken by espeak-ng, as espeak-ng
itself times them with the line's voice file, variant, words a minute and pitch
(:func:`bilabial_times`, aligned to the line's audio by its own envelope correlation);
for Piper's, by the model's own durations, the line spoken again
(:meth:`~studio.audio.tts_piper.PiperEngine.synthesize_timed`).
:func:`summarise` pools shots into the figures the issue asks for: Pearson r, the
share of pause frames with the mouth closed, the share of bilabial frames closed.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from studio.audio.phonemes import espeak_timing
from studio.render.animatic.figures import FigureGeometry
from studio.render.animatic.lipsync import BILABIALS, envelope, espeak_phonemes
from studio.render.backend import Conditioning, ShotSpeech
from studio.render.plan import ShotPlan

PAUSE_SECONDS = 0.2  # a silence inside a line at least this long is a pause
SILENT_DB = -30.0  # below the shot's speech level (95th percentile): silence
CLOSED = 0.02  # an opening below this (dark mouth area / head area) is a closed mouth
MIN_HEAD_PIXELS = 24  # faces smaller on screen are not measured
ENVELOPE_FLOOR_DB = -40.0


@dataclass
class ShotLipSync:
    """One shot's measures: per measured frame, the mouth's opening and the speech
    envelope (dB under the shot's speech level); pause and bilabial frames and whether
    the mouth was closed on each."""

    shot_id: str
    openings: list[float] = field(default_factory=list)
    envelope: list[float] = field(default_factory=list)
    pause_closed: list[bool] = field(default_factory=list)
    bilabial_closed: list[bool] = field(default_factory=list)

    @property
    def r(self) -> float:
        return pearson(self.openings, self.envelope)


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    x, y = np.asarray(a, float), np.asarray(b, float)
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def mouth_box(plan: ShotPlan, cond: Conditioning, cid: str, frame: int) -> tuple[tuple[int, int, int, int],
                                                                                   tuple[int, int, int, int], float] | None:
    """The pixel boxes of ``cid``'s mouth and of the face around it on ``frame``, and the
    head's half-height in pixels; None when they are off the frame or seen from behind."""
    from studio.render.animatic.backend import _Shot

    shot = _cached_shot(plan, cond, _Shot)
    p = next((q for q in shot.comp.figures if q.cid == cid and not q.back), None)
    if p is None:
        return None
    g = FigureGeometry.of(shot.comp.looks[cid], p.scale)
    win = shot.path.at(frame / plan.fps)
    x0, y0, x1, y1 = win.rect(shot.aspect)
    sx, sy = plan.width / (x1 - x0), plan.height / (y1 - y0)
    hw, hh = g.head_w / 2, g.head_h / 2
    fx = p.x + p.gaze * hw * 0.16
    my = p.y + g.head_cy - hh * 0.52

    def px(ax: float, ay: float, bx: float, by: float) -> tuple[int, int, int, int]:
        return (math.floor((ax - x0) * sx), math.floor((y1 - by) * sy), math.ceil((bx - x0) * sx),
                math.ceil((y1 - ay) * sy))

    mouth = px(fx - hw * 0.32, my - hh * 0.3, fx + hw * 0.32, my + hh * 0.18)
    face = px(fx - hw * 0.75, my - hh * 0.3, fx + hw * 0.75, my + hh * 0.6)
    cast = shot.faces.get(cid)
    points = getattr(cast, "points", None)
    if points is not None:  # a cast face: its mouth is where its landmarks put it on the pasted disc
        from studio.render.animatic.cast_face import WORK_SIZE

        r, cy = hw * 0.98, p.y + g.head_cy - hh * 0.02
        lips = points[48:68]
        (u0, v0), (u1, v1) = lips.min(axis=0), lips.max(axis=0)
        tall = v1 - v0
        wx = lambda u: p.x + (u / WORK_SIZE - 0.5) * 2 * r  # noqa: E731
        wy = lambda v: cy - (v / WORK_SIZE - 0.5) * 2 * r  # noqa: E731
        mouth = px(wx(u0), wy(v1 + 1.6 * tall), wx(u1), wy(v0))
        face = px(wx(u0 - tall), wy(v1 + 1.6 * tall), wx(u1 + tall), wy(v0 - 2.5 * tall))
    if face[0] < 0 or face[1] < 0 or face[2] > plan.width or face[3] > plan.height:
        return None
    return mouth, face, hh * sy


_SHOTS: dict[int, object] = {}


def _cached_shot(plan: ShotPlan, cond: Conditioning, make):  # noqa: ANN001, ANN202
    key = (id(plan), id(cond))
    if key not in _SHOTS or _SHOTS[key][0] is not plan:  # type: ignore[index]
        _SHOTS.clear()
        from studio.render.animatic.backend import check_options

        _SHOTS[key] = (plan, make(plan, cond, check_options({"subtitles": False, "quality": "draft"}),
                                  lambda *a, **k: None))
    return _SHOTS[key][1]  # type: ignore[index]


def opening(frame: np.ndarray, mouth: tuple[int, int, int, int], face: tuple[int, int, int, int],
            head_half: float) -> float:
    """How open a mouth is on a frame: its dark pixels (under half the face's median
    brightness) over the head's area (in head half-height squared)."""
    lum = frame[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    fx0, fy0, fx1, fy1 = face
    ref = float(np.median(lum[fy0:fy1, fx0:fx1]))
    mx0, my0, mx1, my1 = mouth
    box = lum[max(0, my0):my1, max(0, mx0):mx1]
    return float((box < 0.5 * ref).sum()) / max(1.0, head_half * head_half)


def shot_lipsync(plan: ShotPlan, frames: Sequence[np.ndarray], speech: ShotSpeech,
                 bilabials: dict[str, Sequence[float]] | None = None, cond: Conditioning | None = None,
                 speakers: set[str] | None = None) -> ShotLipSync:
    """Measure one shot: ``frames`` as rendered (decoded), ``speech`` its dialogue track,
    ``bilabials`` the seconds (from each line's start) of bilabials per line id."""
    cond = cond or Conditioning(speech=speech)
    out = ShotLipSync(plan.shot_id)
    n = min(len(frames), int(plan.frames))
    env = envelope(speech.samples, speech.sample_rate, plan.fps, n)
    ref = float(np.percentile(env[env > -100], 95)) if (env > -100).any() else 0.0
    rel = env - ref
    silent = rel < SILENT_DB
    for line in plan.lines:
        if line.off_screen or (speakers is not None and line.speaker not in speakers):
            continue
        first, last = max(0, math.ceil(line.start * plan.fps)), min(n, int(line.end * plan.fps))
        # pauses: runs of silent frames inside the line, long enough, not at its edges
        pause = np.zeros(n, dtype=bool)
        voiced = [i for i in range(first, last) if not silent[i]]
        if voiced:
            i = voiced[0]
            while i <= voiced[-1]:
                j = i
                while j <= voiced[-1] and silent[j]:
                    j += 1
                if j - i >= PAUSE_SECONDS * plan.fps:
                    pause[i:j] = True
                i = j + 1 if j == i else j
        marks = {int(round((line.start + s) * plan.fps - 0.5)) for s in (bilabials or {}).get(line.id, ())}
        for i in range(first, last):
            box = mouth_box(plan, cond, line.speaker, i)
            if box is None or box[2] < MIN_HEAD_PIXELS / 2:
                continue
            o = opening(frames[i], *box)
            out.openings.append(o)
            out.envelope.append(max(float(rel[i]), ENVELOPE_FLOOR_DB))
            if pause[i]:
                out.pause_closed.append(o < CLOSED)
            if i in marks:
                out.bilabial_closed.append(o < CLOSED)
    return out


def summarise(shots: Sequence[ShotLipSync]) -> dict[str, float]:
    """Pooled figures over ``shots``: r, the pause and bilabial frames closed (shares)."""
    openings = [o for s in shots for o in s.openings]
    env = [e for s in shots for e in s.envelope]
    pauses = [c for s in shots for c in s.pause_closed]
    labials = [c for s in shots for c in s.bilabial_closed]
    return {
        "frames": float(len(openings)),
        "r": pearson(openings, env),
        "pause_frames": float(len(pauses)),
        "pause_closed": float(np.mean(pauses)) if pauses else float("nan"),
        "bilabial_frames": float(len(labials)),
        "bilabial_closed": float(np.mean(labials)) if labials else float("nan"),
    }


# --------------------------------------------------------------------------- decoding


def decode_clip(path: str, width: int, height: int) -> list[np.ndarray]:
    """Every frame of a clip as RGB arrays, decoded by ffmpeg."""
    from studio.assemble.ffmpeg import ffmpeg_exe

    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
           "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    data = subprocess.run(cmd, capture_output=True, check=True).stdout
    size = width * height * 3
    return [np.frombuffer(data[k * size:(k + 1) * size], np.uint8).reshape(height, width, 3)
            for k in range(len(data) // size)]


# --------------------------------------------------------------------------- espeak-ng's own timing

def bilabial_times(text: str, voice: str, words_per_minute: int, spoken: np.ndarray, rate: int,
                   pitch: int | None = None, speed: float = 1.0) -> list[float]:
    """Seconds into ``spoken`` (the line's audio as studio made it) of the middle of
    each bilabial closure, from espeak-ng's own timing, aligned to ``spoken`` by the
    envelopes' cross-correlation (studio trims and pads a line's audio). ``voice`` is
    espeak-ng's ``-v`` (a voice file or language, with its variant), ``pitch`` its ``-p``
    and ``speed`` how much faster studio played its audio (the pitch shift espeak-ng
    could not make); without ``pitch``, the language of ``voice`` alone speaks, as before
    the engine's own options were known here."""
    if pitch is None:
        events, audio, own_rate = espeak_phonemes(text, voice, words_per_minute)
    else:
        events, _, audio, own_rate = espeak_timing(text, voice, words_per_minute, pitch)
    events = [(t / speed, ph) for t, ph in events]
    own_rate = int(round(own_rate * speed))
    step = 0.005
    a = _env(audio, own_rate, step)
    b = _env(spoken, rate, step)
    corr = np.correlate(b - b.mean(), a - a.mean(), mode="full")
    shift = (int(np.argmax(corr)) - (len(a) - 1)) * step
    return [t + shift for t in closure_middles(events)]


def closure_middles(events: Sequence[tuple[float, str]]) -> list[float]:
    """The middle of each bilabial closure among timed phonemes ``(start, phoneme)``:
    40 ms into it, or halfway to the next phoneme when that comes sooner."""
    out = []
    for k, (t, ph) in enumerate(events):
        if ph in BILABIALS:
            end = events[k + 1][0] if k + 1 < len(events) else t + 0.06
            out.append(t + min(0.04, (end - t) / 2))
    return out


def _env(x: np.ndarray, rate: int, step: float) -> np.ndarray:
    hop = max(1, int(rate * step))
    n = len(x) // hop
    if n == 0:
        return np.zeros(1)
    frames = np.asarray(x[:n * hop], float).reshape(n, hop)
    return np.log10((frames ** 2).mean(axis=1) + 1e-8)


# --------------------------------------------------------------------------- a whole film


def encode_decode(frames: Sequence[np.ndarray], fps: int, path: str) -> list[np.ndarray]:
    """``frames`` written to an H.264 clip at ``path`` (as studio stores shots: yuv420p)
    and decoded back: what a viewer of the clip sees."""
    from studio.assemble.ffmpeg import ffmpeg_exe

    h, w = frames[0].shape[:2]
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "rawvideo",
           "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(int(fps)), "-i", "pipe:0", "-c:v", "libx264",
           "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, input=b"".join(np.ascontiguousarray(f).tobytes() for f in frames), check=True,
                   capture_output=True)
    return decode_clip(path, w, h)


def film_lipsync(screenplay, cache_dir, work_dir, *, size: tuple[int, int] | None = None,  # noqa: ANN001
                 options: dict | None = None, identities: dict | None = None,
                 speakers: set[str] | None = None) -> list[ShotLipSync]:
    """Speak ``screenplay``'s lines (cached under ``cache_dir``), render every shot with an
    on-screen line with the animatic (``size`` overrides the film's frame size), pass it
    through an H.264 clip in ``work_dir`` and measure it. espeak-ng lines are checked at
    their bilabials. ``identities`` (character id -> Identity) casts faces; ``speakers``
    limits the measure to shots where one of them speaks on screen."""
    import dataclasses
    from pathlib import Path

    from studio.audio.speech import dialogue_lines, read_wav, shot_speech, speech_seconds, synthesize_lines
    from studio.audio.tts import get_engine
    from studio.graph.scene_graph import SceneGraph
    from studio.render.animatic.backend import AnimaticBackend
    from studio.render.plan import plan_film

    lines = synthesize_lines(screenplay, Path(cache_dir))
    spoken = {d.line_id: d for d in dialogue_lines(screenplay)}
    plans = plan_film(SceneGraph.from_screenplay(screenplay, speech_seconds(lines)))
    backend = AnimaticBackend({"subtitles": False, **(options or {})})
    out: list[ShotLipSync] = []
    for plan in plans:
        if not any(not ln.off_screen and (speakers is None or ln.speaker in speakers) for ln in plan.lines):
            continue
        if size is not None:
            plan = dataclasses.replace(plan, width=size[0], height=size[1])
        speech = shot_speech(plan, lines)
        if speech is None:
            continue
        present = {m.id for m in plan.present}
        cond = Conditioning(identities={c: i for c, i in (identities or {}).items() if c in present}, speech=speech)
        frames = encode_decode(list(backend.render(plan, cond)), plan.fps, str(Path(work_dir) / f"{plan.shot_id}.mp4"))
        marks: dict[str, list[float]] = {}
        for ln in plan.lines:
            d = spoken.get(ln.id)
            if d is not None and d.voice.engine == "espeak-ng" and ln.id in lines:
                wav = read_wav(lines[ln.id].path)
                # the voice file, variant, words a minute and pitch the line was spoken with
                args, factor, _ = get_engine("espeak-ng").options(d.voice, d.delivery)
                opts = dict(zip(args[0::2], args[1::2]))
                marks[ln.id] = bilabial_times(ln.text, opts["-v"], int(opts["-s"]), wav.samples, wav.sample_rate,
                                              int(opts["-p"]), factor)
            elif d is not None and d.voice.engine == "piper" and ln.id in lines:
                # the model's own phoneme durations, from the line spoken again (not from its sidecar)
                _, timed = get_engine("piper").synthesize_timed(d.text, d.voice, d.delivery)
                if timed:
                    marks[ln.id] = closure_middles(timed)
        out.append(shot_lipsync(plan, frames, speech, marks, cond, speakers))
    return out
