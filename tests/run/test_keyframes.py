"""Keyframes first (studio.run.keyframes): every shot's first frame drawn before its
video, content-addressed with takes and a lockfile selection, identity QA on each
keyframe, approval, and ``--approved-only`` renders that generate video only for the
approved shots. On the animatic keyframe model, so it all runs on any machine."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest
import yaml
from PIL import Image

from studio.cache.lockfile import Lockfile
from studio.errors import StudioError
from studio.render.animatic.backend import AnimaticBackend
from studio.render.backend import BACKENDS, Conditioning
from studio.run.keyframes import AnimaticKeyframes, approve
from studio.run.local import keyframes_for_film, render_film
from studio.screenplay import parse_screenplay

FILM = """\
version: 1
film: {title: Storyboard, resolution: 426x240, fps: 12}
characters:
  - {id: ana, name: Ana, description: a woman in a green coat}
locations:
  - {id: kitchen, name: Kitchen, description: a small kitchen, interior: true}
  - {id: quay, name: Quay, description: a stone quay by the sea, interior: false}
scenes:
  - id: s1
    location: kitchen
    characters: [ana]
    shots:
      - {id: wide, size: wide, subjects: [ana], duration: 1}
      - {id: push, size: medium, subjects: [ana], duration: 1, continuity: continuous}
      - {id: cu, size: close-up, subjects: [ana], duration: 1.5}
    beats:
      - action: Ana waits at the table.
  - id: s2
    location: quay
    characters: [ana]
    shots:
      - {id: sea, size: full, subjects: [ana], duration: 1}
    beats:
      - action: Ana looks at the sea.
