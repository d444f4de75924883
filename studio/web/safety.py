"""The web studio's guards: where it may listen, which requests may change things,
and which files it may hand out.

1. **Loopback only** unless asked: :func:`check_bind` refuses an address other
   machines can reach without ``--allow-remote``.
2. **A per-session token** on every mutating request (:func:`token_ok`): the pages
   carry it, another site's page cannot read it, so it cannot make a visitor's
   browser start renders or remove likenesses. The ``Host`` header is checked too
   (:func:`allowed_hosts`), so a rebinding DNS name cannot read the pages either.
3. **Files only from the film's output and cache folders** (:func:`safe_path`):
   resolved (symbolic links followed) and checked to stay inside; clips are asked for
   by cache key (:func:`cache_file`), never by path.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import socket
from pathlib import Path

from studio.errors import StudioError

TOKEN_HEADER = "X-Studio-Token"
BASE_HEADER = "X-Studio-Base"  # a save: the digest of the file the editor loaded
KEY_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class WebError(StudioError):
    """A request or a server setting the web studio refuses."""

    def __init__(self, message: str, *, hint: str = "", status: int = 400) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.message = message


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison (the token must not leak by timing)."""
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


def is_loopback(host: str) -> bool:
    """``host`` (an address or a name) reaches only this machine. A name counts when
    every address it resolves to is a loopback address."""
    name = host.strip().strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except OSError:
        raise WebError(f"cannot resolve the host {host!r}", hint="give an address such as 127.0.0.1") from None
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def check_bind(host: str, allow_remote: bool) -> None:
    """Refuse to listen where other machines can connect, unless ``allow_remote``."""
    if not host.strip():
        raise WebError("no host to serve on", hint="use --host 127.0.0.1")
    if allow_remote or is_loopback(host):
        return
    raise WebError(
        f"refusing to serve on {host}: it is not a loopback address, so other machines could reach the studio "
        "(its pages, clips and likeness records)",
        hint="serve on 127.0.0.1 (the default), or pass --allow-remote if you mean to open it to your network",
    )


def allowed_hosts(host: str, allow_remote: bool) -> list[str]:
    """The ``Host`` header values to answer: loopback names only, unless remote."""
    if allow_remote:
        return ["*"]
    return sorted({"127.0.0.1", "localhost", "::1", "[::1]", host.strip()})


def safe_path(root: Path, relative: str) -> Path:
    """``root / relative`` if it is an existing file inside ``root`` once resolved
    (``..``, absolute paths and symbolic links leading out are refused, and so are
    hidden names: temporary files start with a dot). A :class:`WebError` otherwise."""
    if not relative or "\x00" in relative:
        raise WebError("no such file", status=404)
    parts = Path(relative).parts
    if Path(relative).is_absolute() or any(part == ".." or part.startswith(".") for part in parts):
        raise WebError(f"refused path {relative!r}: outside the film's folders", status=403)
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise WebError(f"refused path {relative!r}: outside the film's folders", status=403)
    if not target.is_file():
        raise WebError("no such file", status=404)
    return target


def cache_file(cache_root: Path, key: str, suffix: str) -> Path:
    """A clip's file in the shot store by cache key (``.mp4`` or ``.thumb.jpg``): the
    store's layout, ``clips/<k[:2]>/<k><suffix>`` (see :mod:`studio.cache.store`)."""
    if not KEY_PATTERN.match(key):
        raise WebError("not a cache key", status=404)
    if suffix not in (".mp4", ".thumb.jpg"):
        raise WebError("no such file", status=404)
    return safe_path(cache_root, f"clips/{key[:2]}/{key}{suffix}")


def keyframe_file(cache_root: Path, key: str) -> Path:
    """A keyframe's picture in the keyframe store by key: ``keyframes/<k[:2]>/<k>.png``
    (see :mod:`studio.cache.keyframes`)."""
    if not KEY_PATTERN.match(key):
        raise WebError("not a cache key", status=404)
    return safe_path(cache_root, f"keyframes/{key[:2]}/{key}.png")


MAX_JSON_DEPTH = 32  # the API's bodies are flat objects; deeper is an attack on the parser


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``raw`` (JSON text) nests arrays and objects deeper than ``limit``:
    counted in one pass over the bytes (strings skipped), before the parser recurses."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def origin_ok(origin: str | None, host: str | None) -> bool:
    """A mutating request's ``Origin`` (sent by browsers) must be the studio's own:
    ``http://<the Host it asked for>``. No ``Origin`` at all is a client that is not a
    browser (curl, a script): the token alone guards it. ``null`` (a sandboxed frame,
    a file: page) is refused."""
    if origin is None:
        return True
    if not host:
        return False
    return origin.strip().lower() == f"http://{host.strip().lower()}"
