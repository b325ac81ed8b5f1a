"""Reading a page by element ids with lxml alone, for readers that select only by id.

A GIA release is 30-60 KB, mostly navigation; the reader wants two elements of it. bs4
builds a Python object per tag and text node (about 4 ms a release even for a fragment);
lxml's C parser and tree give the same elements and text in well under a millisecond.
This path handles readers whose title/body/date are ``#id`` or ``tag#id`` and whose
``drop`` selectors are simple (``tag``, ``.class``, ``#id`` and their compounds, alone or
joined by the sibling combinator ``~``); for anything else ``drop_matchers``
answers None and ``read_page`` uses bs4 as before. Text comes out as ``element_text``
gives it: the same block and line rules, on the same libxml2 tree.

Two shortcuts keep the parse itself small, each checked so that it never changes what is
read (see ``_parse_cut`` and ``_pick``): libxml2 stops after the last element the reader
reads instead of building the page's footer, and ids are looked up in the table libxml2
keeps while parsing instead of by walking every element.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from watcher.read.dates import parse_date
from watcher.read.text import BLOCKS, BREAK, LINES, SKIP, one_line, tidy

_ID_SELECTOR = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)?#([\w-]+)\s*$")
_SIMPLE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*|\*)?((?:[.#][\w-]+)*)$")
_SIBLINGS = re.compile(r"\s*(~)\s*")
# Appended after the cut: a comment closes nothing, so where libxml2 puts it shows which
# elements were still open when the cut text ended.
_END = "watcher:end-of-cut"
_END_MARK = f"<!--{_END}-->"
_TAG_BEFORE = re.compile(r"<([A-Za-z][A-Za-z0-9]*)")
_ATTRIBUTE_END = frozenset("\"' \t\n\r\f/>")
_MAX_OCCURRENCES = 20
_MAX_TAGS_SCANNED = 20_000
_WORTH_CUTTING = 0.9  # cut only when it saves at least a tenth of the page

Element = Any  # lxml ships no type hints; these are etree._Element
Matcher = Callable[[Element], bool]


@dataclass(frozen=True, slots=True)
class ById:
    title: str
    text: str
    date: datetime | None
    # The title or body element is itself among (or inside) what ``drop`` removes: bs4,
    # which empties what it removes, would then read it as empty.
    scope_dropped: bool = False


@dataclass(frozen=True, slots=True)
class Drop:
    """A reader's ``drop`` selectors as element tests, and the tags they can match (None:
    any tag), so that only those elements are visited."""

    matchers: tuple[Matcher, ...]
    tags: tuple[str, ...] | None


class _Parsers(threading.local):
    # lxml.html's parser is the same libxml2 parser plus a Python callback per element
    # proxy (its class lookup); reads run on worker threads, so each has its own. The
    # XPaths are compiled once (.xpath() compiles its expression on every call).
    def __init__(self) -> None:
        self.html = etree.HTMLParser()
        self.by_id_table = etree.XPath("id($i)")
        self.by_id_walk = etree.XPath("//*[@id=$i]")


_PARSERS = _Parsers()


def parse_ids(markup: str, ids: frozenset[str]) -> list[Element] | None:
    """Every element carrying one of ``ids`` in page order, or None if lxml cannot parse
    the page (for bs4 to build those elements when the fast path steps aside)."""
    root = parse_page(markup)
    if root is None:
        return None
    names = sorted(ids)
    query = "//*[" + " or ".join(f"@id=$i{n}" for n in range(len(names))) + "]"
    found = root.xpath(query, **{f"i{n}": name for n, name in enumerate(names)})
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def parse_page(markup: str) -> Element | None:
    """The root of the whole page, or None if lxml cannot parse it (an empty page, or a
    str that declares an XML encoding)."""
    try:
        return etree.fromstring(markup, _PARSERS.html)
    except ValueError:
        return None


def drop_matchers(drop: Sequence[str]) -> Drop | None:
    """The ``drop`` selectors as element tests, or None if one is beyond this path."""
    parts = [_matcher(part) for part in ",".join(drop).split(",") if part.strip()]
    if any(p is None for p in parts):
        return None
    found = [p for p in parts if p is not None]
    tags = [tag for _, tag in found]
    return Drop(tuple(test for test, _ in found),
                None if None in tags else tuple(sorted({t for t in tags if t})))


def read_by_id(markup: str, *, title: str | None, body: str, date: str | None,
               drop: Drop) -> ById | None:
    """Title, text and date of the page read by id selectors; None if lxml cannot parse
    the page (the caller then reads it with bs4). ``drop`` comes from drop_matchers.

    Raises LookupError when the body selector matches nothing."""
    selectors = [s for s in (title, body, date) if s]
    picked = _read_cut(markup, selectors)
    if picked is None:
        root = parse_page(markup)
        if root is None:
            return None
        picked = {s: _pick(root, s) for s in selectors}
    titles = _listed(picked.get(title) if title else None)
    bodies = _listed(picked[body])
    if not bodies:
        raise LookupError(body)
    when = None
    for element in _listed(picked.get(date) if date else None):  # before drop removes it
        when = parse_date(" ".join(element.itertext()))
    doomed: set[Element] = set()
    if drop.matchers:
        tags = drop.tags or ()
        doomed = {e for scope in titles + bodies for e in scope.iterdescendants(*tags)
                  if isinstance(e.tag, str) and any(m(e) for m in drop.matchers)}
    heading = ""
    for element in titles:
        heading = one_line(element_text(element, doomed))
    text = "\n\n".join(t for t in (element_text(b, doomed) for b in bodies) if t)
    dropped = any(e in doomed or any(a in doomed for a in e.iterancestors())
                  for e in titles + bodies) if doomed else False
    return ById(heading, text, when, dropped)


def _listed(element: Element | None) -> list[Element]:
    return [] if element is None else [element]


def _read_cut(markup: str, selectors: list[str]) -> dict[str, Element] | None:
    """The selected elements from a parse of the page up to just after the last of them,
    or None when that cannot be shown to give what the whole page gives.

    libxml2 builds the tree in one pass, appending each node to the element open at that
    point, and never changes an element's content once the element is closed. So if every
    selected element is found in the cut page and the marker comment appended after the
    cut landed outside all of them, each was complete before the cut and is the same
    subtree (and the first of its id, since nodes are built in page order) as in the whole
    page. Anything else (a guess that cut inside an element, a cut inside a comment,
    script or tag that swallowed the marker) answers None and the whole page is parsed.
    """
    cut = _cut_point(markup, selectors)
    if cut is None:
        return None
    root = parse_page(markup[:cut] + _END_MARK)
    if root is None:
        return None
    last = root
    while len(last):
        last = last[-1]
    if last.tag is not etree.Comment or last.text != _END:
        return None
    picked = {s: _pick(root, s) for s in selectors}
    chosen = list(picked.values())
    if any(e is None for e in chosen):
        return None  # perhaps after the cut: only the whole page can say
    if any(a in chosen for a in last.iterancestors()):
        return None
    return picked


def _cut_point(markup: str, selectors: list[str]) -> int | None:
    """Where the last selected element probably ends (just after its end tag), or None if
    a cut would not save much. Only a guess: _read_cut checks it."""
    if _END in markup:
        return None
    cut = 0
    for selector in selectors:
        match = _ID_SELECTOR.match(selector)
        if match is None:
            return None
        end = _element_end(markup, match.group(2), match.group(1))
        if end is None:
            return None
        cut = max(cut, end)
    return cut if cut < len(markup) * _WORTH_CUTTING else None


def _element_end(markup: str, id_: str, tag: str | None) -> int | None:
    """The offset just after the end tag matching the first start tag that reads like
    ``<tag ... id="id_"``, counting nested tags of the same name."""
    at = -1
    for _ in range(_MAX_OCCURRENCES):
        at = markup.find(id_, at + 1)
        if at < 0:
            return None
        if markup[at + len(id_):at + len(id_) + 1] not in _ATTRIBUTE_END:
            continue
        if not re.search(r"\bid\s*=\s*[\"']?$", markup[max(0, at - 40):at], re.IGNORECASE):
            continue
        start = markup.rfind("<", 0, at)
        found = _TAG_BEFORE.match(markup, start) if start >= 0 else None
        if found is None or (tag is not None and found.group(1).lower() != tag.lower()):
            continue
        return _balanced_end(markup, start, found.group(1).lower())
    return None


def _balanced_end(markup: str, start: int, tag: str) -> int | None:
    depth = 0
    for count, found in enumerate(_tag_pattern(tag).finditer(markup, start)):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            close = markup.find(">", found.end())
            return close + 1 if close >= 0 else None
        if count > _MAX_TAGS_SCANNED:
            return None
    return None


@lru_cache(maxsize=64)
def _tag_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<(/?){re.escape(tag)}(?=[\s/>])", re.IGNORECASE)


def _pick(root: Element, selector: str) -> Element | None:
    """What bs4's ``select_one`` gives for an id selector: the first such element.

    libxml2 files each HTML id (and each ``<a name>``) in a table as it parses, keeping the
    first claimant of a name. When that claimant carries the id and the tag, it is the
    first element with both; any other answer falls back to walking the page."""
    match = _ID_SELECTOR.match(selector)
    if match is None:
        return None
    tag = match.group(1).lower() if match.group(1) else None
    id_ = match.group(2)
    hits = _PARSERS.by_id_table(root, i=id_)
    if hits and hits[0].get("id") == id_ and (tag is None or hits[0].tag == tag):
        return hits[0]
    for element in _PARSERS.by_id_walk(root, i=id_):
        if tag is None or element.tag == tag:
            return element
    return None


def sibling_chain(selector: str) -> bool:
    """True for compounds joined by ``~``: the siblings such a selector looks at lie inside
    the element being read whenever the element it matches does, so it reads the same on
    the elements cut out of a page. (Not ``+``: bs4 drops title and body matches one
    scope after the other, and a removal can make two elements adjacent.)"""
    return _matcher(selector) is not None


def _matcher(selector: str) -> tuple[Matcher, str | None] | None:
    """A compound selector, or compounds joined by ``~`` (a later sibling of ...), with
    the tag it matches (None: any)."""
    compounds = [_compound(part) for part in _SIBLINGS.split(selector.strip())[::2]]
    if any(c is None for c in compounds):
        return None
    chain = [c for c in compounds if c is not None]
    test = chain[0][0] if len(chain) == 1 else _later_sibling([t for t, _ in chain])
    return test, chain[-1][1]


def _later_sibling(chain: list[Matcher]) -> Matcher:
    """``a ~ b ~ c``: each sibling's answer is worked out in one pass over its parent's
    children, remembered for the others (a page of many siblings stays linear)."""
    known: dict[Element, bool] = {}  # holds the elements, so no id is reused meanwhile

    def matches(element: Element) -> bool:
        if not chain[-1](element):
            return False
        if element not in known:
            parent = element.getparent()
            _pass(list(parent) if parent is not None else [element])
        return known.get(element, False)

    def _pass(siblings: list[Element]) -> None:
        before = [False] * len(chain)  # some earlier sibling ends a match of chain[:i+1]
        for sibling in siblings:
            if not isinstance(sibling.tag, str):
                continue  # a comment is not a sibling to CSS
            here = [test(sibling) and (i == 0 or before[i - 1]) for i, test in enumerate(chain)]
            known[sibling] = here[-1]
            before = [b or h for b, h in zip(before, here, strict=True)]

    return matches


def _compound(selector: str) -> tuple[Matcher, str | None] | None:
    match = _SIMPLE.match(selector.strip())
    if match is None or not (match.group(1) or match.group(2)):
        return None
    tag = match.group(1)
    tag = None if tag in (None, "*") else tag.lower()
    parts = re.findall(r"([.#])([\w-]+)", match.group(2) or "")
    classes = {name for kind, name in parts if kind == "."}
    ids = {name for kind, name in parts if kind == "#"}
    if len(ids) > 1:
        return (lambda element: False), tag

    def matches(element: Element) -> bool:
        if tag is not None and element.tag != tag:
            return False
        if ids and element.get("id") not in ids:
            return False
        return not classes or classes <= set((element.get("class") or "").split())

    return matches, tag


def element_text(element: Element, dropped: set[Element] | frozenset[Element] = frozenset()
                 ) -> str:
    """``read.text.element_text`` for an lxml element, as if the ``dropped`` elements
    inside it had been removed (their tails stay, as when bs4 decomposes them). Skipping
    them rather than removing them leaves the tree alone: lxml refuses to write a tail
    that holds a control character libxml2 read."""
    parts: list[str] = []
    stack: list[Element | str] = [element]
    # Each lxml attribute read builds a new Python object, so each is read once.
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)  # a marker or a tail pushed below
            continue
        name = node.tag
        if name.__class__ is not str:
            continue  # a comment or processing instruction: its tail was pushed apart
        if (name in SKIP or node in dropped) and node is not element:
            continue
        if name in BLOCKS:
            parts.append(BREAK)
            stack.append(BREAK)
        elif name in LINES:
            parts.append("\n")
        text = node.text
        if text:
            parts.append(text.replace("\x00", "").replace("\n", " "))
        for child in reversed(node):
            tail = child.tail
            if tail:
                stack.append(tail.replace("\x00", "").replace("\n", " "))
            stack.append(child)
    return tidy("".join(parts))
