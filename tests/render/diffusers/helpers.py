"""Helpers for the diffusers backend tests: the registry entries of the tiny models and
a small film that names them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from PIL import Image

FPS = 8
SIZE = (40, 24)  # not a multiple of 16 or 32: generation happens at a legal size and is resized


def models_block(folders: dict[str, Path], *, frames_per_chunk: int = 17) -> dict[str, dict]:
    """Registry entries for the tiny models (what a screenplay's ``models:`` holds)."""
    # "fps": the tiny film's rate, so these tests see no retiming (test_timing.py tests it)
    video = {"steps": 2, "guidance": 4.0, "max_sequence_length": 32, "frames_per_chunk": frames_per_chunk,
             "fps": FPS}
    return {
        "tiny-wan-t2v": {"family": "wan-t2v", "source": str(folders["wan-t2v"]), "options": video},
        "tiny-wan-i2v": {"family": "wan-i2v", "source": str(folders["wan-i2v"]), "options": video},
        "tiny-wan-vace": {"family": "wan-vace", "source": str(folders["wan-vace"]), "options": video},
        "tiny-ltx": {"family": "ltx-condition", "source": str(folders["ltx-condition"]),
                     "options": {**video, "frames_per_chunk": 25}},
        "tiny-sd": {"family": "sd", "source": str(folders["sd"]),
                    "options": {"steps": 2, "guidance": 4.0, "ip_adapter": "tiny-ip-adapter"}},
        "tiny-ip-adapter": {"family": "ip-adapter", "source": str(folders["ip-adapter"]),
                            "options": {"weight_name": "ip-adapter.safetensors", "scale": 0.7}},
    }


CONFIGS = {
    # Wan: text-to-video starts a chain, image-to-video continues it
    "wan-i2v": {"model": "tiny-wan-t2v", "i2v_model": "tiny-wan-i2v"},
    # Wan: VACE takes the references and several frames of context (chunks of 9 frames: long shots)
    # (colour matching off: chunk wiring is checked digest by digest; test_colour.py renders it on)
    "wan-vace": {"model": "tiny-wan-t2v", "vace_model": "tiny-wan-vace", "frames_per_chunk": 9,
                 "colour_match": False},
    # LTX-Video: conditions at frame 0 and references as image conditions
    "ltx": {"model": "tiny-ltx"},
    # an image-to-video model started by keyframes (Stable Diffusion + IP-Adapter)
    "wan-keyframe": {"model": "tiny-wan-i2v", "keyframe_model": "tiny-sd"},
}

FILM = """\
version: 1
film:
  title: Tiny Rooms
  fps: {fps}
  resolution: {width}x{height}
  look: warm 35mm film, soft contrast
  negative: blurry, text
  seed: {seed}
characters:
  - id: ana
    name: Ana
    description: a woman in a green coat
    references: [refs/ana.png]
  - id: ben
    name: Ben
    description: a man in a brown cardigan
    references: [refs/ben.png]
locations:
  - {{id: kitchen, name: Kitchen, description: a small kitchen with a lamp, interior: true}}
  - {{id: quay, name: Quay, description: a stone quay by the sea, interior: false}}
scenes:
  - id: s1
    location: kitchen
    time: night
    characters: [ana, ben]
    shots:
      - {{id: s1-wide, size: wide, move: static, subjects: [ana, ben], duration: 1}}
      - {{id: s1-ana, size: medium, move: dolly-in, subjects: [ana], duration: 1.5, continuity: continuous}}
    beats:
      - action: Ana waits at the table.
  - id: s2
    location: quay
    time: dusk
    characters: [ben]
    shots:
      - {{id: s2-ben, size: close-up, move: handheld, subjects: [ben], duration: 1}}
    beats:
      - action: Ben looks at the sea.
"""


def write_film(folder: Path, options: dict, models: dict, *, seed: int = 7, fps: int = FPS,
               size: tuple[int, int] = SIZE) -> Path:
    """The tiny film in ``folder``, rendered by the diffusers backend with ``options``."""
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    for name, colour in (("ana", (40, 160, 60)), ("ben", (140, 90, 40))):
        image = np.zeros((32, 32, 3), np.uint8)
        image[:] = colour
        image[8:24, 10:22] = (230, 190, 160)  # a face-coloured patch
        Image.fromarray(image).save(folder / "refs" / f"{name}.png")
    data = yaml.safe_load(FILM.format(fps=fps, width=size[0], height=size[1], seed=seed))
    data["film"]["render"] = {"backend": "diffusers", "options": {**options, "models": models}}
    path = folder / "film.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def load_film(path: Path):  # type: ignore[no-untyped-def]
    from studio.screenplay import load_screenplay

    return load_screenplay(path)
