"""The baseline: what watcher knows before it has polled anything (``db/baseline.yaml``).

The file is derived by hand from the seed article; each entry is one fund, facility,
organisation or figure with its aliases, amount, status and the sentence it rests on.
Loading validates it strictly (unknown keys, bad statuses, duplicate keys and aliases
shared by two entries are errors) and every error names the file and line::

    db/baseline.yaml:42:13: entries[3].status: ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from watcher.config.common import Strict as _Strict
from watcher.config.common import check_slug
from watcher.config.yamlload import load_documents
from watcher.errors import ConfigError, ConfigErrors
from watcher.extract.spelling import normalise
from watcher.models import FactKind, FactOrigin, KnownFact, Status


class BaselineSource(_Strict):
    title: str
    file: str | None = None
    url: str | None = None


class BaselineEntry(_Strict):
    key: str
    kind: FactKind
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    amount_hkd: int | None = Field(default=None, ge=0)
    # Words one of which a sentence must hold for an unnamed fund of this amount to be this
    # fund ("a fund of HK$10 billion ... production facilities" is the NIAS; "預留100億元"
    # for life and health research is not).
    topics: tuple[str, ...] = ()
    status: Status | None = None
    value: float | None = None  # figures only, e.g. 27 (percent)
    unit: str | None = None  # figures only: "percent", "count"...
    quote: str = Field(min_length=1)
    source: str
    note: str = ""

    @field_validator("key")
    @classmethod
    def _slug(cls, value: str) -> str:
        return check_slug(value, "key")

    @model_validator(mode="after")
    def _figure_has_value(self) -> BaselineEntry:
        if self.kind is FactKind.FIGURE and self.value is None:
            raise ValueError("a figure needs a value")
        if self.kind is not FactKind.FIGURE and (self.value is not None or self.unit):
            raise ValueError("only figures have a value and unit")
        return self

    def known_fact(self) -> KnownFact:
        attributes: tuple[tuple[str, str], ...] = ()
        if self.value is not None:
            value = f"{self.value:g}"
            attributes = (("value", value), ("unit", self.unit or ""))
        return KnownFact(key=self.key, kind=self.kind, name=self.name,
                         origin=FactOrigin.BASELINE, amount_hkd=self.amount_hkd,
                         status=self.status, attributes=attributes)


class Baseline(_Strict):
    version: int = 1
    sources: dict[str, BaselineSource] = Field(default_factory=dict)
    entries: tuple[BaselineEntry, ...]

    def known_facts(self) -> list[KnownFact]:
        return [entry.known_fact() for entry in self.entries]

    def get(self, key: str) -> BaselineEntry | None:
        return next((e for e in self.entries if e.key == key), None)


def load_baseline(path: Path) -> Baseline:
    """Read and validate a baseline file; :class:`ConfigError` names file and line."""
    documents = load_documents(path, shown_as=str(path))
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise ConfigError("a baseline is one mapping with an 'entries' list", str(path), 1)
    document = documents[0]
    baseline: Baseline = document.validate(Baseline)
    _check_unique(baseline, document.error)
    return baseline


def _check_unique(baseline: Baseline, error: Any) -> None:
    """Keys and aliases must each name one entry, or two things would merge."""
    keys: dict[str, int] = {}
    aliases: dict[str, tuple[str, int]] = {}
    problems = []
    for index, entry in enumerate(baseline.entries):
        if entry.key in keys:
            problems.append(error(f"duplicate key {entry.key!r} (also entry {keys[entry.key]})",
                                  ("entries", index, "key")))
        keys.setdefault(entry.key, index)
        if entry.source not in baseline.sources and baseline.sources:
            problems.append(error(
                f"unknown source {entry.source!r} (known: {', '.join(baseline.sources)})",
                ("entries", index, "source")))
        for spelling in (entry.name, *entry.aliases):
            norm = normalise(spelling)
            other = aliases.setdefault(norm, (entry.key, index))
            if other[0] != entry.key:
                problems.append(error(
                    f"alias {spelling!r} of {entry.key!r} already names {other[0]!r}",
                    ("entries", index, "aliases")))
    if problems:
        raise problems[0] if len(problems) == 1 else ConfigErrors(problems)
