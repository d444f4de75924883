"""The score: one composed music cue per scene, rendered with FluidSynth, streamed with
crossfades across scene changes.

Composition is :mod:`studio.audio.composer`'s (:func:`~studio.audio.composer.compose_cue`).

Rendering (:func:`render_cue`): ``fluidsynth`` renders the MIDI to raw float samples
at 48 kHz; the cue is then normalised to its mood's loudness (RMS, with a peak ceiling)
and written as 16-bit stereo WAV with exactly ``midi.length_seconds`` of samples. The
soundfont is ``$STUDIO_SOUNDFONT``, else FluidR3_GM, else TimGM6mb.

The film (:func:`score_film`): each scene's cue is composed ``crossfade/2`` longer at
both ends, rendered into ``<cache>/score/<k[:2]>/<k>.wav`` where ``k`` hashes the MIDI
bytes, the soundfont's content and the render settings (so an unchanged scene is never
rendered again), and :class:`ScoreTrack` streams the scored film block by block with an
equal-power crossfade centred on each cut. Nothing holds more than one block of the film.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from studio.atomic import atomic_output, write_bytes, write_text
from studio.audio import composer
from studio.audio.composer import ComposedCue, compose_cue, mood_for_scene, mood_from_text
from studio.audio.midi import MidiFile
from studio.audio.wav import apply_fades, pcm16, to_float, wav_frames, wav_header, wav_info, write_track_wav  # noqa: F401
from studio.errors import MissingToolError, RenderError
from studio.screenplay.model import MusicCue

SAMPLE_RATE = 48_000
SOUNDFONT_ENV = "STUDIO_SOUNDFONT"
SOUNDFONTS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), Path("/usr/share/sounds/sf2/TimGM6mb.sf2"))
INSTALL_HINT = "sudo apt-get install fluidsynth timgm6mb-soundfont (or fluid-soundfont-gm for the fuller FluidR3_GM)"
RENDER_VERSION = 1  # bump when render_cue's processing changes its output
DEFAULT_CROSSFADE = 2.0  # seconds, centred on each cut
DEFAULT_GAIN = 0.8  # fluidsynth master gain


# -- tools ------------------------------------------------------------------------------


def find_fluidsynth() -> str:
    path = shutil.which("fluidsynth")
    if not path:
        raise MissingToolError("fluidsynth is not installed: the score needs it to render music", hint=INSTALL_HINT)
    return path


def find_soundfont(explicit: str | Path | None = None) -> Path:
    """``explicit``, else ``$STUDIO_SOUNDFONT``, else FluidR3_GM, else TimGM6mb."""
    chosen = explicit or os.environ.get(SOUNDFONT_ENV)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise MissingToolError(f"soundfont not found: {path}",
                                   hint=f"point {SOUNDFONT_ENV} at a General MIDI .sf2 file, or {INSTALL_HINT}")
        return path
    for path in SOUNDFONTS:
        if path.is_file():
            return path
    raise MissingToolError("no General MIDI soundfont found (looked for " + ", ".join(map(str, SOUNDFONTS)) + ")",
                           hint=f"{INSTALL_HINT}, or set {SOUNDFONT_ENV}")


@lru_cache(maxsize=8)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def soundfont_digest(path: Path) -> str:
    st = Path(path).stat()
    return _file_digest(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=4)
def fluidsynth_version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    m = re.search(r"version\s+([0-9][0-9.]*)", out)
    return m.group(1) if m else "unknown"


# -- WAV files --------------------------------------------------------------------------


# -- rendering -------------------------------------------------------------------------


def render_cue(midi: MidiFile | ComposedCue, wav_path: Path | str, soundfont: str | Path | None = None, *,
               level_db: float | None = None, gain: float = DEFAULT_GAIN, rate: int = SAMPLE_RATE,
               block: int = 1 << 18) -> Path:
    """Render ``midi`` with FluidSynth into a 16-bit stereo WAV of exactly
    ``round(midi.length_seconds * rate)`` frames, normalised to ``level_db`` dBFS RMS
    (a ComposedCue's own level when omitted; None on a bare MidiFile only guards the
    peak) with peaks under -1 dBFS. Deterministic: same MIDI, soundfont and settings,
    same bytes."""
    if isinstance(midi, ComposedCue):
        level_db = midi.level_db if level_db is None else level_db
        midi = midi.midi
    binary = find_fluidsynth()
    sf2 = find_soundfont(soundfont)
    frames = round(midi.length_seconds * rate)
    wav_path = Path(wav_path)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".score-", dir=wav_path.parent) as tmp:
        mid = Path(tmp) / "cue.mid"
        raw = Path(tmp) / "cue.f32"
        mid.write_bytes(midi.to_bytes())
        cmd = [binary, "-n", "-i", "-q", "-g", f"{gain:g}", "-r", str(rate),
               "-o", "synth.cpu-cores=1", "-o", "synth.dynamic-sample-loading=1",
               "-F", str(raw), "-T", "raw", "-O", "float", "-E", "little", str(sf2), str(mid)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(120, frames / rate * 2))
        except subprocess.TimeoutExpired as exc:
            raise RenderError(f"fluidsynth timed out rendering {wav_path.name}") from exc
        if proc.returncode != 0 or not raw.exists():
            detail = (proc.stderr or proc.stdout).strip()[-500:]
            raise RenderError(f"fluidsynth failed rendering {wav_path.name}: {detail}")
        have = raw.stat().st_size // 8
        src = np.memmap(raw, dtype="<f4", mode="r", shape=(have, 2)) if have else np.zeros((0, 2), np.float32)
        used = min(have, frames)
        power, peak = 0.0, 0.0
        for pos in range(0, used, block):
            x = np.asarray(src[pos:pos + block], dtype=np.float64)
            power += float(np.sum(x * x))
            peak = max(peak, float(np.max(np.abs(x))) if len(x) else 0.0)
        rms = math.sqrt(power / max(1, 2 * frames))
        scale = 1.0
        if level_db is not None and rms > 1e-9:
            scale = 10 ** (level_db / 20) / rms
        if peak * scale > 10 ** (-1 / 20):
            scale = 10 ** (-1 / 20) / peak
        fade = min(frames, round(0.25 * rate))  # the very end goes to silence, no click
        with atomic_output(wav_path) as out:
            with open(out, "wb") as f:
                f.write(wav_header(frames, rate=rate))
                for pos in range(0, frames, block):
                    n = min(block, frames - pos)
                    x = np.zeros((n, 2), np.float32)
                    if pos < used:
                        got = np.asarray(src[pos:min(used, pos + n)], dtype=np.float32)
                        x[: len(got)] = got
                    x *= np.float32(scale)
                    tail_start = frames - fade
                    if pos + n > tail_start:
                        idx = np.arange(pos, pos + n)
                        g = np.clip((frames - idx) / max(1, fade), 0.0, 1.0).astype(np.float32)
                        x *= g[:, None]
                    f.write(pcm16(x))
        del src
    return wav_path


# -- the film ----------------------------------------------------------------------------


class SceneCue(NamedTuple):
    """One scene for :func:`score_film`; a plain ``(scene_id, cue, start, seconds)`` works too."""

    scene_id: str
    cue: MusicCue | None
    start: float  # seconds into the film
    seconds: float
    mood_hint: str | None = None


def scene_cues(screenplay: Any, seconds: Mapping[str, float], *, start: float = 0.0) -> list[SceneCue]:
    """The screenplay's scenes, back to back from ``start``, each with its cue and, when
    the cue names no mood, a hint from its action lines and time of day.
    ``seconds`` maps scene id to its length on the timeline."""
    out = []
    t = float(start)
    for scene in screenplay.scenes:
        length = float(seconds[scene.id])
        hint = None
        if not (scene.music and (mood_from_text(scene.music.mood) or mood_from_text(scene.music.description))):
            text = " ".join([scene.heading or ""] + [b.action for b in scene.beats if hasattr(b, "action")])
            hint = mood_for_scene(scene.time, text)
        out.append(SceneCue(scene.id, scene.music, t, length, hint))
        t += length
    return out


def scene_seed(film_seed: int, scene_id: str) -> int:
    """The score's per-scene seed: the film's seed mixed with the scene's id."""
    return (int(film_seed) * 1_000_003 + zlib.crc32(f"score:{scene_id}".encode())) % 2**32


