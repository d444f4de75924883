"""Helpers for the speech tests: a one-scene screenplay builder."""

from __future__ import annotations

import shutil
import textwrap

import pytest

from studio.screenplay import parse_screenplay

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def screenplay(characters: str, beats: str, *, file: str = "film.yaml"):
    """A one-scene screenplay: ``characters`` and ``beats`` are YAML list items."""
    text = (
        "version: 1\n"
        "film: {title: Voices, seed: 7}\n"
        "characters:\n" + textwrap.indent(textwrap.dedent(characters).strip("\n"), "  ") + "\n"
        "locations:\n"
        "  - {id: room, name: Room}\n"
        "scenes:\n"
        "  - id: s1\n"
        "    location: room\n"
        "    beats:\n" + textwrap.indent(textwrap.dedent(beats).strip("\n"), "      ") + "\n"
    )
    return parse_screenplay(text, file)
