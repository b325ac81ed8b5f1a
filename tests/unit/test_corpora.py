"""Third-party hostile inputs (feedparser's and html5lib's test suites) through every reader:
a ReadError is fine, any other exception or a hang is a bug, and no script reaches text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from watcher.errors import ReadError
from watcher.models import FeedItem
from watcher.read import decode, read_feed, read_page

CORPORA = Path(__file__).resolve().parents[1] / "corpora"  # where they come from: its README
FEEDS = CORPORA / "feeds"
HTML = CORPORA / "html"


def test_corpora_are_present() -> None:
    # The corpora are part of the repository; a missing one must fail, not pass vacuously.
    assert FEEDS.is_dir(), f"missing {FEEDS}"
    assert (HTML / "tokenizer-inputs.jsonl").is_file(), f"missing {HTML}"


def _feed_files() -> list[Path]:
    return sorted(p for p in FEEDS.rglob("*") if p.is_file()) if FEEDS.is_dir() else []


def _html_inputs() -> list[bytes]:
    if not HTML.is_dir():
        return []
    # Lone surrogates in the tokenizer cases become invalid UTF-8 bytes: more to survive.
    inputs = [
        json.loads(line)["html"].encode("utf-8", errors="surrogatepass")
        for line in (HTML / "tokenizer-inputs.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for dat in sorted(HTML.glob("*.dat")):
        # Bytes, not text: these are encoding-sniffing cases in many encodings. Each
        # "#data" section runs up to the next "#..." header line.
        for section in re.split(rb"^#data\n", dat.read_bytes(), flags=re.M)[1:]:
            inputs.append(re.split(rb"^#\w+", section, maxsplit=1, flags=re.M)[0])
    return inputs


def _content_type(path: Path) -> str:
    # feedparser's encoding cases are named after the HTTP header they were served with.
    name = path.name
    if name.startswith("http_") or "_http_" in name:
        for mime in ("application/atom+xml", "application/rss+xml", "application/xml",
                     "text/xml", "text/plain"):
            if mime.replace("/", "_").replace("+", "_") in name:
                charset = "; charset=gb2312" if "gb2312" in name else (
                    "; charset=utf-8" if "charset" in name else "")
                return mime + charset
    return "application/xml"


def _read_feed(path: Path) -> list[FeedItem]:
    content = path.read_bytes()
    decode(content, _content_type(path))
    try:
        return read_feed(content, _content_type(path), "http://example.org/feeds/")
    except ReadError:
        return []


@pytest.mark.timeout(60)
def test_every_feed_file_reads_without_crashing() -> None:
    files = _feed_files()
    assert len(files) > 1000
    read = 0
    for path in files:
        content = path.read_bytes()
        items = _read_feed(path)
        read += bool(items)
        for item in items:
            assert item.url.startswith(("http://", "https://")), (path, item.url)
            assert item.published is None or item.published.tzinfo is not None, path
        try:
            document = read_page(content, _content_type(path), url="http://example.org/",
                                 source="corpus", reader=None)
        except ReadError:
            continue
        # Escaped markup in a feed is literal text on a page, so only the shape is checked.
        assert document.url == "http://example.org/" and isinstance(document.text, str)
    assert read > 900  # most of them are real feeds with entries


@pytest.mark.timeout(60)
def test_sanitize_feeds_never_leak_scripts_into_text() -> None:
    files = [p for p in _feed_files() if "sanitize" in p.parts]
    assert len(files) > 700
    for path in files:
        for item in _read_feed(path):
            for text in (item.title, item.summary):
                lowered = text.lower()
                assert "<script" not in lowered, (path, text)
                assert "javascript:" not in lowered, (path, text)


@pytest.mark.timeout(60)
def test_every_html_input_reads_without_crashing() -> None:
    inputs = _html_inputs()
    assert len(inputs) > 6000
    for content in inputs:
        decode(content, "text/html")
        try:
            document = read_page(content, "text/html", url="http://example.org/",
                                 source="corpus", reader=None)
        except ReadError:
            continue
        assert isinstance(document.text, str) and document.language in ("en", "zh")