@dataclass(frozen=True)
class CueRender:
    scene_id: str
    key: str  # content address
    mood: str
    music_key: str  # e.g. "D minor"
    tempo: int
    progression: tuple[str, ...]
    programs: dict[str, int]
    start: float  # the scene's start, seconds
    seconds: float  # the scene's length
    lead: float  # seconds of music before the scene's start (the crossfade's first half)
    midi_path: Path | None  # the cache's copy (None for a model-generated cue)
    wav_path: Path
    rendered: bool  # False: reused from the cache
    render_seconds: float


@dataclass
class ScoreResult:
    cues: list[CueRender]
    track: ScoreTrack
    midi_paths: dict[str, Path] = field(default_factory=dict)  # scene id -> side output (or cache copy)
    wav_paths: dict[str, Path] = field(default_factory=dict)

    @property
    def rendered(self) -> list[str]:
        return [c.scene_id for c in self.cues if c.rendered]

    @property
    def reused(self) -> list[str]:
        return [c.scene_id for c in self.cues if not c.rendered]


def _cue_key(midi_bytes: bytes, sf2: Path, binary: str, level_db: float, gain: float) -> str:
    from studio.render.plan import canonical_hash

    return canonical_hash({
        "kind": "score-cue", "version": RENDER_VERSION, "midi": hashlib.sha256(midi_bytes).hexdigest(),
        "soundfont": soundfont_digest(sf2), "fluidsynth": fluidsynth_version(binary),
        "rate": SAMPLE_RATE, "gain": gain, "level_db": round(level_db, 3),
    })


