"""The Backend protocol: how a shot becomes frames.

A backend turns a :class:`ShotPlan` and its :class:`Conditioning` into exactly
``plan.frames`` RGB frames, yielded one at a time (frames stream: no backend holds a
whole shot). Backends are chosen by name (``film.render.backend`` in the screenplay,
or ``--backend``) from :data:`BACKENDS`. A backend that cannot use part of the
conditioning says so once, in the log.

A backend whose pictures change with the seed beyond framing (a diffusion model) sets
``varies = True``: identity QA then re-takes a shot whose cast face drifted. Without
the attribute a backend counts as not varying (the animatic sets ``varies = False``).

Sound, both ways (optional): a backend that generates pictures around the spoken
dialogue sets ``wants_speech = True`` and receives each shot's lines, as the voices
spoke them, in ``Conditioning.speech`` (:class:`ShotSpeech`); a backend that makes
sound with its pictures (LTX-2) hands it over after a render through
``take_sound(shot_id) -> ShotSound | None``, and the executor stores it beside the clip.

Identities up front (optional): a backend that loads weights per character (the diffusers
backend's character LoRAs) has a ``use_identities(identities)`` method; the executor calls
it with the film's identities after casting, before the first shot.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from studio.consistency.identity import Identity
from studio.errors import StudioError
from studio.render.plan import ShotPlan, canonical_hash

log = logging.getLogger("studio.render")


@dataclass(frozen=True)
class ShotSpeech:
    """A shot's dialogue as the characters' voices spoke it: mono float32 ``samples`` at
    ``sample_rate``, exactly the shot's length (``plan.frames / plan.fps`` seconds), each
    line placed at its start in the shot, silence elsewhere. ``spans`` are the
    ``(start, end)`` seconds of the lines in the shot; ``digest`` names the samples and
    the timings (the cache key of a shot generated around its speech changes when a
    line's audio does). ``phonemes`` and ``words`` hold, per span, the line's phonemes
    ``(seconds in the shot, espeak-ng mnemonic)`` and words ``(seconds in the shot,
    character offset)`` as the engine that spoke it timed them (:mod:`studio.audio.phonemes`);
    None for a line without a timing; empty when none was given."""

    samples: np.ndarray
    sample_rate: int
    spans: tuple[tuple[float, float], ...]
    digest: str
    phonemes: tuple[tuple[tuple[float, str], ...] | None, ...] = ()
    words: tuple[tuple[tuple[float, int], ...] | None, ...] = ()

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class ShotSound:
    """The sound a backend made with a shot's pictures: float32 ``samples`` shaped
    ``(frames, channels)`` at ``sample_rate``, exactly the shot's length, with the spans
    where the dialogue was held already silenced (the voices stay the dialogue)."""

    samples: np.ndarray
    sample_rate: int


@dataclass
class Conditioning:
    """The per-shot bundle every backend receives.

    ``previous_frames`` are the last frames (RGB uint8, H x W x 3) of the shot this
    one continues, oldest first; empty for a cut. ``previous_clip`` is that clip's
    content hash, so the cache key of a continuous shot changes with what it continues.
    ``chain_anchor`` is the colour of the continuity chain's start (Lab mean and spread
    of the first frames it handed over, see :mod:`studio.render.diffusers.colour`),
    set by the executor for a continuous shot when the backend asks for it
    (``wants_chain_anchor``), computed by the backend's ``chain_anchor(frames)``; a backend
    matches its context frames to it. ``speech`` is the shot's dialogue as the voices
    spoke it (:class:`ShotSpeech`), given to a backend that ``wants_speech`` (LTX-2
    generates the picture around it); its digest is in the key. ``keyframe`` is the
    shot's selected keyframe (RGB uint8, H x W x 3, see :mod:`studio.run.keyframes`): the
    picture its video starts from (image-to-video, a first-frame condition); its digest
    is in the key, so a new keyframe re-renders the shot. A backend that cannot start
    from a picture says so once and renders as before.
    """

    identities: dict[str, Identity] = field(default_factory=dict)
    previous_frames: list[np.ndarray] = field(default_factory=list)
    previous_clip: str | None = None
    chain_anchor: tuple[float, ...] | None = None
    speech: ShotSpeech | None = None  # the shot's spoken lines, for a backend that wants_speech
    keyframe: np.ndarray | None = None  # the shot's selected keyframe: its first frame (storyboard first)

    def key_data(self) -> dict[str, Any]:
        data = {
            "identities": {
                cid: {
                    "prompt": i.prompt,
                    "seed": i.seed,
                    "references": list(i.reference_hashes),
                    "embedding": canonical_hash(list(i.embedding)) if i.embedding else None,
                    "face": i.face_hash or (i.face and canonical_hash(i.face)),
                }
                | ({"loras": [lora.key() for lora in i.loras]} if i.loras else {})  # absent: keys stay as they were
                for cid, i in sorted(self.identities.items())
            },
            "previous_clip": self.previous_clip,
        }
        if self.chain_anchor is not None:  # absent otherwise: keys of shots without one stay as they were
            data["chain_anchor"] = list(self.chain_anchor)
        if self.speech is not None:  # likewise
            data["speech"] = self.speech.digest
        if self.keyframe is not None:  # likewise: only films drawn keyframe-first carry one
            data["keyframe"] = picture_digest(self.keyframe)
        return data


def picture_digest(picture: np.ndarray) -> str:
    """SHA-256 of an RGB picture's shape and pixels (what a keyframe adds to a shot's key)."""
    array = np.ascontiguousarray(picture, dtype=np.uint8)
    h = hashlib.sha256(f"{array.shape}".encode())
    h.update(array.tobytes())
    return h.hexdigest()


@runtime_checkable
class Backend(Protocol):
    name: str
    version: str

    def describe(self) -> dict[str, Any]:
        """Everything about the backend that changes pixels (model id, revision, settings)."""
        ...

    def render(self, plan: ShotPlan, cond: Conditioning) -> Iterator[np.ndarray]:
        """Yield exactly ``plan.frames`` frames, each ``(plan.height, plan.width, 3)`` uint8."""
        ...


BackendFactory = Callable[[dict[str, Any]], Backend]

#: Backends by name: a factory, or the ``"module:factory"`` path of one (the entry-point
#: convention). The built-ins are named by path, so this module never imports a backend
#: (backends import it) and ``studio check`` never pays for drawing or model code.
BACKENDS: dict[str, BackendFactory | str] = {
    "animatic": "studio.render.animatic:make_backend",
    "diffusers": "studio.render.diffusers:make_backend",  # torch loads when a backend is made
}


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    def deco(factory: BackendFactory) -> BackendFactory:
        BACKENDS[name] = factory
        return factory

    return deco


def load_backend(name: str, options: dict[str, Any] | None = None, *, models: Mapping[str, Any] | None = None,
                 base_dir: Path | None = None) -> Backend:
    """The backend called ``name``, configured with ``options``.

    A backend that loads weights opts in to the model registry by having a
    ``use_models(models, base_dir)`` method: it receives ``models`` (the screenplay's
    ``film.render.options.models``) and ``base_dir`` (the folder their relative sources
    resolve from). Other backends never see them."""
    if name not in BACKENDS:
        raise StudioError(f"unknown backend {name!r}", hint=f"available: {', '.join(sorted(BACKENDS))}")
    factory = BACKENDS[name]
    if isinstance(factory, str):
        factory = BACKENDS[name] = _import_factory(factory)
    backend = factory(dict(options or {}))
    use_models = getattr(backend, "use_models", None)
    if callable(use_models):
        use_models(dict(models or {}), base_dir)
    return backend


def _import_factory(where: str) -> BackendFactory:
    module, _, attribute = where.partition(":")
    factory: Any = importlib.import_module(module)
    for part in attribute.split("."):
        factory = getattr(factory, part)
    return factory
