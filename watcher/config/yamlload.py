"""Read YAML so that every value remembers where it was written, and validate it.

Any configuration file (``sources/*.yaml``, ``rules/*.yaml``...) goes through here::

    from watcher.config.yamlload import load_documents, raise_all

    errors = []
    for doc in load_documents(path):        # one Located per YAML document ("---")
        try:
            rule = doc.validate(Rule)       # pydantic; every error located
        except ConfigError as exc:
            errors.extend(errors_of(exc))
        ...
        if clash:                           # a check of your own, located like the rest
            errors.append(doc.error("duplicate rule name 'x'", (2, "name")))
    raise_all(errors)                       # ConfigError, ConfigErrors, or nothing

Every error is one line, ``path:line:column: message`` (1-based), e.g.::

    sources/shop.yaml:14:7: unknown key 'selectr' (allowed: url, select, every, tags)
    sources/shop.yaml:3:1: missing key 'url'
    sources/shop.yaml:5:11: interval: invalid duration 'abc': use a number and a unit ...
    sources/shop.yaml:2:7: kind must be one of: rss, html (got 'atom')

How: ``yaml.compose()`` (safe loader) keeps each node's ``start_mark``; the nodes are then
constructed into plain data (dict, list, str, int...) while a :class:`Locator` records the
mark of every value and every mapping key under its path of keys and list indexes. A
pydantic error's ``loc`` is such a path, with extra steps for union tags (``'rss'``) that
the locator skips because no value lives there.

Also refused, with the line of the problem: YAML syntax errors, duplicate keys in one
mapping (silently keeping the last would hide a typo), unsafe tags (``!!python/...``),
documents whose aliases expand past :data:`MAX_NODES` (the "billion laughs"), and files
larger than :data:`MAX_FILE_BYTES` (the line where the limit is passed).
"""

from __future__ import annotations

import os
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from watcher.errors import ConfigError, ConfigErrors

MAX_NODES = 200_000  # values one document may expand to; real config files hold hundreds
# The largest file read as configuration. The biggest shipped one (db/baseline.yaml) is
# 10 KB; a 45 MB YAML list took 85 s and 1.9 GB before failing with a misleading error,
# and PyYAML reads about 130 KB a second of the worst kind (a list of one-letter items).
MAX_FILE_BYTES = 256 * 1024

Step = str | int
Path_ = tuple[Any, ...]  # a path of mapping keys and list indexes into the data


class Position(NamedTuple):
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True)
class Locator:
    """Where each value of one YAML document was written.

    ``values[path]`` is the start of the value at ``path``; ``keys[path]`` the start of
    the mapping key that names it (absent for list items and the root).
    """

    path: str  # the file as shown in messages
    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)

    def resolve(self, loc: Iterable[Step]) -> Path_:
        """The longest data path along ``loc``: steps naming no value (pydantic's union
        tags such as ``'rss'``, a missing key) are skipped."""
        path: Path_ = ()
        for step in loc:
            if (*path, step) in self.values:
                path = (*path, step)
        return path

    def locate(self, loc: Iterable[Step]) -> Position | None:
        """Line and column (1-based) of the value at ``loc``, or of its nearest parent."""
        return self.values.get(self.resolve(loc))

    def locate_key(self, loc: Iterable[Step]) -> Position | None:
        """Where the key naming the value at ``loc`` is written (else where the value is)."""
        path = self.resolve(loc)
        return self.keys.get(path) or self.values.get(path)

    def point(self, path: Path_) -> Position | None:
        """The best place to show a problem with the value at a data ``path``: the value
        itself when it sits on its key's line, else the key (a block mapping or list
        starts on the line after its key, which would look unrelated)."""
        value = self.values.get(path)
        key = self.keys.get(path)
        if key is not None and (value is None or value.line != key.line):
            return key
        return value

    def error(self, message: str, loc: Iterable[Step] = (), *, key: bool = False) -> ConfigError:
        """A ConfigError at the value (or with ``key=True`` the key) at ``loc``."""
        path = self.resolve(loc)
        where = (self.keys.get(path) or self.values.get(path)) if key else self.point(path)
        return _at(self.path, where, message)


