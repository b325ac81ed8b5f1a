"""``/feed.atom``: one Atom entry per change, newest first, with the change log's filters
(``?kind=funding``, ``type``, ``source``, ``q``).

Entry ids are ``tag:watcher,2026:change/ID`` (RFC 4151): they never change, so a feed
reader shows each change once however often it polls. Built with ElementTree, which
escapes text; characters XML 1.0 forbids (page text can carry control characters) are
dropped first so the document always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from sqlmodel import Session

from watcher import __version__
from watcher.store.queries import ChangeEntry
from watcher.store.webqueries import search_changes
from watcher.web.deps import session
from watcher.web.links import safe_url
from watcher.web.params import FilterError, to_filter
from watcher.web.views import describe

ATOM = "http://www.w3.org/2005/Atom"
TAG = "tag:watcher,2026:"
FEED_SIZE = 50
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

router = APIRouter(include_in_schema=False)
Text = Annotated[str | None, Query()]


def entry_id(change_id: int) -> str:
    return f"{TAG}change/{change_id}"


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str
         ) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}",
                            {k: _text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _text(text)
    return element


def _summary(entry: ChangeEntry) -> str:
    lines = [describe(entry)]
    if entry.evidence:
        lines.append(f"“{entry.evidence}”")
    lines += [f"{d.source} [{d.language}]: {d.title} <{d.url}>" for d in entry.documents]
    return "\n\n".join(lines)


def atom_feed(entries: list[ChangeEntry], *, base_url: str, self_url: str, title: str,
              feed_id: str) -> bytes:
    """The Atom document for ``entries`` (newest first); ``base_url`` ends with '/'."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "title", title)
    _add(feed, "id", feed_id)
    newest = entries[0].detected_at if entries else datetime(2026, 1, 1, tzinfo=UTC)
    _add(feed, "updated", newest.isoformat())
    _add(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    _add(feed, "link", rel="alternate", href=base_url, type="text/html")
    author = _add(feed, "author")
    _add(author, "name", "watcher")
    _add(feed, "generator", "watcher", version=__version__)
    for change in entries:
        item = _add(feed, "entry")
        _add(item, "id", entry_id(change.id))
        _add(item, "title", describe(change) + (" (dismissed as wrong)"
                                                 if change.dismissed_at else ""), type="text")
        _add(item, "updated", change.detected_at.isoformat())
        published = min((d.published_at for d in change.documents if d.published_at),
                        default=None)
        if published is not None:
            _add(item, "published", published.isoformat())
        _add(item, "link", rel="alternate", type="text/html",
             href=f"{base_url}changes/{change.id}")
        for document in change.documents:
            url = safe_url(document.url)
            if url:
                _add(item, "link", rel="related", href=url, hreflang=document.language,
                     title=document.title or document.source)
        _add(item, "category", term=change.kind)
        _add(item, "category", term=change.type)
        _add(item, "summary", _summary(change), type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


@router.get("/feed.atom")
def feed(request: Request, db: Annotated[Session, Depends(session)], kind: Text = None,
         type: Text = None,
         source: Text = None, q: Text = None) -> Response:
    try:
        where = to_filter(kind, type, source, text=q)
    except FilterError as exc:
        return PlainTextResponse(f"{exc}\n", status_code=400)
    chosen = {k: v for k, v in (("kind", kind), ("type", type), ("source", source),
                                ("q", q)) if v}
    suffix = ("?" + urlencode(sorted(chosen.items()))) if chosen else ""
    base = str(request.base_url)
    title = "watcher: changes" + (f" ({', '.join(chosen.values())})" if chosen else "")
    body = atom_feed(search_changes(db, where, limit=FEED_SIZE).entries, base_url=base,
                     self_url=f"{base}feed.atom{suffix}", title=title,
                     feed_id=f"{TAG}feed{suffix}")
    return Response(body, media_type="application/atom+xml; charset=utf-8")
