"""Fixtures for the speech tests: the real engines, made once per test session."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def piper():
    from studio.audio.tts import get_engine

    return get_engine("piper")


@pytest.fixture(scope="session")
def espeak():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    from studio.audio.tts import get_engine

    return get_engine("espeak-ng")
