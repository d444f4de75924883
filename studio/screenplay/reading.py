"""Reading a screenplay file from disk, bounded.

A path can name anything: a symlink to ``/dev/zero`` or ``/dev/urandom`` (endless),
a FIFO (blocks forever on open), a socket, a folder. Only regular files are read, and
never more than the size limit, even when the file grows while we read it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from studio.errors import Problem, ScreenplayError
from studio.screenplay.safe_yaml import MAX_BYTES


def _fail(path: Path, message: str, hint: str = "") -> ScreenplayError:
    return ScreenplayError([Problem(message, file=str(path), hint=hint)], str(path))


def read_screenplay_bytes(path: str | Path, *, limit: int = MAX_BYTES) -> bytes:
    """The bytes of the screenplay file at ``path`` (symlinks followed), at most ``limit``.

    Raises :class:`ScreenplayError` for a missing file, a folder, a device, pipe or
    socket, an unreadable file, or one over the limit.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _fail(path, "no such file", "check the path, or create one with `studio new NAME`") from None
    except OSError as exc:
        raise _fail(path, f"cannot read the file: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise _fail(path, f"{path} is a folder, not a screenplay", "give the path of a .yaml or .fountain file")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a file")
        raise _fail(path, f"{path} is {kind}, not a regular file", "give the path of a screenplay file")
    if st.st_size > limit:
        raise _fail(path, f"file is {st.st_size} bytes, over the {limit} byte limit",
                    "split the film into several screenplays")
    try:
        # O_NONBLOCK: should the path be swapped for a FIFO after the check, open never blocks
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _fail(path, f"cannot read the file: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise _fail(path, f"{path} is not a regular file", "give the path of a screenplay file")
        try:
            raw = handle.read(limit + 1)
        except OSError as exc:
            raise _fail(path, f"cannot read the file: {exc.strerror}") from None
    if raw is None or len(raw) > limit:
        raise _fail(path, f"file is over the {limit} byte limit", "split the film into several screenplays")
    return raw
