"""read.byid: reading a page by ids with lxml alone gives exactly what the bs4 path gives
(same title, text and date) on every fixture page and reader shape it accepts, and steps
aside (None) for selectors beyond it."""

from __future__ import annotations

from pathlib import Path

import pytest

import watcher.read.html as html_reader
from watcher.config.sources import Reader
from watcher.errors import ReadError
from watcher.read import read_page
from watcher.read.byid import parse_ids, read_by_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
PAGES = sorted(FIXTURES.glob("*.html"))
READERS = [
    Reader(title="span#PRHeadlineSpan", body="span#pressrelease", drop=["div.mB15.f15"]),
    Reader(title="#PRHeadlineSpan", body="#pressrelease"),
    Reader(body="span#pressrelease", drop=["div", "br"]),
    Reader(title="span#PRHeadlineSpan", body="#contentBody",
           drop=[".mB15", "span#PRHeadlineSpan"]),
    Reader(body="#pressrelease", drop=["div.mB15.f15,div"]),
]


def _read(content: bytes, reader: Reader) -> object:
    try:
        return read_page(content, "text/html", url="http://x/", source="s", reader=reader)
    except ReadError as exc:
        return str(exc)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_same_document_as_the_bs4_path(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = page.read_bytes()
    fast = [_read(content, reader) for reader in READERS]
    monkeypatch.setattr(html_reader, "parse_ids", lambda markup, ids: None)
    assert [_read(content, reader) for reader in READERS] == fast


def test_gia_page_reads_title_body_and_footer_date() -> None:
    doc = read_page((FIXTURES / "read_gia_en.html").read_bytes(), "text/html",
                    url="http://x/", source="s", reader=READERS[0])
    assert doc.title and doc.text and "Ends/" not in doc.text and doc.published is not None


def test_complex_drop_selectors_step_aside() -> None:
    found = parse_ids('<p id="a">x <b class="c">y</b> z</p>', frozenset({"a"}))
    assert found is not None
    assert read_by_id(found, title=None, body="#a", date=None, drop=["p > b"]) is None
    read = read_by_id(found, title=None, body="#a", date=None, drop=["b.c"])
    assert read is not None and read.text == "x z"  # the text after a dropped tag stays


def test_missing_body_is_a_read_error() -> None:
    with pytest.raises(ReadError, match="matched nothing"):
        read_page(b"<html><body><p id='x'>hi</p></body></html>", "text/html", url="http://x/",
                  source="s", reader=Reader(body="#pressrelease"))
