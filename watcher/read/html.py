"""HTML pages into Documents: one page, the links of a list page, or the rows of a table.

Order matters in ``read_page``: scripts and the reader's ``drop`` selectors go before any
text is read, so nothing they hold can leak into a document; dates (the reader's ``date``
element, or the GIA footer) are read before ``drop``, which usually removes the footer.

bs4 (with soupsieve, and charset_normalizer behind it) is imported where a page is built
with it, not with this module: pages that lxml reads by id alone (GIA's releases) never
need it, and a daemon whose sources all read such pages is smaller without it (measured:
~2.5 MB with an email target, whose Apprise plugin brings charset_normalizer anyway; ~5 MB
without one).
"""

from __future__ import annotations

import hashlib
import html
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree  # type: ignore[import-untyped]

from watcher.config.sources import Entries, Reader
from watcher.errors import ReadError
from watcher.models import Document, FeedItem
from watcher.read.byid import ById, drop_matchers, parse_ids, read_by_id, sibling_chain
from watcher.read.dates import find_gia_date, parse_date
from watcher.read.decode import decode
from watcher.read.language import detect_language
from watcher.read.text import element_text, is_tag, one_line

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

_TITLE_TAG = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]*>")
_ID_ONLY = re.compile(r"^\s*[A-Za-z][A-Za-z0-9]*#[\w-]+\s*$|^\s*#[\w-]+\s*$")
# GIA's footer when a reader did not drop it: "Ends/<date>" or "完", then date/time lines
# and "NNNN". Cut only when nothing but such lines follows, so a body is never truncated.
# "Headline\n*****..." at the top of an older GIA body (the new layout keeps the stars in
# div#starBar, outside the body).
_STAR_UNDERLINE = re.compile(r"\A\s*([^\n*＊][^\n]*?)\s*\n\s*[*＊]{5,}[ \t]*(?:\n|\Z)")
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
        reader = reader or Reader()
        ids = _strainable_ids(reader)
        fast, found = _read_by_id(_no_nul(markup), reader, ids, url) if ids else (None, None)
        if fast is None and ids is None and _sibling_drops(reader):
            fast = _read_as_whole_page(_no_nul(markup), reader, url)
        if fast is not None:
            headline, body = _headline_in_body(_strip_gia_footer(fast.text))
            return Document(
                url=url,
                source=source,
                title=(fast.title or headline or _title_tag_text(markup)
                       or one_line(fallback_title)),
                text=body,
                language=language or detect_language(fast.title + "\n" + fast.text),
                published=fast.date or find_gia_date(markup) or published,
            )
        soup = _parse(markup, ids, found)
        # Dates first: the element holding one is often among what ``drop`` removes.
        when = _selected_date(soup, reader.date, url) or find_gia_date(markup) or published
        # Only the title and body elements are read, so ``drop`` only searches inside them
        # (selectors still see the whole page as context). Scripts and styles need no
        # removal pass: element_text never reads them.
        titles = _title_elements(soup, reader.title, url)
        bodies = _body_elements(soup, reader.body, url)
        if reader.drop:
            drop = ",".join(reader.drop)
            for scope in titles + bodies:
                for element in _select(scope, drop, url):
                    element.decompose()
        headline, text = _headline_in_body(
            _strip_gia_footer("\n\n".join(t for t in map(element_text, bodies) if t)))
        title = (
            _first_text(titles[:-1] if titles and titles[-1].name == "title" else titles)
            or headline
            or _first_text(titles)
            or (_title_tag_text(markup) if ids else "")
            or one_line(fallback_title)
        )
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
        elements = _select(soup, selector, base_url)
        for element in elements:
            anchor = element if element.name == "a" else element.find("a", href=True)
            if not is_tag(anchor):
                continue
            link = _absolute(base, anchor.get("href"))
            if link is None or link in seen:
                continue
            seen.add(link)
            items.append(FeedItem(url=link, title=one_line(anchor.get_text(" "))))
        if not items:
            # A list page answering 200 with nothing to follow has been redesigned (or is
            # an error page in disguise): that is the source failing, not a quiet poll.
            found = f"matched {len(elements)} elements but no http(s) links" if elements \
                else "matched nothing"
            raise ReadError(base_url, f"items selector {selector!r} {found}")
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
        base = _document_base(soup, url)
        documents: list[Document] = []
        found = _select(soup, entries.select, url)
        if not found:
            raise ReadError(url, f"entries selector {entries.select!r} matched nothing")
        for entry in found:
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


def _no_nul(markup: str) -> str:
    # NULs are not text and lxml would stop at one; replace like browsers do.
    return markup.replace("\x00", "\ufffd")


def _parse(markup: str, only_ids: frozenset[str] | None = None,
           found: list[etree._Element] | None = None) -> BeautifulSoup:
    from bs4 import BeautifulSoup  # see the note on bs4 at the top of this module
    from bs4.filter import SoupStrainer

    markup = _no_nul(markup)
    if only_ids and found is not None:
        return BeautifulSoup(_fragments(found), "lxml")
    if only_ids:
        # Build only the elements the reader reads: half the time on a GIA release.
        strainer = SoupStrainer(attrs={"id": lambda value: value in only_ids})
        return BeautifulSoup(markup, "lxml", parse_only=strainer)
    return BeautifulSoup(markup, "lxml")


def _read_by_id(markup: str, reader: Reader, ids: frozenset[str],
                url: str) -> tuple[ById | None, list[etree._Element] | None]:
    """The page read with lxml alone; else (None, the id'd elements for bs4 to build, or
    None when lxml cannot parse the page at all)."""
    drop = drop_matchers(reader.drop)
    if drop is None:
        return None, parse_ids(markup, ids)
    try:
        return read_by_id(markup, title=reader.title, body=reader.body or "",
                          date=reader.date, drop=drop), None
    except LookupError as exc:
        raise ReadError(url, f"body selector {reader.body!r} matched nothing") from exc


