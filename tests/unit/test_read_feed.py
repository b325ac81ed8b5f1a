"""read.feed: GIA-shaped RSS into plain-text FeedItems with aware dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from watcher.errors import ReadError
from watcher.read import read_feed

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
BASE = "https://www.info.gov.hk/gia/rss/general_en.xml"


def test_gia_rss_items() -> None:
    items = read_feed((FEEDS / "read_gia_general_en.xml").read_bytes(),
                      "application/rss+xml", BASE)
    assert len(items) == 2
    first, second = items
    assert first.url == "https://www.info.gov.hk/gia/general/202405/10/P2024051000123.htm"
    assert first.title == (
        "New Industrialisation Acceleration Scheme opens for applications (with photos)"
    )
    assert first.summary == (
        "The Innovation, Technology and Industry Bureau announced today (May 10) that the "
        "New Industrialisation Acceleration Scheme is open for applications.\n\n"
        "The Government covers up to $200 million per project."
    )
    assert "alert" not in first.summary and "<" not in first.summary
    assert first.published == datetime(2024, 5, 10, 17, 32, tzinfo=timezone(timedelta(hours=8)))
    assert first.language == "en"
    # A relative link resolves against the feed; escaped HTML comes out as plain text.
    assert second.url == "https://www.info.gov.hk/gia/general/202405/10/P2024051000456.htm"
    assert second.summary == "Following is a question by the Hon Member and a written reply."
    assert second.published is not None
    assert second.published.utcoffset() == timedelta(hours=8)
    assert second.published.isoformat() == "2025-11-04T17:33:44+08:00"


def test_atom_feed_with_language_and_no_link() -> None:
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-HK">
  <title>News</title>
  <entry><title type="html">&lt;b&gt;Bold&lt;/b&gt; news</title>
    <updated>2024-05-10T09:32:00Z</updated>
    <summary type="html">&lt;p&gt;one&lt;/p&gt;&lt;p&gt;two&lt;/p&gt;</summary></entry>
</feed>"""
    (item,) = read_feed(atom, "application/atom+xml", "https://example.org/feed")
    assert item.title == "Bold news"
    assert item.summary == "one\n\ntwo"
    assert item.language == "zh"
    assert item.published == datetime(2024, 5, 10, 9, 32, tzinfo=UTC)
    # No link: a stable identity derived from the item's text.
    assert item.url.startswith("https://example.org/feed#item-")
    (again,) = read_feed(atom, "application/atom+xml", "https://example.org/feed")
    assert again.url == item.url


def test_javascript_links_are_not_urls() -> None:
    rss = b"""<rss version="2.0"><channel><title>t</title>
<item><title>x</title><link>javascript:alert(1)</link></item></channel></rss>"""
    (item,) = read_feed(rss, "application/rss+xml", "https://example.org/rss")
    assert item.url.startswith("https://example.org/rss#item-")


def test_escaped_script_in_a_title_does_not_survive() -> None:
    rss = b"""<rss version="2.0"><channel><title>t</title>
<item><title>safe &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; title</title>
<link>https://example.org/a</link></item></channel></rss>"""
    (item,) = read_feed(rss, "application/rss+xml", "https://example.org/rss")
    assert "<script" not in item.title.lower()
    assert item.title.startswith("safe")


@pytest.mark.parametrize(
    "content",
    [b"<html><body><p>Just a page</p></body></html>", b"not xml at all", b"<rss"],
)
def test_not_a_feed_is_a_read_error(content: bytes) -> None:
    with pytest.raises(ReadError, match="not a feed: "):
        read_feed(content, "text/html", "https://example.org/x")


def test_empty_feed_is_no_items() -> None:
    rss = b'<rss version="2.0"><channel><title>t</title></channel></rss>'
    assert read_feed(rss, "application/rss+xml", "https://example.org/rss") == []
