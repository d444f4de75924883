"""Likeness enrolment: exactly one face per photo, consent recorded, clear errors."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from studio.consistency import faces
from studio.consistency.likeness import LikenessError, LikenessStore, default_store_dir, read_likeness
from tests.conftest import run_studio
from tests.consistency.conftest import CONSENT


def test_enrolment_yields_one_embedding_a_face_crop_and_a_consent_record(store, photos):
    likeness = store.add("astro", [photos["astronaut"]], CONSENT, person="Eileen Collins")
    assert len(likeness.photos) == 1
    photo = likeness.photos[0]
    assert len(photo.embedding) == 128 and len(likeness.embedding) == 128
    assert photo.score > 1.0 and photo.box[2] - photo.box[0] > 64
    # the crop is the face: dlib finds it again, as the same person
    from PIL import Image

    crop = np.asarray(Image.open(likeness.face).convert("RGB"))
    found = faces.detect(crop)
    assert len(found) == 1
    assert faces.distance(faces.embed(crop, found[0]), likeness.embedding) < 0.3
    # the photo is kept byte for byte, and the consent names who, when, what and which photos
    kept = likeness.folder / photo.photo
    assert kept.read_bytes() == photos["astronaut"].read_bytes()
    consent = likeness.consent
    assert consent.person == "Eileen Collins" and consent.statement == CONSENT
    assert consent.recorded_at.endswith("+00:00") and "@" in consent.recorded_by
    assert consent.photos == (photo.sha256,) and consent.id.startswith("consent-")
    record = json.loads((likeness.folder / "likeness.json").read_text())
    assert record["consent"]["id"] == consent.id
    # private to the user
    assert stat.S_IMODE(os.stat(store.root).st_mode) == 0o700
    assert read_likeness(likeness.folder) == likeness
    assert store.names() == ["astro"]


def test_several_photos_of_one_person_average_their_embeddings(store, photos):
    likeness = store.add("astro", [photos["astronaut"], photos["mirror"]], CONSENT)
    assert len(likeness.photos) == 2
    a, b = (np.array(p.embedding) for p in likeness.photos)
    assert faces.distance(a, b) < 0.3  # a mirrored face is the same person
    assert np.allclose(likeness.embedding, (a + b) / 2)


@pytest.mark.parametrize("photo, message", [
    ("coffee", "no face found"),
    ("two", "2 faces found; a likeness photo must show exactly one person"),
    ("small", "the face is too small"),
    ("truncated", "the image is corrupt or truncated"),
    ("garbage", "not an image"),
    ("notes", "not an image"),
    ("missing", "cannot read the file"),
])
def test_a_photo_that_cannot_be_used_is_a_clear_error(store, photos, photo, message):
    with pytest.raises(LikenessError) as err:
        store.add("astro", [photos[photo]], CONSENT)
    assert str(photos[photo]) in str(err.value) and message in str(err.value)
    assert err.value.hint
    assert store.names() == []  # nothing half-enrolled


def test_every_bad_photo_is_reported_at_once(store, photos):
    with pytest.raises(LikenessError) as err:
        store.add("astro", [photos["astronaut"], photos["two"], photos["coffee"]], CONSENT)
    text = str(err.value)
    assert "2 of 3 photos cannot be used" in text and "two.png" in text and "coffee.png" in text
    assert "astronaut" not in text


def test_names_consent_and_duplicates(store, photos):
    with pytest.raises(LikenessError, match="not a likeness name"):
        store.add("Astro Naut", [photos["astronaut"]], CONSENT)
    with pytest.raises(LikenessError, match="consent statement is empty"):
        store.add("astro", [photos["astronaut"]], "   ")
    store.add("astro", [photos["astronaut"]], CONSENT)
    with pytest.raises(LikenessError, match="already enrolled"):
        store.add("astro", [photos["astronaut"]], CONSENT)


def test_an_unknown_likeness_lists_the_enrolled_ones(store, photos):
    store.add("astro", [photos["astronaut"]], CONSENT)
    with pytest.raises(LikenessError) as err:
        store.get("nobody")
    assert "no likeness 'nobody' is enrolled" in str(err.value) and "enrolled likenesses: astro" in err.value.hint


def test_the_store_location(tmp_path, monkeypatch):
    monkeypatch.delenv("STUDIO_LIKENESSES", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_store_dir() == tmp_path / "data" / "studio" / "likenesses"
    monkeypatch.setenv("STUDIO_LIKENESSES", str(tmp_path / "mine"))
    assert default_store_dir() == tmp_path / "mine" and LikenessStore().root == tmp_path / "mine"
    assert default_store_dir(tmp_path / "explicit") == tmp_path / "explicit"


def test_the_likeness_commands(store, photos):
    ok = run_studio("likeness", "add", "astro", str(photos["astronaut"]), "--consent", CONSENT)
    assert ok.returncode == 0, ok.stderr
    assert "enrolled astro: 1 photo" in ok.stdout
    listed = run_studio("likeness", "list", "--json")
    data = json.loads(listed.stdout)
    assert [lk["name"] for lk in data["likenesses"]] == ["astro"]
    assert data["likenesses"][0]["consent"]["statement"] == CONSENT
    bad = run_studio("likeness", "add", "pair", str(photos["two"]), "--consent", CONSENT)
    assert bad.returncode == 1 and "2 faces found" in bad.stderr and "Traceback" not in bad.stderr
    missing = run_studio("likeness", "add", "x", str(photos["astronaut"]))
    assert missing.returncode == 2 and "--consent" in missing.stderr
    gone = run_studio("likeness", "remove", "astro", "--cache", str(store.root.parent / "cache"))
    assert gone.returncode == 0, gone.stderr
    assert store.names() == [] and not (store.root / "astro").exists()
    removed = [json.loads(line) for line in (store.root / "removed.jsonl").read_text().splitlines()]
    assert removed[0]["name"] == "astro" and removed[0]["consent"] == data["likenesses"][0]["consent"]["id"]
    again = run_studio("likeness", "remove", "astro")
    assert again.returncode == 1 and "no likeness 'astro'" in again.stderr
