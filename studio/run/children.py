"""What every worker process of ``studio render -j`` does first: die with the studio
process, as the ffmpeg child of a ``-j 1`` render does (shared by the shot workers,
:mod:`studio.run.parallel`, and the voice workers, :mod:`studio.run.voicing`)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this worker when the studio process dies (SIGKILL
    included), as it leaves a ``-j 1`` render's ffmpeg child without input."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)
