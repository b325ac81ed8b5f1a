"""read.html: GIA press releases (English, Chinese, Big5), list pages and ITF table rows."""

from __future__ import annotations

import random
import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from watcher.config.sources import Entries, Reader
from watcher.errors import ReadError
from watcher.read import read_entries, read_links, read_page
from watcher.read import text as text_module
from watcher.read.language import detect_language

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
HK = ZoneInfo("Asia/Hong_Kong")
GIA = Reader(title="span#PRHeadlineSpan", body="span#pressrelease")
RELEASE = "https://www.info.gov.hk/gia/general/202405/10/P2024051000123.htm"


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def test_gia_english_release() -> None:
    doc = read_page(page("read_gia_en.html"), "text/html; charset=utf-8", url=RELEASE,
                    source="gia-en", reader=GIA)
    assert doc.title == (
        "New Industrialisation Acceleration Scheme opens for applications (with photos)"
    )
    paragraphs = doc.text.split("\n\n")
    assert paragraphs[0] == (
        "The Innovation, Technology and Industry Bureau announced today (May 10) that the "
        "New Industrialisation Acceleration Scheme is open for applications."
    )
    assert paragraphs[1].startswith("The Scheme provides funding on a 1:2 matching basis")
    assert paragraphs[-1] == (
        "Details are available on the website of the Innovation and Technology Fund."
    )
    assert len(paragraphs) == 4
    for leaked in ("Ends/", "Issued at HKT", "NNNN", "SCRIPT TEXT", "Enable JavaScript",
                   "Archives", "Photo"):
        assert leaked not in doc.text
    assert doc.published == datetime(2024, 5, 10, 17, 32, tzinfo=HK)
    assert doc.language == "en" and doc.url == RELEASE and doc.source == "gia-en"


def test_gia_footer_date_survives_dropping_the_footer() -> None:
    reader = Reader(title="span#PRHeadlineSpan", body="span#pressrelease",
                    drop=("div.mB15.f15", "#pressrelease > div"))
    doc = read_page(page("read_gia_en.html"), "text/html", url=RELEASE, source="gia-en",
                    reader=reader)
    assert doc.published == datetime(2024, 5, 10, 17, 32, tzinfo=HK)
    assert "Ends/" not in doc.text and "NNNN" not in doc.text


def test_gia_chinese_release() -> None:
    doc = read_page(page("read_gia_zh.html"), "text/html", url=RELEASE.replace(".htm", "c.htm"),
                    source="gia-zh", reader=GIA)
    assert doc.title == "新型工業加速計劃接受申請（附圖）"
    assert doc.language == "zh"
    assert doc.published == datetime(2024, 5, 10, 17, 32, tzinfo=HK)
    assert doc.text.startswith("創新科技及工業局今日（五月十日）宣布")
    assert len(doc.text.split("\n\n")) == 3
    for leaked in ("完", "香港時間", "NNNN", "2024年5月10日"):
        assert leaked not in doc.text


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=big5"])
def test_big5_hkscs_page(content_type: str) -> None:
    doc = read_page(page("read_gia_big5hkscs.html"), content_type, url=RELEASE,
                    source="gia-zh", reader=Reader(body="#pressrelease"))
    assert doc.title == "創新及科技基金 新聞公報"
    assert "呢個係香港嘅基金" in doc.text  # 嘅 is HKSCS: absent from plain Big5
    assert "\ufffd" not in doc.text and doc.language == "zh"


def test_defaults_without_reader_and_arguments_win() -> None:
    html = b"<html><head><title> A  page </title></head><body><p>One.</p><p>Two.</p></body>"
    when = datetime(2024, 1, 2, tzinfo=HK)
    doc = read_page(html, "text/html", url="http://x/", source="s", reader=None,
                    published=when, language="zh")
    assert (doc.title, doc.text, doc.published, doc.language) == (
        "A page", "One.\n\nTwo.", when, "zh"
    )
    untitled = read_page(b"<p>x</p>", "text/html", url="http://x/", source="s", reader=None,
                         fallback_title="From the feed")
    assert untitled.title == "From the feed"


