"""Plain RSS 2.0 read without feedparser's per-element machinery, with feedparser's result.

feedparser spends about half a millisecond per item (its SAX handlers, dictionaries and
URL joins, all in Python): 0.5 s for a 1,000-item feed, read on every poll that finds the
feed changed. Most feeds watcher follows are the plainest RSS 2.0 (GIA's, the bench's):
``rss > channel > item`` with ``title``, ``link``, ``description`` and ``pubDate``, no
attributes, namespaces or DOCTYPE. For exactly that shape this module builds the entries
feedparser would build, with the same parser (expat, which also decides well-formedness)
and feedparser's own functions for every value (URL joining, relative URIs and sanitising
of HTML descriptions, date parsing, its character fix-ups), in about a hundredth of the
time. Anything else (another element or attribute, a second value for a field, an
encoding it would have to guess, markup expat rejects) answers None, and feedparser reads
the feed as before. tests/unit/test_read_feed.py checks both give the same items.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import _urljoin, make_safe_absolute_uri, resolve_relative_uris
from feedparser.util import FeedParserDict

from watcher.read.dates import parse_date

# What feedparser's convert_to_utf8 reads as UTF-8 without guessing (RFC 3023 rules).
_PLAIN_ENCODINGS = ("utf-8", "utf8", "us-ascii")
_XML_PI_ENCODING = re.compile(rb"^<\?.*encoding=['\"](.*?)['\"].*\?>")
_XML_DECLARATION = re.compile(r"^<\?xml[^>]*?>")
_NEW_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>"
_UNSUPPORTED = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
# Where each element may appear, by its parent; each at most once (items excepted).
_CHILDREN = {
    "": ("rss",),
    "rss": ("channel",),
    "channel": ("title", "link", "description", "language", "item"),
    "item": ("title", "link", "description", "pubDate"),
}
_CONTENT_TYPES = {"title": "text/plain", "description": "text/html"}
_ELEMENT_NAMES = {"pubDate": "published", "description": "description", "title": "title",
                  "link": "link", "language": "language"}
_DEPTH_OF_VALUES = 4  # rss > channel > item > value: feedparser re-joins its base per level


class _Unsupported(Exception):
    """The feed is not of the plain shape: feedparser must read it."""


@dataclass
class PlainFeed:
    # Built one at a time as read_feed takes them: all of a 1,000-item feed's entries at
    # once, each with its detail dicts, made reading it peak at 2.1 MB (now 0.95 MB).
    entries: Iterator[FeedParserDict]
    language: str | None


@dataclass
class _State:
    stack: list[str] = field(default_factory=list)
    seen: list[set[str]] = field(default_factory=lambda: [set()])
    text: list[str] = field(default_factory=list)
    items: list[dict[str, str]] = field(default_factory=list)
    channel: dict[str, str] = field(default_factory=dict)


def read_plain_rss(content: bytes, content_type: str, base_url: str) -> PlainFeed | None:
    """The feed as feedparser would give its entries and language, or None if the feed is
    not plain RSS 2.0 (then feedparser must read it)."""
    data = _as_feedparser_reads(content, content_type)
    if data is None:
        return None
    state = _State()
    parser = expat.ParserCreate(None, " ")  # as xml.sax does with namespaces on
    parser.StartElementHandler = lambda name, attrs: _start(state, name, attrs)
    parser.EndElementHandler = lambda name: _end(state, name)
    parser.CharacterDataHandler = state.text.append
    try:
        parser.Parse(data, True)
    except (expat.ExpatError, _Unsupported):
        return None
    if not state.items:
        return None
    base = _base_uri(base_url)
    entries = (_entry(item, base) for item in state.items)
    language = state.channel.get("language")
    return PlainFeed(entries, _finish("language", language, base)[0] if language is not None
                     else None)


def _as_feedparser_reads(content: bytes, content_type: str) -> bytes | None:
    """The bytes feedparser hands to expat, when it would decode ``content`` as UTF-8
    without guessing; else None."""
    mime, _, params = content_type.partition(";")
    mime = mime.strip()
    charset = ""
    for chunk in params.split(";"):
        key, _, value = chunk.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    if not content.startswith((b"<?xml", b"<rss")) or _UNSUPPORTED.search(content):
        return None
    declared = _XML_PI_ENCODING.match(content)
    xml_encoding = declared.group(1).decode("utf-8", "replace").lower() if declared else ""
    if mime == "application/xml" or (mime.startswith("application/") and mime.endswith("+xml")):
        encoding = charset or xml_encoding or "utf-8"
    elif mime == "text/xml" or (mime.startswith("text/") and mime.endswith("+xml")):
        encoding = charset or "us-ascii"
    else:
        return None
    text = None
    for candidate in dict.fromkeys(e for e in (encoding, xml_encoding) if e):
        # feedparser tries these in turn; past them it would guess.
        if candidate.lower() not in _PLAIN_ENCODINGS:
            return None
        with contextlib.suppress(UnicodeDecodeError):
            text = content.decode(candidate)
            break
    if text is None:
        return None
    if _XML_DECLARATION.search(text):
        text = _XML_DECLARATION.sub(_NEW_DECLARATION, text)
    else:
        text = _NEW_DECLARATION + "\n" + text
    return text.encode("utf-8")


def _start(state: _State, name: str, attrs: dict[str, str]) -> None:
    parent = state.stack[-1] if state.stack else ""
    allowed = _CHILDREN.get(parent, ())
    if name not in allowed or (attrs and not (name == "rss" and set(attrs) == {"version"})):
        raise _Unsupported(name)
    if name != "item" and name in state.seen[-1]:
        raise _Unsupported(f"second {name}")
    state.seen[-1].add(name)
    state.seen.append(set())
    state.stack.append(name)
    if name == "item":
        state.items.append({})
    state.text.clear()


def _end(state: _State, name: str) -> None:
    state.stack.pop()
    state.seen.pop()
    parent = state.stack[-1] if state.stack else ""
    if name in _ELEMENT_NAMES:
        value = "".join(state.text)
        if parent == "item":
            state.items[-1][name] = value
        elif parent == "channel":
            state.channel[name] = value
    elif state.text and "".join(state.text).strip() and name != "rss":
        raise _Unsupported(f"text in {name}")
    state.text.clear()


def _base_uri(base_url: str) -> str:
    """The base feedparser resolves against inside an item's elements."""
    base = make_safe_absolute_uri("", base_url) or make_safe_absolute_uri(base_url) or ""
    for _ in range(_DEPTH_OF_VALUES):  # unknown_starttag, once per element level
        base = (make_safe_absolute_uri(base, base) or base) if base else _urljoin(base, base)
    return base


