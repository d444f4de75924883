"""The README keeps its promises: its commands exist and it documents the format."""

from __future__ import annotations

import re

from studio.screenplay import model
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    test_commands = [line.split("#")[0].strip() for b in blocks for line in b.splitlines() if "test" in line]
    assert test_commands == ["./run.sh test"]
    assert "./run.sh test" in (ROOT / ".ci" / "run").read_text()


def test_every_field_of_the_format_is_documented():
    for cls in (model.FilmSettings, model.RenderSettings, model.SoundSettings, model.Character, model.Voice, model.LikenessPhotos,
                model.Location, model.Scene, model.ActionBeat, model.DialogueBeat, model.TransitionBeat,
                model.MusicCue, model.ShotSpec):
        for field in cls.model_fields:
            assert f"`{field}`" in README, f"{cls.__name__}.{field} is not in the README"
    for enum in (model.ShotSize, model.CameraMove, model.TimeOfDay, model.Continuity):
        for member in enum:
            assert f"`{member.value}`" in README, f"{enum.__name__} {member.value} is not in the README"