def test_reader_date_selector() -> None:
    html = b'<html><body><p class="d">Date: 12 Oct 2023</p><p>Text</p></body></html>'
    doc = read_page(html, "text/html", url="http://x/", source="s",
                    reader=Reader(date="p.d", drop=("p.d",)))
    assert doc.published == datetime(2023, 10, 12, tzinfo=HK)
    assert doc.text == "Text"


def test_body_selector_matching_nothing_is_a_read_error() -> None:
    with pytest.raises(ReadError, match=r"body selector '#gone' matched nothing"):
        read_page(b"<p>x</p>", "text/html", url="http://x/", source="s",
                  reader=Reader(body="#gone"))


def test_invalid_selector_is_a_read_error() -> None:
    with pytest.raises(ReadError, match="invalid CSS selector"):
        read_page(b"<p>x</p>", "text/html", url="http://x/", source="s",
                  reader=Reader(body="p[["))


def test_read_links_of_a_gia_index() -> None:
    base = "https://www.info.gov.hk/gia/general/202405/10.htm"
    items = read_links(page("read_gia_index.html"), "text/html", base_url=base,
                       selector="#contentBody ul.list.fontSize1 li > a")
    assert [i.url for i in items] == [
        "https://www.info.gov.hk/gia/general/202405/10/P2024051000123.htm",
        "https://www.info.gov.hk/gia/general/202405/10/P2024051000456.htm",
        "https://www.info.gov.hk/gia/general/202405/10/P2024051000789.htm",
    ]
    assert items[1].title == "LCQ12: Support for innovation and technology"


def test_itf_whats_new_rows_through_read_entries() -> None:
    url = "https://www.itf.gov.hk/en/whats-new/index.html"
    entries = Entries(select="table tbody tr", title="td:nth-of-type(2)",
                      body="td:nth-of-type(2)", date="td:nth-of-type(1)",
                      link="td:nth-of-type(2) a")
    docs = read_entries(page("read_itf_whats_new.html"), "text/html", url=url,
                        source="itf-whats-new", entries=entries, language=None)
    assert len(docs) == 3
    first = docs[0]
    assert first.published == datetime(2020, 7, 27, tzinfo=HK)
    assert first.title.startswith(
        'The Government launched the "Re-industrialisation Funding Scheme" (RFS) today.'
    )
    assert "$15 million per project, whichever is lower" in first.text
    assert "News" not in first.text  # the Categories cell is not part of the body
    assert first.url.startswith(url + "#entry-") and first.language == "en"
    assert docs[1].url == (
        "https://www.itf.gov.hk/en/funding-programmes/facilitating-technology/nias/index.html"
    )
    # Identity is stable: reading the same page again gives the same URLs.
    again = read_entries(page("read_itf_whats_new.html"), "text/html", url=url,
                         source="itf-whats-new", entries=entries, language=None)
    assert [d.url for d in again] == [d.url for d in docs]
    assert len({d.url for d in docs}) == 3


def test_header_only_rows_are_skipped() -> None:
    docs = read_entries(page("read_itf_whats_new.html"), "text/html", url="http://x/",
                        source="s", entries=Entries(select="table tr"), language="en")
    assert len(docs) == 3 and docs[0].title.startswith("2020-07-27")


def test_deeply_nested_page_does_not_crash() -> None:
    html = b"<div>" * 20000 + b"deep" + b"</div>" * 20000
    doc = read_page(html, "text/html", url="http://x/", source="s", reader=None)
    assert "deep" in doc.text or doc.text == ""


