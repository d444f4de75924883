"""The example film with Mara cast as a real face: identity QA, provenance, removal."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from studio.consistency.cast import apply_cast, cast_film
from studio.consistency.likeness import LikenessError, LikenessStore
from studio.consistency.qa import framed
from studio.errors import StudioError
from studio.graph.scene_graph import SceneGraph
from studio.render.backend import Conditioning
from studio.render.plan import plan_film
from studio.run.identity import remove_likeness
from studio.run.local import _identities_for, render_film
from tests.conftest import EXAMPLE, SMALL, run_studio
from tests.consistency.conftest import CONSENT, lamp


def test_identity_qa_finds_the_cast_face_in_every_shot_framing_it(cast_lamp):
    _screenplay, result, root, _store, seconds = cast_lamp
    report = json.loads((root / "out" / "render-report.json").read_text())
    qa = report["identity_qa"]
    framing_mara = [p.shot_id for p in result.plans if "mara" in framed(p)]
    # medium, close-ups, medium close-ups and the over-the-shoulders facing her
    assert len(framing_mara) >= 7
    distances = {}
    for sid in framing_mara:
        mara = next(c for c in qa[sid]["characters"] if c["character_id"] == "mara")
        assert mara["framed"] and mara["found"] >= 1, (sid, mara)
        assert mara["distance"] <= 0.6, (sid, mara)
        assert mara["status"] == "ok" and mara["likeness"] == "astro"
        distances[sid] = mara["distance"]
    assert not any(c["flagged"] for c in qa.values())
    # every shot with Mara in it was checked (inserts hold no people); the others were not
    present = {p.shot_id for p in result.plans if any(m.id == "mara" for m in p.present) and p.size != "insert"}
    assert set(qa) == present
    # the scores reached the manifest (`studio takes` shows them)
    from studio.cache.manifest import Manifest

    manifest = Manifest(root / "cache")
    for clip in result.clips:
        if clip.shot_id in framing_mara:
            record = manifest.render(clip.key)
            assert record.qa_score == pytest.approx(qa[clip.shot_id]["score"]) and record.qa_flagged == 0
    manifest.close()
    print("\nQA distances (mara, framed):", json.dumps(distances), "timings:", seconds)


def test_the_film_records_the_likeness_and_its_consent(cast_lamp):
    _screenplay, result, root, store, _ = cast_lamp
    likeness = store.get("astro")
    report = json.loads((root / "out" / "render-report.json").read_text())
    assert report["likenesses"] == [{"name": "astro", "consent": likeness.consent.id, "person": "Eileen Collins",
                                     "recorded_at": likeness.consent.recorded_at, "characters": ["mara"]}]
    exe = shutil.which("ffprobe")
    if exe is None:
        pytest.skip("ffprobe is not installed")
    tags = json.loads(subprocess.run([exe, "-v", "error", "-show_format", "-of", "json", str(result.film)],
                                     capture_output=True, text=True, check=True).stdout)["format"]["tags"]
    assert f"likeness: astro ({likeness.consent.id}) as mara" in tags["comment"]
    assert tags["comment"].startswith("AI-generated")


def test_the_qa_command_reports_every_shot_and_sheets_the_flagged(cast_lamp, tmp_path, monkeypatch):
    screenplay, result, root, store, _ = cast_lamp
    from studio.cache.lockfile import LockedShot, Lockfile

    # `studio qa` reads the lockfile a CLI render writes beside the screenplay
    film = tmp_path / "the-last-lamp.yaml"
    film.write_text(EXAMPLE.read_text())
    lock = Lockfile(Lockfile.beside(film))
    lock.shots = {p.shot_id: LockedShot(1, p.seed, c.key, c.sha256) for p, c in zip(result.plans, result.clips)}
    lock.save()
    monkeypatch.setenv("STUDIO_LIKENESSES", str(store.root))
    args = ["qa", str(film), "--cast", "mara=astro", "--cache", str(root / "cache")]
    ok = run_studio(*args, "--json", "-o", str(tmp_path / "ok.png"))
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["flagged"] == [] and not (tmp_path / "ok.png").exists()
    assert {r["shot"] for r in data["shots"]} == {p.shot_id for p in result.plans}
    # a stricter threshold flags the shots whose face is further than it, with a contact sheet
    strict = run_studio(*args, "--threshold", "0.3", "-o", str(tmp_path / "flagged.png"))
    assert strict.returncode == 0, strict.stderr
    assert "flagged" in strict.stdout and "drift" in strict.stdout
    assert (tmp_path / "flagged.png").is_file()
    from PIL import Image

    with Image.open(tmp_path / "flagged.png") as sheet:
        assert sheet.size[0] > 500

    # approving banks the best face of every shot that passed; it joins Mara's references
    approved = run_studio(*args, "--approve", "--json", "-o", str(tmp_path / "ok.png"))
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["approved"] >= 7
    from studio.consistency.bank import ReferenceBank

    bank = ReferenceBank(root / "cache", str(film.resolve()), "mara")
    entries = bank.entries()
    assert len(entries) >= 7 and all(e.distance <= 0.6 and e.consent == store.get("astro").consent.id
                                      for e in entries)
    identity = cast_film(screenplay, cache_dir=root / "cache", film_id=str(film.resolve()), store=store)
    assert [str(p) for p, _sha in bank.references()] == list(identity.identities["mara"].references[1:])
    # removing the likeness takes its approved faces out of the banks too
    from studio.consistency.bank import remove_consent_everywhere

    assert remove_consent_everywhere(root / "cache", "consent-unrelated") == 0


def test_removing_the_likeness_invalidates_exactly_the_shots_with_its_character(tmp_path, photos, monkeypatch):
    store = LikenessStore(tmp_path / "likenesses")
    monkeypatch.setenv("STUDIO_LIKENESSES", str(store.root))
    likeness = store.add("astro", [photos["astronaut"]], CONSENT)
    screenplay = apply_cast(lamp(SMALL), {"mara": "astro"})
    cache = tmp_path / "cache"
    first = render_film(screenplay, tmp_path / "out", cache_dir=cache, name="f", audio=False)
    with_mara = {p.shot_id for p in first.plans if any(m.id == "mara" for m in p.present)}
    assert with_mara and len(with_mara) < len(first.plans)

    removal = remove_likeness("astro", store=store, caches=[cache])
    dropped = {k for keys in removal.dropped.values() for k in keys}
    by_key = {c.key: c.shot_id for c in first.clips}
    assert {by_key[k] for k in dropped} == with_mara and len(dropped) == len(with_mara)
    assert not likeness.folder.exists() and store.names() == []
    from studio.cache.store import ShotStore

    shots = ShotStore(cache)
    for clip in first.clips:  # the other shots stay cached; the dropped ones are gone, files and all
        assert (shots.get(clip.key) is None) == (clip.shot_id in with_mara)
        assert clip.path.exists() == (clip.shot_id not in with_mara)
    shots.manifest.close()

    # casting it again is a clear error; uncast, exactly those shots render again
    with pytest.raises(LikenessError, match="no likeness 'astro' is enrolled"):
        render_film(screenplay, tmp_path / "out", cache_dir=cache, name="f", audio=False)
    again = render_film(lamp(SMALL), tmp_path / "out", cache_dir=cache, name="f", audio=False)
    assert set(again.report["rendered"]) == with_mara


def test_the_cast_face_is_in_the_cache_key_of_exactly_its_characters_shots(tmp_path, photos):
    store = LikenessStore(tmp_path / "likenesses")
    store.add("astro", [photos["astronaut"]], CONSENT)
    plain = lamp(SMALL)
    plans = plan_film(SceneGraph.from_screenplay(plain))
    uncast = cast_film(plain, store=store).identities
    cast = cast_film(apply_cast(plain, {"mara": "astro"}), store=store).identities
    assert cast["mara"].embedding and cast["mara"].face and cast["mara"].consent
    assert cast["theo"] == uncast["theo"]
    for plan in plans:
        a = Conditioning(identities=_identities_for(plan, uncast)).key_data()
        b = Conditioning(identities=_identities_for(plan, cast)).key_data()
        assert (a != b) == any(m.id == "mara" for m in plan.present), plan.shot_id
    # the key cites the face by content, not by where the store happens to be
    moved = tmp_path / "elsewhere"
    shutil.copytree(store.root, moved)
    recast = cast_film(apply_cast(plain, {"mara": "astro"}), store=LikenessStore(moved)).identities
    assert Conditioning(identities=recast).key_data() == Conditioning(identities=cast).key_data()


def test_casting_errors_are_clear(tmp_path, photos, store):
    plain = lamp(SMALL)
    with pytest.raises(StudioError, match="no character 'marra'"):
        apply_cast(plain, ["marra=astro"])
    with pytest.raises(StudioError, match="is not CHARACTER=NAME"):
        apply_cast(plain, ["mara"])
    with pytest.raises(LikenessError) as err:
        cast_film(apply_cast(plain, ["mara=astro"]))
    assert "character 'mara'" in str(err.value) and "none are enrolled yet" in str(err.value)
    store.add("astro", [photos["astronaut"]], CONSENT)
    store.add("astro2", [photos["mirror"]], CONSENT)
    with pytest.raises(LikenessError) as err:
        cast_film(apply_cast(plain, ["mara=nobody"]))
    assert "enrolled likenesses: astro, astro2" in str(err.value)
    run = run_studio("render", str(EXAMPLE), "--cast", "mara=nobody", "--silent", "--cache", str(tmp_path / "c"),
                     "-o", str(tmp_path / "o"), "--quiet")
    assert run.returncode == 1 and "no likeness 'nobody' is enrolled" in run.stderr and "astro2" in run.stderr


def test_an_inline_likeness_is_enrolled_into_the_cache(tmp_path, photos):
    from studio.screenplay import load_screenplay

    shutil.copy(photos["astronaut"], tmp_path / "mara.jpg")
    text = EXAMPLE.read_text().replace(
        "    voice: {engine: piper, rate: 0.95, pitch: -3, seed: 11}\n",
        "    voice: {engine: piper, rate: 0.95, pitch: -3, seed: 11}\n"
        "    likeness: {photos: [mara.jpg], consent: \"I agree to play Mara.\"}\n", 1)
    (tmp_path / "film.yaml").write_text(text)
    screenplay = load_screenplay(tmp_path / "film.yaml")
    cast = cast_film(screenplay, cache_dir=tmp_path / "cache")
    likeness = cast.likenesses["mara"]
    assert likeness.inline and likeness.folder.parent == tmp_path / "cache" / "likenesses"
    assert cast.identities["mara"].embedding and cast.identities["mara"].consent == likeness.consent.id
    assert not (likeness.folder / "photos").exists()  # the photos stay beside the screenplay
    # the same photos and words are the same consent: enrolled once
    again = cast_film(screenplay, cache_dir=tmp_path / "cache").likenesses["mara"]
    assert again.consent.id == likeness.consent.id and again.folder == likeness.folder
    # withdrawn like any other, by the name the render report shows
    removal = remove_likeness(likeness.name, store=LikenessStore(tmp_path / "likenesses"), caches=[tmp_path / "cache"])
    assert removal.likeness.consent.id == likeness.consent.id and not likeness.folder.exists()
    # a bad inline photo names the character and the photo
    (tmp_path / "mara.jpg").write_bytes(photos["two"].read_bytes())
    with pytest.raises(LikenessError, match=r"character 'mara': likeness: mara.jpg: 2 faces found"):
        cast_film(load_screenplay(tmp_path / "film.yaml"), cache_dir=tmp_path / "cache2")


def test_the_signed_film_carries_its_likeness_in_its_credentials(cast_lamp, tmp_path):
    from studio.assemble.sign import sign_film, signing_config, verify_film
    from tests.assemble.test_sign import make_signing_chain

    _screenplay, result, _root, store, _ = cast_lamp
    chain = make_signing_chain(tmp_path)
    signed = sign_film(result.film, signing_config(chain["key"], chain["cert"]), tmp_path / "signed.mp4")
    check = verify_film(signed, trust_anchors=chain["root"])
    assert check.state == "Trusted"
    ours = next(a for a in check.manifest["assertions"] if a["label"] == "org.studio.film")
    assert ours["data"]["likenesses"] == [{"name": "astro", "consent": store.get("astro").consent.id,
                                           "characters": ["mara"]}]
