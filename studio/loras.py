"""LoRAs: small low-rank weight deltas on top of a model, named by a model entry or a character.

A LoRA entry (a model's ``options.loras``, a character's ``loras``) is::

    {source, weight, adapter_name, trigger, weight_name, revision, recipe, model}

* ``source``: a Hugging Face hub id (``org/name``; ``weight_name`` picks the file in it,
  ``revision`` the commit), or a local ``.safetensors`` file or a folder holding one.
  A character's local source is relative to the screenplay and may not leave its folder
  unless the user says so (``--allow-outside-assets``), like its reference images.
* ``weight``: the adapter's strength in ``set_adapters`` (1.0: as trained).
* ``adapter_name``: the name the pipeline knows it by (default: the model's or the
  character's name, numbered).
* ``trigger``: a character LoRA's trigger words, put in the prompt of every shot where
  the character is on screen.
* ``recipe`` (a model's LoRA only): ``{steps, guidance, flow_shift}`` that replace the
  model's own while the LoRA is active, for step-distillation LoRAs trained for a few
  steps without classifier-free guidance. A render option still wins over it.
* ``model`` (a character's LoRA only): the registry model it was trained for (default:
  every video model of the film).

This module is the torch-free half: parsing, checking, and each LoRA's part of the cache
key (local files by content, hub files by revision and the snapshot on disk). Loading and
activating them is :mod:`studio.render.diffusers.loras`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import StudioError
from studio.models import feed_file, folder_digest, offline

RECIPE_KEYS = ("steps", "guidance", "flow_shift")
MODEL_KEYS = frozenset({"source", "weight", "adapter_name", "trigger", "weight_name", "revision", "recipe"})
CHARACTER_KEYS = frozenset({"source", "weight", "adapter_name", "trigger", "weight_name", "revision", "model"})
ADAPTER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Lora:
    """One LoRA as a pipeline loads it (``source`` resolved: an absolute path or a hub id)."""

    source: str
    adapter_name: str
    weight: float = 1.0
    trigger: str = ""
    weight_name: str | None = None
    revision: str | None = None
    recipe: Mapping[str, Any] = field(default_factory=dict)
    model: str | None = None  # a character's LoRA: the registry model it is for (None: every video model)
    character: str | None = None  # whose LoRA it is (None: the model's own)

    @property
    def is_local(self) -> bool:
        return looks_local(self.source)

    def file(self) -> Path | None:
        """The weights file on this machine, or None when it is not here (a hub file not
        downloaded; a folder without ``weight_name`` is the folder itself)."""
        if self.is_local:
            path = Path(self.source).expanduser()
            if path.is_dir() and self.weight_name:
                path = path / self.weight_name
            return path if path.exists() else None
        return _hub_file(self)

    def key(self) -> dict[str, Any]:
        """What about the LoRA changes the pixels (for cache keys): a local file's content
        digest (never its path), a hub file's revision and the snapshot on disk."""
        data: dict[str, Any] = {"adapter_name": self.adapter_name, "weight": self.weight, "trigger": self.trigger,
                                "weight_name": self.weight_name}
        if self.recipe:
            data["recipe"] = dict(self.recipe)
        if self.model:
            data["model"] = self.model
        path = self.file()
        if self.is_local:
            data["source"] = "local"
            data["content"] = content_digest(path) if path is not None else None
        else:
            data["source"] = self.source
            data["revision"] = self.revision
            data["snapshot"] = _snapshot_of(path) if path is not None else None
        return data


def looks_local(source: str, base_dir: Path | None = None) -> bool:
    """Is ``source`` a path (a ``.safetensors`` file, a folder, anything starting with ``.``,
    ``/`` or ``~``, or a file or folder that exists relative to ``base_dir``) rather than a hub id?"""
    if source.startswith((".", "/", "~")) or source.endswith(".safetensors"):
        return True
    path = Path(source).expanduser()
    return path.exists() or (base_dir is not None and (base_dir / path).exists())


