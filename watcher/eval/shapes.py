"""How each real source's page is read into documents (see docs/page-structures.md).

The readers are the ones a source definition would use: GIA releases keep their headline
and body span without the "Ends/..." footer; ITF's "What's New" is one document per table
row, as the ``itf-whats-new`` source reads it; the others are an ``h1`` and an article body.
Label files name a shape (watcher.eval.labels checks it); watcher.eval.run reads a case's
page with it.
"""

from __future__ import annotations

from watcher.config.sources import Entries, Reader

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
