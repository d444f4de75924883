"""Status without rendering: each shot's key for the screenplay as it is now, and
whether the cache holds it. Stale means exactly what a render would render."""

from __future__ import annotations

from pathlib import Path

from studio.cache.lockfile import Lockfile
from studio.run.local import render_film
from studio.run.status import film_status
from studio.screenplay import parse_screenplay
from tests.conftest import run_studio, small
from tests.run.test_invalidation import FILM


def screenplay(tmp_path: Path, text: str):
    path = tmp_path / "film.yaml"
    path.write_text(text, encoding="utf-8")
    return small(parse_screenplay(text, str(path), base_dir=tmp_path))


def status(tmp_path: Path, text: str, *, audio: bool):
    return film_status(screenplay(tmp_path, text), cache_dir=tmp_path / "cache", name="film", audio=audio,
                       lockfile=Lockfile.beside(tmp_path / "film.yaml"))


def render(tmp_path: Path, text: str, *, audio: bool):
    return render_film(screenplay(tmp_path, text), tmp_path / "out", cache_dir=tmp_path / "cache", name="film",
                       audio=audio, lockfile=Lockfile.beside(tmp_path / "film.yaml"))


def test_nothing_is_stale_after_a_render_and_everything_before(tmp_path):
    before = status(tmp_path, FILM, audio=False)
    assert before.stale == [s.shot_id for s in before.shots]
    assert {s.reason for s in before.shots} == {"not rendered yet", "continues a2, which is stale"}
    result = render(tmp_path, FILM, audio=False)
    after = status(tmp_path, FILM, audio=False)
    assert after.stale == []
    assert [s.key for s in after.shots] == [c.key for c in result.clips]  # the keys the render used


def test_stale_shots_are_the_shots_a_render_renders(tmp_path):
    render(tmp_path, FILM, audio=True)
    edits = [
        FILM.replace("You waited up.", "You stayed up."),  # a2, and a3 continues it
        FILM.replace("Somebody had to.", "Somebody really had to."),  # a4 alone
        FILM.replace("a man in a brown cardigan", "a man in a red scarf"),  # every shot Ben is in
    ]
    for edited in edits:
        predicted = status(tmp_path, edited, audio=True)
        # a line not yet spoken is known to be stale without speaking it
        assert all(not s.stale or s.reason for s in predicted.shots)
        result = render(tmp_path, edited, audio=True)
        assert predicted.stale == result.report["rendered"]
        assert status(tmp_path, edited, audio=True).stale == []


def test_a_line_not_spoken_yet_makes_its_shot_stale_without_speaking_it(tmp_path):
    render(tmp_path, FILM, audio=True)
    speech = sorted((tmp_path / "cache" / "speech").rglob("*.wav"))
    result = status(tmp_path, FILM.replace("Still raining.", "Still raining hard."), audio=True)
    assert result.missing_lines == ["s2.2"]
    stale = {s.shot_id: s.reason for s in result.shots if s.stale}
    assert list(stale.values()) == ["line s2.2 not spoken yet"]
    assert sorted((tmp_path / "cache" / "speech").rglob("*.wav")) == speech  # nothing was spoken


def test_studio_status_command(tmp_path):
    path = tmp_path / "film.yaml"
    path.write_text(FILM, encoding="utf-8")
    args = ["--resolution", "160x96", "--fps", "12", "--silent", "--cache", str(tmp_path / "cache")]
    before = run_studio("status", str(path), *args, "--json")
    assert before.returncode == 0, before.stderr
    assert '"stale"' in before.stdout and '"a1"' in before.stdout
    render(tmp_path, FILM, audio=False)
    after = run_studio("status", str(path), *args)
    assert after.returncode == 0, after.stderr
    assert "6 of 6 shots in the cache" in after.stdout and "stale" not in after.stdout