def test_fifty_kilobyte_page_reads_quickly_enough() -> None:
    # Not a timing assertion: prints the cost so a slowdown shows in `pytest -s`; the
    # bound is loose enough that only a pathological regression (seconds) trips it.
    paragraph = (b"The Government covers at most one-third of the approved project cost, "
                 b"up to $200 million per project.<br><br>     ")
    filler = b"<div class='nav'><a href='/x'>link</a></div>" * 600
    html = page("read_gia_en.html").replace(b"<br><br>", paragraph * 200 + b"<br><br>", 1)
    html = html.replace(b"<body>", b"<body>" + filler, 1)
    assert 50_000 < len(html) < 80_000
    started = time.perf_counter()
    for _ in range(10):
        doc = read_page(html, "text/html", url=RELEASE, source="gia-en", reader=GIA)
    per_page = (time.perf_counter() - started) / 10
    print(f"read_page on {len(html)} bytes: {per_page * 1000:.1f} ms")
    assert doc.text.count("one-third") == 201
    assert per_page < 2.0


def test_parsing_only_the_selected_ids_reads_the_same_document() -> None:
    # "span#pressrelease" lets read_page build only the elements with those ids; the same
    # page read in full (a selector with an ancestor forces that) must give the same text.
    drop = ("div.mB15.f15", "#pressrelease > div")
    strained = read_page(page("read_gia_en.html"), "text/html", url=RELEASE, source="s",
                         reader=Reader(title="#PRHeadlineSpan", body="span#pressrelease",
                                       drop=drop))
    full = read_page(page("read_gia_en.html"), "text/html", url=RELEASE, source="s",
                     reader=Reader(title="#PRHeadline span", body="#contentBody #pressrelease",
                                   drop=drop))
    assert strained == full
    no_headline = read_page(page("read_gia_en.html"), "text/html", url=RELEASE, source="s",
                            reader=Reader(title="#missing", body="#pressrelease"))
    assert no_headline.title == strained.title  # falls back to <title>, as in full parsing


# --- text tidying and language detection: the fast forms against the readable ones ---

PLAIN_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000\u200b]+")


def plain_tidy(raw: str) -> str:
    """read.text._tidy as it was written before it skipped lone spaces."""
    paragraphs: list[str] = []
    for block in re.split(r"\x00|\n[ \t\u00a0\u3000]*\n", raw):
        lines = [PLAIN_SPACES.sub(" ", line).strip() for line in block.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


def plain_language(text: str) -> str:
    sample = text[:20_000]
    cjk = len(re.sub(r"[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+", "",
                     sample))
    latin = len(re.sub(r"[^A-Za-z]+", "", sample))
    return "zh" if cjk and cjk / (cjk + latin) >= 0.2 else "en"


def test_tidy_and_language_are_the_plain_forms() -> None:
    rng = random.Random(11)
    alphabet = [*"ab Z.\n\n\t\r\f\v\x00 ", "\u00a0", "\u3000", "\u200b", "\x85", "\u2028",
                "中", "文", "  ", "\n \n", "\n\u3000\n", "é"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(60)))
             for _ in range(4000)]
    texts += [p.read_text("utf-8", "replace") for p in sorted(PAGES.glob("*.html"))]
    for raw in texts:
        assert text_module._tidy(raw) == plain_tidy(raw), repr(raw)
        assert detect_language(raw) == plain_language(raw), repr(raw)


def test_items_selector_matching_nothing_is_a_read_error() -> None:
    with pytest.raises(ReadError, match=r"items selector 'ul.list a' matched nothing$"):
        read_links(b"<ul class='cards'><a href='/x'>x</a></ul>", "text/html",
                   base_url="http://x/", selector="ul.list a")
    # Elements found, but none leads anywhere: the same failure, said precisely.
    with pytest.raises(ReadError, match=r"matched 1 elements but no http\(s\) links"):
        read_links(b"<ul class='list'><li>no link</li></ul>", "text/html",
                   base_url="http://x/", selector="ul.list li")


def test_entries_selector_matching_nothing_is_a_read_error() -> None:
    with pytest.raises(ReadError, match=r"entries selector 'table tr' matched nothing"):
        read_entries(b"<div>redesigned</div>", "text/html", url="http://x/", source="s",
                     entries=Entries(select="table tr"), language="en")
