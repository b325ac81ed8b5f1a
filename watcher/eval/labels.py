"""Label files: what an analyst recorded for one page (format in docs/eval.md).

Each ``<page>.yaml`` sits beside its page and is validated strictly, so a typo in a key or
a status is a ``file:line:column`` error rather than a silently wrong score.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator

from watcher.config.common import Strict as _Strict
from watcher.config.yamlload import load_documents
from watcher.errors import ConfigError
from watcher.eval.shapes import SHAPES
from watcher.models import FactKind, Status

_SCORED_KINDS = (FactKind.FUNDING, FactKind.FACILITY, FactKind.ORGANISATION)




class LabelFact(_Strict):
    """One fact the page states: its canonical key, the amount and the status it gives."""

    kind: FactKind
    key: str = Field(min_length=1)
    name: str = ""  # the canonical English name, for a thing the gazetteer does not know
    amount_hkd: int | None = Field(default=None, ge=0)
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
        return key == self.key or key in self.also


class LabelFile(_Strict):
    page: str  # the page, relative to the label file
    shape: str  # how to read it: a key of watcher.eval.shapes.SHAPES
    language: str = Field(pattern="^(en|zh)$")
    negative: bool = False  # a hard negative: no funding fact may come out of it
    note: str = ""
    facts: tuple[LabelFact, ...] = ()


@dataclass(frozen=True, slots=True)
class Case:
    name: str  # the label file's path relative to the corpus directory, without .yaml
    label_path: Path
    page_path: Path
    shape: str
    language: str
    negative: bool
    facts: tuple[LabelFact, ...]


def load_case(path: Path, root: Path | None = None) -> Case:
    """One label file; errors name the file and line."""
    documents = load_documents(path, shown_as=str(path))
    if len(documents) != 1:
        raise ConfigError("a label file is one YAML mapping", str(path), 1)
    document = documents[0]
    label: LabelFile = document.validate(LabelFile)
    if label.shape not in SHAPES:
        raise document.error(f"unknown shape {label.shape!r} (known: {', '.join(SHAPES)})",
                             ("shape",))
    page = path.parent / label.page
    if not page.is_file():
        raise document.error(f"page {label.page!r} not found next to the label file",
                             ("page",))
    keys = [f.key for f in label.facts]
    for index, key in enumerate(keys):
        if key in keys[:index]:
            raise document.error(f"fact {key!r} is listed twice", ("facts", index, "key"))
    if label.negative and any(f.kind is FactKind.FUNDING for f in label.facts):
        raise document.error("a negative page lists no funding fact", ("negative",))
    name = str(path.relative_to(root).with_suffix("")) if root else path.stem
    return Case(name, path, page, label.shape, label.language, label.negative, label.facts)


def load_cases(directory: Path) -> list[Case]:
    """Every ``*.yaml`` label file under ``directory``, in path order."""
    if not directory.is_dir():
        raise ConfigError("not a directory of labelled pages", str(directory))
    cases = [load_case(p, directory) for p in sorted(directory.rglob("*.yaml"))]
    if not cases:
        raise ConfigError("no label files (*.yaml) found", str(directory))
    return cases
