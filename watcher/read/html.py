"""HTML pages into Documents: one page, the links of a list page, or the rows of a table.

Order matters in ``read_page``: scripts and the reader's ``drop`` selectors go before any
text is read, so nothing they hold can leak into a document; the GIA footer date is read
from the decoded markup first, because the footer is usually among what ``drop`` removes.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError

from watcher.config.sources import Entries, Reader
from watcher.errors import ReadError
from watcher.models import Document, FeedItem
from watcher.read.dates import find_gia_date, parse_date
from watcher.read.decode import decode
from watcher.read.language import detect_language
from watcher.read.text import element_text, one_line

_ALWAYS_DROP = ("script", "style", "noscript", "template", "iframe", "object", "embed")
# GIA's footer when a reader did not drop it: "Ends/<date>" or "完", then date/time lines
# and "NNNN". Cut only when nothing but such lines follows, so a body is never truncated.
_FOOTER_START = re.compile(r"^(?:Ends/.*|完)$")
_FOOTER_LINE = re.compile(
    r"^(?:Ends/.*|完|Issued at HKT.*|NNNN|\d{4}年\d{1,2}月\d{1,2}日.*|香港時間.*)$"
)


def read_page(
    content: bytes,
    content_type: str,
    *,
    url: str,
    source: str,
    reader: Reader | None,
    fallback_title: str = "",
    published: datetime | None = None,
    language: str | None = None,
) -> Document:
    """One page as one Document."""
    markup = decode(content, content_type)
    with _reading(url):
        soup = _parse(markup)
        reader = reader or Reader()
        for element in _select(soup, ",".join(_ALWAYS_DROP + reader.drop), url):
            element.decompose()
        when = _selected_date(soup, reader.date, url) or find_gia_date(markup) or published
        title = _title(soup, reader.title, url) or one_line(fallback_title)
        text = _strip_gia_footer(_body(soup, reader.body, url))
        return Document(
            url=url,
            source=source,
            title=title,
            text=text,
            language=language or detect_language(title + "\n" + text),
            published=when,
        )


def read_links(
    content: bytes, content_type: str, *, base_url: str, selector: str
) -> list[FeedItem]:
    """The http(s) links a list page's ``selector`` points at, absolute, first seen first."""
    with _reading(base_url):
        soup = _parse(decode(content, content_type))
        base = _document_base(soup, base_url)
        seen: set[str] = set()
        items: list[FeedItem] = []
        for element in _select(soup, selector, base_url):
            anchor = element if element.name == "a" else element.find("a", href=True)
            if not isinstance(anchor, Tag):
                continue
            link = _absolute(base, anchor.get("href"))
            if link is None or link in seen:
                continue
            seen.add(link)
            items.append(FeedItem(url=link, title=one_line(anchor.get_text(" "))))
        return items


def read_entries(
    content: bytes,
    content_type: str,
    *,
    url: str,
    source: str,
    entries: Entries,
    language: str | None,
) -> list[Document]:
    """Each element matching ``entries.select`` as its own Document."""
    with _reading(url):
        soup = _parse(decode(content, content_type))
        for element in _select(soup, ",".join(_ALWAYS_DROP), url):
            element.decompose()
        base = _document_base(soup, url)
        documents: list[Document] = []
        for entry in _select(soup, entries.select, url):
            whole = element_text(entry)
            if not whole or _is_header_row(entry):
                continue
            title = one_line(_part(entry, entries.title, url) or whole)
            body = _part(entry, entries.body, url) or whole
            date_text = _part(entry, entries.date, url)
            documents.append(
                Document(
                    url=_entry_url(entry, entries.link, base, url, whole),
                    source=source,
                    title=title,
                    text=body,
                    language=language or detect_language(whole),
                    published=parse_date(date_text) if date_text else None,
                )
            )
        return documents


@contextmanager
def _reading(url: str) -> Iterator[None]:
    """Hostile markup must end in ReadError, never in a parser's own exception."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bs4's hints about odd input are not news
            yield
    except ReadError:
        raise
    except RecursionError as exc:
        raise ReadError(url, "page nested too deeply to read") from exc
    except Exception as exc:
        raise ReadError(url, f"unreadable page: {type(exc).__name__}: {exc}") from exc


def _parse(markup: str) -> BeautifulSoup:
    # NULs are not text and lxml would stop at one; replace like browsers do.
    return BeautifulSoup(markup.replace("\x00", "\ufffd"), "lxml")


def _select(scope: Tag, selector: str | None, url: str) -> list[Tag]:
    if not selector:
        return []
    try:
        return list(scope.select(selector))
    except SelectorSyntaxError as exc:
        first = str(exc).splitlines()[0]
        raise ReadError(url, f"invalid CSS selector {selector!r}: {first}") from exc


def _title(soup: BeautifulSoup, selector: str | None, url: str) -> str:
    for element in _select(soup, selector, url):
        text = one_line(element.get_text(" "))
        if text:
            return text
    title = soup.find("title")
    return one_line(title.get_text(" ")) if isinstance(title, Tag) else ""


def _body(soup: BeautifulSoup, selector: str | None, url: str) -> str:
    if selector:
        found = _select(soup, selector, url)
        if not found:
            raise ReadError(url, f"body selector {selector!r} matched nothing")
        return "\n\n".join(t for t in (element_text(e) for e in found) if t)
    body = soup.find("body")
    return element_text(body if isinstance(body, Tag) else soup)


def _selected_date(soup: BeautifulSoup, selector: str | None, url: str) -> datetime | None:
    for element in _select(soup, selector, url):
        found = parse_date(element.get_text(" "))
        if found is not None:
            return found
    return None


def _strip_gia_footer(text: str) -> str:
    lines = text.split("\n")
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].strip()
        if not line:
            continue
        if not _FOOTER_LINE.match(line):
            return text
        if _FOOTER_START.match(line):
            return "\n".join(lines[:index]).rstrip()
    return text


def _part(entry: Tag, selector: str | None, url: str) -> str:
    if not selector:
        return ""
    return "\n\n".join(t for t in (element_text(e) for e in _select(entry, selector, url)) if t)


def _entry_url(entry: Tag, selector: str | None, base: str, url: str, text: str) -> str:
    anchors = _select(entry, selector, url) if selector else entry.find_all("a", href=True)
    for anchor in anchors:
        target = anchor if anchor.name == "a" else anchor.find("a", href=True)
        if isinstance(target, Tag):
            link = _absolute(base, target.get("href"))
            if link:
                return link
    # No link: the entry's own text is its identity, stable while the row is unchanged.
    digest = hashlib.sha256(one_line(text).encode("utf-8")).hexdigest()[:16]
    return f"{urldefrag(url).url}#entry-{digest}"


def _is_header_row(entry: Tag) -> bool:
    return entry.name == "tr" and entry.find("td") is None and entry.find("th") is not None


def _document_base(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    if isinstance(base, Tag):
        return _absolute(url, base.get("href")) or url
    return url


def _absolute(base: str, href: object) -> str | None:
    if not isinstance(href, str) or not href.strip():
        return None
    try:
        link = urldefrag(urljoin(base, href.strip())).url
        scheme = urlsplit(link).scheme
    except ValueError:  # e.g. an invalid IPv6 literal
        return None
    return link if scheme in ("http", "https") else None
