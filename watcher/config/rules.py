"""Loading rule files: ``rules/*.yaml``, one rule (a mapping) or several (a list) per file.

What a rule may say is watcher.rules.model; here the files are read, each rule is told
where it was defined (``file:line``, for messages), and ids are checked across files.
Every problem is a ``file:line:col`` ConfigError.
"""

from __future__ import annotations

from pathlib import Path

from watcher.config.yamlload import errors_of, load_documents, raise_all
from watcher.errors import ConfigError
from watcher.rules.model import Rule


def check_tags(rules: list[Rule], known: set[str]) -> list[ConfigError]:
    """One located error per rule ``notify`` tag that no target carries (for ``watcher
    rules check``; with no target configured everything goes to the console, so callers
    skip this check then)."""
    errors = []
    for rule in rules:
        for tag in rule.notify:
            if tag not in known:
                at = rule._notify_at
                choices = ", ".join(sorted(known)) or "none"
                errors.append(ConfigError(
                    f"notify: unknown target tag {tag!r} (known: {choices})",
                    at.path, at.line, at.column,
                ))
    return errors


def load_rule_file(path: Path) -> list[Rule]:
    """The rules in one file. Raises ConfigError/ConfigErrors, every problem located.
    Ids are only checked within the file; ``load_rules`` checks across files."""
    return [rule for rule, _ in _load_file(path, {})]


def _load_file(path: Path, seen: dict[str, str]) -> list[tuple[Rule, str]]:
    errors: list[ConfigError] = []
    found: list[tuple[Rule, str]] = []
    for doc in load_documents(path):
        listed = isinstance(doc.data, list)
        try:
            rules: list[Rule] = doc.validate(list[Rule]) if listed else [doc.validate(Rule)]
        except ConfigError as exc:
            errors.extend(errors_of(exc))
            continue
        for index, rule in enumerate(rules):
            prefix: tuple[int, ...] = (index,) if listed else ()
            where = doc.locator.locate(prefix)
            origin = f"{doc.path}:{where.line}" if where else doc.path
            rule._origin = origin
            rule._notify_at = doc.error("", (*prefix, "notify"))
            if rule.id in seen:
                errors.append(doc.error(
                    f"duplicate rule id {rule.id!r} (first defined at {seen[rule.id]})",
                    (*prefix, "id"),
                ))
                continue
            seen[rule.id] = origin
            found.append((rule, origin))
    raise_all(errors)
    return found


def load_rules(directory: Path) -> list[Rule]:
    """Every rule in ``directory/*.yaml`` (and ``*.yml``), sorted by file name. Ids are
    unique across files. All problems are collected and raised together as ConfigErrors
    (one ``file:line:col: message`` line each)."""
    if not directory.is_dir():
        raise ConfigError(f"rules directory not found: {directory}")
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    errors: list[ConfigError] = []
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            rules.extend(rule for rule, _ in _load_file(path, seen))
        except ConfigError as exc:
            errors.extend(errors_of(exc))
    raise_all(errors)
    return rules
