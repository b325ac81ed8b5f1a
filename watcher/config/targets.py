"""Notification targets from the ``WATCHER_NOTIFY`` setting.

The setting holds either

- Apprise URLs separated by spaces or commas (a comma inside a URL's query, as in
  ``mailto://...?to=a@x.org,b@x.org``, stays in that URL)::

      WATCHER_NOTIFY="mailto://bot:PASSWORD@smtp.example.org?to=ops@example.org json://hook.local"

  These targets carry no tags, so they receive every alert; or

- the path of an Apprise YAML configuration file, whose entries may carry tags that rules
  name to pick their targets (``tag: email``)::

      version: 1
      urls:
        - mailto://bot:PASSWORD@smtp.example.org:
            to: ops@example.org
            tag: email
        - slack://TOKEN_A/TOKEN_B/TOKEN_C:
            tag: slack

  The file is read by Apprise itself (global ``tag``, ``groups`` and per-entry options
  all work as Apprise documents them); ``include`` is refused because watcher would not
  follow it.

Every URL is checked here, at load time, with Apprise (``Apprise.instantiate``). A URL
Apprise cannot use is a ConfigError naming the target by its position and scheme only:
the URL holds passwords and tokens, so no message ever shows it. ``Target.name`` is
Apprise's privacy form of the URL (``mailto://bot:****@smtp.example.org/...``), safe for
logs and the outbox; ``Target.url`` is the full URL and is kept out of ``repr``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from watcher.config.yamlload import Located, describe, load_documents, raise_all
from watcher.delivery.apprise_plugins import prepare_apprise, require_all_plugins
from watcher.errors import ConfigError

SETTING = "WATCHER_NOTIFY"
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]{0,31})://")


@dataclass(frozen=True)
class Target:
    """Where alerts go. ``name`` is safe to print; ``url`` holds secrets."""

    name: str
    url: str = field(repr=False)
    tags: tuple[str, ...] = ()


def load_targets(setting: str) -> list[Target]:
    """The targets the ``WATCHER_NOTIFY`` value names; ``""`` gives none. Raises
    ConfigError (ConfigErrors for several problems), never showing a URL's secrets."""
    value = setting.strip()
    if not value:
        return []
    if "://" in value:
        return parse_target_urls(value)
    return load_target_file(Path(value).expanduser())


def parse_target_urls(value: str) -> list[Target]:
    """Targets from Apprise URLs separated by spaces or commas."""
    # Apprise is imported only when targets are configured: it is 4 MB, which the console
    # target never needs; of its plugins only those the URLs name are loaded (see
    # watcher.delivery.apprise_plugins).
    import apprise
    from apprise.utils.parse import parse_urls

    targets: list[Target] = []
    errors: list[ConfigError] = []
    urls: list[str] = parse_urls(value)  # type: ignore[no-untyped-call]
    prepare_apprise(urls)
    for number, url in enumerate(urls, start=1):
        with _apprise_reasons() as reasons:
            service = apprise.Apprise.instantiate(url)
        if service is None:
            why = _why(reasons, url)
            errors.append(ConfigError(_refused(number, url) + (f": {why}" if why else ""),
                                      SETTING))
        else:
            targets.append(_target(service, url))
    raise_all(errors)
    return _unique(targets)


def load_target_file(path: Path) -> list[Target]:
    """Targets from an Apprise YAML configuration file, each error at its file:line."""
    if not path.is_file():
        raise ConfigError(
            f"no such file {str(path)!r}: give Apprise URLs (scheme://...) or the path of an "
            "Apprise YAML configuration file",
            SETTING,
        )
    documents = load_documents(path)
    if not documents:
        return []
    if len(documents) > 1:
        raise documents[1].error("an Apprise configuration holds one YAML document")
    doc = documents[0]
    settings = _check_layout(doc)
    entries: list[Any] = doc.data.get("urls") or []
    targets: list[Target] = []
    errors: list[ConfigError] = []
    for index, entry in enumerate(entries):
        found = _entry_targets(settings, entry, index + 1)
        if isinstance(found, str):
            errors.append(doc.error(found, ("urls", index)))
        else:
            targets.extend(found)
    raise_all(errors)
    return _unique(targets)


