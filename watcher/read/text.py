"""HTML to plain text that keeps paragraph breaks.

``get_text()`` flattens a page into one run of words; the extractors need sentences and
paragraphs (GIA bodies separate paragraphs with ``<br><br>`` and indent each with spaces),
so this walks the tree once and marks block boundaries and line breaks.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag
    from bs4.element import NavigableString

_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "center", "dd", "details",
        "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "li", "main", "nav",
        "ol", "p", "pre", "section", "summary", "table", "tbody", "thead", "tfoot", "tr",
        "ul",
    }
)
_LINES = frozenset({"br", "td", "th", "option"})
_SKIP = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "embed", "head", "title"}
)
# Runs of spacing (of " \t\r\f\v\u00a0\u3000\u200b") that tidy collapses to one space,
# except a lone " ", which is already what it would become: prose has one between every
# two words, and a substitution per word was most of the cost of tidying.
_SPACE_RUNS = re.compile(
    r"[\t\r\f\v\u00a0\u3000\u200b][ \t\r\f\v\u00a0\u3000\u200b]*"
    r"| [ \t\r\f\v\u00a0\u3000\u200b]+"
)
_ODD_SPACES = ("\t", "\r", "\f", "\v", "\u00a0", "\u3000", "\u200b")
_DOUBLE_SPACES = re.compile("  +")  # a literal start: the regex engine skips to each run
_BREAK = "\x00"  # paragraph marker; NULs never survive into the text (see element_text)
_PARAGRAPH = re.compile(rf"{_BREAK}|\n[ \t\u00a0\u3000]*\n")


@cache
def _node_kinds() -> tuple[type[Tag], type[NavigableString], tuple[type, ...]]:
    """bs4's element, string and non-text string types. bs4 is imported here, on first
    use, not with this module: lxml reads GIA's pages and plain feeds without it (see
    watcher.read.html)."""
    from bs4 import Tag
    from bs4.element import (
        Comment,
        Declaration,
        Doctype,
        NavigableString,
        ProcessingInstruction,
    )

    return Tag, NavigableString, (Comment, Declaration, Doctype, ProcessingInstruction)


def is_tag(node: object) -> TypeGuard[Tag]:
    """Whether ``node`` is a bs4 element (bs4 is imported by the first call)."""
    return isinstance(node, _node_kinds()[0])


def element_text(element: Tag | BeautifulSoup) -> str:
    """Plain text of ``element``: lines joined by newlines, paragraphs by blank lines."""
    tag_type, string_type, non_text = _node_kinds()
    parts: list[str] = []
    # An explicit stack, not recursion: hostile pages nest thousands of elements deep.
    stack: list[object] = [element]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and not isinstance(node, string_type):
            parts.append(node)  # a marker pushed below
        elif isinstance(node, string_type):
            if not isinstance(node, non_text):
                parts.append(str(node).replace("\x00", "").replace("\n", " "))
        elif isinstance(node, tag_type):
            name = node.name
            if name in _SKIP and node is not element:
                continue
            if name in _BLOCKS:
                parts.append(_BREAK)
                stack.append(_BREAK)
            elif name in _LINES:
                parts.append("\n")
            stack.extend(reversed(node.contents))
    return _tidy("".join(parts))


def html_fragment_text(markup: str) -> str:
    """Plain text of an HTML fragment (a feed item's description, say)."""
    if "<" not in markup and "&" not in markup:
        return _tidy(markup)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "lxml")
    return element_text(soup)


def one_line(text: str) -> str:
    """Collapse all whitespace, for titles."""
    return " ".join(text.split())


def _tidy(raw: str) -> str:
    if not any(odd in raw for odd in _ODD_SPACES):
        # Only plain spaces: collapsing their runs first changes no paragraph break (those
        # ask for any number of spaces between two newlines), so do it in one pass.
        return _paragraphs(_DOUBLE_SPACES.sub(" ", raw), None)
    return _paragraphs(raw, _SPACE_RUNS)


def _paragraphs(raw: str, spaces: re.Pattern[str] | None) -> str:
    paragraphs: list[str] = []
    # Two line breaks in a row (GIA's <br><br>) also end a paragraph.
    for block in _PARAGRAPH.split(raw):
        # Spacing runs never hold a newline, so one pass per block is one pass per line.
        collapsed = spaces.sub(" ", block) if spaces else block
        text = "\n".join(line for line in map(str.strip, collapsed.split("\n")) if line)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


# For read.byid, which walks lxml trees by the same rules.
BLOCKS, LINES, SKIP, BREAK = _BLOCKS, _LINES, _SKIP, _BREAK
tidy = _tidy