@lru_cache(maxsize=1)
def _composer_digest() -> str:
    """The composer's source: a change to the composer makes every memo miss."""
    return hashlib.sha256(Path(composer.__file__).read_bytes()).hexdigest()


def _composed_memo(root: Path, item: SceneCue, seed: int, half: float, gain: float, sf2: Path, binary: str) -> Path:
    from studio.render.plan import canonical_hash

    cue = item.cue.model_dump(mode="json") if hasattr(item.cue, "model_dump") else item.cue
    key = canonical_hash({
        "kind": "score-composed", "composer": _composer_digest(), "render": RENDER_VERSION, "cue": cue,
        "seconds": round(float(item.seconds) + half, 6), "lead": round(half, 6), "seed": seed,
        "mood_hint": item.mood_hint, "gain": gain, "soundfont": soundfont_digest(sf2),
        "fluidsynth": fluidsynth_version(binary), "rate": SAMPLE_RATE,
    })
    return root.parent / "score-composed" / key[:2] / f"{key}.json"  # memos: outside gc's kinds, disposable


def _read_memo(path: Path) -> dict[str, Any] | None:
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    fields = ("key", "mood", "music_key", "tempo", "progression", "programs")
    return known if isinstance(known, dict) and all(f in known for f in fields) else None


def score_film(scenes: Sequence[SceneCue | tuple], cache_dir: Path | str, seed: int = 0, *,
               out_dir: Path | str | None = None, soundfont: str | Path | None = None,
               crossfade: float = DEFAULT_CROSSFADE, gain: float = DEFAULT_GAIN, jobs: int | None = None,
               progress: Any = None) -> ScoreResult:
    """Compose and render every scene's cue, reusing cached renders.

    ``scenes``: ``(scene_id, MusicCue | None, start_seconds, seconds[, mood_hint])`` in
    film order. Each cue is composed ``crossfade/2`` longer at both ends (so it can ring
    past its cut and be fading in before its scene starts) and rendered into
    ``<cache_dir>/score/<k[:2]>/<k>.{mid,wav,json}``. With ``out_dir``, each scene's
    MIDI is also written there as ``<scene_id>.mid``. ``progress(scene_id, rendered)``
    is called as each cue is ready."""
    binary = find_fluidsynth()
    sf2 = find_soundfont(soundfont)
    items = [SceneCue(*s) if not isinstance(s, SceneCue) else s for s in scenes]
    half = max(0.0, crossfade / 2)
    root = Path(cache_dir) / "score"

    def entry(key: str) -> tuple[Path, Path, Path]:
        base = root / key[:2] / key
        return base.with_suffix(".mid"), base.with_suffix(".wav"), base.with_suffix(".json")

    def ready(key: str) -> bool:
        mid, wav, rec = entry(key)
        return rec.exists() and wav.exists() and mid.exists()

    plans = []  # (scene, its composition and MIDI or None when the memo knows them, the memo, what it knows)
    for item in items:
        # composing is deterministic: a cue composed before, from the same inputs by the same
        # composer, is found by its inputs and not composed again (an unchanged film's score)
        cue_seed = scene_seed(seed, item.scene_id)
        memo = _composed_memo(root, item, cue_seed, half, gain, sf2, binary)
        known = _read_memo(memo)
        if known is not None and ready(known["key"]):
            plans.append((item, None, None, memo, known))
            continue
        composed = compose_cue(item.cue, item.seconds + half, cue_seed, mood_hint=item.mood_hint, lead=half)
        data = composed.to_bytes()
        known = {"key": _cue_key(data, sf2, binary, composed.level_db, gain), "mood": composed.mood,
                 "music_key": composed.key.name, "tempo": composed.tempo,
                 "progression": list(composed.progression), "programs": dict(composed.programs)}
        plans.append((item, composed, data, memo, known))

    def work(plan) -> CueRender:
        item, composed, data, memo, known = plan
        key = known["key"]
        mid, wav, rec = entry(key)
        rendered, took = False, 0.0
        if composed is not None and not ready(key):
            began = time.perf_counter()
            write_bytes(mid, data)
            render_cue(composed, wav, sf2, gain=gain)
            took = time.perf_counter() - began
            write_text(rec, json.dumps({
                "scene_id": item.scene_id, "mood": composed.mood, "key": composed.key.name,
                "tempo": composed.tempo, "seconds": composed.seconds, "frames": wav_info(wav).frames,
                "soundfont": str(sf2), "render_seconds": round(took, 3),
            }, indent=2, sort_keys=True) + "\n")
            rendered = True
        if composed is not None:
            write_text(memo, json.dumps(known, sort_keys=True) + "\n")
        if progress:
            progress(item.scene_id, rendered)
        return CueRender(item.scene_id, key, known["mood"], known["music_key"], int(known["tempo"]),
                         tuple(known["progression"]), dict(known["programs"]), float(item.start),
                         float(item.seconds), half, mid, wav, rendered, took)

    jobs = jobs or min(4, os.cpu_count() or 1)
    if jobs > 1 and len(plans) > 1:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            cues = list(pool.map(work, plans))
    else:
        cues = [work(p) for p in plans]

    midi_paths, wav_paths = {}, {}
    for cue in cues:
        wav_paths[cue.scene_id] = cue.wav_path
        midi_paths[cue.scene_id] = cue.midi_path
        if out_dir is not None:
            target = Path(out_dir) / f"{cue.scene_id}.mid"
            data = cue.midi_path.read_bytes()
            if not target.exists() or target.read_bytes() != data:
                write_bytes(target, data)
            midi_paths[cue.scene_id] = target
    track = ScoreTrack([(c.wav_path, c.start, c.seconds, c.lead) for c in cues], crossfade=crossfade)
    return ScoreResult(cues, track, midi_paths, wav_paths)


