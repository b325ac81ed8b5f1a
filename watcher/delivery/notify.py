"""The only outbound messages: one alert to one target through Apprise, or to the console.

``send`` never raises and never reports success before Apprise does: the outbox marks a
delivery sent only on ``SendResult.ok``. Each call builds a fresh ``apprise.Apprise()``
holding just that target, so one target's failure cannot hide behind another's success
and a retry reaches only the target that failed.

Bodies are written by rules as plain text. For a target whose format (``format_for``) is
HTML -- email -- ``send`` renders them as escaped HTML with links, so page text cannot
inject markup, and Apprise adds the plain-text alternative part. Every other target gets
them declared as plain text, and Apprise's plugin escapes for its service: Slack's sends
mrkdwn with ``& < >`` entity-escaped, so a page cannot post ``<!channel>`` or a disguised
link. (Slack has no backslash escapes, so pre-escaping markdown would show backslashes.)

Failure messages come from the Apprise result's own log entries for that one call
(``AppriseResult.logs()``, Apprise 2.x), not from Apprise's global logger: a
``LogCapture`` on the shared logger would mix messages of concurrent sends. Every
message is stripped of the URL's secrets before it leaves this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from watcher.config.targets import Target
from watcher.delivery.apprise_plugins import prepare_apprise
from watcher.rules.render import text_to_html

if TYPE_CHECKING:
    # Apprise (with its plugins) and Rich are imported where a message is sent or
    # printed: a daemon that polls and has nothing to send does not carry them.
    import apprise
    from rich.console import Console


BodyFormat = Literal["html", "markdown", "text"]
MAX_ERROR_CHARS = 300
_ERROR_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    error: str | None = None  # one line, no secrets


def privacy_url(url: str) -> str:
    """The URL as Apprise shows it with secrets masked, or a scheme-only stand-in when
    Apprise cannot parse it (an unparseable URL may still hold a secret)."""
    import apprise

    prepare_apprise([url])
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin:
        return str(plugin.url(privacy=True))  # type: ignore[no-untyped-call]
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://****"


def format_for(url: str) -> BodyFormat:
    """The format this target reads best: its ``?format=`` if given, else the Apprise
    plugin's own first choice (email -> html, slack -> markdown, json -> text)."""
    import apprise

    prepare_apprise([url])
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if not plugin:
        return "text"
    value = str(getattr(plugin.resolve_format(None), "value", "text"))
    return value if value in ("html", "markdown") else "text"  # type: ignore[return-value]


def prepare_body(body: str, body_format: str, target_format: BodyFormat) -> tuple[str, str]:
    """Convert a plain-text body for a target that prefers HTML; bodies already in another
    format pass through, and plain text stays plain text for Apprise to escape for each
    service. Returns (body, format to declare)."""
    if body_format == "text" and target_format == "html":
        return text_to_html(body), "html"
    return body, body_format


def secrets_of(url: str) -> list[str]:
    """Parts of an Apprise URL that may be secret: user, password, path segments (tokens
    for Slack, Telegram, Discord...) and query values, longest first."""
    try:
        parts = urlsplit(url)
        found = {parts.username or "", parts.password or ""}
    except ValueError:
        return [url]
    found.update(parts.path.split("/"))
    # Slack-style tokens sit where a host would be; hosts are public but harmless to mask
    # only when they look like tokens (no dots).
    host = parts.hostname or ""
    if host and "." not in host and host != "localhost":
        found.add(host)
    for pair in re.split(r"[&;]", parts.query):
        found.add(pair.partition("=")[2])
    found.update({unquote(s) for s in found})
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def redact(text: str, url: str) -> str:
    """``text`` with the URL and each of its secret parts replaced by ``****``."""
    text = text.replace(url, privacy_url(url))
    for secret in secrets_of(url):
        text = text.replace(secret, "****")
    return text


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def _failure(result: apprise.AppriseResult, url: str) -> str:
    """What went wrong, from this call's own log entries (warnings and errors)."""
    messages = [e.message for e in result.logs() if e.level in _ERROR_LEVELS]
    unique = list(dict.fromkeys(messages))
    summary = "; ".join(unique[-3:]) if unique else f"Apprise reported {result.status.name}"
    return _one_line(redact(summary, url))


def send(
    target: Target,
    subject: str,
    body: str,
    body_format: str = "text",
    *,
    timeout: float = 60.0,
) -> SendResult:
    """Deliver one message to one target. ``body_format`` is the format of ``body`` as
    given; plain text is converted to the target's format. Never raises."""
    import apprise

    try:
        prepare_apprise([target.url])
        text, declared = prepare_body(body, body_format, format_for(target.url))
        sender = apprise.Apprise()
        if not sender.add(target.url):
            return SendResult(False, f"{target.name}: not a valid Apprise URL")
        with sender.notify(body=text, title=subject, body_format=declared,
                           timeout=timeout) as result:
            if result:
                return SendResult(True, None)
            error = _failure(result, target.url)
    except Exception as exc:  # the outbox must record the failure, whatever it was
        error = _one_line(redact(f"{type(exc).__name__}: {exc}", target.url))
    # Not logged here: the caller reports it once (the dispatcher's log line, the outbox
    # row, notify-test's output), and Apprise's own lines stay off the console (logs.py).
    return SendResult(False, error)


def console_send(subject: str, body: str, console: Console | None = None) -> SendResult:
    """Print an alert when no target is configured. Page text is shown literally (rich
    markup is not interpreted). On stderr: stdout is the command's own answer, which
    ``watcher check --json`` must keep to one JSON document."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    out = console or Console(stderr=True)
    out.print(Panel(Text(body), title=Text(subject, style="bold"), title_align="left"))
    return SendResult(True, None)
