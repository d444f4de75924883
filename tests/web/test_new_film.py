"""A new film from the browser (studio.web.new_film and /api/new/...): from a template
or an uploaded screenplay, written only into the project folder, checked first, never
over an existing file unless asked, and only with the token; then served."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from studio.errors import ScreenplayError
from studio.screenplay import load_screenplay
from studio.screenplay.safe_yaml import MAX_BYTES
from studio.web.new_film import from_template, from_upload, import_suffixes, importer_for
from studio.web.safety import TOKEN_HEADER, WebError
from tests.web.conftest import request, studio_for

SCRIPT = b"""Title: The Night Ferry

INT. FERRY CABIN - NIGHT

Ana watches the harbour lights slide away.

ANA
(quietly)
We are not coming back.

EXT. DECK - CONTINUOUS

BEN
Then we had better like the sea.
"""


def test_a_template_becomes_a_screenplay_in_the_project_titled_as_asked(tmp_path):
    path = from_template(tmp_path, "The Night Ferry: Part 1", "starter")
    assert path == tmp_path.resolve() / "the-night-ferry-part-1.yaml"
    assert load_screenplay(path).film.title == "The Night Ferry: Part 1"
    before = path.read_bytes()
    with pytest.raises(WebError) as refused:
        from_template(tmp_path, "the night ferry part 1", "starter")  # the same file name
    assert refused.value.status == 409 and "already exists" in refused.value.message
    assert path.read_bytes() == before
    again = from_template(tmp_path, "The Night Ferry Part 1", "starter", overwrite=True)
    assert again == path and load_screenplay(path).film.title == "The Night Ferry Part 1"
    with pytest.raises(WebError, match="no template named 'nope'"):
        from_template(tmp_path, "Other", "nope")


def test_a_name_cannot_leave_the_project_or_replace_a_link(tmp_path):
    project, outside = tmp_path / "film", tmp_path / "elsewhere"
    project.mkdir()
    outside.mkdir()
    path = from_template(project, "../elsewhere/escape", "starter")
    assert path.parent == project.resolve() and path.name == "elsewhere-escape.yaml"
    assert list(outside.iterdir()) == []
    victim = outside / "victim.yaml"
    victim.write_text("mine\n", encoding="utf-8")
    os.symlink(victim, project / "linked.yaml")
    with pytest.raises(WebError, match="not a plain file"):
        from_template(project, "linked", "starter", overwrite=True)
    assert victim.read_text(encoding="utf-8") == "mine\n" and (project / "linked.yaml").is_symlink()
    with pytest.raises(WebError, match="cannot make a file name"):
        from_template(project, "../..", "starter")


def test_an_uploaded_fountain_file_is_imported_as_yaml(tmp_path):
    path = from_upload(tmp_path, "C:\\drafts\\ferry.fountain", SCRIPT)
    assert path == tmp_path.resolve() / "ferry.yaml"
    screenplay = load_screenplay(path)
    assert screenplay.film.title == "The Night Ferry"
    assert [c.id for c in screenplay.characters] == ["ana", "ben"]
    assert len(screenplay.scenes) == 2
    named = from_upload(tmp_path, "ferry.fountain", SCRIPT, name="Ferry, second draft")
    assert named.name == "ferry-second-draft.yaml"


def test_an_upload_goes_through_the_importers_guards(tmp_path):
    with pytest.raises(ScreenplayError, match="binary file"):
        from_upload(tmp_path, "x.fountain", b"\x00\x01" * 100)
    with pytest.raises(ScreenplayError, match="YAML screenplay"):
        from_upload(tmp_path, "x.fountain", b"version: 1\nfilm:\n  title: x\nscenes: []\n")
    with pytest.raises(WebError) as big:
        from_upload(tmp_path, "x.fountain", b"a" * (MAX_BYTES + 1))
    assert big.value.status == 413
    assert list(tmp_path.iterdir()) == []


def test_the_importer_is_chosen_by_suffix_and_an_unknown_one_names_the_known(tmp_path):
    assert importer_for("draft.FOUNTAIN").__name__ == "import_fountain"
    for name in ("notes.docx", "script", "film.yaml"):
        with pytest.raises(WebError) as refused:
            importer_for(name)
        assert refused.value.status == 400
        assert all(suffix in refused.value.message for suffix in import_suffixes())
    assert importer_for("draft.fdx").__name__ == "import_fdx"


def test_a_final_draft_upload_becomes_a_film_and_a_hostile_one_writes_nothing(tmp_path):
    from studio.screenplay import load_screenplay

    fixture = Path(__file__).parents[1] / "screenplay" / "fixtures" / "river-years.fdx"
    path = from_upload(tmp_path, "river-years.fdx", fixture.read_bytes())
    assert path == tmp_path / "river-years.yaml"
    screenplay = load_screenplay(path)
    assert screenplay.scenes and screenplay.characters
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              b"<FinalDraft><Content><Paragraph><Text>&lol2;</Text></Paragraph></Content></FinalDraft>")
    with pytest.raises(ScreenplayError, match="DOCTYPE"):
        from_upload(tmp_path, "laughs.fdx", laughs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["river-years.yaml"]


@pytest.fixture
def served_new(tmp_path):
    """A studio serving a starter film (nothing rendered) in a folder of its own."""
    from studio.web.server import start_background

    path = from_template(tmp_path, "First", "starter")
    running = start_background(studio_for(path))
    yield running, path
    running.stop()


def test_a_new_film_needs_the_token_and_its_origin(served_new):
    running, path = served_new
    body = {"name": "Second", "template": "starter"}
    for headers in ({}, {TOKEN_HEADER: "nope"}, {TOKEN_HEADER: running.studio.token, "Origin": "http://evil.example"}):
        assert request(running.url, "/api/new/template", method="POST", body=body, headers=headers)[0] == 403
        status, _h, _p = request(running.url, "/api/new/upload?filename=x.fountain", method="POST", body=SCRIPT,
                                 headers={"Content-Type": "application/octet-stream", **headers})
        assert status == 403
    assert sorted(p.name for p in path.parent.glob("*.yaml")) == ["first.yaml"]
    assert running.studio.config.file == path


def test_a_new_film_from_a_template_is_written_and_served(served_new):
    running, path = served_new
    token = {TOKEN_HEADER: running.studio.token}
    status, _h, payload = request(running.url, "/api/new/template", method="POST",
                                  body={"name": "Second Film", "template": "starter"}, headers=token)
    assert status == 200, payload
    assert json.loads(payload) == {"file": "second-film.yaml", "editor": "/editor", "title": "Second Film"}
    made = path.parent.resolve() / "second-film.yaml"
    assert running.studio.config.file == made and running.studio.config.name == "second-film"
    status, _h, payload = request(running.url, "/api/source")
    assert json.loads(payload)["text"] == made.read_text(encoding="utf-8")
    status, _h, page = request(running.url, "/editor")
    assert status == 200 and b"second-film.yaml" in page and b"Second Film" in page
    # the same name again: refused, nothing changed
    status, _h, payload = request(running.url, "/api/new/template", method="POST",
                                  body={"name": "second film", "template": "starter"}, headers=token)
    assert status == 409 and b"already exists" in payload


def test_an_uploaded_film_is_written_and_served_and_a_bad_one_is_not(served_new):
    running, path = served_new
    headers = {TOKEN_HEADER: running.studio.token, "Content-Type": "application/octet-stream"}
    status, _h, payload = request(running.url, "/api/new/upload?filename=ferry.fountain&name=Ferry", method="POST",
                                  body=SCRIPT, headers=headers)
    assert status == 200, payload
    assert json.loads(payload)["file"] == "ferry.yaml"
    assert running.studio.config.file.name == "ferry.yaml"
    assert running.studio.current_screenplay().film.title == "The Night Ferry"
    assert [s.shot_id for s in running.studio.status().shots] == ["s1-01", "s1-02", "s2-01", "s2-02"]
    assert running.studio.config.output_dir == path.parent / "ferry"  # beside the first film's, not in it
    status, _h, payload = request(running.url, "/api/new/upload?filename=notes.docx", method="POST",
                                  body=b"PK\x03\x04", headers=headers)
    assert status == 400 and b".fountain" in payload
    status, _h, payload = request(running.url, "/api/new/upload?filename=junk.fountain", method="POST",
                                  body=b"\x00" * 64, headers=headers)
    assert status == 400 and b"binary" in payload
    assert not (path.parent / "junk.yaml").exists() and running.studio.config.file.name == "ferry.yaml"


def test_a_new_film_waits_for_the_jobs_of_this_one(served_new):
    running, path = served_new
    studio = running.studio
    from studio.web.session import Job

    with studio._lock:
        waiting = Job(999, "render", "render stale shots", {"shots": []}, state="running")
        studio.jobs.append(waiting)
    try:
        status, _h, payload = request(running.url, "/api/new/template", method="POST",
                                      body={"name": "Third", "template": "starter"},
                                      headers={TOKEN_HEADER: studio.token})
        assert status == 409 and b"not finished" in payload
        assert studio.config.file == path and not (path.parent / "third.yaml").exists()
    finally:
        waiting.state = "done"
