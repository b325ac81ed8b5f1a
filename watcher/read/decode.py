"""Bytes to text, whatever a server claims about them.

The order follows what browsers do (byte-order mark, then the HTTP header, then the
document's own declaration), with two local additions: strict UTF-8 before any guess, and
Big5-HKSCS for old Hong Kong government archive pages that are Big5 without saying so.
"""

from __future__ import annotations

import codecs
import re

from watcher.errors import ReadError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "<?" or "<" written in a wide encoding without a BOM (XML spec, appendix F).
_WIDE_STARTS: tuple[tuple[bytes, str], ...] = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']+)", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE
)
_XML_ENCODING = re.compile(
    rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_.:-]+)[\"']", re.IGNORECASE
)
# Labels whose common meaning is a superset: decode with the superset so that characters
# the strict table lacks (HKSCS in "big5", curly quotes in "iso-8859-1") come out right.
_SUPERSETS = {
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "latin_1": "cp1252",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
}
# Codecs Python knows that are not character encodings of documents.
_NOT_DOCUMENT_CODECS = {
    "undefined", "unicode_escape", "raw_unicode_escape", "idna", "punycode",
    "palmos", "mbcs", "oem",
}
_SNIFF_BYTES = 4096
_BINARY_TYPES = ("image/", "audio/", "video/", "font/", "model/")
_TEXT_APPLICATION_TYPES = ("xml", "xhtml", "rss", "atom", "json", "javascript", "rdf")


def decode(content: bytes, content_type: str = "") -> str:
    """Decode ``content``; never raises on a bad byte."""
    if not content:
        return ""
    wide = _wide_encoding(content)
    if wide:
        return _strip_bom(content.decode(wide, errors="replace"))
    declared = [c for c in (_http_charset(content_type), _document_charset(content)) if c]
    for name in declared:
        text = _try(content, name)
        if text is not None:
            return text
    for name in ("utf-8", "big5hkscs"):
        text = _try(content, name)
        if text is not None:
            return text
    # Imported only when it is needed: most pages declare their encoding or are valid
    # UTF-8, and charset_normalizer costs a daemon ~2 MB resident for nothing else.
    from charset_normalizer import from_bytes

    guess = from_bytes(content).best()
    if guess is not None:
        return str(guess)
    fallback = declared[0] if declared else "utf-8"
    return content.decode(fallback, errors="replace")


def ensure_readable(content: bytes, content_type: str, url: str) -> None:
    """Raise ReadError for a body no reader should try: empty, or not text at all."""
    if not content.strip():
        raise ReadError(url, "empty response")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime.startswith(_BINARY_TYPES) or (
        mime.startswith("application/")
        and mime != "application/octet-stream"
        and not any(word in mime for word in _TEXT_APPLICATION_TYPES)
    ):
        raise ReadError(url, f"binary content ({mime}), not a page")
    if _wide_encoding(content) is None and b"\x00" in content[:_SNIFF_BYTES]:
        raise ReadError(url, f"binary content ({mime or 'NUL bytes'}), not a page")


def _wide_encoding(content: bytes) -> str | None:
    for bom, name in _BOMS:
        if content.startswith(bom):
            return None if name == "utf-8" else name
    for start, name in _WIDE_STARTS:
        if content.startswith(start):
            return name
    return None


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def _http_charset(content_type: str) -> str | None:
    match = _HTTP_CHARSET.search(content_type)
    return _codec(match.group(1)) if match else None


def _document_charset(content: bytes) -> str | None:
    head = content[:_SNIFF_BYTES]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if not match:
        return None
    name = _codec(match.group(1).decode("ascii", errors="replace"))
    # A document that could read its own ASCII declaration is not UTF-16/32 (HTML spec).
    if name and name.startswith(("utf-16", "utf-32", "utf_16", "utf_32")):
        return "utf-8"
    return name


def _codec(label: str) -> str | None:
    """The Python codec for a charset label, or None for unknown and non-text codecs."""
    try:
        info = codecs.lookup(label.strip().lower())
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_DOCUMENT_CODECS:
        return None
    return _SUPERSETS.get(info.name, info.name)


def _try(content: bytes, codec: str) -> str | None:
    try:
        text = content.decode(codec)
    except (UnicodeError, LookupError, ValueError):
        return None
    return _strip_bom(text)
