"""Keep a long-running process's resident memory near its working set (glibc's malloc).

CPython hands every allocation above 512 bytes (page bodies, their text, parser buffers)
to malloc. glibc gives each thread that allocates an arena of its own, up to 8 per core,
and memory freed in one arena is not reused by another: the worker threads that read,
extract and store pages each grow a heap. Two arenas kept the bench daemon's peak 7-10 MB
lower at 5,000 pages; one, all threads sharing the main heap, ~1 MB lower again (97.2-98.3
against 98.0-99.7 MB, cold and warm), with the same CPU: the threads hold the GIL for most
of their work, so they seldom meet at malloc's lock.

A page body (30-60 KB on government sites) is also above 512 bytes, and lives for a
moment: from the response until its chunk is stored. Allocated from a heap, the bodies of
one chunk end up between longer-lived objects, and the heap keeps its high-water mark. From
32 KiB up, malloc maps each such block on its own and unmaps it when it is freed (glibc
starts at 128 KiB and raises the bar as blocks are freed): the bench daemon's peak at
5,000 pages is 1-2.5 MB lower (a fixed 64 or 128 KiB bar saves nothing). The price is a
fresh zeroed mapping per large block: about 8% more CPU in a cold 5,000-page cycle (12.1 ->
13.1 s here), none measurable in a warm one, where few pages have a body.

Memory freed at the end of a poll stays in the process until malloc returns it;
``release_free_memory`` asks it to, so an idle daemon shows its working set, not its peak
(after a cold 5,000-page cycle: 262 -> 149 MB).

Both are no-ops where the C library has no such calls (musl, macOS).
"""

from __future__ import annotations

import ctypes
from functools import cache

M_MMAP_THRESHOLD = -3  # glibc malloc.h
M_ARENA_MAX = -8
MALLOC_ARENAS = 1
MMAP_THRESHOLD_BYTES = 32 * 1024


@cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
    except OSError:
        return None
    if not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
        return None
    return libc


def tune_malloc(arenas: int = MALLOC_ARENAS, mmap_threshold: int = MMAP_THRESHOLD_BYTES
                ) -> bool:
    """Cap glibc's arenas and map large blocks on their own; call before worker threads
    start. True if both applied."""
    libc = _libc()
    if libc is None:
        return False
    capped: bool = libc.mallopt(M_ARENA_MAX, arenas) == 1
    mapped: bool = libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1
    return capped and mapped


def release_free_memory() -> bool:
    """Return malloc's free memory to the system. True if some was released."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)
