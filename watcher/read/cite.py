"""Where in a document a fact's evidence sits: the page of a PDF, the numbered paragraph
of a speech. That place is the evidence's address, and it travels with the evidence.

A fact's evidence is a sentence of its document's text (watcher.extract quotes sentences
as written). A PDF's text keeps a form feed between pages (watcher.read.pdf), so the
page is the number of form feeds before the sentence, plus one; a speech's paragraphs open
with their number ("47. I have earmarked ..."), so the paragraph is the last number that
opens a line before it. The label is put in front of the evidence in brackets, "[p. 2]"
or "[¶47]", so alerts, the change log and the web view all show it without a field of
its own; ``split_citation`` takes it off again where the bare sentence is needed (finding
it on its page, a text fragment link).
"""

from __future__ import annotations

import re

PAGE_BREAK = "\f"
_CITATION = re.compile(r"^\[(p\. (\d+)|¶(\d+))\] ")
# A numbered paragraph opens a line: "47. We plan ...", "39.   為引領 ..." (a speech's
# numbers run to three digits; "2024." is a year, not a paragraph).
_PARAGRAPH = re.compile(r"(?:^|\n)[ \t\u3000]*(\d{1,3})\.(?=[ \t\u3000\xa0])")


def locate(text: str, evidence: str, *, paragraphs: bool) -> str | None:
    """The label of the place ``evidence`` holds in ``text`` ("p. 2", "¶47"), or None when
    the text has no pages or numbered paragraphs to tell, or the sentence is not in it."""
    at = text.find(evidence) if evidence else -1
    if at < 0:
        return None
    if PAGE_BREAK in text:
        return f"p. {text.count(PAGE_BREAK, 0, at) + 1}"
    if paragraphs:
        number = None
        for found in _PARAGRAPH.finditer(text):
            if found.start(1) > at:
                break
            number = found.group(1)
        return f"¶{number}" if number else None
    return None


def cite(evidence: str, label: str | None) -> str:
    """The evidence with its place in front ("[p. 2] Members are invited ..."); a sentence
    that ran over a page break reads as one line."""
    sentence = evidence.replace(PAGE_BREAK, " ")
    return f"[{label}] {sentence}" if label else sentence


def split_citation(evidence: str) -> tuple[str | None, str]:
    """(label, sentence): the label ``cite`` put in front, if any, and the bare sentence."""
    found = _CITATION.match(evidence)
    if found is None:
        return None, evidence
    return found.group(1), evidence[found.end():]


def cited_page(evidence: str) -> int | None:
    """The PDF page an evidence was cited on, if it was."""
    found = _CITATION.match(evidence)
    return int(found.group(2)) if found and found.group(2) else None
