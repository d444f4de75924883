"""Running the web studio: uvicorn on a socket we bind ourselves (so ``--port 0``
picks a free port and we know which), loopback only unless asked.

:func:`serve` runs in the foreground until Ctrl-C (``studio serve``);
:func:`start_background` runs it in a thread and returns a handle (tests, notebooks).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from studio.web.app import create_app
from studio.web.safety import WebError, check_bind
from studio.web.session import Studio

GRACE_SECONDS = 2  # open event streams are ended first, so stopping takes no longer than this


class _Server(uvicorn.Server):
    """uvicorn that ends the pages' event streams before it waits for connections."""

    def __init__(self, config: uvicorn.Config, studio: Studio) -> None:
        super().__init__(config)
        self.studio = studio

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.studio.hub.close()
        await super().shutdown(sockets)


def bind(host: str, port: int, allow_remote: bool) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port), after the
    loopback check. A port in use is a clear error."""
    check_bind(host, allow_remote)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
    except OSError as exc:
        raise WebError(f"cannot serve on {host}:{port} ({exc})", hint="use --host 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise WebError(f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                       hint="pick another --port, or --port 0 for any free one") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def _server(studio: Studio, host: str, allow_remote: bool, log_level: str) -> _Server:
    app = create_app(studio, host=host, allow_remote=allow_remote)
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=GRACE_SECONDS)
    return _Server(config, studio)


def serve(studio: Studio, *, host: str = "127.0.0.1", port: int = 8765, allow_remote: bool = False,
          on_ready: Any = None) -> None:
    """Serve until interrupted. ``on_ready(url)`` is called once the socket listens."""
    sock = bind(host, port, allow_remote)
    studio.start()
    try:
        server = _server(studio, host, allow_remote, "warning")
        if on_ready is not None:
            on_ready(url_of(sock))
        server.run(sockets=[sock])
    finally:
        studio.stop()
        with contextlib.suppress(OSError):
            sock.close()


@dataclass
class Running:
    """A studio served from a background thread."""

    url: str
    studio: Studio
    server: _Server
    thread: threading.Thread
    sock: socket.socket

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=GRACE_SECONDS + 10)
        self.studio.stop()
        with contextlib.suppress(OSError):
            self.sock.close()


def start_background(studio: Studio, *, host: str = "127.0.0.1", port: int = 0, allow_remote: bool = False,
                     watch: bool = True, timeout: float = 20.0) -> Running:
    """Serve ``studio`` from a daemon thread; return once it answers."""
    sock = bind(host, port, allow_remote)
    studio.start(watch=watch)
    server = _server(studio, host, allow_remote, "error")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="studio-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            studio.stop()
            raise WebError("the web studio did not start")
        time.sleep(0.02)
    return Running(url_of(sock), studio, server, thread, sock)