"""
SHOTS = ["wide", "push", "cu", "sea"]


class Counting:
    """A backend that starts a shot from its keyframe (its first frame is the keyframe,
    then the animatic's), counting the shots whose video it generates."""

    name = "counting-test"
    version = "1"
    rendered: list[str] = []
    keyframes_seen: dict[str, bool] = {}

    def __init__(self, options):
        self.inner = AnimaticBackend({})

    def describe(self):
        return {"name": self.name, "version": self.version}

    def render(self, plan, cond):
        Counting.rendered.append(plan.shot_id)
        Counting.keyframes_seen[plan.shot_id] = cond.keyframe is not None
        frames = iter(self.inner.render(plan, cond))
        if cond.keyframe is not None:
            next(frames)
            yield np.ascontiguousarray(cond.keyframe)
        yield from frames


@pytest.fixture
def film(tmp_path):
    screenplay = parse_screenplay(FILM, str(tmp_path / "film.yaml"), base_dir=tmp_path)
    return screenplay, tmp_path


def _keyframes(screenplay, folder, **kwargs):
    return keyframes_for_film(screenplay, folder / "out", cache_dir=folder / "cache", name="film",
                              lockfile=folder / "film.lock", audio=False, **kwargs)


def _render(screenplay, folder, **kwargs):
    return render_film(screenplay, folder / "out", cache_dir=folder / "cache", name="film", audio=False,
                       lockfile=folder / "film.lock", **kwargs)


def test_keyframes_for_a_film_one_still_per_shot_in_the_cache_and_the_lockfile(film):
    screenplay, folder = film
    result = _keyframes(screenplay, folder)
    assert [s.shot_id for s in result.shots] == SHOTS
    assert result.report["keyframes_drawn"] == 4
    lock = Lockfile.load(folder / "film.lock")
    for shot in result.shots:
        picture = shot.keyframe.picture()
        assert picture.shape == (240, 426, 3) and picture.std() > 1  # a picture, not a blank
        assert shot.keyframe.path.is_file() and shot.keyframe.path.parent.parent.name == "keyframes"
        assert lock.keyframes[shot.shot_id].key == shot.keyframe.key and lock.keyframes[shot.shot_id].take == 1
    # the animatic's frame at the shot's start is the keyframe
    plan = next(p for p in _plans(screenplay) if p.shot_id == "cu")
    first = next(iter(AnimaticBackend({"subtitles": False}).render(plan, Conditioning())))
    assert np.array_equal(result.shots[2].keyframe.picture(), first)
    assert (folder / "out" / "keyframes.png").is_file() and (folder / "out" / "keyframes-report.json").is_file()
    # again: every keyframe from the cache
    assert _keyframes(screenplay, folder).report["keyframes_drawn"] == 0


def _plans(screenplay):
    from studio.graph.scene_graph import SceneGraph
    from studio.render.plan import plan_film

    return plan_film(SceneGraph.from_screenplay(screenplay, {}))


def test_a_render_without_keyframes_is_unchanged(film):
    screenplay, folder = film
    plain = _render(screenplay, folder)
    text = (folder / "film.lock").read_text()
    assert "keyframes" not in yaml.safe_load(text) and "keyframes" not in plain.report
    keys = [c.key for c in plain.clips]
    # keyframes drawn: every cut's key now holds its keyframe; the continuous shot's holds the clip before it,
    # which the animatic (drawing its own first frames) makes the same as before
    _keyframes(screenplay, folder)
    drawn = _render(screenplay, folder)
    assert drawn.report["rendered"] == ["wide", "cu", "sea"] and "keyframes" in yaml.safe_load(
        (folder / "film.lock").read_text())
    assert [a == b for a, b in zip(keys, [c.key for c in drawn.clips])] == [False, True, False, False]


def test_a_new_keyframe_renders_exactly_its_shot_and_the_shots_continuing_it(film, monkeypatch):
    screenplay, folder = film
    monkeypatch.setitem(BACKENDS, "counting-test", Counting)
    _keyframes(screenplay, folder)
    Counting.rendered = []
    first = _render(screenplay, folder, backend_name="counting-test")
    assert Counting.rendered == SHOTS
    # the cuts started from their keyframes, the continuous shot from the frames before it
    assert Counting.keyframes_seen == {"wide": True, "push": False, "cu": True, "sea": True}
    assert _render(screenplay, folder, backend_name="counting-test").report["rendered"] == []
    redone = _keyframes(screenplay, folder, new_takes=["wide"])
    assert redone.report["keyframes_drawn"] == 1
    assert Lockfile.load(folder / "film.lock").keyframes["wide"].take == 2
    Counting.rendered = []
    again = _render(screenplay, folder, backend_name="counting-test")
    assert again.report["rendered"] == ["wide", "push"] == Counting.rendered
    assert [c.key for c in again.clips][2:] == [c.key for c in first.clips][2:]
    # a new keyframe of a shot in the middle of nothing: that shot alone
    _keyframes(screenplay, folder, new_takes=["sea"])
    assert _render(screenplay, folder, backend_name="counting-test").report["rendered"] == ["sea"]


def test_approved_only_generates_video_for_approved_shots_and_holds_the_others(film, monkeypatch):
    screenplay, folder = film
    monkeypatch.setitem(BACKENDS, "counting-test", Counting)
    _keyframes(screenplay, folder)
    lock = Lockfile.load(folder / "film.lock")
    assert approve(lock, ["cu", "push"], known=SHOTS) == ["cu", "push"]
    assert [sid for sid, k in Lockfile.load(folder / "film.lock").keyframes.items() if k.approved] == ["push", "cu"]
    Counting.rendered = []
    result = _render(screenplay, folder, backend_name="counting-test", approved_only=True)
    assert Counting.rendered == ["push", "cu"]  # no video for the shots not approved
    report = result.report
    assert report["keyframes"]["held"] == ["wide", "sea"] and report["keyframes"]["shots_with_video"] == 2
    assert report["shots_rendered"] == 2 and report["frames_rendered"] == sum(
        p.frames for p in result.plans if p.shot_id in ("push", "cu"))
    # the cut holds every shot at its planned length; a held shot is its keyframe, still
    for plan, clip in zip(result.plans, result.clips):
        assert clip.frames == plan.frames
    seconds = sum(p.frames for p in result.plans) / 12
    assert abs(_duration(result.film) - seconds) <= 1 / 12 + 0.05
    wide = result.clips[0]
    assert wide.key != _render(screenplay, folder / "plain").clips[0].key
    # approving one more: only it gets video, the rest come from the cache
    approve(Lockfile.load(folder / "film.lock"), ["sea"], known=SHOTS)
    Counting.rendered = []
    more = _render(screenplay, folder, backend_name="counting-test", approved_only=True)
    assert Counting.rendered == ["sea"] and more.report["keyframes"]["held"] == ["wide"]


@pytest.mark.slow
def test_approved_only_with_two_workers_is_the_same_film(film):
    from studio.run.parallel import render_film as render_in_workers

    screenplay, folder = film
    _keyframes(screenplay, folder)
    approve(Lockfile.load(folder / "film.lock"), ["push", "sea"], known=SHOTS)
    shutil.copy(folder / "film.lock", folder / "film-j2.lock")
    shutil.copytree(folder / "cache", folder / "cache-j2")  # the keyframes, no clip yet
    alone = _render(screenplay, folder, approved_only=True)
    two = render_in_workers(screenplay, folder / "out-j2", cache_dir=folder / "cache-j2", name="film", audio=False,
                            lockfile=folder / "film-j2.lock", approved_only=True, jobs=2)
    executor = two.report["executor"]
    assert executor["shots_on_workers"] == 2 and {e["shot"] for e in executor["shots"]} == {"push", "sea"}
    assert two.report["keyframes"]["held"] == alone.report["keyframes"]["held"] == ["wide", "cu"]
    assert [c.sha256 for c in two.clips] == [c.sha256 for c in alone.clips]
    assert two.film.read_bytes() == alone.film.read_bytes()


def test_approving_needs_a_keyframe_and_a_known_shot(film):
    screenplay, folder = film
    lock = Lockfile.load(folder / "film.lock")
    with pytest.raises(StudioError, match="no keyframe yet"):
        approve(lock, ["cu"], known=SHOTS)
    with pytest.raises(StudioError, match="no shot 'cuu'") as err:
        approve(lock, ["cuu"], known=SHOTS)
    assert "cu" in (err.value.hint or "")


def test_approved_only_draws_missing_keyframes_first(film, monkeypatch):
    screenplay, folder = film
    monkeypatch.setitem(BACKENDS, "counting-test", Counting)
    Counting.rendered = []
    result = _render(screenplay, folder, backend_name="counting-test", approved_only=True)
    assert Counting.rendered == [] and result.report["keyframes"]["held"] == SHOTS
    assert set(Lockfile.load(folder / "film.lock").keyframes) == set(SHOTS)


def _duration(path) -> float:
    exe = shutil.which("ffprobe")
    if exe is None:
        pytest.skip("ffprobe is not installed")
    out = subprocess.run([exe, "-v", "error", "-show_format", "-of", "json", str(path)], capture_output=True,
                         text=True, check=True)
    return float(json.loads(out.stdout)["format"]["duration"])


# --------------------------------------------------------------------------- identity QA on keyframes


class FaceLost(AnimaticKeyframes):
    """The animatic keyframe model, but its first take of each shot loses the cast face."""

    def __init__(self) -> None:
        super().__init__()
        self.drawn: dict[str, int] = {}

    def draw(self, plan, cond):
        self.drawn[plan.shot_id] = self.drawn.get(plan.shot_id, 0) + 1
        if self.drawn[plan.shot_id] == 1:
            cond = Conditioning({cid: replace(i, face=None) for cid, i in cond.identities.items()})
        return super().draw(plan, cond)


@pytest.fixture
def cast_film(tmp_path, monkeypatch):
    from studio.consistency.cast import apply_cast
    from studio.consistency.likeness import LikenessStore
    from tests.consistency.conftest import CONSENT, astronaut, save

    store = LikenessStore(tmp_path / "likenesses")
    monkeypatch.setenv("STUDIO_LIKENESSES", str(store.root))
    store.add("astro", [save(astronaut(), tmp_path / "a.png")], CONSENT)
    screenplay = apply_cast(parse_screenplay(FILM, str(tmp_path / "film.yaml"), base_dir=tmp_path), {"ana": "astro"})
    return screenplay, tmp_path


def test_a_cast_face_passes_keyframe_qa_on_the_animatic(cast_film):
    screenplay, folder = cast_film
    result = _keyframes(screenplay, folder)
    shots = {s.shot_id: s for s in result.shots}
    # the close-up and the medium hold Ana's face: it is found and recognised
    for sid in ("cu", "push"):
        assert shots[sid].check is not None and not shots[sid].check.flagged
        assert shots[sid].check.score <= 0.6 and shots[sid].take == 1
    assert result.report["flagged"] == []


def test_keyframe_qa_rejects_a_face_that_does_not_match_and_takes_another(cast_film):
    screenplay, folder = cast_film
    model = FaceLost()
    result = _keyframes(screenplay, folder, model=model)
    cu = next(s for s in result.shots if s.shot_id == "cu")
    assert [(t["take"], t["flagged"]) for t in cu.tried] == [(1, True), (2, False)]
    assert cu.take == 2 and not cu.check.flagged
    assert Lockfile.load(folder / "film.lock").keyframes["cu"].take == 2  # the film uses the good keyframe
    # again: from the cache, the good take kept, nothing drawn
    again = _keyframes(screenplay, folder, model=model)
    assert again.report["keyframes_drawn"] == 0 and next(s for s in again.shots if s.shot_id == "cu").take == 2


def test_a_wrong_reference_is_flagged_on_every_take(cast_film):
    """Ana's face replaced by a picture with no face (scikit-image's coffee): every take
    is rejected, up to the re-take limit, and the keyframe is reported flagged."""
    from skimage import data

    screenplay, folder = cast_film
    coffee = folder / "coffee.png"
    Image.fromarray(data.coffee()).save(coffee)

    class WrongFace(AnimaticKeyframes):
        def draw(self, plan, cond):
            cond = Conditioning({cid: replace(i, face=str(coffee)) for cid, i in cond.identities.items()})
            return super().draw(plan, cond)

    result = _keyframes(screenplay, folder, model=WrongFace())
    cu = next(s for s in result.shots if s.shot_id == "cu")
    assert [t["take"] for t in cu.tried] == [1, 2, 3] and all(t["flagged"] for t in cu.tried)
    assert cu.check.flagged and "cu" in result.report["flagged"]
