"""read.byid: reading a page by ids with lxml alone gives exactly what the bs4 path gives
(same title, text and date) on every fixture page and reader shape it accepts, and steps
aside (None) for selectors beyond it."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from lxml import etree

import watcher.read.html as html_reader
from bench.server import Site
from watcher.config.sources import Reader
from watcher.errors import ReadError
from watcher.read import byid, read_page
from watcher.read.byid import drop_matchers, read_by_id

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
    monkeypatch.setattr(html_reader, "_read_by_id", lambda markup, reader, ids, url: (None, None))
    assert [_read(content, reader) for reader in READERS] == fast


def test_gia_page_reads_title_body_and_footer_date() -> None:
    doc = read_page((FIXTURES / "read_gia_en.html").read_bytes(), "text/html",
                    url="http://x/", source="s", reader=READERS[0])
    assert doc.title and doc.text and "Ends/" not in doc.text and doc.published is not None


def test_complex_drop_selectors_step_aside() -> None:
    assert drop_matchers(["p > b"]) is None
    assert drop_matchers(["b.c", "p b"]) is None
    assert drop_matchers(["i + b"]) is None  # bs4 drops per scope: a removal makes neighbours
    drop = drop_matchers(["b.c"])
    assert drop is not None
    read = read_by_id('<p id="a">x <b class="c">y</b> z</p>', title=None, body="#a", date=None,
                      drop=drop)
    assert read is not None and read.text == "x z"  # the text after a dropped tag stays


def test_missing_body_is_a_read_error() -> None:
    with pytest.raises(ReadError, match="matched nothing"):
        read_page(b"<html><body><p id='x'>hi</p></body></html>", "text/html", url="http://x/",
                  source="s", reader=Reader(body="#pressrelease"))


# --- the two shortcuts: a parse that stops after the elements read, an id table lookup ---

SELECTORS = ["span#PRHeadlineSpan", "span#pressrelease"]


def _bench_pages(count: int) -> list[str]:
    site = Site(count)
    return [site.page_body(i).decode() for i in range(count)]


def _markup(element: object) -> str:
    return str(etree.tostring(element, encoding="unicode", with_tail=False))


def _whole(markup: str, selectors: list[str]) -> list[str]:
    root = byid.parse_page(markup)
    return [_markup(byid._pick(root, s)) for s in selectors]


@pytest.mark.parametrize("variant", range(6))
def test_cut_parse_gives_the_elements_of_the_whole_page(variant: int) -> None:
    rng = random.Random(variant)
    pages = _bench_pages(20)
    pieces = ["<!--", "-->", "<script>", "</script>", "<span>", "</span>", "<p>", "</div>",
              '<span id="pressrelease">', "<textarea>", "<title>", "<b>", "</i>",
              '<a name="pressrelease">', "<div id='pressrelease'>", "&amp;", "<table><td>"]
    cut = 0
    for markup in pages:
        for _ in range(rng.randrange(0, 4) if variant else 0):  # plant hostile fragments
            at = rng.randrange(len(markup))
            markup = markup[:at] + rng.choice(pieces) + markup[at:]
        picked = byid._read_cut(markup, SELECTORS)
        if picked is not None:  # else the whole page is parsed: nothing to compare
            cut += 1
            got = [_markup(picked[s]) for s in SELECTORS]
            assert got == _whole(markup, SELECTORS)
    if variant == 0:
        assert cut == len(pages)  # on the plain pages the cut is taken every time


def test_cut_declines_when_an_element_runs_past_the_guess() -> None:
    body = '<span id="pressrelease">a<span>b</span>c'  # its end tag is missing
    markup = f"<html><body>{body}" + "<p>after</p>" * 50 + "</body></html>"
    assert byid._read_cut(markup, ["span#pressrelease"]) is None
    script = '<script>var s = "<span id=\'pressrelease\'>x</span>";</script>'
    markup = f"<html><body>{script}<span id='pressrelease'>real</span>" + "<p>z</p>" * 50
    picked = byid._read_cut(markup, ["span#pressrelease"])
    assert picked is None or picked["span#pressrelease"].text == "real"


@pytest.mark.parametrize("markup", [
    '<a name="x">a</a><span id="x">s</span>',  # <a name> claims the id table first
    '<div id="x">1</div><span id="x">2</span>',  # duplicate ids, different tags
    '<span id=" x">1</span><span id="x">2</span>',
    '<p id="x">q</p><p ID="x">z</p>',
    "<p>no id here</p>",
])
def test_id_lookup_is_the_first_element_with_that_id_and_tag(markup: str) -> None:
    root = byid.parse_page(f"<html><body>{markup}</body></html>")
    for selector in ("span#x", "#x", "p#x", "div#x"):
        tag, _, id_ = selector.partition("#")
        walked = [e for e in root.iter() if e.get("id") == id_ and (not tag or e.tag == tag)]
        assert byid._pick(root, selector) is (walked[0] if walked else None)


def test_dropped_elements_with_control_characters_after_them_read() -> None:
    # lxml refuses to write such a tail back, so dropped elements are skipped, not removed.
    html = (b'<span id="pressrelease">One.<div class="mB15 f15">Ends/x</div>\x08two'
            b'</span>')
    doc = read_page(html, "text/html", url="http://x/", source="s", reader=READERS[0])
    assert doc.text == "One.\x08two"


def test_sibling_drops_stay_linear_on_many_siblings() -> None:
    body = "<div>x</div>" * 20_000 + '<div class="a">end</div><div>after</div>'
    html = f'<span id="pressrelease">{body}</span>'.encode()
    reader = Reader(body="#pressrelease", drop=["div.a ~ div"])
    started = time.process_time()
    doc = read_page(html, "text/html", url="http://x/", source="s", reader=reader)
    assert time.process_time() - started < 5
    assert doc.text.endswith("end") and "after" not in doc.text


GIA_SOURCES = [
    Reader(title="span#PRHeadlineSpan", body="span#pressrelease",
           drop=["div.mB15.f15 ~ div", "div.mB15.f15", "div.controlDisplay2"]),
    Reader(title="#PRHeadlineSpan", body="#pressrelease", drop=["div ~ div", "br ~ br"]),
    Reader(title="#PRHeadline", body="#contentBody", drop=["div ~ div ~ div", "#starBar ~ *"]),
]


def test_sibling_drop_readers_read_what_bs4_reads_from_the_whole_page(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pages = [p.read_bytes() for p in PAGES] + [p.encode() for p in _bench_pages(10)]
    fast = [[_read(content, reader) for reader in GIA_SOURCES] for content in pages]
    monkeypatch.setattr(html_reader, "_read_as_whole_page", lambda markup, reader, url: None)
    assert [[_read(content, reader) for reader in GIA_SOURCES] for content in pages] == fast


def test_sibling_drop_readers_leave_date_selectors_and_title_fallbacks_to_bs4() -> None:
    page = (FIXTURES / "read_gia_en.html").read_bytes().decode()
    no_title = Reader(title="#missing", body="#pressrelease", drop=["div ~ div"])
    dated = Reader(title="#PRHeadlineSpan", body="#pressrelease", date="#pressrelease",
                   drop=["div ~ div"])
    assert html_reader._read_as_whole_page(page, no_title, "http://x/") is None
    assert html_reader._read_as_whole_page(page, dated, "http://x/") is None
    assert html_reader._read_as_whole_page(page, GIA_SOURCES[0], "http://x/") is not None