def _entry(item: dict[str, str], base: str) -> FeedParserDict:
    entry = FeedParserDict()
    for name, raw in item.items():
        key = _ELEMENT_NAMES[name]
        value, content_type = _finish(key, raw, base)
        if key == "title" or key == "description":
            field_name = "summary" if key == "description" else key
            entry[field_name] = value
            entry[field_name + "_detail"] = FeedParserDict(
                {"type": content_type, "language": None, "base": base, "value": value})
        elif key == "link":
            value = value.replace("&amp;", "&")
            value = re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", value)
            entry["link"] = value
        else:
            entry["published"] = value
            if parse_date(value) is None:  # read_feed reads feedparser's date only then
                entry["published_parsed"] = _parse_date(value)
    return entry


def _finish(element: str, raw: str, base: str) -> tuple[str, str]:
    """feedparser's _FeedParserMixin.pop for one value of a plain feed (strict parser,
    UTF-8, no base64, no xml:lang), with the content type it ends with."""
    mixin: Any = _FeedParserMixin
    output = raw.strip()
    if element in mixin.can_be_relative_uri and output:
        output = _urljoin(base, output)
    content_type = _CONTENT_TYPES.get(element, "text/html")
    if content_type == "text/plain" and mixin.looks_like_html(output):
        content_type = "text/html"
    if mixin.map_content_type(content_type) in mixin.html_types:
        if "<" not in output and "&" not in output:
            # Text without markup: resolving URIs in it changes nothing and sanitising only
            # trims it and turns CRLF into LF (both checked in test_read_feed), at a
            # hundredth of the cost of running their HTML parsers.
            if element in mixin.can_contain_dangerous_markup:
                output = output.strip().replace("\r\n", "\n")
        else:
            if element in mixin.can_contain_relative_uris:
                output = resolve_relative_uris(output, base, "utf-8", content_type)
            if element in mixin.can_contain_dangerous_markup:
                output = _sanitize_html(output, "utf-8", content_type)
    if isinstance(output, bytes):
        output = output.decode("utf-8", "ignore")
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        output = output.encode("iso-8859-1").decode("utf-8")  # UTF-8 read as Latin-1
    return output.translate(_cp1252), content_type
