"""Keep a long-running process's resident memory near its working set (glibc's malloc).

CPython hands every allocation above 512 bytes (page bodies, their text, parser buffers)
to malloc. glibc gives each thread that allocates an arena of its own, up to 8 per core,
and memory freed in one arena is not reused by another: the worker threads that read,
extract and store pages each grow a heap. Two arenas keep the bench daemon's peak 7-10 MB
lower at 5,000 pages (one saves little more and makes the threads queue for it).

Memory freed at the end of a poll stays in the process until malloc returns it;
``release_free_memory`` asks it to, so an idle daemon shows its working set, not its peak
(after a cold 5,000-page cycle: 262 -> 149 MB).

Both are no-ops where the C library has no such calls (musl, macOS).
"""

from __future__ import annotations

import ctypes
from functools import cache

M_ARENA_MAX = -8  # glibc malloc.h
MALLOC_ARENAS = 2


@cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
    except OSError:
        return None
    if not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
        return None
    return libc


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's arenas; call before worker threads start. True if it applied."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, arenas) == 1)


def release_free_memory() -> bool:
    """Return malloc's free memory to the system. True if some was released."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)
