"""What every worker process of ``studio render -j`` does first: die with the studio
process, as the ffmpeg child of a ``-j 1`` render does (shared by the shot workers,
:mod:`studio.run.parallel`, and the voice workers, :mod:`studio.run.voicing`); and how a
worker hands back the heap a big piece of work left behind (:func:`give_back_heap`);
whether an error can go back to the studio process over a pipe (:func:`survives_pickling`);
and a process's CPU seconds (:func:`cpu_seconds`)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
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


def give_back_heap() -> bool:
    """glibc: return the free memory at the top of the heap and in free pages to the
    system (``malloc_trim(0)``). A voice worker calls it after each line: onnxruntime,
    without its arena, mallocs the decoder's buffers, which for a long sentence come to
    ~280 MB; freed, glibc keeps them, so the worker would hold its longest line's
    memory for the rest of the stage, beside the other worker's. False where there is
    no glibc (the call is then skipped)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True


def survives_pickling(exc: BaseException) -> bool:
    """Whether ``exc`` comes out of a pipe as it went in (an exception whose constructor
    takes other arguments than its ``args`` does not)."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any pickling failure
        return False
    return True


def cpu_seconds() -> float:
    """CPU seconds of this process and of the child processes it has waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
