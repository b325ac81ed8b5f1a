"""Reading a page by element ids with lxml alone, for readers that select only by id.

A GIA release is 30-60 KB, mostly navigation; the reader wants two elements of it. bs4
builds a Python object per tag and text node (about 4 ms a release even for a fragment);
lxml's C parser and tree give the same elements and text in well under a millisecond.
This path handles readers whose title/body/date are ``#id`` or ``tag#id`` and whose
``drop`` selectors are simple (``tag``, ``.class``, ``#id`` and their compounds); for
anything else it answers None and ``read_page`` uses bs4 as before. Text comes out as
``element_text`` gives it: the same block and line rules, on the same libxml2 tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import lxml.html  # type: ignore[import-untyped]
from lxml import etree

from watcher.read.dates import parse_date
from watcher.read.text import BLOCKS, BREAK, LINES, SKIP, one_line, tidy

_ID_SELECTOR = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)?#([\w-]+)\s*$")
_SIMPLE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*|\*)?((?:[.#][\w-]+)*)$")

Element = Any  # lxml ships no type hints; these are etree._Element
Matcher = Callable[[Element], bool]


@dataclass(frozen=True, slots=True)
class ById:
    title: str
    text: str
    date: datetime | None


def parse_ids(markup: str, ids: frozenset[str]) -> list[Element] | None:
    """The elements carrying ``ids`` in page order, or None if lxml cannot parse it."""
    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return None
    names = sorted(ids)
    query = "//*[" + " or ".join(f"@id=$i{n}" for n in range(len(names))) + "]"
    found = root.xpath(query, **{f"i{n}": name for n, name in enumerate(names)})
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def read_by_id(found: list[Element], *, title: str | None, body: str, date: str | None,
               drop: Sequence[str]) -> ById | None:
    """Title, text and date of the page whose id'd elements are ``found``; None when a
    selector is beyond this path (the caller then reads the page with bs4).

    Raises LookupError when the body selector matches nothing."""
    matchers = [_matcher(part) for part in ",".join(drop).split(",") if part.strip()]
    if any(m is None for m in matchers):
        return None
    titles = _select(found, title)
    bodies = _select(found, body)
    if not bodies:
        raise LookupError(body)
    when = None
    for element in _select(found, date):  # dates before drop, which may remove them
        when = parse_date(" ".join(element.itertext()))
        if when is not None:
            break
    if matchers:
        doomed = [e for scope in titles + bodies for e in scope.iterdescendants()
                  if isinstance(e.tag, str) and any(m(e) for m in matchers if m)]
        for element in doomed:
            _remove(element)
    heading = ""
    for element in titles:
        heading = one_line(element_text(element))
        if heading:
            break
    text = "\n\n".join(t for t in map(element_text, bodies) if t)
    return ById(heading, text, when)


def _select(found: list[Element], selector: str | None) -> list[Element]:
    """What bs4's ``select_one`` gives for an id selector: the first such element."""
    if not selector:
        return []
    match = _ID_SELECTOR.match(selector)
    if match is None:
        return []
    tag, id_ = match.group(1), match.group(2)
    for element in found:
        if element.get("id") == id_ and (tag is None or element.tag == tag.lower()):
            return [element]
    return []


def _matcher(selector: str) -> Matcher | None:
    match = _SIMPLE.match(selector.strip())
    if match is None or not (match.group(1) or match.group(2)):
        return None
    tag = match.group(1)
    tag = None if tag in (None, "*") else tag.lower()
    parts = re.findall(r"([.#])([\w-]+)", match.group(2) or "")
    classes = {name for kind, name in parts if kind == "."}
    ids = {name for kind, name in parts if kind == "#"}
    if len(ids) > 1:
        return lambda element: False

    def matches(element: Element) -> bool:
        if tag is not None and element.tag != tag:
            return False
        if ids and element.get("id") not in ids:
            return False
        return not classes or classes <= set((element.get("class") or "").split())

    return matches


def _remove(element: Element) -> None:
    """Remove the element but keep the text after it (lxml stores it on the element)."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _clean(text: str) -> str:
    return text.replace("\x00", "").replace("\n", " ")


def element_text(element: Element) -> str:
    """``read.text.element_text`` for an lxml element."""
    parts: list[str] = []
    stack: list[Element | str] = [element]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)  # a marker or a tail pushed below
            continue
        name = node.tag
        if not isinstance(name, str):
            continue  # a comment or processing instruction: its tail was pushed apart
        if name in SKIP and node is not element:
            continue
        if name in BLOCKS:
            parts.append(BREAK)
            stack.append(BREAK)
        elif name in LINES:
            parts.append("\n")
        if node.text and isinstance(node.tag, str):
            parts.append(_clean(node.text))
        for child in reversed(node):
            if child.tail:
                stack.append(_clean(child.tail))
            stack.append(child)
    return tidy("".join(parts))
