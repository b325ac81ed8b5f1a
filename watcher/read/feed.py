"""RSS and Atom feeds into FeedItems (feedparser does the parsing and sanitising)."""

from __future__ import annotations

import hashlib
import io
import re
import time
import warnings
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from watcher.errors import ReadError
from watcher.models import FeedItem
from watcher.read.dates import parse_date
from watcher.read.language import normalise_language
from watcher.read.plainrss import read_plain_rss
from watcher.read.text import html_fragment_text, one_line

_TAG_LIKE = re.compile(r"<[A-Za-z!/?]")


def read_feed(content: bytes, content_type: str, base_url: str) -> list[FeedItem]:
    """The items of an RSS or Atom document, in feed order.

    Raises ReadError("not a feed: ...") for a document with no feed element and no items.
    """
    try:
        with warnings.catch_warnings():
            # feedparser and bs4 warn about odd input; odd input is this module's job.
            warnings.simplefilter("ignore")
            plain = read_plain_rss(content, content_type or "application/xml", base_url)
            if plain is not None:  # feedparser's entries, built a hundred times faster
                language = normalise_language(plain.language)
                return [_item(entry, base_url, language) for entry in plain.entries]
            parsed = feedparser.parse(
                # A stream: given bytes it first tries them as a file name (and a str that
                # looks like a URL, it would fetch).
                io.BytesIO(content),
                response_headers={
                    "content-type": content_type or "application/xml",
                    "content-location": base_url,
                },
                resolve_relative_uris=True,
                sanitize_html=True,
            )
            entries = list(parsed.get("entries", []))
            if not entries and not parsed.get("version"):
                raise ReadError(base_url, f"not a feed: {_why(parsed)}")
            feed_language = normalise_language(parsed.get("feed", {}).get("language"))
            return [_item(entry, base_url, feed_language) for entry in entries]
    except ReadError:
        raise
    except Exception as exc:  # a parser bug on hostile input must not stop the poll
        raise ReadError(base_url, f"not a feed: {type(exc).__name__}: {exc}") from exc


def _item(entry: Any, base_url: str, feed_language: str | None) -> FeedItem:
    title = _text(entry, "title")
    summary = _text(entry, "summary")
    if not summary:
        contents = entry.get("content") or []
        if contents:
            summary = _detail_text(contents[0])
    language = (
        normalise_language((entry.get("title_detail") or {}).get("language"))
        or normalise_language((entry.get("summary_detail") or {}).get("language"))
        or feed_language
    )
    return FeedItem(
        url=_link(entry, base_url, title + "\n" + summary),
        title=one_line(title),
        summary=summary,
        published=_published(entry),
        language=language,
    )


def _text(entry: Any, key: str) -> str:
    detail = entry.get(f"{key}_detail")
    if detail:
        return _detail_text(detail)
    value = entry.get(key)
    return html_fragment_text(value) if isinstance(value, str) else ""


def _detail_text(detail: Any) -> str:
    value = detail.get("value") or ""
    if not isinstance(value, str):
        return ""
    # Text that still looks like markup after one pass is parsed again: a title may hold
    # escaped markup such as "&lt;script&gt;", which must not reach an alert as a tag.
    text = html_fragment_text(value)
    for _ in range(3):  # bounded: each pass peels one level of escaping
        if not _TAG_LIKE.search(text):
            break
        text = html_fragment_text(text)
    return text


def _link(entry: Any, base_url: str, text: str) -> str:
    for candidate in (entry.get("link"), entry.get("id")):
        if isinstance(candidate, str) and candidate.strip():
            url = urljoin(base_url, candidate.strip())
            if urlsplit(url).scheme in ("http", "https"):
                return url
    # No usable link: the item is still a document; give it a stable identity.
    digest = hashlib.sha256(one_line(text).encode("utf-8")).hexdigest()[:16]
    return f"{base_url}#item-{digest}"


def _published(entry: Any) -> datetime | None:
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        if isinstance(raw, str):
            found = parse_date(raw)
            if found is not None:
                return found
        parsed = entry.get(f"{key}_parsed")
        if isinstance(parsed, time.struct_time):
            try:
                return datetime(*parsed[:6], tzinfo=UTC)  # feedparser normalises to UTC
            except (ValueError, OverflowError):
                continue
    return None


def _why(parsed: Any) -> str:
    problem = parsed.get("bozo_exception")
    if problem is None:
        return "no RSS or Atom element"
    first = str(problem).strip().splitlines()
    return first[0] if first else type(problem).__name__
