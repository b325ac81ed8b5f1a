"""How each real source's page is read into documents (see shared/fixtures/real/README.md).

The readers are the ones a source definition would use: GIA releases keep their headline
and body span without the "Ends/..." footer; ITF's "What's New" is one document per table
row, as the ``itf-whats-new`` source reads it; the others are an ``h1`` and an article body.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from watcher.config.sources import Entries, Reader
from watcher.eval.labels import Case
from watcher.models import Document
from watcher.read import read_entries, read_page

SHAPES: dict[str, Reader | Entries] = {
    "gia": Reader(title="span#PRHeadlineSpan", body="span#pressrelease",
                  drop=("div.mB15.f15 ~ div", "div.mB15.f15")),
    "news": Reader(title="h1", body="div.newsdetail"),
    "itf-scheme": Reader(title="h1", body="div.content-body"),
    "itf-whats-new": Entries(select="table tr:has(> td)", date="td:nth-of-type(1)",
                             title="td:nth-of-type(2)", body="td:nth-of-type(2)", link="a"),
    "hkstp": Reader(title="h1", body="div.news-content"),
    "hkpc": Reader(title="h1", body="div.press-release-body"),
    "fhki": Reader(title="h1", body="div.article-body"),
}


def read_text_page(case: Case) -> Document:
    """A real page's published text: the headline on the first line, then the body."""
    title, _, body = case.page_path.read_text(encoding="utf-8").partition("\n")
    published = (datetime.combine(case.published, time(12), tzinfo=UTC)
                 if case.published else None)
    return Document(url=case.url, source="eval", title=title.strip(), text=body.strip(),
                    language=case.language, published=published)


def read_case(case: Case) -> list[Document]:
    """The documents of a case's page, read as its source would read it."""
    if case.shape == "text":
        return [read_text_page(case)]
    content = case.page_path.read_bytes()
    url = case.page_path.resolve().as_uri()
    shape = SHAPES[case.shape]
    if isinstance(shape, Entries):
        return read_entries(content, "text/html; charset=utf-8", url=url, source="eval",
                            entries=shape, language=case.language)
    return [read_page(content, "text/html; charset=utf-8", url=url, source="eval",
                      reader=shape, language=case.language)]