def _sibling_drops(reader: Reader) -> bool:
    """An id-only reader that parses the whole page only because a ``drop`` selector joins
    siblings (``div.mB15.f15 ~ div``, as GIA's sources do)."""
    selectors = [s for s in (reader.title, reader.body, reader.date) if s]
    parts = [p.strip() for p in ",".join(reader.drop).split(",") if p.strip()]
    return (bool(reader.body) and all(_ID_ONLY.match(s) for s in selectors)
            and any("~" in p for p in parts) and all(sibling_chain(p) for p in parts)
            and _soupsieve_accepts((*selectors, ",".join(reader.drop))))


@lru_cache(maxsize=256)
def _soupsieve_accepts(selectors: tuple[str, ...]) -> bool:
    """Whether bs4 would read these selectors rather than report them as invalid."""
    import soupsieve
    from soupsieve import SelectorSyntaxError

    try:
        for selector in selectors:
            soupsieve.compile(selector)
    except SelectorSyntaxError:
        return False
    return True


def _read_as_whole_page(markup: str, reader: Reader, url: str) -> ById | None:
    """The lxml reading of such a page when it is certain to be what bs4 reads from the
    whole page: the siblings a ``~`` selector looks at lie inside the element read, and
    the two differ only where bs4 reads a date selector's text, falls back to the page's
    <title> or empties a title or body that ``drop`` removes (then this answers None and
    bs4 reads the page)."""
    if reader.date:
        return None
    drop = drop_matchers(reader.drop)
    if drop is None:
        return None
    try:
        fast = read_by_id(markup, title=reader.title, body=reader.body or "", date=None,
                          drop=drop)
    except LookupError:
        return None  # bs4 reports it, in its own words
    return fast if fast is not None and fast.title and not fast.scope_dropped else None


def _fragments(found: list[etree._Element]) -> str:
    """The markup of the id'd elements lxml found (outermost only, in page order), for bs4
    to build when the reader's drop selectors need soupsieve: a few kilobytes instead of
    the whole page (libxml2 is the parser bs4's "lxml" builder drives, so the elements
    come out the same)."""
    chosen: set[etree._Element] = set()
    parts: list[str] = []
    for element in found:
        chosen.add(element)
        if any(parent in chosen for parent in element.iterancestors()):
            continue  # already inside an element taken whole
        parts.append(etree.tostring(element, encoding="unicode", method="html",
                                    with_tail=False))
    return "<html><body>" + "".join(parts) + "</body></html>"


def _strainable_ids(reader: Reader) -> frozenset[str] | None:
    """The ids to parse when the reader selects by id alone, else None (parse it all).

    Parsing only those elements cuts their ancestors off, so every ``drop`` selector must
    be a simple selector or start at one of those ids, or it could silently stop matching.
    """
    selectors = [s for s in (reader.title, reader.body, reader.date) if s]
    if not reader.body or not all(_ID_ONLY.match(s) for s in selectors):
        return None
    ids = frozenset(s.split("#", 1)[1].strip() for s in selectors)
    for part in ",".join(reader.drop).split(","):
        part = part.strip()
        if not part:
            continue
        own = re.match(r"^[A-Za-z0-9]*#([\w-]+)(?=[\s>+~])", part)
        if re.search(r"[\s>+~]", part) and not (own and own.group(1) in ids):
            return None
        if ":" in part:  # pseudo-classes such as :nth-child depend on the siblings cut off
            return None
    return ids


def _title_tag_text(markup: str) -> str:
    found = _TITLE_TAG.search(markup, 0, 200_000)
    return one_line(html.unescape(_TAGS.sub(" ", found.group(1)))) if found else ""


def _select(scope: Tag, selector: str | None, url: str) -> list[Tag]:
    if not selector:
        return []
    from soupsieve import SelectorSyntaxError  # loaded with bs4, which built ``scope``

    try:
        if _ID_ONLY.match(selector):  # ids are unique: stop at the first, not scan the page
            found = scope.select_one(selector)
            return [found] if found is not None else []
        return list(scope.select(selector))
    except SelectorSyntaxError as exc:
        first = str(exc).splitlines()[0]
        raise ReadError(url, f"invalid CSS selector {selector!r}: {first}") from exc


def _title_elements(soup: BeautifulSoup, selector: str | None, url: str) -> list[Tag]:
    found = _select(soup, selector, url)
    title = soup.find("title")
    return found + ([title] if is_tag(title) else [])


def _first_text(elements: list[Tag]) -> str:
    for element in elements:
        text = one_line(element_text(element))
        if text:
            return text
    return ""


def _body_elements(soup: BeautifulSoup, selector: str | None, url: str) -> list[Tag]:
    if selector:
        found = _select(soup, selector, url)
        if not found:
            raise ReadError(url, f"body selector {selector!r} matched nothing")
        return found
    body = soup.find("body")
    return [body if is_tag(body) else soup]


def _selected_date(soup: BeautifulSoup, selector: str | None, url: str) -> datetime | None:
    for element in _select(soup, selector, url):
        found = parse_date(element.get_text(" "))
        if found is not None:
            return found
    return None


def _headline_in_body(text: str) -> tuple[str, str]:
    """Older GIA releases have no headline element: the headline is the body's first
    line, underlined with asterisks. It is the title, so it is taken out of the text
    (read once, not twice); a body without that underline is returned as it is."""
    found = _STAR_UNDERLINE.match(text)
    if found is None:
        return "", text
    return one_line(found.group(1)), text[found.end():].lstrip()


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
        if is_tag(target):
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
    if is_tag(base):
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
