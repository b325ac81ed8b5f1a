"""Links to the monitored pages, made safe, and pointing at the evidence.

A page's URL comes from the monitored site, so only http(s) URLs become links (a
``javascript:`` URL stays text). The evidence link adds a text fragment
(``#:~:text=``) so browsers that support it scroll to the sentence and highlight it;
others simply open the page.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from watcher.read.cite import cited_page, split_citation


def safe_url(url: str) -> str | None:
    """``url`` when it is an absolute http(s) URL, else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return None


def _fragment_text(text: str) -> str:
    # In a text directive '-', ',' and '&' are syntax; quote() with no safe characters
    # encodes them as well as everything non-ASCII.
    return quote(text, safe="").replace("-", "%2D")  # quote() leaves '-' alone


def evidence_url(url: str, evidence: str) -> str | None:
    """``url`` with a text fragment for ``evidence``: the whole sentence when short, else
    its first and last five words (textStart,textEnd); for evidence cited on a PDF's page
    ("[p. 2] ..."), the PDF opened at that page."""
    base = safe_url(url)
    if base is None:
        return None
    page = cited_page(evidence)
    if page is not None and "#" not in base:
        # A PDF: browsers' viewers open it at the page (text fragments do not reach PDFs).
        return f"{base}#page={page}"
    words = split_citation(evidence)[1].split()
    if not words:
        return base
    if len(evidence) <= 80 or len(words) <= 10:
        directive = _fragment_text(" ".join(words))
    else:
        directive = (_fragment_text(" ".join(words[:5])) + ","
                     + _fragment_text(" ".join(words[-5:])))
    separator = ":~:text=" if "#" in base else "#:~:text="
    return base + separator + directive
