"""Identity QA in the render loop: a backend that varies re-takes a shot whose cast
face drifted, and keeps the best take; the animatic (deterministic) never re-takes."""

from __future__ import annotations

from dataclasses import replace

from studio.cache.lockfile import Lockfile
from studio.consistency.cast import apply_cast
from studio.consistency.likeness import LikenessStore
from studio.render.animatic.backend import AnimaticBackend
from studio.render.backend import BACKENDS, Conditioning
from studio.run.local import render_film
from studio.screenplay import parse_screenplay

FILM = """\
version: 1
film: {title: Retakes, resolution: 426x240, fps: 12}
characters:
  - {id: ana, name: Ana, description: a woman in a green coat}
locations:
  - {id: kitchen, name: Kitchen, description: a small kitchen, interior: true}
scenes:
  - id: s1
    location: kitchen
    characters: [ana]
    shots:
      - {id: wide, size: wide, subjects: [ana], duration: 1}
      - {id: cu, size: close-up, subjects: [ana], duration: 1.5}
    beats:
      - action: Ana waits at the table.
"""


class Flaky:
    """A backend that varies: its first take of each shot loses the cast face."""

    name = "flaky-test"
    version = "1"
    varies = True

    def __init__(self, options):
        self.inner = AnimaticBackend({})
        self.takes: dict[str, int] = {}

    def describe(self):
        return {"name": self.name, "version": self.version}

    def render(self, plan, cond):
        self.takes[plan.shot_id] = self.takes.get(plan.shot_id, 0) + 1
        if self.takes[plan.shot_id] == 1:
            cond = Conditioning({cid: replace(i, face=None) for cid, i in cond.identities.items()},
                                cond.previous_frames, cond.previous_clip)
        return self.inner.render(plan, cond)


def test_a_drifting_shot_is_retaken_on_a_backend_that_varies(tmp_path, monkeypatch):
    from tests.consistency.conftest import CONSENT, astronaut, save

    store = LikenessStore(tmp_path / "likenesses")
    monkeypatch.setenv("STUDIO_LIKENESSES", str(store.root))
    store.add("astro", [save(astronaut(), tmp_path / "a.png")], CONSENT)
    monkeypatch.setitem(BACKENDS, "flaky-test", Flaky)
    screenplay = apply_cast(parse_screenplay(FILM, str(tmp_path / "film.yaml"), base_dir=tmp_path), {"ana": "astro"})
    lock = tmp_path / "film.lock"
    first = render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="film", audio=False,
                        backend_name="flaky-test", lockfile=lock)
    qa = first.report["identity_qa"]["cu"]
    assert [(t["take"], t["flagged"]) for t in qa["tried"]] == [(1, True), (2, False)]
    assert qa["take"] == 2 and not qa["flagged"] and qa["score"] <= 0.6
    assert first.report["takes"] == {"cu": 2}
    assert Lockfile.load(lock).shots["cu"].take == 2  # the film uses the best take
    cu = next(p for p in first.plans if p.shot_id == "cu")
    assert cu.seed == Lockfile.load(lock).shots["cu"].seed
    # again: everything from the cache, the chosen take kept, nothing re-taken
    again = render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="film", audio=False,
                        backend_name="flaky-test", lockfile=lock)
    assert again.report["rendered"] == [] and again.report["identity_qa"]["cu"]["take"] == 2


def test_the_animatic_flags_but_never_retakes(tmp_path, monkeypatch):
    from studio.run.identity import QASettings
    from tests.consistency.conftest import CONSENT, astronaut, save

    store = LikenessStore(tmp_path / "likenesses")
    monkeypatch.setenv("STUDIO_LIKENESSES", str(store.root))
    store.add("astro", [save(astronaut(), tmp_path / "a.png")], CONSENT)
    screenplay = apply_cast(parse_screenplay(FILM, str(tmp_path / "film.yaml"), base_dir=tmp_path), {"ana": "astro"})
    result = render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="film", audio=False,
                         qa=QASettings(threshold=0.05))  # nothing is that close: the close-up is flagged
    qa = result.report["identity_qa"]["cu"]
    assert qa["flagged"] and [t["take"] for t in qa["tried"]] == [1]
    assert sorted(result.report["rendered"]) == ["cu", "wide"]
