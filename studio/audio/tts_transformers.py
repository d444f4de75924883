"""The ``transformers`` engine: a VITS text-to-speech model (e.g. Meta's MMS-TTS) run
with 🤗 transformers from a local folder (``VitsModel`` + its tokenizer, as written by
``save_pretrained``). Nothing is downloaded: the folder must already exist.

Configure it with the environment variable ``STUDIO_TTS_MODEL`` (the folder) and,
optionally, ``STUDIO_TTS_DEVICE`` (``cpu``, ``cuda``; default: cuda when available).

Characters differ as on Piper: rate -> the model's ``speaking_rate``; pitch -> the
same length-then-resample shift (synthesize ``2**(st/12)`` times longer, play it that
much faster); seed -> torch's generator for the model's noise (so the same inputs give
the same samples on one device). A multi-speaker model offers ``speaker-N`` voices.
"""

from __future__ import annotations

import hashlib
import os
import threading
from importlib import metadata
from pathlib import Path

import numpy as np

from studio.audio import dsp
from studio.audio.voices import Delivery, Speech, VoiceSettings
from studio.errors import MissingToolError, StudioError

MODEL_ENV = "STUDIO_TTS_MODEL"
DEVICE_ENV = "STUDIO_TTS_DEVICE"


def clean_text(text: str) -> str:
    return " ".join(text.split())


class TransformersEngine:
    name = "transformers"
    voice_hint = f"the transformers engine speaks with the model in ${MODEL_ENV}"

    def __init__(self, model_dir: Path | str, device: str | None = None) -> None:
        try:
            import torch
            from transformers import AutoTokenizer, VitsModel
        except ImportError as exc:
            raise MissingToolError(
                f"the transformers speech engine needs {exc.name}", hint="pip install torch transformers"
            ) from None
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file():
            raise StudioError(
                f"{self.model_dir} is not a saved VITS model (no config.json)",
                hint=f"point {MODEL_ENV} at a folder written by VitsModel.save_pretrained (with its tokenizer)",
            )
        self._torch = torch
        self.device = device or os.environ.get(DEVICE_ENV) or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self.model = VitsModel.from_pretrained(str(self.model_dir), local_files_only=True).to(self.device).eval()
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise StudioError(f"cannot load the VITS model in {self.model_dir}: {exc}") from None
        self.sample_rate = int(self.model.config.sampling_rate)
        self._lock = threading.Lock()
        self._version: str | None = None

    @classmethod
    def from_environment(cls) -> TransformersEngine:
        folder = os.environ.get(MODEL_ENV)
        if not folder:
            raise StudioError(
                "the transformers speech engine needs a configured model",
                hint=f"set {MODEL_ENV} to a local folder holding a VITS model and its tokenizer "
                "(e.g. facebook/mms-tts-eng saved with save_pretrained), or use engine: piper",
            )
        return cls(folder)

    # -- protocol -----------------------------------------------------------------
    @property
    def version(self) -> str:
        if self._version is None:
            digest = hashlib.sha256()
            for path in sorted(self.model_dir.iterdir()):
                if path.is_file():
                    digest.update(path.name.encode() + b"\0")
                    with open(path, "rb") as f:
                        for block in iter(lambda: f.read(1 << 20), b""):
                            digest.update(block)
            self._version = (
                f"transformers {metadata.version('transformers')}; torch {self._torch.__version__}; "
                f"{self.model_dir.name} sha256:{digest.hexdigest()[:16]}; {self.device}"
            )
        return self._version

    @property
    def speakers(self) -> int:
        return int(getattr(self.model.config, "num_speakers", 1) or 1)

    @property
    def default_voice(self) -> str:
        return "default"

    def voices(self) -> list[str]:
        if self.speakers > 1:
            return [f"speaker-{i}" for i in range(self.speakers)]
        return ["default"]

    def has_voice(self, voice: str) -> bool:
        return voice == "default" or voice in self.voices()

    # -- synthesis --------------------------------------------------------------------
    def synthesize(self, text: str, voice: VoiceSettings, delivery: Delivery) -> Speech:
        torch = self._torch
        factor = 2.0 ** (float(np.clip(voice.pitch + delivery.pitch, -16, 16)) / 12.0)
        speed = float(np.clip(voice.rate * delivery.rate, 0.3, 3.0))
        seed = int.from_bytes(hashlib.sha256(f"{voice.seed}\x1f{text}".encode()).digest()[:7], "big")
        inputs = self.tokenizer(clean_text(text), return_tensors="pt")
        raw = np.zeros(0, dtype=np.float32)
        if inputs["input_ids"].shape[-1] > 0:
            kwargs = {k: v.to(self.device) for k, v in inputs.items()}
            if self.speakers > 1:
                index = int(voice.voice.split("-")[-1]) if voice.voice.startswith("speaker-") else 0
                kwargs["speaker_id"] = index
            with self._lock, torch.no_grad(), torch.random.fork_rng(devices=[] if self.device == "cpu" else None):
                torch.manual_seed(seed)
                out = self.model(**kwargs, speaking_rate=speed / factor)
            raw = out.waveform[0].float().cpu().numpy()
        shifted = dsp.resample(raw, self.sample_rate * factor, dsp.OUTPUT_RATE)
        samples = dsp.finish(shifted, dsp.OUTPUT_RATE, gain_db=delivery.gain_db, breath=delivery.breath,
                             pause=delivery.pause, seed=seed)
        return Speech(samples, dsp.OUTPUT_RATE)
