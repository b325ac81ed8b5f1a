"""The baseline: what watcher knows before it has polled anything (``db/baseline.yaml``).

The file is derived by hand from the seed article; each entry is one fund, facility,
organisation or figure with its aliases, amount, status and the sentence it rests on.
Loading validates it strictly (unknown keys, bad statuses, duplicate keys and aliases
shared by two entries are errors) and every error names the file and line::

    db/baseline.yaml:42:13: entries[3].status: Input should be 'contemplated', ...
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from watcher.errors import ConfigError, ConfigErrors
from watcher.models import FactKind, FactOrigin, KnownFact, Status

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    status: Status | None = None
    value: float | None = None  # figures only, e.g. 27 (percent)
    unit: str | None = None  # figures only: "percent", "count"...
    quote: str = Field(min_length=1)
    source: str
    note: str = ""

    @field_validator("key")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"key {value!r} must be a slug: lower-case letters, digits and '-'")
        return value

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
    sources: dict[str, BaselineSource] = {}
    entries: tuple[BaselineEntry, ...]

    def known_facts(self) -> list[KnownFact]:
        return [entry.known_fact() for entry in self.entries]

    def get(self, key: str) -> BaselineEntry | None:
        return next((e for e in self.entries if e.key == key), None)


def _marks(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], yaml.Mark]
           ) -> None:
    """Record where each value under ``node`` starts, by its path of keys and indexes."""
    out[path] = node.start_mark
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            out[(*path, key_node.value, "__key__")] = key_node.start_mark
            _marks(value_node, (*path, key_node.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _marks(item, (*path, index), out)


def _locate(marks: dict[tuple[Any, ...], yaml.Mark], loc: tuple[Any, ...], *, key: bool
            ) -> yaml.Mark | None:
    """The mark of the deepest value along ``loc``; with ``key``, of the key naming it
    (an unknown key is best shown where the key is written)."""
    path: tuple[Any, ...] = ()
    for step in loc:
        if (*path, step) not in marks:
            break
        path = (*path, step)
    key_mark = marks.get((*path, "__key__")) if key and path else None
    return key_mark or marks.get(path)


def _where(loc: tuple[Any, ...]) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def load_baseline(path: Path) -> Baseline:
    """Read and validate a baseline file; :class:`ConfigError` names file and line."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read baseline: {exc}", shown) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", shown,
                          mark.line + 1 if mark else None,
                          mark.column + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", shown) from exc
    if node is None or not isinstance(data, dict):
        raise ConfigError("a baseline is a mapping with an 'entries' list", shown, 1)
    marks: dict[tuple[Any, ...], yaml.Mark] = {}
    _marks(node, (), marks)

    def error(message: str, loc: tuple[Any, ...], key: bool = False) -> ConfigError:
        mark = _locate(marks, loc, key=key)
        return ConfigError(message, shown, mark.line + 1 if mark else None,
                           mark.column + 1 if mark else None)

    try:
        baseline = Baseline.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            extra = err["type"] == "extra_forbidden"
            message = f"unknown key {loc[-1]!r}" if extra else err["msg"]
            errors.append(error(f"{_where(loc)}: {message}" if loc else message, loc, extra))
        raise (errors[0] if len(errors) == 1 else ConfigErrors(errors)) from exc
    _check_unique(baseline, error)
    return baseline


def _check_unique(baseline: Baseline, error: Any) -> None:
    """Keys and aliases must each name one entry, or two things would merge."""
    # Imported here: the extract package imports this module for type hints only.
    from watcher.extract.gazetteer import normalise

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