def _check_layout(doc: Located) -> dict[str, Any]:
    """The parts of the file around ``urls`` that every entry is read with."""
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error(f"expected an Apprise configuration mapping, got {describe(data)}")
    if data.get("version", 1) != 1:
        raise doc.error("only Apprise configuration version 1 is understood", ("version",))
    if "include" in data:
        raise doc.error("include is not followed by watcher: list the URLs in this file",
                        ("include",), key=True)
    if "urls" not in data:
        raise doc.error("missing key 'urls' (the list of Apprise URLs)")
    if data["urls"] is not None and not isinstance(data["urls"], list):
        raise doc.error(f"urls: expected a list, got {describe(data['urls'])}", ("urls",))
    return {key: value for key, value in data.items() if key != "urls"}


def _entry_targets(settings: dict[str, Any], entry: Any, number: int) -> list[Target] | str:
    """The targets of one ``urls`` entry, or why it is refused. Apprise reads the entry
    together with the file's global settings (tags, groups), exactly as it would read
    the whole file, so its format rules stay Apprise's."""
    if isinstance(entry, str):
        url = entry
    elif isinstance(entry, dict) and len(entry) == 1 and isinstance(next(iter(entry)), str):
        url = next(iter(entry))
    else:
        return (f"target {number}: expected a URL, or a URL with its options "
                f"(URL: {{tag: ...}}), got {_entry_shape(entry)}")
    import apprise  # only when targets are configured (see parse_target_urls)

    # Apprise reads the entry with its global settings, which may name services in ways
    # watcher does not parse; it gets every plugin, as it would reading the file itself.
    require_all_plugins()
    text = yaml.safe_dump({**settings, "urls": [entry]})
    parsed: tuple[list[Any], list[str]] = apprise.ConfigBase.config_parse_yaml(text)
    services = parsed[0]
    if not services:
        return _refused(number, url)
    return [_target(service, service.url()) for service in services]


def _entry_shape(entry: Any) -> str:
    # Never describe() a string here: it would quote the value, which may be a secret.
    if isinstance(entry, dict):
        return f"a mapping of {len(entry)} keys"
    return describe(entry)


def _refused(number: int, url: str) -> str:
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else "no scheme"
    return f"target {number} ({scheme}): Apprise cannot use this URL"


@contextmanager
def _apprise_reasons() -> Iterator[list[str]]:
    """What Apprise says (warnings and errors) while it looks at a URL: its reason for
    refusing one goes into watcher's own message instead of a log line before it."""
    reasons: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            reasons.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("apprise")
    logger.addHandler(handler)
    try:
        yield reasons
    finally:
        logger.removeHandler(handler)


def _why(reasons: list[str], url: str) -> str:
    """Apprise's reasons, without those that repeat the URL (in its own masked form, which
    still shows parts of it) and without anything of the URL's user or password."""
    parts = urlsplit(url)
    secrets = [s for s in (parts.username, parts.password) if s and len(s) >= 3]
    kept = []
    for reason in reasons:
        if "://" in reason:
            continue
        for secret in secrets:
            reason = reason.replace(secret, "****")
        kept.append(reason.replace("~", "").strip().rstrip(":. ").strip())
    return "; ".join(dict.fromkeys(kept))


def _target(service: Any, url: str) -> Target:
    # The privacy URL masks passwords and tokens; its query string only repeats options.
    name = str(service.url(privacy=True)).split("?", 1)[0].rstrip("/")
    tags = tuple(sorted(str(tag) for tag in (service.tags or ())))
    return Target(name=name, url=url, tags=tags)


def _unique(targets: list[Target]) -> list[Target]:
    """Two targets may mask to the same name; number the later ones so that names,
    which the outbox records, stay distinct."""
    seen: dict[str, int] = {}
    result = []
    for target in targets:
        count = seen.get(target.name, 0) + 1
        seen[target.name] = count
        if count > 1:
            target = Target(f"{target.name} #{count}", target.url, target.tags)
        result.append(target)
    return result