@dataclass(frozen=True)
class Located:
    """One YAML document: its plain data and where each part of it was written."""

    path: str
    data: Any  # dict / list / str / int / float / bool / None / date...
    locator: Locator

    def validate(self, type_: Any) -> Any:
        """``type_`` (a model, ``list[Model]``, a TypeAdapter...) validated against the
        data; raises ConfigError (one problem) or ConfigErrors (several), every one
        located."""
        return validate(type_, self.data, self.locator)

    def error(self, message: str, loc: Iterable[Step] = (), *, key: bool = False) -> ConfigError:
        return self.locator.error(message, loc, key=key)


# --- reading ---------------------------------------------------------------------------


def display_path(path: Path | str) -> str:
    """``path`` as messages show it: relative to the working directory when inside it."""
    text = os.fspath(path)
    try:
        relative = os.path.relpath(text)
    except ValueError:  # another drive on Windows
        return text
    return text if relative.startswith("..") else relative


def load_documents(path: Path | str, *, shown_as: str | None = None) -> list[Located]:
    """Every YAML document in the file at ``path`` (an empty file gives ``[]``; a document
    that is empty, only comments or ``null``, is left out). Raises ConfigError naming
    file:line:column."""
    shown = shown_as if shown_as is not None else display_path(path)
    try:
        with Path(path).open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)  # no more than that is ever held
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror or exc}", shown) from None
    if len(raw) > MAX_FILE_BYTES:
        line = raw[:MAX_FILE_BYTES].count(b"\n") + 1
        raise ConfigError(f"file too large: configuration files may be at most "
                          f"{MAX_FILE_BYTES // 1024} KiB, and this line passes that",
                          shown, line)
    return parse_documents(raw, shown)


def parse_documents(text: str | bytes, path: str = "<string>") -> list[Located]:
    """Like :func:`load_documents`, for YAML already in memory; ``path`` names it."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None
    except RecursionError:  # PyYAML's parser recurses once per nesting level
        raise ConfigError("YAML nests too deeply", path) from None
    documents = []
    for node in nodes:
        if node is None:
            continue
        _check_duplicate_keys(node, path)
        loader = yaml.SafeLoader("")
        locator = Locator(path)
        try:
            data = loader.construct_document(node)
            _Recorder(locator, loader).record(node, data, ())
        except yaml.YAMLError as exc:
            raise _yaml_error(exc, path) from None
        except RecursionError:
            raise _at(path, _pos(node.start_mark),
                      "YAML nests too deeply (or an alias refers to itself)") from None
        finally:
            loader.dispose()
        if data is not None:  # a document of only comments between "---" lines
            documents.append(Located(path, data, locator))
    return documents


def _pos(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _at(path: str, where: Position | None, message: str) -> ConfigError:
    if where is None:
        return ConfigError(message, path)
    return ConfigError(message, path, where.line, where.column)


def _yaml_error(exc: yaml.YAMLError, path: str) -> ConfigError:
    """One line from PyYAML's multi-line message: the problem, where it is, and what the
    parser was doing if that started elsewhere."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML: {exc.problem or exc.context or 'invalid'}"
        if exc.context and exc.problem and exc.context_mark is not None:
            message += f" ({exc.context} at line {exc.context_mark.line + 1})"
        return _at(path, _pos(mark) if mark is not None else None, message)
    if isinstance(exc, yaml.reader.ReaderError):
        return ConfigError(f"YAML: cannot decode the file ({exc.reason})", path)
    return ConfigError(f"YAML: {exc}".replace("\n", " "), path)


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _check_duplicate_keys(root: yaml.Node, path: str) -> None:
    """A key given twice in one mapping is an error at the second (PyYAML keeps the last)."""
    stack: list[yaml.Node] = [root]
    seen_nodes: set[int] = set()  # an alias points at a node already checked
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], yaml.Node] = {}
            for key, value in node.value:
                stack.append(value)
                if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
                    continue  # merge keys ("<<") may legitimately be overridden
                ident = (key.tag, key.value)
                if ident in first:
                    line = first[ident].start_mark.line + 1
                    raise _at(path, _pos(key.start_mark),
                              f"duplicate key {key.value!r} (first given at line {line})")
                first[ident] = key
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


