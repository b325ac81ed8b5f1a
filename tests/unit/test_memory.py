"""watcher.memory: glibc's arena cap and trim apply here (the CI image is glibc), and are
harmless no-ops where the C library lacks them."""

from __future__ import annotations

import platform

import pytest

from watcher import memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_takes_the_arena_cap_and_the_trim() -> None:
    assert memory.limit_malloc_arenas() is True
    blocks = [bytearray(100_000) for _ in range(200)]  # 20 MB through malloc, then freed
    del blocks
    assert isinstance(memory.release_free_memory(), bool)


def test_without_the_calls_both_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_libc", lambda: None)
    assert memory.limit_malloc_arenas() is False
    assert memory.release_free_memory() is False
