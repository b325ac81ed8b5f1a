"""Line deltas between two versions of a page body. Pure.

The snapshot store keeps the newest body of a page whole and turns the body it replaces
into a *reverse* delta against it: a page that gains one paragraph costs a few hundred
bytes per version instead of a whole compressed body. ``encode(old, new)`` returns the
instructions that rebuild ``old`` from ``new``; ``decode(delta, new)`` follows them.

Format (zlib-compressed): a sequence of operations, each a tag byte and two unsigned
32-bit numbers: ``c`` copy lines ``[a, b)`` of ``new``; ``i`` insert the next ``a``
bytes (``b`` unused).
"""

from __future__ import annotations

import struct
import zlib
from difflib import SequenceMatcher

_OP = struct.Struct(">cII")
# Beyond this many lines the matcher's cost is not worth a smaller row: keep the body.
MAX_LINES = 20_000


class DeltaError(ValueError):
    """A delta that does not decode against the given body."""


def encode(old: bytes, new: bytes) -> bytes | None:
    """Instructions that rebuild ``old`` from ``new``, compressed; None when either body
    is too long to diff."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    if len(old_lines) > MAX_LINES or len(new_lines) > MAX_LINES:
        return None
    parts: list[bytes] = []
    matcher = SequenceMatcher(None, new_lines, old_lines)
    for tag, n1, n2, o1, o2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(_OP.pack(b"c", n1, n2))
        elif o2 > o1:  # replace or insert: the old side's lines, written out
            data = b"".join(old_lines[o1:o2])
            parts.append(_OP.pack(b"i", len(data), 0))
            parts.append(data)
    return zlib.compress(b"".join(parts), 9)


def decode(delta: bytes, new: bytes) -> bytes:
    """``old`` from its delta and ``new``. Raises DeltaError on a malformed delta."""
    try:
        ops = zlib.decompress(delta)
    except zlib.error as exc:
        raise DeltaError(f"not a delta: {exc}") from exc
    new_lines = new.splitlines(keepends=True)
    out: list[bytes] = []
    at = 0
    while at < len(ops):
        if at + _OP.size > len(ops):
            raise DeltaError("truncated operation")
        tag, a, b = _OP.unpack_from(ops, at)
        at += _OP.size
        if tag == b"c":
            if not a <= b <= len(new_lines):
                raise DeltaError(f"copy of lines {a}-{b} from a body of {len(new_lines)}")
            out.extend(new_lines[a:b])
        elif tag == b"i":
            if at + a > len(ops):
                raise DeltaError("truncated insert")
            out.append(ops[at : at + a])
            at += a
        else:
            raise DeltaError(f"unknown operation {tag!r}")
    return b"".join(out)
