"""The title page becomes the film's credits: a byline under the opening title and the
file's tags."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from studio.screenplay.title_page import credit_tags, opening_credit
from tests.conftest import small

FIXTURE = Path(__file__).parent / "fixtures" / "river-years.fountain"


def test_the_byline_and_the_tags_come_from_the_title_page():
    page = {"Credit": "Written by", "Author": "Ada Quill", "Source": "based on a story", "Contact": "ada@x"}
    assert opening_credit(page) == "Written by Ada Quill"
    assert opening_credit({"Author": "Ada Quill"}) == "by Ada Quill"
    assert opening_credit({"Credit": "Written by"}) == ""  # nobody to credit: no byline
    assert credit_tags(page) == {"artist": "Ada Quill", "synopsis": "based on a story"}  # never the contact


def test_the_byline_is_drawn_under_the_title():
    from studio.render.animatic.overlays import film_title

    plain = film_title("The River Years", 320, 180)
    credited = film_title("The River Years", 320, 180, "Written by Ada Quill")
    a, b = np.asarray(plain.overlay.image), np.asarray(credited.overlay.image)
    rows = np.nonzero((a != b).any(axis=(1, 2)))[0]
    assert rows.size and rows.min() > 180 * 0.44  # only below the title's rule


def test_a_rendered_film_opens_with_the_credit_and_carries_the_tags(tmp_path: Path):
    from studio.graph.scene_graph import SceneGraph
    from studio.render.plan import plan_film
    from studio.run.local import render_film
    from studio.screenplay import load_screenplay

    screenplay = small(load_screenplay(FIXTURE))
    plans = plan_film(SceneGraph.from_screenplay(screenplay))
    assert plans[0].film_credit == "Written by Ada Quill" and "film_credit" in plans[0].key_data()
    assert all(not p.film_credit and "film_credit" not in p.key_data() for p in plans[1:])
    result = render_film(screenplay, tmp_path / "out", cache_dir=tmp_path / "cache", name="river", audio=False)
    probe = shutil.which("ffprobe")
    assert probe is not None
    info = json.loads(subprocess.run([probe, "-v", "error", "-print_format", "json", "-show_format",
                                      str(result.film)], capture_output=True, text=True, check=True).stdout)
    tags = {k.lower(): v for k, v in info["format"]["tags"].items()}
    assert tags["artist"] == "Ada Quill" and tags["title"] == "The River Years"
    assert tags["synopsis"] == "an original screenplay for the studio test suite"
