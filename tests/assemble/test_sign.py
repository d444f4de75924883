"""C2PA signing: a signed film validates; one changed byte makes it invalid."""

from __future__ import annotations

import datetime as dt
import json
import struct
from pathlib import Path

import pytest

from studio.assemble.sign import SigningError, manifest_for, sign_film, signing_config, verify_film
from tests.conftest import MINIMAL, run_studio, small


def make_signing_chain(folder: Path) -> dict[str, Path]:
    """A throwaway ES256 chain the way C2PA wants it: a root CA and a signer with
    digitalSignature and emailProtection, both made here (nothing is fetched)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "studio tests")])

    def usage(**on: bool) -> x509.KeyUsage:
        flags = {"digital_signature": False, "content_commitment": False, "key_encipherment": False,
                 "data_encipherment": False, "key_agreement": False, "key_cert_sign": False, "crl_sign": False,
                 "encipher_only": False, "decipher_only": False}
        return x509.KeyUsage(**{**flags, **on})

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("studio test root")).issuer_name(name("studio test root"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    signer = (x509.CertificateBuilder().subject_name(name("studio test signer")).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(usage(digital_signature=True), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = {"cert": folder / "chain.pem", "key": folder / "signer.key", "root": folder / "root.pem"}
    paths["cert"].write_bytes(signer.public_bytes(pem) + ca.public_bytes(pem))
    paths["key"].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    paths["root"].write_bytes(ca.public_bytes(pem))
    return paths


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> dict[str, Path]:
    return make_signing_chain(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def film(tmp_path_factory) -> Path:
    """A short rendered film with its render report beside it."""
    from studio.run.local import render_film
    from studio.screenplay import parse_screenplay

    root = tmp_path_factory.mktemp("signed")
    screenplay = small(parse_screenplay(MINIMAL, str(root / "film.yaml"), base_dir=root))
    return render_film(screenplay, root / "out", cache_dir=root / "cache", name="film", audio=False).film


def box_offsets(data: bytes) -> dict[bytes, tuple[int, int]]:
    """Top-level MP4 boxes: type -> (payload start, end)."""
    out, off = {}, 0
    while off < len(data):
        size, kind = struct.unpack(">I4s", data[off:off + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[off + 8:off + 16])[0], 16
        out.setdefault(kind, (off + head, off + size))
        off += size
    return out


def flipped(src: Path, dst: Path, where: bytes, fraction: float = 0.5) -> Path:
    data = bytearray(src.read_bytes())
    start, end = box_offsets(bytes(data))[where]
    data[start + int((end - start) * fraction)] ^= 0x01
    dst.write_bytes(bytes(data))
    return dst


def test_a_signed_film_validates_and_one_changed_byte_breaks_it(film, chain, tmp_path):
    signed = sign_film(film, signing_config(chain["key"], chain["cert"]), tmp_path / "signed.mp4")
    result = verify_film(signed)
    assert result.state == "Valid" and result.ok
    assert verify_film(signed, trust_anchors=chain["root"]).state == "Trusted"
    manifest = result.manifest
    assert manifest["claim_generator_info"][0]["name"] == "studio"
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))
    assert actions["data"]["actions"][0]["action"] == "c2pa.created"
    # one byte of the pictures: the hash of the media no longer matches
    bad = verify_film(flipped(signed, tmp_path / "bad-mdat.mp4", b"mdat"))
    assert bad.state == "Invalid" and not bad.ok
    assert "assertion.bmffHash.mismatch" in bad.failures
    # one byte of the index (here it breaks the box structure: unreadable is invalid too)
    bad = verify_film(flipped(signed, tmp_path / "bad-moov.mp4", b"moov"))
    assert bad.state == "Invalid" and not bad.ok and bad.failures
    assert verify_film(film).state is None  # the unsigned original carries no credentials


def test_sign_and_verify_commands(film, chain, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "out" / "film.mp4"
    copy.parent.mkdir()
    shutil.copy(film, copy)
    report = json.loads((film.parent / "render-report.json").read_text())
    report["outputs"]["film"] = str(copy)
    (copy.parent / "render-report.json").write_text(json.dumps(report))
    monkeypatch.delenv("STUDIO_SIGN_KEY", raising=False)
    monkeypatch.setenv("STUDIO_SIGNING", str(tmp_path / "nowhere.toml"))
    unconfigured = run_studio("sign", str(copy))
    assert unconfigured.returncode == 1 and "no signing key and certificate are configured" in unconfigured.stderr
    monkeypatch.setenv("STUDIO_SIGN_KEY", str(chain["key"]))
    monkeypatch.setenv("STUDIO_SIGN_CERT", str(chain["cert"]))
    signed = run_studio("sign", str(copy))
    assert signed.returncode == 0, signed.stderr
    assert "signed" in signed.stdout
    # in place, and the report beside it now records the signed size
    after = json.loads((copy.parent / "render-report.json").read_text())
    assert after["output_sizes"]["film"] == copy.stat().st_size and after["signed"]["alg"] == "es256"
    ok = run_studio("verify", str(copy), "--trust", str(chain["root"]))
    assert ok.returncode == 0 and "trusted" in ok.stdout
    bad = run_studio("verify", str(flipped(copy, tmp_path / "bad.mp4", b"mdat", 0.3)))
    assert bad.returncode == 1 and "invalid" in bad.stdout and "Traceback" not in bad.stderr


def test_signing_settings_from_a_config_file(chain, tmp_path, monkeypatch):
    monkeypatch.delenv("STUDIO_SIGN_KEY", raising=False)
    monkeypatch.delenv("STUDIO_SIGN_CERT", raising=False)
    conf = chain["key"].parent / "signing.toml"
    conf.write_text(f'key = "{chain["key"].name}"\ncert = "{chain["cert"].name}"\nalg = "ES256"\n')
    monkeypatch.setenv("STUDIO_SIGNING", str(conf))
    config = signing_config()
    assert (config.key, config.cert, config.alg, config.source) == (chain["key"], chain["cert"], "es256", str(conf))
    with pytest.raises(SigningError, match="unknown signing algorithm"):
        signing_config(alg="md5")
    with pytest.raises(SigningError, match="does not exist"):
        signing_config(tmp_path / "no.key", chain["cert"])


def test_the_manifest_names_the_likenesses(tmp_path):
    report = {"title": "T", "backend": {"name": "animatic"},
              "likenesses": [{"name": "astro", "consent": "consent-1", "characters": ["mara"], "person": "E"}]}
    manifest = manifest_for(tmp_path / "t.mp4", report)
    ours = next(a for a in manifest["assertions"] if a["label"] == "org.studio.film")
    assert ours["data"]["likenesses"] == [{"name": "astro", "consent": "consent-1", "characters": ["mara"]}]
    action = manifest["assertions"][0]["data"]["actions"][0]
    assert action["digitalSourceType"].endswith("/compositeSynthetic")
    assert manifest_for(tmp_path / "t.mp4", {"backend": {"name": "diffusers"}})["assertions"][0]["data"][
        "actions"][0]["digitalSourceType"].endswith("/trainedAlgorithmicMedia")
    with pytest.raises(SigningError, match="MP4 and MOV"):
        manifest_for(tmp_path / "t.mkv", None)