@dataclass(frozen=True)
class _Placed:
    path: Path
    offset: int  # the film sample where the WAV's first frame sits (may be negative)
    frames: int
    fade_in: tuple[int, int, str]  # (from, to, shape) in film samples
    fade_out: tuple[int, int, str]


class ScoreTrack:
    """The scored film as a stream: ``read(start, n)`` gives frames ``[start, start+n)``
    as float32 stereo at 48 kHz, mixing the (memory-mapped) cue WAVs with equal-power
    crossfades centred on each cut. Every sample is a function of its position only, so
    any block split reads the same samples."""

    sample_rate = SAMPLE_RATE

    def __init__(self, cues: Sequence[tuple[Path | str, float, float, float]], *,
                 crossfade: float = DEFAULT_CROSSFADE, length: int | None = None, edge_fade: float = 1.0) -> None:
        """``cues``: ``(wav_path, scene_start, scene_seconds, lead_seconds)`` in film
        order, where the WAV starts ``lead_seconds`` before its scene."""
        sr = self.sample_rate
        half = round(crossfade / 2 * sr)
        edge = round(edge_fade * sr)
        spans = [(round(s * sr), round((s + d) * sr)) for _p, s, d, _l in cues]
        placed = []
        for i, (path, _start, _seconds, lead) in enumerate(cues):
            a, b = spans[i]
            info = wav_info(path)
            joined_before = i > 0 and abs(spans[i - 1][1] - a) <= 1
            joined_after = i + 1 < len(cues) and abs(spans[i + 1][0] - b) <= 1
            fade_in = (a - half, a + half, "power") if joined_before else (a, a + min(edge, (b - a) // 2), "power")
            fade_out = (b - half, b + half, "power") if joined_after else (b - min(edge, (b - a) // 2), b, "power")
            placed.append(_Placed(Path(path), a - round(lead * sr), info.frames, fade_in, fade_out))
        self.cues = placed
        self.length = length if length is not None else max((b for _a, b in spans), default=0)
        self._maps: OrderedDict[Path, np.ndarray] = OrderedDict()

    def _samples(self, path: Path) -> np.ndarray:
        if path in self._maps:
            self._maps.move_to_end(path)
            return self._maps[path]
        data = wav_frames(path)
        self._maps[path] = data
        while len(self._maps) > 4:
            self._maps.popitem(last=False)
        return data

    def read(self, start: int, n: int, *, only: int | None = None) -> np.ndarray:
        """Frames ``[start, start+n)``; with ``only``, just that cue's contribution (faded)."""
        out = np.zeros((max(0, n), 2), np.float32)
        end = start + n
        for i, cue in enumerate(self.cues):
            if only is not None and i != only:
                continue
            lo = max(start, cue.offset, cue.fade_in[0])
            hi = min(end, cue.offset + cue.frames, cue.fade_out[1])
            if hi <= lo:
                continue
            data = self._samples(cue.path)
            x = to_float(np.asarray(data[lo - cue.offset:hi - cue.offset]))
            if x.shape[1] == 1:
                x = np.repeat(x, 2, axis=1)
            x = x[:, :2]
            apply_fades(x, lo, cue.fade_in, cue.fade_out)
            out[lo - start:hi - start] += x
        return out

    def blocks(self, block: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
        for pos in range(0, self.length, block):
            yield self.read(pos, min(block, self.length - pos))

    def write_wav(self, path: Path | str, *, block: int = SAMPLE_RATE * 10) -> Path:
        return write_track_wav(self, path, block=block)
