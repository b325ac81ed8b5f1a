"""read.feed: GIA-shaped RSS into plain-text FeedItems with aware dates."""

from __future__ import annotations

import random
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import resolve_relative_uris

import watcher.read.feed as feed_module
from bench.server import Site
from watcher.errors import ReadError
from watcher.read import read_feed
from watcher.read.plainrss import read_plain_rss

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FEEDS = FIXTURES / "feeds"
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


# --- plain RSS 2.0 without feedparser's machinery: the same items, or it steps aside ---

TEXTS = ["Press release", "  spaced   out  ", "a &amp; b", "&lt;b&gt;bold&lt;/b&gt; x",
         "<![CDATA[<p>Hi <a href='/x'>there</a></p>]]>", "中文標題", "caf\u00e9",
         "\u00c3\u00a9t\u00c3\u00a9", "&#128;uro &#x9f;", "tab\there\r\nnew", "&#13;\n", "x > y",
         "<![CDATA[<script>alert(1)</script>ok]]>", "&lt;script&gt;bad&lt;/script&gt;", "",
         "&#60;i&#62;it&#60;/i&#62;", "\u00a0nbsp\u3000ideo", "<![CDATA[<img src='rel.png'>]]>"]
LINKS = ["http://x.org/a/b.htm", "/rel/path.htm", "rel.htm", "  http://x.org/sp  ", "",
         "https://x.org/q?a=1&amp;b=2", "javascript:alert(1)", "http://x.org/a/../b", "#frag"]
DATES = ["Tue, 05 Mar 2024 15:00:00 +0800", "2024-03-05T15:00:00Z", "5 March 2024", "garbage",
         "", "Mon, 31 Feb 2024 10:00:00 GMT", "Sun, 06 Nov 1994 08:49:37"]
TYPES = ["application/rss+xml", "application/xml", "text/xml", "text/xml; charset=utf-8", "",
         "application/xml; charset=iso-8859-1", "text/html", "application/atom+xml"]
DECLARATIONS = ['<?xml version="1.0" encoding="UTF-8"?>\n', "", '<?xml version="1.0"?>',
                "<?xml version='1.0' encoding='iso-8859-1'?>", '<?xml version="1.1"?>']


def _random_feed(rng: random.Random) -> tuple[bytes, str]:
    items = []
    for _ in range(rng.randrange(0, 5)):
        parts = [f"<{tag}>{rng.choice(pool)}</{tag}>"
                 for tag, pool in (("title", TEXTS), ("link", LINKS), ("description", TEXTS),
                                   ("pubDate", DATES)) if rng.random() < 0.85]
        if rng.random() < 0.1:
            parts.append(rng.choice(["<guid>http://x.org/g</guid>", "<title>again</title>",
                                     '<link href="x"/>', "<author>a</author>"]))
        rng.shuffle(parts)
        items.append("<item>" + rng.choice(["", "\n ", "<!-- c -->"]).join(parts) + "</item>")
    channel = ["<title>Feed</title>", "<link>http://x.org/</link>"]
    if rng.random() < 0.7:
        channel.insert(rng.randrange(3), f"<language>{rng.choice(['en', 'zh-HK', ''])}</language>")
    version = rng.choice(['version="2.0"', "", 'version="2.0" xmlns:dc="http://purl.org/dc/"'])
    body = "\n".join(channel + items) if rng.random() < 0.8 else "\n".join(items + channel)
    document = (rng.choice(DECLARATIONS) + f"<rss {version}><channel>{body}</channel></rss>"
                + rng.choice(["", "\n", "<junk"]))
    return document.encode(rng.choice(["utf-8", "utf-8", "latin-1"]), "replace"), rng.choice(TYPES)


def _both(content: bytes, content_type: str, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    def read() -> object:
        try:
            return read_feed(content, content_type, BASE)
        except ReadError as exc:
            return str(exc)
    fast = read()
    with monkeypatch.context() as patched:
        patched.setattr(feed_module, "read_plain_rss", lambda *args: None)
        slow = read()
    return [fast, slow]


def test_plain_rss_reads_what_feedparser_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    cases = [_random_feed(rng) for _ in range(600)]
    cases += [(p.read_bytes(), t) for p in sorted(FIXTURES.rglob("*.xml"))
              for t in ("application/rss+xml", "text/xml")]
    taken = 0
    for content, content_type in cases:
        fast, slow = _both(content, content_type, monkeypatch)
        assert fast == slow, content
        taken += read_plain_rss(content, content_type or "application/xml", BASE) is not None
    assert taken > 150  # the fast path was exercised, not only declined


def _bench_feed(items: int) -> bytes:
    """The benchmark's feed of ``items`` GIA-like press releases."""
    return Site(items).feed(0, "http://127.0.0.1:9")


def test_the_bench_and_gia_feeds_take_the_plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    feed = _bench_feed(300)
    gia = FIXTURES / "sources" / "gia" / "gia" / "rss" / "general_zh.xml"
    for content, content_type in ((feed, "application/rss+xml"), (gia.read_bytes(), "text/xml")):
        assert read_plain_rss(content, content_type, BASE) is not None
        fast, slow = _both(content, content_type, monkeypatch)
        assert fast == slow


def test_a_long_plain_feed_is_read_an_entry_at_a_time() -> None:
    # Each entry becomes its item as it is built: holding all 1,000 of feedparser's entry
    # dicts (with their detail dicts) at once peaked at ten times the feed's size.
    feed = _bench_feed(1000)
    read_feed(feed, "application/rss+xml", BASE)  # imports and caches out of the count
    tracemalloc.start()
    try:
        items = read_feed(feed, "application/rss+xml", BASE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(items) == 1000
    assert peak < 6 * len(feed), (peak, len(feed))


def test_markup_free_text_shortcut_is_what_feedparser_does() -> None:
    # plainrss skips resolve_relative_uris and _sanitize_html for text without < or &.
    rng = random.Random(3)
    alphabet = [*"ab \n\r\t>\"'=/;:!?-_.,()[]#%+*\\`~|^$@09", "é", "中", "\u00a0", "\x85", "]]>"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(30))).strip()
        resolved = resolve_relative_uris(text, "http://x/a/", "utf-8", "text/html")
        assert resolved == text
        assert _sanitize_html(resolved, "utf-8", "text/html") == text.strip().replace("\r\n", "\n")


def test_a_body_naming_a_local_file_is_parsed_not_opened(tmp_path: Path) -> None:
    # feedparser opens bytes that name a file; read_feed hands it a stream instead.
    secret = tmp_path / "secret.xml"
    secret.write_bytes(b"<rss version='2.0'><channel><item><title>secret</title>"
                       b"<link>http://x/s</link></item></channel></rss>")
    with pytest.raises(ReadError):
        read_feed(str(secret).encode(), "text/plain", BASE)
