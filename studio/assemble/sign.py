"""Content Credentials: signing the finished film with C2PA (``c2pa-python``).

``studio sign FILE.mp4`` embeds a C2PA manifest that says the film was made by studio
(an ``c2pa.created`` action with the IPTC digital source type), with the backend and,
when the film casts a likeness, each likeness's name and consent id (read from the
``render-report.json`` beside the film). Any later change to the file's bytes makes
validation fail, so signing is the last step: nothing may remux the film after it.
The film is signed in place (a temporary file moved over it); the render report's
recorded size is updated so an unchanged re-render keeps the signed film.

The key and certificate chain (PEM) come from, in order:

1. ``--key`` / ``--cert`` (and ``--alg``, ``--tsa``) on the command line;
2. ``STUDIO_SIGN_KEY``, ``STUDIO_SIGN_CERT``, ``STUDIO_SIGN_ALG``, ``STUDIO_SIGN_TSA``;
3. a TOML file, ``$STUDIO_SIGNING`` or ``~/.config/studio/signing.toml``
   (``$XDG_CONFIG_HOME`` respected), with ``key``, ``cert``, ``alg`` and ``tsa_url``;
   relative paths are relative to the file.

``alg`` defaults to ``es256``; ``tsa_url`` (a RFC 3161 time-stamp authority) is
optional: without it signing needs no network at all.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio import __version__
from studio.atomic import atomic_output, write_text
from studio.errors import StudioError

KEY_ENV, CERT_ENV, ALG_ENV, TSA_ENV = "STUDIO_SIGN_KEY", "STUDIO_SIGN_CERT", "STUDIO_SIGN_ALG", "STUDIO_SIGN_TSA"
CONFIG_ENV = "STUDIO_SIGNING"
ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
FORMATS = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime"}
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
ASSERTION = "org.studio.film"  # our own assertion: backend and likenesses


class SigningError(StudioError):
    """A film that cannot be signed or checked."""


@dataclass(frozen=True)
class SigningConfig:
    key: Path
    cert: Path
    alg: str = "es256"
    tsa_url: str | None = None
    source: str = ""  # where the settings came from


def config_file() -> Path:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "studio" / "signing.toml"


def signing_config(key: str | Path | None = None, cert: str | Path | None = None, alg: str | None = None,
                   tsa_url: str | None = None) -> SigningConfig:
    """The signing settings: options, else environment, else the config file."""
    source = "the command line"
    if not (key and cert):
        if os.environ.get(KEY_ENV) and os.environ.get(CERT_ENV):
            key, cert = key or os.environ[KEY_ENV], cert or os.environ[CERT_ENV]
            source = f"${KEY_ENV} and ${CERT_ENV}"
        else:
            path = config_file()
            data: dict[str, Any] = {}
            if path.is_file():
                try:
                    data = tomllib.loads(path.read_text(encoding="utf-8"))
                except (OSError, tomllib.TOMLDecodeError) as exc:
                    raise SigningError(f"{path}: cannot read the signing settings ({exc})",
                                       hint="it holds key = \"...\", cert = \"...\" and optionally alg, tsa_url") from None
            if not (key or data.get("key")) or not (cert or data.get("cert")):
                raise SigningError(
                    "no signing key and certificate are configured",
                    hint=f"pass --key KEY.pem --cert CHAIN.pem, set ${KEY_ENV} and ${CERT_ENV}, or write {path} "
                         "with key = \"...\" and cert = \"...\"",
                )
            key = key or (path.parent / Path(data["key"]).expanduser())
            cert = cert or (path.parent / Path(data["cert"]).expanduser())
            alg = alg or data.get("alg")
            tsa_url = tsa_url or data.get("tsa_url")
            source = str(path)
    alg = (alg or os.environ.get(ALG_ENV) or "es256").lower()
    if alg not in ALGORITHMS:
        raise SigningError(f"unknown signing algorithm {alg!r}", hint=f"one of {', '.join(ALGORITHMS)}")
    tsa_url = tsa_url or os.environ.get(TSA_ENV) or None
    config = SigningConfig(Path(key), Path(cert), alg, tsa_url, source)
    for what, path in (("key", config.key), ("certificate", config.cert)):
        if not path.is_file():
            raise SigningError(f"the signing {what} {path} does not exist (from {source})")
    return config


def _format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SigningError(f"{path}: studio signs MP4 and MOV films", hint="sign the film studio rendered (.mp4)")
    return fmt


def _report_beside(film: Path) -> tuple[Path, dict[str, Any]] | None:
    """The render report that wrote ``film``, if it sits beside it."""
    path = film.with_name("render-report.json")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        if Path(report["outputs"]["film"]).resolve() == film.resolve():
            return path, report
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def manifest_for(film: Path, report: dict[str, Any] | None) -> dict[str, Any]:
    """The C2PA manifest definition for ``film``."""
    backend = ((report or {}).get("backend") or {}).get("name", "unknown")
    likenesses = [{"name": r.get("name"), "consent": r.get("consent"), "characters": r.get("characters", [])}
                  for r in (report or {}).get("likenesses") or []]
    if backend == "animatic":
        source = "compositeSynthetic" if likenesses else "algorithmicMedia"  # drawn; a real face pasted in
    else:
        source = "trainedAlgorithmicMedia"
    agent = {"name": "studio", "version": __version__}
    return {
        "claim_generator_info": [agent],
        "title": (report or {}).get("title") or film.name,
        "format": _format(film),
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [
                {"action": "c2pa.created", "digitalSourceType": IPTC + source, "softwareAgent": agent},
            ]}},
            {"label": ASSERTION, "data": {"backend": backend, "likenesses": likenesses,
                                          "title": (report or {}).get("title")}},
        ],
    }


def sign_film(film: Path, config: SigningConfig, output: Path | None = None) -> Path:
    """Sign ``film`` (in place, or into ``output``) with ``config``'s key and chain."""
    import c2pa

    film = Path(film)
    if not film.is_file():
        raise SigningError(f"{film}: no such film", hint="render it first (`studio render FILE`)")
    fmt = _format(film)
    beside = _report_beside(film)
    manifest = manifest_for(film, beside[1] if beside else None)
    target = Path(output) if output else film
    try:
        info = c2pa.C2paSignerInfo(config.alg.encode(), config.cert.read_bytes(), config.key.read_bytes(),
                                   config.tsa_url.encode() if config.tsa_url else None)
        with (c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder,
              atomic_output(target) as tmp, open(film, "rb") as src, open(tmp, "w+b") as dst):
            builder.sign(signer, fmt, src, dst)
    except c2pa.C2paError as exc:
        raise SigningError(f"{film}: signing failed ({exc})",
                           hint="check that the key matches the certificate's public key and that the chain "
                                "(signer first) is valid for C2PA (digitalSignature; emailProtection or "
                                "documentSigning usage)") from None
    if beside and target == film:  # the report records the film's size: keep it true
        path, report = beside
        report.setdefault("output_sizes", {})["film"] = film.stat().st_size
        report["signed"] = {"alg": config.alg, "certificate": str(config.cert), "c2pa": c2pa.sdk_version()}
        write_text(path, json.dumps(report, indent=2) + "\n")
    return target


