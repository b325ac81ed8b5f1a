"""PDF documents into Documents: LegCo Finance Committee papers, the Budget's and the
Policy Address's PDFs, whatever a source follows that answers with a PDF.

pypdf reads the text page by page; pages are joined with a form feed (watcher.read.cite
turns that into the page a fact was found on). Chosen over pdfminer.six by measurement
(see the commit that added this module): 2-3x faster on the same files and, unlike
pdfminer.six, it decodes the Traditional Chinese of a paper set in a non-embedded CJK
font (Adobe-CNS1) instead of returning mojibake.

Caps: at most ``MAX_PAGES`` pages and ``MAX_SECONDS`` of reading (checked between pages;
the response's size is already capped by the fetcher). A PDF with no text at all, a
scanned paper, is a ReadError saying so, as are an encrypted or broken file.
"""

from __future__ import annotations

import io
import logging
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from watcher.errors import ReadError
from watcher.models import Document
from watcher.read.cite import PAGE_BREAK
from watcher.read.language import detect_language
from watcher.read.text import one_line

MAX_PAGES = 300  # a Budget speech is ~60 pages, an FC paper 5-30 with enclosures
MAX_SECONDS = 30.0
_MIME = "application/pdf"
# A paragraph opens with its number ("2. Members are invited ...") or is a heading line
# in capitals ("PROPOSAL"); PDF text has no blank lines, so they are put back there.
_OPENS_PARAGRAPH = re.compile(
    r"^\s*(?:\(?\d{1,3}[.)]\s|[A-Z][A-Z ,&()/-]{3,}$|[（(]?[一二三四五六七八九十]+[、)）])")
# A page's folio ("- 2 -", "2"), printed at its foot: not text.
_FOLIO = re.compile(r"^[-–—]?\s*\d{1,4}\s*[-–—]?$")
# A short line without punctuation is a heading ("PROPOSAL", "建議", "財政影響").
_HEADING = re.compile(r"^[^\s.,;:!?。，；：！？、]{1,8}$")
_CJK_END = re.compile(r"[\u3000-\u9fff\uff00-\uffef]$")
_CJK_START = re.compile(r"^[\u3000-\u9fff\uff00-\uffef]")


def is_pdf(content: bytes, content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == _MIME or content[:1024].lstrip().startswith(b"%PDF-")


def read_pdf(content: bytes, *, url: str, source: str, fallback_title: str = "",
             published: datetime | None = None, language: str | None = None,
             max_pages: int = MAX_PAGES, max_seconds: float = MAX_SECONDS) -> Document:
    """One PDF as one Document whose text keeps a form feed between pages."""
    from pypdf import PdfReader  # loaded when a PDF comes, not with every daemon
    from pypdf.errors import PdfReadError

    started = time.monotonic()
    try:
        with _quiet():
            reader = PdfReader(io.BytesIO(content))
            if reader.is_encrypted and not reader.decrypt(""):
                raise ReadError(url, "encrypted PDF: no text can be read")
            count = len(reader.pages)
            if count > max_pages:
                raise ReadError(url, f"PDF of {count} pages, more than the {max_pages} read")
            pages: list[str] = []
            for number, page in enumerate(reader.pages, 1):
                if time.monotonic() - started > max_seconds:
                    raise ReadError(url, f"PDF still being read after {max_seconds:g} s "
                                         f"(stopped at page {number} of {count})")
                pages.append(_paragraphs(page.extract_text() or ""))
            title = _metadata_title(reader)
    except ReadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError,
            RecursionError, OSError) as exc:
        raise ReadError(url, f"unreadable PDF: {type(exc).__name__}: {exc}") from exc
    if not any(text.strip() for text in pages):
        raise ReadError(url, f"PDF of {count} pages has no text layer (a scanned "
                             "document?): nothing to read")
    text = PAGE_BREAK.join(pages)
    title = title or one_line(fallback_title) or _first_line(text)
    return Document(url=url, source=source, title=title, text=text,
                    language=language or detect_language(title + "\n" + text),
                    published=published)


def _paragraphs(page: str) -> str:
    """A page's lines as paragraphs: wrapped lines joined (without a space between two
    Chinese characters), a blank line before each numbered paragraph and heading."""
    out: list[str] = []
    for raw in page.splitlines():
        line = raw.strip()
        if _FOLIO.match(line):
            continue
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        after_heading = out and (out[-1].isupper() or _HEADING.match(out[-1]))
        if not out or not out[-1] or _starts_paragraph(line) or after_heading:
            if out and out[-1]:
                out.append("")
            out.append(line)
            continue
        joint = "" if _CJK_END.search(out[-1]) and _CJK_START.match(line) else " "
        out[-1] = out[-1] + joint + line
    return "\n".join(out).strip()


def _starts_paragraph(line: str) -> bool:
    return bool(_OPENS_PARAGRAPH.match(line) or _HEADING.match(line))


def _metadata_title(reader: object) -> str:
    try:
        meta = getattr(reader, "metadata", None)
        return one_line(str(meta.title)) if meta is not None and meta.title else ""
    except Exception:  # metadata is decoration: a broken info dictionary costs nothing
        return ""


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return one_line(line)[:200]
    return ""


@contextmanager
def _quiet() -> Iterator[None]:
    """pypdf reports a file's oddities through logging and warnings; they are not ours to
    print (the page is read, or a ReadError says why not)."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
