"""Load the source definitions in ``sources/*.yaml``.

Every ``*.yaml`` / ``*.yml`` file in the directory is read, in name order (files whose
names start with ``.`` are editor droppings and skipped). A file holds either

- one source, as a mapping::

      name: gia-press-releases-en
      kind: rss
      url: https://www.info.gov.hk/gia/rss/general_en.xml

- or several, as a list of such mappings (``- name: ...``).

A file may also hold several YAML documents separated by ``---``, each of either form.
What a source may say is in :mod:`watcher.config.sources`; a source with neither
``interval`` nor ``cron`` is polled every hour. Names must be unique across all files.

Every problem in every file is collected before anything is raised, so ``watcher
validate`` shows them all at once: one problem raises ConfigError, several raise
ConfigErrors, each line ``path:line:column: message``. An empty directory (or one holding
only empty files) gives no sources, which is not an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from watcher.config.sources import Source, SourceBase
from watcher.config.yamlload import (
    Located,
    Position,
    describe,
    display_path,
    errors_of,
    load_documents,
    raise_all,
)
from watcher.errors import ConfigError

SUFFIXES = (".yaml", ".yml")


def source_files(directory: Path) -> list[Path]:
    """The files :func:`load_sources` reads, in the order it reads them."""
    if not directory.is_dir():
        what = "does not exist" if not directory.exists() else "is not a directory"
        raise ConfigError(f"sources directory {what}", display_path(directory))
    return sorted(
        (p for p in directory.iterdir()
         if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file()),
        key=lambda p: p.name,
    )


def load_sources(directory: Path) -> list[SourceBase]:
    """Every source defined in ``directory``, in file order, then order within a file."""
    found: list[tuple[SourceBase, str, Position | None]] = []
    errors: list[ConfigError] = []
    for path in source_files(directory):
        _read(path, found, errors)
    _check_unique(found, errors)
    raise_all(sorted(errors, key=lambda e: (e.path or "", e.line or 0, e.column or 0)))
    return [source for source, _, _ in found]


def load_source_file(path: Path) -> list[SourceBase]:
    """The sources defined in one file (names unique within it)."""
    found: list[tuple[SourceBase, str, Position | None]] = []
    errors: list[ConfigError] = []
    _read(path, found, errors)
    _check_unique(found, errors)
    raise_all(errors)
    return [source for source, _, _ in found]


def _read(path: Path, found: list[tuple[SourceBase, str, Position | None]],
          errors: list[ConfigError]) -> None:
    try:
        documents = load_documents(path)
    except ConfigError as exc:
        errors.extend(errors_of(exc))
        return
    for doc in documents:
        try:
            found.extend(_sources_of(doc))
        except ConfigError as exc:
            errors.extend(errors_of(exc))


def _sources_of(doc: Located) -> list[tuple[SourceBase, str, Position | None]]:
    data: Any = doc.data
    if isinstance(data, dict):
        return [(doc.validate(Source), doc.path, doc.locator.point(("name",)))]
    if isinstance(data, list):
        sources = doc.validate(list[Source])
        return [(source, doc.path, doc.locator.point((index, "name")))
                for index, source in enumerate(sources)]
    raise doc.error(
        f"expected a source (a mapping with name, kind, url...) or a list of them, "
        f"got {describe(data)}"
    )


def _check_unique(found: list[tuple[SourceBase, str, Position | None]],
                  errors: list[ConfigError]) -> None:
    first: dict[str, tuple[str, Position | None]] = {}
    for source, path, where in found:
        if source.name not in first:
            first[source.name] = (path, where)
            continue
        other_path, other = first[source.name]
        other_at = other_path + (f":{other.line}:{other.column}" if other else "")
        message = f"duplicate source name {source.name!r} (first defined at {other_at})"
        if where is None:
            errors.append(ConfigError(message, path))
        else:
            errors.append(ConfigError(message, path, where.line, where.column))
