"""Fixtures for the diffusers backend: tiny random-weight pipelines of the real classes,
saved once per session with save_pretrained into local folders that the backend loads
through the model registry (HF_HUB_OFFLINE=1, no hub id anywhere), and a small film
that names them in its ``film.render.options.models``."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("ftfy")  # Wan's image-to-video and VACE pipelines call it

from tests.render.diffusers import tiny


@pytest.fixture(scope="session", autouse=True)
def _one_thread_offline(tmp_path_factory):
    """One torch thread (bit-identical tensors run to run), no network, no user models file."""
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("STUDIO_MODELS", str(tmp_path_factory.mktemp("no-user-file") / "absent.yaml"))
        yield


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Every tiny pipeline, built and saved once: {family: folder}."""
    root = tmp_path_factory.mktemp("tiny-models")
    folders = {family: build(root / family) for family, build in tiny.BUILDERS.items()}
    folders["ip-adapter"] = tiny.save_ip_adapter(root / "ip-adapter", folders["sd"])
    return folders


