"""studio.run.children: a worker hands back the heap its last piece of work left."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from studio.run.children import give_back_heap

# in a fresh process: 160 MiB in 64 KiB blocks (under glibc's mmap threshold, so on the
# heap), then every block freed but one in 16 (those keep the free ones in the middle of
# the heap, where free() cannot shrink it from its top); RSS before and after
# give_back_heap()
_SCRIPT = textwrap.dedent("""
    import ctypes, sys
    from studio.run.children import give_back_heap
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    def rss():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    blocks = []
    for _ in range(2560):
        p = libc.malloc(65536)
        ctypes.memset(p, 1, 65536)
        blocks.append(p)
    for k, p in enumerate(blocks):
        if k % 16:
            libc.free(p)
    before = rss()
    trimmed = give_back_heap() if sys.argv[1] == "trim" else None
    print(before, rss(), trimmed)
""")


def _rss(mode: str) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, check=True)
    before, after, _ = out.stdout.split()
    return int(before), int(after)


@pytest.mark.skipif(not sys.platform.startswith("linux") or not give_back_heap(), reason="glibc's malloc_trim")
def test_give_back_heap_returns_freed_blocks_to_the_system() -> None:
    before, after = _rss("trim")
    assert before - after >= 120, (before, after)  # most of the 160 MiB freed
    kept_before, kept_after = _rss("keep")
    assert kept_after - kept_before > -20, (kept_before, kept_after)  # without it, glibc keeps them


def test_give_back_heap_is_safe_to_call_repeatedly() -> None:
    assert give_back_heap() in (True, False)
    assert give_back_heap() in (True, False)