@dataclass
class Verification:
    state: str | None  # "Valid", "Trusted", "Invalid"; None when the file carries no manifest
    failures: list[str] = field(default_factory=list)  # validation codes
    manifest: dict[str, Any] | None = None  # the active manifest

    @property
    def ok(self) -> bool:
        return self.state in ("Valid", "Trusted")


def verify_film(film: Path, trust_anchors: Path | None = None) -> Verification:
    """Read and validate ``film``'s C2PA manifest. Without ``trust_anchors`` (PEM) a
    good signature is "Valid" (its signer is not checked against a trust list)."""
    import c2pa

    film = Path(film)
    context = None
    if trust_anchors is not None:
        context = c2pa.Context.from_dict({"verify": {"verify_trust": True},
                                          "trust": {"trust_anchors": Path(trust_anchors).read_text()}})
    try:
        reader = c2pa.Reader(str(film), context=context) if context else c2pa.Reader(str(film))
    except c2pa.C2paError.ManifestNotFound:
        return Verification(None)
    except c2pa.C2paError as exc:
        return Verification("Invalid", [f"unreadable: {exc}"])
    with reader:
        results = reader.get_validation_results() or {}
        failures = [f.get("code", "") for f in (results.get("activeManifest") or {}).get("failure", [])]
        return Verification(reader.get_validation_state(), failures, reader.get_active_manifest())
