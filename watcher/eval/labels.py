"""Label files: what an analyst recorded for one page (format in docs/eval.md).

Each ``<page>.yaml`` sits beside its page and is validated strictly, so a typo in a key or
a status is a ``file:line:column`` error rather than a silently wrong score.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from pydantic import Field, field_validator

from watcher.config.common import Strict as _Strict
from watcher.config.yamlload import Located, load_documents
from watcher.errors import ConfigError
from watcher.eval.shapes import SHAPES
from watcher.extract.script import traditional_characters
from watcher.models import FactKind, Status

_SCORED_KINDS = (FactKind.FUNDING, FactKind.FACILITY, FactKind.ORGANISATION)




# The roles a label may give an amount besides the size (which is ``amount_hkd``); a
# ``previous_*`` role is the old value of a change ("raised from A to B": A).
LABEL_ROLES = ("added", "cap_per_project", "grant", "project_cost", "threshold",
               "private_investment", "previous_size", "previous_cap", "other")


class LabelAmount(_Strict):
    """An amount the page ties to a fact, other than its size, with its role."""

    role: str
    hkd: int = Field(ge=0)
    text: str = ""
    qualifier: str = ""

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        if value not in LABEL_ROLES:
            raise ValueError(f"role must be one of: {', '.join(LABEL_ROLES)}")
        return value


class LabelFact(_Strict):
    """One fact the page states: its canonical key, the amount and the status it gives."""

    kind: FactKind
    key: str = Field(min_length=1)
    name: str = ""  # the canonical English name, for a thing the gazetteer does not know
    amount_hkd: int | None = Field(default=None, ge=0)
    amounts: tuple[LabelAmount, ...] = ()  # every other amount tied to it, with its role
    status: Status | None = None
    # Other keys that name the same thing: the slug of a Chinese name as written, for a
    # thing no gazetteer entry translates yet.
    also: tuple[str, ...] = ()

    @field_validator("kind")
    @classmethod
    def _scored(cls, value: FactKind) -> FactKind:
        if value not in _SCORED_KINDS:
            raise ValueError(f"kind must be one of: {', '.join(_SCORED_KINDS)}")
        return value

    def names(self, key: str) -> bool:
        """Whether ``key`` names this fact; a key in Simplified characters is the same
        key in Traditional ones (watcher reads Simplified pages in Traditional)."""
        if key == self.key or key in self.also:
            return True
        key = traditional_characters(key)
        return key in (traditional_characters(k) for k in (self.key, *self.also))


class LabelFile(_Strict):
    """A hand-made case: a page in one of the real sources' HTML shapes."""

    page: str  # the page, relative to the label file
    shape: str  # how to read it: a key of watcher.eval.shapes.SHAPES
    language: str = Field(pattern="^(en|zh)$")
    negative: bool = False  # a hard negative: no funding fact may come out of it
    note: str = ""
    facts: tuple[LabelFact, ...] = ()


class RealLabelFile(_Strict):
    """A real published page: its text as published (``<stem>.txt`` beside the label,
    headline on the first line) and the address it was published at."""

    url: str = Field(pattern=r"^https?://")
    language: str = Field(pattern="^(en|zh)$")
    published: date | None = None
    twin: str | None = None  # the same release in the other language
    negative: bool = False
    note: str = ""
    facts: tuple[LabelFact, ...] = ()


# A real page's part: "dev" (tuned on) or "test" (only measured); hand-made pages, all
# written and tuned here, are "handmade".
PARTS = ("dev", "test", "handmade")


@dataclass(frozen=True, slots=True)
class Case:
    name: str  # the label file's path relative to the corpus directory, without .yaml
    label_path: Path
    page_path: Path
    shape: str  # "text" for a real page's published text
    language: str
    negative: bool
    facts: tuple[LabelFact, ...]
    url: str = ""  # a real page's address
    twin: str = ""
    published: date | None = None
    part: str = "handmade"


def _check_facts(document: Located, facts: tuple[LabelFact, ...], negative: bool) -> None:
    keys = [f.key for f in facts]
    for index, key in enumerate(keys):
        if key in keys[:index]:
            raise document.error(f"fact {key!r} is listed twice", ("facts", index, "key"))
    if negative and any(f.kind is FactKind.FUNDING for f in facts):
        raise document.error("a negative page lists no funding fact", ("negative",))


def _load_real(path: Path, document: Located, name: str) -> Case:
    label: RealLabelFile = document.validate(RealLabelFile)
    page = path.with_suffix(".txt")
    if not page.is_file():
        raise document.error(f"page {page.name!r} not found next to the label file", ("url",))
    _check_facts(document, label.facts, label.negative)
    return Case(name, path, page, "text", label.language, label.negative, label.facts,
                url=label.url, twin=label.twin or "", published=label.published, part="dev")


def load_case(path: Path, root: Path | None = None) -> Case:
    """One label file; errors name the file and line. A real page's part is set by
    :func:`load_cases`, which sees its twin."""
    documents = load_documents(path, shown_as=str(path))
    if len(documents) != 1:
        raise ConfigError("a label file is one YAML mapping", str(path), 1)
    document = documents[0]
    name = str(path.relative_to(root).with_suffix("")) if root else path.stem
    if isinstance(document.data, dict) and "url" in document.data:
        return _load_real(path, document, name)
    label: LabelFile = document.validate(LabelFile)
    if label.shape not in SHAPES:
        raise document.error(f"unknown shape {label.shape!r} (known: {', '.join(SHAPES)})",
                             ("shape",))
    page = path.parent / label.page
    if not page.is_file():
        raise document.error(f"page {label.page!r} not found next to the label file",
                             ("page",))
    _check_facts(document, label.facts, label.negative)
    return Case(name, path, page, label.shape, label.language, label.negative, label.facts)


def split_part(address: str) -> str:
    """The part a real page belongs to, fixed by its address alone: ``test`` for two in
    five addresses by SHA-256, ``dev`` for the rest. A release and its twin in the other
    language share the part of the smaller of their two addresses (see :func:`load_cases`),
    so tuning on one language never sees the other's test page."""
    digest = hashlib.sha256(address.strip().encode("utf-8")).hexdigest()
    return "test" if int(digest[:8], 16) % 5 < 2 else "dev"


def _with_parts(cases: list[Case]) -> list[Case]:
    """Real cases with their part: twins (linked either way, or through a third page)
    form a group whose part is that of its smallest address."""
    parent: dict[str, str] = {}

    def find(url: str) -> str:
        while parent.setdefault(url, url) != url:
            url = parent[url]
        return url

    for case in cases:
        if case.url and case.twin:
            a, b = find(case.url), find(case.twin)
            parent[max(a, b)] = min(a, b)
    return [replace(case, part=split_part(find(case.url))) if case.url else case
            for case in cases]


def load_cases(directory: Path) -> list[Case]:
    """Every ``*.yaml`` label file under ``directory``, in path order."""
    if not directory.is_dir():
        raise ConfigError("not a directory of labelled pages", str(directory))
    cases = [load_case(p, directory) for p in sorted(directory.rglob("*.yaml"))]
    if not cases:
        raise ConfigError("no label files (*.yaml) found", str(directory))
    return _with_parts(cases)
