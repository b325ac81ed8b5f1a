"""The polling path stays light: what only sending, serving, printing or migrating needs
is imported where it is used, not when the daemon's modules load.

Each check runs in a fresh interpreter (this test process has imported everything
already) and lists the packages that the import pulled in and should not have. A failure
here means someone made one of these imports eager again: move it back into the function
that uses it (with a comment saying why), or, if the polling path truly needs it now, say
so here.
"""

from __future__ import annotations

import pytest

from tests.helpers.interpreter import last_json_of

# Needed only to send (apprise), to serve HTTP (fastapi, starlette, uvicorn), to print
# for a person (rich, typer, click, pygments), to migrate (alembic, mako), to read a page
# with CSS selectors lxml cannot answer by id (bs4, soupsieve), to guess the encoding of
# a page that declares none and is not UTF-8 or Big5 (charset_normalizer; bs4 imports it
# too), to match a rule's regex (re2: the shipped rules have none), or not by the fetcher
# (httpx 0.x, which also imports rich, click and pygments; and httpx2's own transport,
# httpcore2 with h11: the fetcher sends httpx2's requests through aiohttp,
# watcher/fetch/connect.py).
NOT_FOR_POLLING = ("apprise", "fastapi", "starlette", "uvicorn", "rich", "typer", "click",
                   "pygments", "alembic", "mako", "httpx", "httpcore", "httpcore2", "h11",
                   "markdown", "bs4", "soupsieve", "charset_normalizer", "re2")


def imported_by(code: str) -> set[str]:
    """Top-level packages in sys.modules after running ``code`` in a new interpreter."""
    probe = (f"import sys\n{code}\n"
             "import json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    return set(last_json_of(probe))


@pytest.mark.parametrize("module", ["watcher.pipeline", "watcher.service.schedule",
                                    "watcher.service.runtime"])
def test_polling_modules_import_nothing_they_do_not_use(module: str) -> None:
    unwanted = imported_by(f"import {module}") & set(NOT_FOR_POLLING)
    assert not unwanted, f"importing {module} imports {sorted(unwanted)}"


def test_no_notification_target_means_no_apprise() -> None:
    # With WATCHER_NOTIFY empty, alerts go to the console: Apprise is never loaded.
    assert "apprise" not in imported_by(
        "from watcher.config.targets import load_targets\nassert load_targets('') == []")


def test_targets_still_load_apprise_when_configured() -> None:
    # The other side: the lazy import is still reached, and checks the URL at load time.
    assert "apprise" in imported_by(
        "from watcher.config.targets import load_targets\n"
        "assert len(load_targets('json://127.0.0.1:9/')) == 1")


# A GIA-shaped release read by id, and a plain RSS feed whose descriptions are text.
_READ_BY_ID = (
    "from watcher.config.sources import Reader\n"
    "from watcher.read import read_feed, read_page\n"
    "page = (b'<html><head><title>t</title></head><body><span id=\"PRHeadlineSpan\">Fund'"
    "        b'</span><span id=\"pressrelease\">HK$10 billion.<br><br>More.</span>'"
    "        b'<div class=\"mB15 f15\">Ends</div></body></html>')\n"
    "reader = Reader(title='span#PRHeadlineSpan', body='span#pressrelease')\n"
    "doc = read_page(page, 'text/html; charset=utf-8', url='https://x.example/p.htm',"
    "                source='s', reader=reader)\n"
    "assert doc.title == 'Fund' and 'HK$10 billion.' in doc.text, doc\n"
    "feed = (b'<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>'"
    "        b'<item><title>A</title><link>https://x.example/a</link>'"
    "        b'<description>Plain words</description></item></channel></rss>')\n"
    "items = read_feed(feed, 'application/rss+xml', 'https://x.example/f.xml')\n"
    "assert items[0].summary == 'Plain words', items\n"
)


def test_pages_read_by_id_and_plain_feeds_do_not_load_bs4() -> None:
    loaded = imported_by(_READ_BY_ID)
    assert not loaded & {"bs4", "soupsieve", "charset_normalizer"}, sorted(loaded)


def test_a_class_selector_still_reads_with_bs4() -> None:
    # The other side: the lazy import is reached, and reads the page.
    loaded = imported_by(_READ_BY_ID.replace("body='span#pressrelease'",
                                             "body='span#pressrelease', drop=['b.x']")
                         + "doc2 = read_page(page, 'text/html', url='https://x.example/q.htm',"
                           " source='s', reader=Reader(body='div.mB15'))\n"
                           "assert doc2.text == 'Ends', doc2\n")
    assert "bs4" in loaded


def test_the_shipped_rules_do_not_load_re2() -> None:
    loaded = imported_by("from pathlib import Path\nfrom watcher.config.rules import load_rules\n"
                         "assert load_rules(Path('rules'))")
    assert "re2" not in loaded
