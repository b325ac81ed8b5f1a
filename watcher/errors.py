"""The exceptions watcher raises, and what each means.

    WatcherError
    ├── ConfigError        a source, rule or settings file is invalid (carries file:line)
    ├── FetchError         a request failed: DNS, timeout, refused, HTTP error, too large
    ├── ReadError          a response could not be turned into documents (empty, binary...)
    ├── StoreError         the database refused or is unreachable
    └── NotifyError        a notification target URL is invalid or a send failed

Foreign exceptions (httpx2, SQLAlchemy, yaml, Apprise) are converted at the module that
talks to the library, so the rest of the code only ever catches these.
"""

from __future__ import annotations


class WatcherError(Exception):
    """Base of every error watcher reports to a user."""


class ConfigError(WatcherError):
    """Invalid configuration. ``str()`` is one line: ``path:line:col: message``."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        super().__init__(self.located())

    def located(self) -> str:
        where = self.path or "<config>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class ConfigErrors(ConfigError):
    """Several configuration problems found in one pass; ``str()`` has one line each."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, first.path, first.line, first.column)

    def __str__(self) -> str:
        return "\n".join(e.located() for e in self.errors)


class FetchError(WatcherError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class ReadError(WatcherError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class StoreError(WatcherError):
    pass


class NotifyError(WatcherError):
    pass