def parse_loras(value: Any, where: str, *, owner: str, keys: frozenset[str] = MODEL_KEYS) -> tuple[Lora, ...]:
    """A LoRA list from a mapping's ``loras`` (a model's options): checked, with default
    adapter names ``OWNER`` (one) or ``OWNER-1``, ``OWNER-2`` ... A mistake is a StudioError."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise StudioError(f"{where}: loras must be a list of {{source, weight, ...}}",
                          hint="e.g. loras: [{source: org/name, weight_name: lora.safetensors}]")
    out = []
    for i, entry in enumerate(value):
        at = f"{where}: loras[{i}]"
        if isinstance(entry, str):
            entry = {"source": entry}
        if not isinstance(entry, Mapping):
            raise StudioError(f"{at} must be a mapping with a source")
        unknown = sorted(set(entry) - keys)
        if unknown:
            raise StudioError(f"{at} has unknown keys {unknown}", hint=f"known: {', '.join(sorted(keys))}")
        source = entry.get("source")
        if not isinstance(source, str) or not source:
            raise StudioError(f"{at} needs a source", hint="a hub id (org/name) or a .safetensors file or folder")
        if not looks_local(source) and not HUB_ID.match(source):
            raise StudioError(f"{at}: source {source!r} is neither a file or folder here nor a hub id (org/name)")
        weight = entry.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise StudioError(f"{at}: weight must be a number, not {weight!r}", hint="1.0: the LoRA as trained")
        name = entry.get("adapter_name") or (owner if len(value) == 1 else f"{owner}-{i + 1}")
        name = re.sub(r"[^A-Za-z0-9_-]", "-", str(name))[:64]
        if not ADAPTER_NAME.match(name):
            raise StudioError(f"{at}: adapter_name {entry.get('adapter_name')!r} is not letters, digits, '-', '_'")
        for text in ("trigger", "weight_name", "revision", "model"):
            if entry.get(text) is not None and not isinstance(entry[text], str):
                raise StudioError(f"{at}: {text} must be text, not {entry[text]!r}")
        out.append(Lora(source=source, adapter_name=name, weight=float(weight), trigger=entry.get("trigger") or "",
                        weight_name=entry.get("weight_name"), revision=entry.get("revision"),
                        recipe=check_recipe(entry.get("recipe"), at), model=entry.get("model")))
    names = [lora.adapter_name for lora in out]
    if len(set(names)) != len(names):
        raise StudioError(f"{where}: two LoRAs share an adapter_name ({', '.join(sorted(names))})",
                          hint="give each its own adapter_name")
    return tuple(out)


def check_recipe(recipe: Any, where: str) -> dict[str, Any]:
    """A LoRA's ``recipe``: steps (whole, at least 1), guidance (0 or more), flow_shift (above 0)."""
    if recipe is None:
        return {}
    if not isinstance(recipe, Mapping):
        raise StudioError(f"{where}: recipe must be a mapping", hint="e.g. recipe: {steps: 4, guidance: 1.0}")
    unknown = sorted(set(recipe) - set(RECIPE_KEYS))
    if unknown:
        raise StudioError(f"{where}: recipe has unknown keys {unknown}", hint=f"known: {', '.join(RECIPE_KEYS)}")
    wanted = {"steps": "a whole number of at least 1", "guidance": "a number of at least 0",
              "flow_shift": "a number above 0"}
    for name, value in recipe.items():
        number = not isinstance(value, bool) and isinstance(value, int if name == "steps" else (int, float))
        if not number or value < (1 if name == "steps" else 0) or (name == "flow_shift" and value <= 0):
            raise StudioError(f"{where}: recipe {name} must be {wanted[name]}, not {value!r}")
    return dict(recipe)


def model_loras(options: Mapping[str, Any], model: str) -> tuple[Lora, ...]:
    """The LoRAs of a model entry's ``options`` (default adapter names: the model's name)."""
    return parse_loras(options.get("loras"), f"model {model!r}", owner=model)


def recipe_of(loras: tuple[Lora, ...]) -> dict[str, Any]:
    """The recipe the LoRAs bring, later ones over earlier ones."""
    out: dict[str, Any] = {}
    for lora in loras:
        out.update(lora.recipe)
    return out


# --------------------------------------------------------------------------- digests

_DIGESTS: dict[tuple[str, int, int], str] = {}


def content_digest(path: Path) -> str:
    """A digest of a LoRA file (or of a folder: :func:`studio.models.folder_digest`), kept for
    the run while the file's size and time stamp stay as they were."""
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if memo not in _DIGESTS:
        _DIGESTS[memo] = folder_digest(path) if path.is_dir() else file_digest(path)
    return _DIGESTS[memo]


def file_digest(path: Path) -> str:
    """One file's digest as :func:`studio.models.folder_digest` hashes each file: whole up
    to 4 MiB, else its size and first and last MiB."""
    h = hashlib.sha256()
    feed_file(h, path)
    return h.hexdigest()


def _hub_file(lora: Lora) -> Path | None:
    """The hub LoRA's file (or snapshot folder, without ``weight_name``) in the local cache."""
    try:
        if lora.weight_name:
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(lora.source, lora.weight_name, revision=lora.revision)
            return Path(found) if isinstance(found, str) else None
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(lora.source, revision=lora.revision, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure here means "not on disk"
        return None


def _snapshot_of(path: Path) -> str | None:
    """The commit a file of the hub cache belongs to (``.../snapshots/COMMIT/...``)."""
    parts = path.parts
    return parts[parts.index("snapshots") + 1] if "snapshots" in parts[:-1] else path.name


def load_source(lora: Lora) -> tuple[str, dict[str, Any]]:
    """``load_lora_weights``' first argument and keywords for ``lora``: the local file or
    folder; the hub file when it is in the local cache; the hub id when online; else a
    clear error saying how to fetch it."""
    if lora.is_local:
        path = Path(lora.source).expanduser()
        if not path.exists():
            raise StudioError(f"LoRA {lora.adapter_name!r}: {lora.source} does not exist",
                              hint="point source at a .safetensors file or a folder holding one")
        return str(path), ({"weight_name": lora.weight_name} if lora.weight_name and path.is_dir() else {})
    found = _hub_file(lora)
    if found is not None:
        return str(found), {}
    if offline():
        fetch = f"huggingface-cli download {lora.source}" + (f" {lora.weight_name}" if lora.weight_name else "")
        raise StudioError(f"LoRA {lora.adapter_name!r} ({lora.source}) is not on this machine and HF_HUB_OFFLINE "
                          "is set", hint=f"download it first (`{fetch}`) or set source to a local file")
    kwargs: dict[str, Any] = {}
    if lora.weight_name:
        kwargs["weight_name"] = lora.weight_name
    if lora.revision:
        kwargs["revision"] = lora.revision
    return lora.source, kwargs
