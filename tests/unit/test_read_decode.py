"""read.decode: bytes to text in the order BOM, HTTP charset, document charset, UTF-8,
Big5-HKSCS, guess; and ensure_readable's refusals."""

from __future__ import annotations

import codecs

import pytest

from watcher.errors import ReadError
from watcher.read import decode, ensure_readable

TEXT = "香港嘅創新及科技基金 – “quotes” café"


def test_bom_beats_everything() -> None:
    assert decode(codecs.BOM_UTF8 + TEXT.encode("utf-8"), "text/html; charset=big5") == TEXT
    assert decode(codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le")) == TEXT
    assert decode(codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be")) == TEXT


def test_http_charset_then_meta_then_xml_declaration() -> None:
    latin = "café résumé".encode("cp1252")
    assert decode(latin, "text/html; charset=ISO-8859-1") == "café résumé"
    page = b'<html><head><meta charset="windows-1252"></head><body>' + latin + b"</body>"
    assert "café résumé" in decode(page)
    xml = b'<?xml version="1.0" encoding="gb2312"?><t>' + "新闻".encode("gb2312") + b"</t>"
    assert "新闻" in decode(xml)


def test_utf8_first_then_big5_hkscs() -> None:
    assert decode(TEXT.encode("utf-8")) == TEXT
    old = "呢個係香港嘅基金".encode("big5hkscs")
    assert decode(old) == "呢個係香港嘅基金"
    # "big5" declared by an old page still decodes its HKSCS characters.
    assert decode(old, "text/html; charset=big5") == "呢個係香港嘅基金"


def test_wrong_declaration_falls_through() -> None:
    assert decode(TEXT.encode("utf-8"), "text/html; charset=us-ascii") == TEXT
    assert decode(b"abc", "text/html; charset=no-such-charset") == "abc"
    assert decode(b"abc", "text/html; charset=rot13") == "abc"  # not a text encoding


def test_undeclared_text_that_is_neither_utf8_nor_big5_is_guessed() -> None:
    # "\xe9 " is neither UTF-8 nor Big5-HKSCS, so only the guess (charset_normalizer,
    # imported on this path alone) reads it.
    text = decode(b"Le caf\xe9 est pr\xeat, merci. " * 5)
    # The guess may be any Latin code page: they all agree on "\xe9", not on "\xea".
    assert text.startswith("Le café est pr") and "\ufffd" not in text


def test_bad_bytes_never_raise() -> None:
    for junk in (b"\xff\xfe\xfd\x80\x81", bytes(range(256)), b"\x00" * 10, b""):
        assert isinstance(decode(junk), str)
        assert isinstance(decode(junk, "text/html; charset=utf-8"), str)


def test_ensure_readable() -> None:
    ensure_readable(b"<p>x</p>", "text/html", "http://x/")
    ensure_readable(b"<rss/>", "application/rss+xml; charset=utf-8", "http://x/")
    ensure_readable(codecs.BOM_UTF16_LE + "<p>x</p>".encode("utf-16-le"), "text/html", "u")
    with pytest.raises(ReadError, match=r"^http://x/: empty response$"):
        ensure_readable(b"  \n", "text/html", "http://x/")
    with pytest.raises(ReadError, match=r"binary content \(image/png\), not a page"):
        ensure_readable(b"\x89PNG\r\n", "image/png", "http://x/")
    with pytest.raises(ReadError, match=r"binary content \(application/octet-stream\)"):
        ensure_readable(b"PK\x03\x04\x00\x00", "application/octet-stream", "http://x/")
