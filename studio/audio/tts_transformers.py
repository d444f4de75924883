"""The ``transformers`` engine: VITS text-to-speech models (e.g. Meta's MMS-TTS) run with
🤗 transformers (``VitsModel`` + its tokenizer), named in the model registry
(:mod:`studio.models`).

A character's ``voice`` names a registry model of family ``vits``: ``voice: {engine:
transformers, voice: mms-tts-eng}``. Without one (the voice ``default``) a character
speaks with the registry's first ``vits`` model (built-ins first, so ``mms-tts-eng``;
override that name in your models file to point it at other weights). A multi-speaker
model offers ``<model>:speaker-N`` (declare ``options: {speakers: N}`` in its registry
entry to have the variants listed; any N is accepted and checked when the model loads).
Models load once per registry with ``from_pretrained`` in the spec's dtype on the spec's
device; nothing is downloaded with ``HF_HUB_OFFLINE`` set (a model that is not on disk
is a clear error naming what to fetch).

Characters differ as on Piper: rate -> the model's ``speaking_rate``; pitch -> the
same length-then-resample shift (synthesize ``2**(st/12)`` times longer, play it that
much faster); seed -> torch's generator for the model's noise (so the same inputs give
the same samples on one device).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from studio.audio import dsp
from studio.audio.tts import Delivery, Speech, VoiceSettings
from studio.errors import MissingToolError, StudioError
from studio.models import ModelSpec, Registry, user_file

FAMILY = "vits"
DEFAULT_VOICE = "default"
_SPEAKER_RE = re.compile(r"^(?P<model>.+):speaker-(?P<index>\d+)$")


def clean_text(text: str) -> str:
    return " ".join(text.split())


def _dtype_kwargs(spec: ModelSpec) -> dict[str, Any]:
    """``dtype=`` on transformers 4.56 and later, ``torch_dtype=`` before."""
    version = tuple(int(p) for p in metadata.version("transformers").split(".")[:2] if p.isdigit())
    return {"dtype" if version >= (4, 56) else "torch_dtype": spec.torch_dtype()}


@dataclass
class LoadedVits:
    """A VITS model, its tokenizer and where it runs."""

    spec: ModelSpec
    model: Any
    tokenizer: Any
    device: str

    @property
    def sample_rate(self) -> int:
        return int(self.model.config.sampling_rate)

    @property
    def speakers(self) -> int:
        return int(getattr(self.model.config, "num_speakers", 1) or 1)


def load_vits(spec: ModelSpec, where: str | Path) -> LoadedVits:
    """For :meth:`Registry.load`: the model and tokenizer at ``where`` (a local folder
    or, online, the hub id)."""
    if spec.family != FAMILY:
        raise StudioError(f"model {spec.name!r} is of family {spec.family!r}, not {FAMILY!r}")
    from transformers import AutoTokenizer, VitsModel

    local = isinstance(where, Path)
    if local and not (where / "config.json").is_file():
        raise StudioError(
            f"model {spec.name!r}: {where} is not a saved VITS model (no config.json)",
            hint="point its source at a folder written by VitsModel.save_pretrained (with its tokenizer)",
        )
    kwargs: dict[str, Any] = {"local_files_only": True} if local else {"revision": spec.revision}
    device = spec.torch_device()
    try:
        model = VitsModel.from_pretrained(str(where), **_dtype_kwargs(spec), **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(str(where), **kwargs)
    except (OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else repr(exc)
        raise StudioError(f"cannot load the VITS model {spec.name!r} from {where}: {first}") from None
    return LoadedVits(spec, model.to(device).eval(), tokenizer, device)


class TransformersEngine:
    name = "transformers"

    def __init__(self, registry: Registry | None = None) -> None:
        for module in ("torch", "transformers"):
            if importlib.util.find_spec(module) is None:
                raise MissingToolError(f"the transformers speech engine needs {module}",
                                       hint="pip install torch transformers")
        self.registry = registry if registry is not None else Registry.default()
        self._lock = threading.Lock()
        self._version: str | None = None

    @classmethod
    def from_environment(cls) -> TransformersEngine:
        """The engine on :meth:`Registry.default` (the built-ins and the user's models
        file): what ``get_engine("transformers")`` makes."""
        return cls(Registry.default())

    @property
    def voice_hint(self) -> str:
        return (f"transformers voices are the model registry's {FAMILY} models; add one in {user_file()} "
                "or film.render.options.models")

    def models(self) -> list[str]:
        """The registry's VITS models, built-ins first (registry order)."""
        return [name for name, spec in self.registry.specs.items() if spec.family == FAMILY]

    # -- protocol -----------------------------------------------------------------
    @property
    def version(self) -> str:
        """transformers and torch, and the key of every VITS model in the registry (a
        local folder's key hashes its files), without loading any of them."""
        if self._version is None:
            from studio.render.plan import canonical_hash

            keys = {name: self.registry.specs[name].key() for name in self.models()}
            self._version = (
                f"transformers {metadata.version('transformers')}; torch {metadata.version('torch')}; "
                f"vits sha256:{canonical_hash(keys)[:16]}"
            )
        return self._version

    @property
    def default_voice(self) -> str:
        models = self.models()
        if not models:
            raise StudioError("the transformers speech engine has no VITS model in the registry",
                              hint=f"add a model of family {FAMILY} in {user_file()} or film.render.options.models")
        return models[0]

    def voices(self) -> list[str]:
        out: list[str] = []
        for name in self.models():
            out.append(name)
            speakers = self.registry.specs[name].options.get("speakers")
            if isinstance(speakers, int) and speakers > 1:
                out.extend(f"{name}:speaker-{i}" for i in range(speakers))
        return out

    def resolve(self, voice: str) -> tuple[str, int | None]:
        """``(model name, speaker index or None)`` for a voice; StudioError if unknown."""
        if voice == DEFAULT_VOICE:
            return self.default_voice, None
        models = self.models()
        if voice in models:
            return voice, None
        m = _SPEAKER_RE.match(voice)
        if m and m.group("model") in models:
            index = int(m.group("index"))
            speakers = self.registry.specs[m.group("model")].options.get("speakers")
            if not isinstance(speakers, int) or index < speakers:
                return m.group("model"), index
        raise StudioError(f"unknown transformers voice {voice!r}",
                          hint=f"use one of: {', '.join(self.voices()) or '(none configured)'}; {self.voice_hint}")

    def has_voice(self, voice: str) -> bool:
        try:
            self.resolve(voice)
        except StudioError:
            return False
        return True

    def load(self, voice: str) -> LoadedVits:
        """The voice's model, loaded once per registry."""
        name, _speaker = self.resolve(voice)
        with self._lock:
            return self.registry.load(name, load_vits)

    # -- synthesis --------------------------------------------------------------------
    def synthesize(self, text: str, voice: VoiceSettings, delivery: Delivery) -> Speech:
        import torch

        _name, speaker = self.resolve(voice.voice)
        vits = self.load(voice.voice)
        if speaker is not None and speaker >= vits.speakers:
            raise StudioError(f"voice {voice.voice!r}: model {vits.spec.name!r} has {vits.speakers} speaker(s)",
                              hint=f"use speaker-0 to speaker-{vits.speakers - 1}")
        factor = 2.0 ** (float(np.clip(voice.pitch + delivery.pitch, -16, 16)) / 12.0)
        speed = float(np.clip(voice.rate * delivery.rate, 0.3, 3.0))
        seed = int.from_bytes(hashlib.sha256(f"{voice.seed}\x1f{text}".encode()).digest()[:7], "big")
        inputs = vits.tokenizer(clean_text(text), return_tensors="pt")
        raw = np.zeros(0, dtype=np.float32)
        if inputs["input_ids"].shape[-1] > 0:
            kwargs: dict[str, Any] = {k: v.to(vits.device) for k, v in inputs.items()}
            if vits.speakers > 1:
                kwargs["speaker_id"] = speaker or 0
            devices = [] if vits.device == "cpu" else [torch.device(vits.device).index or 0]
            with self._lock, torch.no_grad(), torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                out = vits.model(**kwargs, speaking_rate=speed / factor)
            raw = out.waveform[0].float().cpu().numpy()
        shifted = dsp.resample(raw, vits.sample_rate * factor, dsp.OUTPUT_RATE)
        samples = dsp.finish(shifted, dsp.OUTPUT_RATE, gain_db=delivery.gain_db, breath=delivery.breath,
                             pause=delivery.pause, seed=seed)
        return Speech(samples, dsp.OUTPUT_RATE)
