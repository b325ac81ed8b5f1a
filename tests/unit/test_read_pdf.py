"""read.pdf: a PDF's text page by page (form feeds between pages), its caps, and the
one-line errors for what cannot be read. Fixtures: the built FC papers
(tests/fixtures/sources/legco/, English and Chinese) and a page of drawn bars with no text
layer (tests/fixtures/pdf/scanned.pdf), all written by
tests/fixtures/sources/legco/make_fixtures.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.errors import ReadError
from watcher.read.pdf import is_pdf, read_pdf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAPERS = FIXTURES / "sources" / "legco" / "yr24-25"
EN = PAPERS / "english" / "fc" / "fc" / "papers" / "f24-31e.pdf"
ZH = PAPERS / "chinese" / "fc" / "fc" / "papers" / "f24-31c.pdf"
SCANNED = FIXTURES / "pdf" / "scanned.pdf"


def test_pages_are_kept_apart_and_paragraphs_put_back() -> None:
    doc = read_pdf(EN.read_bytes(), url="https://x/f24-31e.pdf", source="legco")
    pages = doc.text.split("\f")
    assert len(pages) == 3
    assert doc.title == "FCR(2024-25)31" and doc.language == "en"
    # The wrapped line is one paragraph again; the heading and the folio are not glued on.
    assert ("\n\n2. Members are invited to approve a new commitment of $1,200 million for "
            "the Smart Production Line Matching Fund.\n\n") in pages[1]
    assert pages[1].startswith("PROPOSAL\n\n")
    assert "- 2 -" not in doc.text


def test_a_chinese_paper_reads_as_chinese() -> None:
    doc = read_pdf(ZH.read_bytes(), url="https://x/f24-31c.pdf", source="legco")
    pages = doc.text.split("\f")
    assert doc.language == "zh" and len(pages) == 3
    assert "2. 請委員批准一筆為數12億元的新承擔額，用以設立智能生產線配對基金。" in pages[1]
    assert "\n\n理由\n\n" in pages[1]  # a short heading stands alone


def test_a_scanned_pdf_is_one_clear_error() -> None:
    with pytest.raises(ReadError) as caught:
        read_pdf(SCANNED.read_bytes(), url="https://x/scan.pdf", source="s")
    assert str(caught.value) == ("https://x/scan.pdf: PDF of 2 pages has no text layer "
                                 "(a scanned document?): nothing to read")


@pytest.mark.parametrize("content", [b"%PDF-1.7\n%garbage", b"%PDF-1.4\x00\x01\x02" * 50,
                                     EN.read_bytes()[:1500]])
def test_a_broken_pdf_is_a_read_error(content: bytes) -> None:
    with pytest.raises(ReadError, match=r"^https://x/b.pdf: (unreadable PDF|PDF of)"):
        read_pdf(content, url="https://x/b.pdf", source="s")


def test_caps_on_pages_and_time() -> None:
    with pytest.raises(ReadError, match=r"PDF of 3 pages, more than the 2 read"):
        read_pdf(EN.read_bytes(), url="https://x/a.pdf", source="s", max_pages=2)
    with pytest.raises(ReadError, match=r"still being read after 0 s \(stopped at page 1 of 3\)"):
        read_pdf(EN.read_bytes(), url="https://x/a.pdf", source="s", max_seconds=0)


def test_is_pdf_by_type_or_by_its_first_bytes() -> None:
    assert is_pdf(b"", "application/pdf; qs=0.1")
    assert is_pdf(b"\n%PDF-1.7 ...", "application/octet-stream")
    assert not is_pdf(b"<html>", "text/html")
