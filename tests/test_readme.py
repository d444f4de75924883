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


def test_the_gpu_section_states_each_built_in_video_models_settings():
    """The README's table of built-in settings says what the registry really uses."""
    from studio.models import BUILTIN
    from studio.render.diffusers.settings import FAMILIES

    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([\w.-]+)` \| (\d+ \| [^|]+ \| [^|]+ \| [^|]+) \|",
                                                          README, flags=re.M)}
    for name in ("wan2.1-t2v-1.3b", "wan2.1-i2v-14b-480p", "wan2.1-vace-1.3b", "ltx-video-0.9.5"):
        spec = BUILTIN[name]
        family = FAMILIES[spec.family]
        fps, steps, guidance, shift = (cell.strip() for cell in rows[name].split("|"))
        assert int(fps) == spec.options.get("fps", family.fps), name
        assert int(steps) == spec.options.get("steps", family.steps), name
        assert float(guidance) == spec.options.get("guidance", family.guidance), name
        if "flow_shift" in spec.options:
            assert float(shift) == spec.options["flow_shift"], name
    # Wan 2.2: the A14B experts' two guidance scales as "guidance / guidance_2"; sources and frames in the first table
    for name in ("wan2.2-ti2v-5b", "wan2.2-ti2v-5b-i2v", "wan2.2-t2v-a14b", "wan2.2-i2v-a14b", "wan2.2-vace-fun-a14b"):
        spec = BUILTIN[name]
        family = FAMILIES[spec.family]
        fps, steps, guidance, shift = (cell.strip() for cell in rows[name].split("|"))
        assert int(fps) == spec.options.get("fps", family.fps), name
        assert int(steps) == spec.options["steps"] and float(shift) == spec.options["flow_shift"], name
        scales = [float(g) for g in guidance.split("/")]
        assert scales == [spec.options["guidance"], *([spec.options["guidance_2"]] if "guidance_2" in spec.options
                                                     else [])], name
        row = next(line for line in README.splitlines() if line.startswith(f"| `{name}` | `{spec.family}` |"))
        assert f"`{spec.source}`" in row or name.endswith("-i2v"), name
    # LTX-2: the full model in one stage; the distilled one as its sigmas lists, stage 1 + upsampler + stage 2
    for name in ("ltx-2", "ltx-2-distilled"):
        spec = BUILTIN[name]
        family = FAMILIES[spec.family]
        fps, steps, guidance, _ = (cell.strip() for cell in rows[name].split("|"))
        assert int(fps) == spec.options.get("fps", family.fps) == 24, name
        assert float(guidance) == spec.options.get("guidance", family.guidance), name
        if spec.options.get("upsampler"):
            first, _, second = (part.strip() for part in steps.split("+"))
            assert int(first) == len(spec.options["sigmas"]), name
            assert int(second) == len(spec.options["upsample"]["sigmas"]), name
        else:
            assert int(steps) == spec.options.get("steps", family.steps), name
    # SkyReels-V2 diffusion forcing: the recipe, and each model's source, window and resolution in the first table
    for name in ("skyreels-v2-df-1.3b-540p", "skyreels-v2-df-14b-540p", "skyreels-v2-df-14b-720p"):
        spec = BUILTIN[name]
        family = FAMILIES[spec.family]
        fps, steps, guidance, shift = (cell.strip() for cell in rows[name].split("|"))
        assert (int(fps), int(steps), float(guidance), float(shift)) == (
            family.fps, spec.options["steps"], spec.options["guidance"], spec.options["flow_shift"]), name
        row = next(line for line in README.splitlines() if line.startswith(f"| `{name}` | `skyreels-df` |"))
        assert f"`{spec.source}`" in row and f"windows of {spec.options['base_num_frames']} frames" in row, name
        assert spec.options["resolution"] in row, name
    # the first table names each LTX-2 model's source, frames and resolution, and the upsampler
    for name in ("ltx-2", "ltx-2-distilled"):
        spec = BUILTIN[name]
        row = next(line for line in README.splitlines() if line.startswith(f"| `{name}` | `ltx2` |"))
        assert f"`{spec.source}`" in row and f"{spec.options['frames_per_chunk']} frames" in row, name
        assert spec.options["resolution"] in row, name
        if spec.options.get("upsampler"):
            assert f"`{spec.options['upsampler']}`" in row, name


def test_the_gpu_section_says_how_lip_sync_works():
    section = README.split("### How lip-sync works (LTX-2)", 1)[1].split("\n#", 1)[0]
    for words in ("16 kHz", "64 mel bins", "hop 160", "audio VAE", "timestep 0", "cross-attention",
                  "dialogue stem", "`film.sound.effects: model`"):
        assert words in section, words


def test_every_page_of_the_web_studio_is_described():
    """Each tab in the web studio's navigation has its bold entry in the README."""
    nav = (ROOT / "studio" / "web" / "templates" / "base.html").read_text(encoding="utf-8")
    pages = re.findall(r'<a href="/[a-z]*" class="[^"]*">([^<]+)</a>', nav)
    assert "Editor" in pages and "Storyboard" in pages
    section = README.split("## The web studio", 1)[1].split("\n## ", 1)[0]
    for name in pages:
        assert f"- **{name}**" in section, f"the web studio's {name} page is not in the README"
    assert "### The Editor" in section
