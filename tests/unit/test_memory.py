"""watcher.service.memory: glibc's arena cap, map threshold and trim apply here (the CI image is
glibc), and are harmless no-ops where the C library lacks them."""

from __future__ import annotations

import platform

import pytest

from watcher.service import memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_takes_the_arena_cap_and_the_trim() -> None:
    assert memory.tune_malloc() is True
    blocks = [bytearray(100_000) for _ in range(200)]  # 20 MB through malloc, then freed
    del blocks
    assert isinstance(memory.release_free_memory(), bool)


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_page_sized_blocks_go_back_when_freed() -> None:
    # 40 KB bodies with small long-lived blocks between them: from a heap, the bodies'
    # memory could not go back while a neighbour lives; mapped on their own, it does.
    assert memory.tune_malloc() is True
    bodies, keep = [], []
    for _ in range(400):  # 16 MB of bodies
        bodies.append(bytearray(40_000))
        keep.append(bytearray(600))  # above pymalloc's 512 bytes: malloc's heap
    before = _rss_kib()
    del bodies
    assert before - _rss_kib() > 12_000, "the freed bodies stayed resident"
    assert len(keep) == 400


def test_without_the_calls_both_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_libc", lambda: None)
    assert memory.tune_malloc() is False
    assert memory.release_free_memory() is False