@dataclass
class _Recorder:
    """Walks the (merged) nodes beside the constructed data, noting each value's mark."""

    locator: Locator
    keys: yaml.SafeLoader  # constructs each mapping key again, to find its value
    count: int = 0

    def record(self, node: yaml.Node, data: Any, here: Path_) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            raise _at(self.locator.path, _pos(node.start_mark),
                      f"YAML expands to more than {MAX_NODES} values (too many aliases?)")
        # Assigned, not set once: after a merge ("<<") the later pair wins, as in the data.
        self.locator.values[here] = _pos(node.start_mark)
        if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
            for key_node, value_node in node.value:
                try:
                    key = self.keys.construct_object(key_node, deep=True)
                    value = data[key]
                except (yaml.YAMLError, KeyError, TypeError):
                    continue  # an unhashable key, already refused when constructing
                self.locator.keys[(*here, key)] = _pos(key_node.start_mark)
                self.record(value_node, value, (*here, key))
        elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
            for index, (item_node, item) in enumerate(zip(node.value, data, strict=False)):
                self.record(item_node, item, (*here, index))


# --- validating ------------------------------------------------------------------------


def validate(type_: Any, data: Any, locator: Locator, path: str | None = None) -> Any:
    """Validate ``data`` as ``type_`` (a pydantic model, any type pydantic accepts such as
    ``list[Model]``, or a TypeAdapter). Every pydantic error becomes a one-line ConfigError
    at the line and column of the offending key or value; several raise ConfigErrors,
    sorted by position. ``path`` overrides the file name the locator shows."""
    if isinstance(type_, TypeAdapter):
        adapter: TypeAdapter[Any] = type_
        # The type is only used to name allowed keys and kinds in messages.
        root = getattr(type_, "_type", None)
    else:
        adapter = _adapter(type_)
        root = type_
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        shown = path if path is not None else locator.path
        errors = [_convert(detail, root, locator, shown) for detail in exc.errors()]
    raise_all(sorted(errors, key=_order))
    raise AssertionError("unreachable")  # pragma: no cover


def errors_of(exc: ConfigError) -> list[ConfigError]:
    """The single problems inside a ConfigError or ConfigErrors, to collect several."""
    return list(exc.errors) if isinstance(exc, ConfigErrors) else [exc]


def raise_all(errors: Sequence[ConfigError]) -> None:
    """Raise nothing, the one ConfigError, or ConfigErrors holding them all."""
    flat = [one for error in errors for one in errors_of(error)]
    if len(flat) == 1:
        raise flat[0]
    if flat:
        raise ConfigErrors(flat)


def _order(error: ConfigError) -> tuple[str, int, int]:
    return (error.path or "", error.line or 0, error.column or 0)


@lru_cache(maxsize=64)
def _adapter(type_: Any) -> TypeAdapter[Any]:
    return TypeAdapter(type_)


def _convert(detail: ErrorDetails, root: Any, locator: Locator, path: str) -> ConfigError:
    loc = tuple(detail["loc"])
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    value = detail.get("input")
    data_path, here, parent = _walk(root, loc, locator)

    if kind == "extra_forbidden":
        name = loc[-1] if loc else "?"
        message = f"unknown key {name!r}"
        allowed = _fields(parent)
        if allowed:
            message += f" (allowed: {', '.join(allowed)})"
        where = locator.keys.get(data_path) or locator.values.get(data_path)
        return _at(path, where, _prefixed(data_path[:-1], message))

    if kind == "missing":
        name = loc[-1] if loc else "?"
        return _at(path, locator.values.get(data_path),
                   _prefixed(data_path, f"missing key {name!r}"))

    if kind in ("union_tag_invalid", "union_tag_not_found"):
        key = str(ctx.get("discriminator", "kind")).strip("'\"")
        tags = _tags(here, key) or [t.strip(" '\"") for t in
                                    str(ctx.get("expected_tags", "")).split(",") if t.strip()]
        choices = ", ".join(tags)
        if kind == "union_tag_not_found":
            return _at(path, locator.values.get(data_path),
                       _prefixed(data_path, f"missing key {key!r} (must be one of: {choices})"))
        where = locator.point((*data_path, key)) or locator.values.get(data_path)
        given = value.get(key) if isinstance(value, Mapping) else ctx.get("tag")
        got = _short(given) if isinstance(given, str) else describe(given)
        message = f"{key} must be one of: {choices} (got {got})"
        return _at(path, where, _prefixed(data_path, message))

    if kind == "invalid_key":  # a mapping key that is not a string, e.g. `1: x`
        where = locator.keys.get(data_path) or locator.values.get(data_path)
        message = f"keys must be strings (got {_short(value)})"
        return _at(path, where, _prefixed(data_path[:-1], message))

    where = locator.point(data_path)
    if kind in ("model_type", "model_attributes_type", "dict_type", "mapping_type"):
        message = f"expected a mapping, got {describe(value)}"
    elif kind in ("list_type", "tuple_type", "set_type", "frozen_set_type", "iterable_type"):
        message = f"expected a list, got {describe(value)}"
    elif kind == "string_type":
        message = f"expected a string, got {describe(value)}"
    elif kind.startswith("url_"):
        reason = ctx.get("error") or detail["msg"]
        message = f"invalid URL {_short(value)}: {reason}"
    elif kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        message = str(error) if error is not None else detail["msg"]
    else:
        message = detail["msg"].replace("Input should be", "must be", 1)
        message += f" (got {_short(value)})"
    return _at(path, where, _prefixed(data_path, message))


