"""Logging set-up: one line per event, human by default or JSON for log shippers.

Apprise logs the URLs it notifies; its own records already use privacy forms, and the
redaction filter below is a second line of defence for anything shaped like a URL with
credentials, so no password or token reaches a log.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^\s/@]+@", re.IGNORECASE)
_SLACK_TOKENS = re.compile(r"(slack://|hooks\.slack\.com/services/)[A-Za-z0-9/_-]+")


def redact(text: str) -> str:
    """Hide the credentials in URLs: ``mailto://user:pw@host`` -> ``mailto://***@host``."""
    text = _CREDENTIALS.sub(r"\g<scheme>***@", text)
    return _SLACK_TOKENS.sub(r"\1***", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record, not the stream
    that was current at set-up: a test runner swaps and closes stderr between commands,
    and a library thread (an SMTP server's, say) may still log after that."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def setup_logging(log_format: str = "human", verbose: bool = False) -> None:
    handler = StderrHandler()
    handler.addFilter(RedactingFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx2 logs every request at INFO; watcher logs what a poll did instead.
    for noisy in ("httpx2", "httpcore2", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Apprise logs each failure itself ("Connection error while submitting email"), before
    # and beside watcher's own report of it (delivery.notify takes the reason from the
    # send's result). Its lines reach the console only with --verbose; a handler of its own
    # keeps logging's last-resort handler from printing them anyway.
    apprise = logging.getLogger("apprise")
    apprise.propagate = verbose
    if not any(isinstance(h, logging.NullHandler) for h in apprise.handlers):
        apprise.addHandler(logging.NullHandler())
