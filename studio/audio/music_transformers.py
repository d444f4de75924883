"""The score from a music model: one MusicGen cue per scene, instead of the composed
MIDI of :mod:`studio.audio.score` (``film.sound.music: model``).

The model is named in the registry (:mod:`studio.models`, family ``musicgen``, e.g. the
built-in ``musicgen-small``) and loaded once per registry with
``MusicgenForConditionalGeneration`` and its processor (a T5 tokenizer plus an
``EncodecFeatureExtractor``), in the spec's dtype, on the spec's device.

Prompts (:func:`compose_prompt`) are built from the scene's music cue and mood hint, the
same inputs the MIDI composer reads: ``"tense film score, low strings, string
ostinato, horn, timpani, 84 BPM, D minor, cinematic underscore"``. The cue's own mood
words and description win; otherwise the mood's instrumentation, tempo and key (the
MIDI composer's defaults, so both paths agree on a scene's character).

Generation: ``max_new_tokens`` follows the cue's length at the codec's frame rate
(``model.config.audio_encoder.frame_rate``), with ``guidance_scale`` from the spec's
``guidance`` option (default 3). A window is at most the spec's ``max_seconds``
(default 30, what MusicGen was trained on); a longer cue is continued window by
window, each prompted with the last ``context_seconds`` (default ``min(10,
max_seconds / 3)``) of audio so far through the processor's ``audio=`` argument, and
joined with a short linear crossfade inside that shared context. With the option
``continuation: false`` (or a model that cannot take an audio prompt) windows are
generated independently and joined with equal-power crossfades. Sampling is seeded
(``torch.manual_seed`` inside a forked RNG, so the caller's generator is untouched): the
same inputs give the same bytes on a CPU.

Each cue is resampled to 48 kHz stereo, DC-blocked, levelled like the MIDI cues (the
mood's RMS, about -20 dBFS, with peaks under -1 dBFS), faded at its ends and written
as 16-bit WAV into ``<cache>/score-model/<k[:2]>/<k>.wav`` (plus a ``.json`` record),
where ``k`` hashes the model spec's key, the prompt, the length, the seed and
:data:`MODEL_RENDER_VERSION`. :func:`score_film_with_model` returns the same
:class:`~studio.audio.score.ScoreResult` as :func:`~studio.audio.score.score_film`
(no MIDI), so :class:`~studio.audio.score.ScoreTrack` and the mixer work unchanged.
The model is loaded only when some cue is not in the cache.
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from studio.atomic import atomic_output, write_text
from studio.audio import dsp
from studio.audio.composer import LEVEL_DB, MOODS, parse_key, resolve_mood
from studio.audio.score import DEFAULT_CROSSFADE, CueRender, SceneCue, ScoreResult, ScoreTrack, scene_seed
from studio.audio.wav import SAMPLE_RATE, pcm16, ramp, wav_header, wav_info
from studio.errors import MissingToolError, RenderError, StudioError
from studio.models import ModelSpec, Registry
from studio.screenplay.model import MusicCue

FAMILY = "musicgen"
DEFAULT_MODEL = "musicgen-small"
MODEL_RENDER_VERSION = 1  # bump when generation or processing here changes the output
DEFAULT_GUIDANCE = 3.0
DEFAULT_MAX_SECONDS = 30.0
DEFAULT_TOP_K = 250
JOIN_SECONDS = 0.5  # the crossfade where two windows meet
EDGE_FADE_IN = 0.01
EDGE_FADE_OUT = 0.25
HIGHPASS_HZ = 20.0
OPTIONS = ("guidance", "max_seconds", "context_seconds", "continuation", "top_k", "temperature")

#: a mood's orchestra in words (the MIDI composer's instruments, see score.py's table)
INSTRUMENTATION: dict[str, str] = {
    "tense": "low strings, string ostinato, horn, timpani",
    "tender": "slow strings, cello, piano arpeggios, flute",
    "eerie": "ethereal pad, contrabass drone, celesta, violin",
    "triumphant": "full strings, brass, horns, timpani and cymbals",
    "melancholy": "slow strings, solo cello, sparse piano",
    "playful": "bassoon, pizzicato strings, clarinet",
    "mysterious": "warm pad, harp arpeggios, vibraphone",
    "neutral": "strings, piano, oboe",
}


def _clean(text: str | None) -> str:
    return " ".join((text or "").split()).strip(" .,;")


def compose_prompt(cue: MusicCue | None, mood_hint: str | None = None) -> str:
    """The text prompt for a scene: mood, instruments (the cue's description, else the
    mood's orchestra), tempo, key, and "cinematic underscore"."""
    mood = resolve_mood(cue, mood_hint)
    profile = MOODS[mood]
    words = _clean(cue.mood if cue else None) or mood
    description = _clean(cue.description if cue else None) or INSTRUMENTATION[mood]
    tempo = int(cue.tempo) if cue and cue.tempo else profile.tempo
    key = parse_key(cue.key if cue and cue.key else profile.key).name
    return f"{words} film score, {description}, {tempo} BPM, {key}, cinematic underscore"


# -- the model ---------------------------------------------------------------------------


def _require() -> None:
    for module in ("torch", "transformers"):
        if importlib.util.find_spec(module) is None:
            raise MissingToolError(f"the music model needs the Python package {module}",
                                   hint="pip install torch transformers")


def _dtype_kwargs(spec: ModelSpec) -> dict[str, Any]:
    """``dtype=`` on transformers 4.56 and later, ``torch_dtype=`` before."""
    version = tuple(int(p) for p in metadata.version("transformers").split(".")[:2] if p.isdigit())
    return {"dtype" if version >= (4, 56) else "torch_dtype": spec.torch_dtype()}


def _float_option(spec: ModelSpec, name: str, default: float, lo: float, hi: float) -> float:
    value = spec.options.get(name, default)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise StudioError(f"model {spec.name!r}: option {name} must be a number, not {value!r}") from None
    if not lo <= value <= hi:
        raise StudioError(f"model {spec.name!r}: option {name} must be between {lo:g} and {hi:g}, not {value:g}")
    return value


@dataclass(frozen=True)
class GenerationSettings:
    guidance: float
    max_seconds: float
    context_seconds: float
    continuation: bool
    top_k: int
    temperature: float

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> GenerationSettings:
        unknown = sorted(set(spec.options) - set(OPTIONS))
        if unknown:
            raise StudioError(f"model {spec.name!r} has unknown musicgen options {unknown}",
                              hint=f"known options: {', '.join(OPTIONS)}")
        max_seconds = _float_option(spec, "max_seconds", DEFAULT_MAX_SECONDS, 0.5, 600.0)
        context = _float_option(spec, "context_seconds", min(10.0, max_seconds / 3), 0.0, max_seconds)
        if context >= max_seconds:
            raise StudioError(f"model {spec.name!r}: context_seconds must be less than max_seconds")
        return cls(
            guidance=_float_option(spec, "guidance", DEFAULT_GUIDANCE, 0.0, 50.0),
            max_seconds=max_seconds,
            context_seconds=context,
            continuation=bool(spec.options.get("continuation", True)),
            top_k=int(_float_option(spec, "top_k", DEFAULT_TOP_K, 0, 1 << 20)),
            temperature=_float_option(spec, "temperature", 1.0, 0.01, 10.0),
        )


class MusicModel:
    """A loaded MusicGen model and its processor; :meth:`render` gives a cue."""

    def __init__(self, spec: ModelSpec, model: Any, processor: Any, device: str) -> None:
        import torch

        self._torch = torch
        self.spec = spec
        self.model = model
        self.processor = processor
        self.device = device
        self.settings = GenerationSettings.from_spec(spec)
        codec = model.config.audio_encoder
        self.sampling_rate = int(codec.sampling_rate)
        self.frame_rate = float(codec.frame_rate)
        self.hop = int(np.prod(codec.upsampling_ratios)) if getattr(codec, "upsampling_ratios", None) else \
            round(self.sampling_rate / self.frame_rate)
        self.channels = int(getattr(model.config.decoder, "audio_channels", 1) or 1)
        self.num_codebooks = int(model.config.decoder.num_codebooks)
        self._lock = threading.Lock()

    # -- loading ----------------------------------------------------------------------
    @staticmethod
    def loader(spec: ModelSpec, where: str | Path) -> MusicModel:
        """For :meth:`Registry.load`: ``from_pretrained`` the model and its processor."""
        _require()
        if spec.family != FAMILY:
            raise StudioError(f"model {spec.name!r} is of family {spec.family!r}, not {FAMILY!r}",
                              hint="film.sound.music_model must name a musicgen model")
        GenerationSettings.from_spec(spec)  # options checked before the weights load
        from transformers import AutoProcessor, MusicgenForConditionalGeneration

        local = isinstance(where, Path)
        if local and not (where / "config.json").is_file():
            raise StudioError(f"model {spec.name!r}: {where} is not a saved MusicGen model (no config.json)",
                              hint="point source at a folder written by save_pretrained (model and processor)")
        kwargs: dict[str, Any] = {"local_files_only": True} if local else {"revision": spec.revision}
        device = spec.torch_device()
        try:
            model = MusicgenForConditionalGeneration.from_pretrained(str(where), **_dtype_kwargs(spec), **kwargs)
            processor = AutoProcessor.from_pretrained(str(where), **kwargs)
        except (OSError, ValueError) as exc:
            raise StudioError(f"cannot load the music model {spec.name!r} from {where}: "
                              f"{str(exc).splitlines()[0] if str(exc) else exc!r}") from None
        model = model.to(device).eval()
        return MusicModel(spec, model, processor, device)

    @classmethod
    def load(cls, registry: Registry, name: str = DEFAULT_MODEL) -> MusicModel:
        return registry.load(name, cls.loader)

    # -- generation ---------------------------------------------------------------------
    def _generate(self, prompt: str, codes: int, seed: int, context: np.ndarray | None) -> np.ndarray:
        """``codes`` new codec frames as float32 ``(channels, samples)`` at the model's
        rate; with ``context`` (``(channels, samples)``, whole frames) the result starts
        with it re-decoded."""
        torch = self._torch
        if context is None:
            inputs = self.processor(text=[prompt], padding=True, return_tensors="pt")
        else:
            audio = context[0] if self.channels == 1 else context  # mono: (samples,); stereo: (2, samples)
            inputs = self.processor(audio=[np.ascontiguousarray(audio)], sampling_rate=self.sampling_rate,
                                    text=[prompt], padding=True, return_tensors="pt")
        dtype = next(self.model.parameters()).dtype
        inputs = {k: (v.to(self.device, dtype) if v.is_floating_point() else v.to(self.device))
                  for k, v in inputs.items()}
        s = self.settings
        devices = [] if self.device == "cpu" else [torch.device(self.device).index or 0]
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            out = self.model.generate(**inputs, do_sample=True, guidance_scale=s.guidance if s.guidance > 1 else None,
                                      max_new_tokens=codes + self.num_codebooks, top_k=s.top_k,
                                      temperature=s.temperature)
        audio = out[0].float().cpu().numpy()
        if audio.ndim == 1:
            audio = audio[None, :]
        want = codes * self.hop + (0 if context is None else context.shape[1])
        if audio.shape[1] < want:
            audio = np.pad(audio, ((0, 0), (0, want - audio.shape[1])))
        return np.ascontiguousarray(audio[:, :want], dtype=np.float32)

    def generate(self, prompt: str, seconds: float, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        """At least ``seconds`` of music for ``prompt`` as ``(channels, samples)`` at the
        model's rate, window by window (see the module doc), and how it was made."""
        s = self.settings
        need = max(1, math.ceil(seconds * self.frame_rate))  # codec frames
        window = max(2, math.floor(s.max_seconds * self.frame_rate))
        ctx = min(window - 1, max(1, round(s.context_seconds * self.frame_rate)))
        join = min(max(1, round(JOIN_SECONDS * self.sampling_rate)), ctx * self.hop // 2 or 1)
        continuation = s.continuation
        with self._lock:
            first = min(need, window)
            audio = self._generate(prompt, first, seed, None)
            have, windows = first, 1
            while have < need:
                wseed = (seed * 1_000_003 + windows) % 2**32
                joined = False
                if continuation:
                    n = min(window - ctx, need - have)
                    try:
                        out = self._generate(prompt, n, wseed, audio[:, -ctx * self.hop:])
                    except (ValueError, RuntimeError, TypeError, NotImplementedError):
                        continuation = False  # this model takes no audio prompt: independent windows
                    else:
                        tail = out[:, ctx * self.hop - join:]
                        audio = _crossfade(audio, tail, join, "linear")  # the shared context: correlated
                        have += n
                        joined = True
                if not joined:
                    extra = math.ceil(join / self.hop)
                    n = min(window, need - have + extra)
                    out = self._generate(prompt, n, wseed, None)
                    audio = _crossfade(audio, out, join, "power")
                    have += n - extra
                windows += 1
        info = {"windows": windows, "joins": "continuation" if continuation else "crossfade",
                "model_rate": self.sampling_rate, "frame_rate": self.frame_rate}
        return audio, info

    def render(self, prompt: str, seconds: float, seed: int, *, level_db: float = LEVEL_DB,
               rate: int = SAMPLE_RATE) -> tuple[np.ndarray, dict[str, Any]]:
        """Exactly ``round(seconds * rate)`` frames of stereo float32 at ``rate``,
        levelled to ``level_db`` dBFS RMS (peaks under -1 dBFS), faded at both ends."""
        frames = round(seconds * rate)
        audio, info = self.generate(prompt, seconds + 1.0 / self.frame_rate, seed)
        audio = dsp.highpass(audio, self.sampling_rate, HIGHPASS_HZ)  # along the samples axis
        x = np.stack([dsp.resample(channel, self.sampling_rate, rate) for channel in audio], axis=1)
        if x.shape[1] == 1:
            x = np.repeat(x, 2, axis=1)
        x = x[:, :2]
        if len(x) < frames:
            x = np.pad(x, ((0, frames - len(x)), (0, 0)))
        x = np.ascontiguousarray(x[:frames], dtype=np.float64)
        return _level(x, rate, level_db), info


def _crossfade(a: np.ndarray, b: np.ndarray, n: int, shape: str) -> np.ndarray:
    """``a`` then ``b`` (both ``(channels, samples)``), overlapped by ``n`` samples."""
    n = min(n, a.shape[1], b.shape[1])
    if n <= 0:
        return np.concatenate([a, b], axis=1)
    idx = np.arange(n)
    mixed = a[:, -n:] * ramp(idx, 0, n, shape, False) + b[:, :n] * ramp(idx, 0, n, shape, True)
    return np.concatenate([a[:, :-n], mixed.astype(np.float32), b[:, n:]], axis=1)


def _level(x: np.ndarray, rate: int, level_db: float) -> np.ndarray:
    frames = len(x)
    rms = math.sqrt(float(np.mean(x * x))) if frames else 0.0
    peak = float(np.max(np.abs(x))) if frames else 0.0
    scale = 10 ** (level_db / 20) / rms if rms > 1e-9 else 1.0
    if peak * scale > 10 ** (-1 / 20):
        scale = 10 ** (-1 / 20) / peak
    idx = np.arange(frames)
    fin, fout = min(frames // 2, round(EDGE_FADE_IN * rate)), min(frames // 2, round(EDGE_FADE_OUT * rate))
    gain = ramp(idx, 0, fin, "linear", True) * ramp(idx, frames - fout, frames, "linear", False)
    return (x * (scale * gain)[:, None]).astype(np.float32)


# -- the film ----------------------------------------------------------------------------


def _cue_key(spec_key: dict[str, Any], prompt: str, frames: int, lead: float, seed: int, level_db: float) -> str:
    from studio.render.plan import canonical_hash

    return canonical_hash({
        "kind": "score-model-cue", "version": MODEL_RENDER_VERSION, "model": spec_key, "prompt": prompt,
        "frames": frames, "rate": SAMPLE_RATE, "lead": round(lead, 6), "seed": seed,
        "level_db": round(level_db, 3),
    })


def score_film_with_model(scenes: Sequence[SceneCue | tuple], cache_dir: Path | str, seed: int,
                          registry: Registry, model_name: str = DEFAULT_MODEL, *,
                          crossfade: float = DEFAULT_CROSSFADE,
                          progress: Callable[[str, bool], Any] | None = None) -> ScoreResult:
    """Generate every scene's cue with the music model ``model_name``, reusing cached
    cues; the result has the shape of :func:`~studio.audio.score.score_film`'s (each
    WAV starts ``crossfade/2`` before its scene and runs ``crossfade/2`` past its end;
    ``midi_paths`` is empty and each cue's ``midi_path`` is None).

    ``scenes``: ``(scene_id, MusicCue | None, start_seconds, seconds[, mood_hint])`` in
    film order. ``progress(scene_id, rendered)`` is called as each cue is ready."""
    spec = registry.get(model_name)
    if spec.family != FAMILY:
        raise StudioError(f"music model {model_name!r} is of family {spec.family!r}, not {FAMILY!r}",
                          hint="name a musicgen model, e.g. musicgen-small: " +
                          ", ".join(registry.names(FAMILY)))
    GenerationSettings.from_spec(spec)
    spec_key = spec.key()
    items = [SceneCue(*s) if not isinstance(s, SceneCue) else s for s in scenes]
    half = max(0.0, crossfade / 2)
    root = Path(cache_dir) / "score-model"
    model: MusicModel | None = None
    cues: list[CueRender] = []
    for item in items:
        mood = resolve_mood(item.cue, item.mood_hint)
        profile = MOODS[mood]
        prompt = compose_prompt(item.cue, item.mood_hint)
        cue_seed = scene_seed(seed, item.scene_id)
        total = float(item.seconds) + 2 * half
        frames = round(total * SAMPLE_RATE)
        level_db = LEVEL_DB + profile.level_db
        key = _cue_key(spec_key, prompt, frames, half, cue_seed, level_db)
        wav = root / key[:2] / f"{key}.wav"
        rec = wav.with_suffix(".json")
        rendered, took = False, 0.0
        if not (wav.is_file() and rec.is_file()):
            began = time.perf_counter()
            if model is None:
                model = MusicModel.load(registry, model_name)
            samples, info = model.render(prompt, total, cue_seed, level_db=level_db)
            _write_wav(wav, samples)
            took = time.perf_counter() - began
            write_text(rec, json.dumps({
                "scene_id": item.scene_id, "model": spec.name, "source": spec.source, "prompt": prompt,
                "seconds": total, "lead": half, "seed": cue_seed, "frames": wav_info(wav).frames,
                "render_seconds": round(took, 3), "transformers": metadata.version("transformers"), **info,
            }, indent=2, sort_keys=True) + "\n")
            rendered = True
        if progress:
            progress(item.scene_id, rendered)
        tempo = int(item.cue.tempo) if item.cue and item.cue.tempo else profile.tempo
        music_key = parse_key(item.cue.key if item.cue and item.cue.key else profile.key).name
        cues.append(CueRender(item.scene_id, key, mood, music_key, tempo, (), {}, float(item.start),
                              float(item.seconds), half, None, wav, rendered, took))
    track = ScoreTrack([(c.wav_path, c.start, c.seconds, c.lead) for c in cues], crossfade=crossfade)
    return ScoreResult(cues, track, {}, {c.scene_id: c.wav_path for c in cues})


def _write_wav(path: Path, samples: np.ndarray, block: int = SAMPLE_RATE * 10) -> Path:
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise RenderError(f"a score cue must be stereo frames, got shape {samples.shape}")
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        f.write(wav_header(len(samples)))
        f.writelines(pcm16(samples[pos:pos + block]) for pos in range(0, len(samples), block))
    return path