def _prefixed(data_path: Path_, message: str) -> str:
    """``follow.drop[0]: message``; a leading list index is left out, since the line
    already points into that item."""
    parts: list[str] = []
    for step in data_path:
        if isinstance(step, int) and not isinstance(step, bool):
            if parts:
                parts[-1] += f"[{step}]"
        else:
            parts.append(str(step))
    return f"{'.'.join(parts)}: {message}" if parts else message


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(value: Any) -> str:
    """A few words for a YAML value in a message: "the string 'x'", "a list"..."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, str):
        return f"the string {_short(value)}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, date):  # YAML reads 2020-01-01 as a date, not a string
        return f"the date {value.isoformat()}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


# --- finding the model behind a loc, to list allowed keys and kinds ----------------------


def _walk(root: Any, loc: tuple[Any, ...], locator: Locator) -> tuple[Path_, Any, Any]:
    """Follow ``loc`` through the type and the data together. Returns the data path
    (steps present in the document), the type at the end of ``loc`` and the type that
    holds its last step (for an unknown key: the model whose fields are allowed)."""
    here: Any = root
    parent: Any = None
    path: Path_ = ()
    for step in loc:
        member = _union_member(here, step)
        if member is not None:  # a tag pydantic adds after a union; no data lives there
            here = member
            continue
        parent = here
        here = _child(here, step)
        if (*path, step) in locator.values:
            path = (*path, step)
    return path, here, parent


def _unwrap(type_: Any) -> Any:
    """``Annotated[X, ...]`` -> X and ``X | None`` -> X; other types unchanged."""
    while True:
        origin = get_origin(type_)
        if origin is Annotated:
            type_ = get_args(type_)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(type_) if a is not type(None)]
            if len(members) != 1:
                return type_
            type_ = members[0]
        else:
            return type_


def _is_model(type_: Any) -> bool:
    return isinstance(type_, type) and issubclass(type_, BaseModel)


def _union_member(type_: Any, step: Any) -> Any:
    type_ = _unwrap(type_)
    if get_origin(type_) not in (Union, types.UnionType) or not isinstance(step, str):
        return None
    for member in get_args(type_):
        model = _unwrap(member)
        if _is_model(model) and (model.__name__ == step or step in _literals(model)):
            return model
    return None


def _literals(model: type[BaseModel]) -> set[Any]:
    found: set[Any] = set()
    for info in model.model_fields.values():
        if get_origin(info.annotation) is Literal:
            found.update(get_args(info.annotation))
    return found


def _child(type_: Any, step: Any) -> Any:
    type_ = _unwrap(type_)
    if _is_model(type_):
        for name, info in type_.model_fields.items():
            if step in (name, info.alias):
                return info.annotation
        return None
    origin, args = get_origin(type_), get_args(type_)
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        return args[step] if isinstance(step, int) and 0 <= step < len(args) else None
    if origin in (list, set, frozenset) or (
        isinstance(origin, type) and issubclass(origin, Sequence)
    ):
        return args[0] if args else None
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return args[1] if len(args) == 2 else None
    return None


def _fields(type_: Any) -> list[str]:
    model = _unwrap(type_)
    if not _is_model(model):
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _tags(type_: Any, key: str) -> list[str]:
    """The values the discriminator ``key`` may take in the union ``type_``."""
    union = _unwrap(type_)
    tags: list[str] = []
    for member in get_args(union):
        model = _unwrap(member)
        if _is_model(model) and key in model.model_fields:
            annotation = model.model_fields[key].annotation
            if get_origin(annotation) is Literal:
                tags.extend(str(a) for a in get_args(annotation))
    return tags
