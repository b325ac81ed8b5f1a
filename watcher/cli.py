"""The ``watcher`` command. Thin: it parses options, calls the pipeline or the store's
read functions, and prints rich tables or JSON. User errors are one line on stderr and
exit code 2, never a traceback."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from watcher import store
from watcher.config.common import parse_duration
from watcher.config.sources import Reader
from watcher.delivery import commands as delivery_commands
from watcher.diff.describe import describe_change
from watcher.errors import ConfigError, StoreError, WatcherError
from watcher.service.logs import setup_logging
from watcher.service.memory import tune_malloc
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings, settings_problems
from watcher.store import outbox as outbox_store
from watcher.store import queries
from watcher.store import sources as source_store
from watcher.store.timeutil import utcnow

app = typer.Typer(help="Watch official pages for new funds, changed amounts and new "
                       "facilities, and alert.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
outbox_app = typer.Typer(help="Inspect and retry notification deliveries.")
app.add_typer(outbox_app, name="outbox")
app.add_typer(delivery_commands.rules_app, name="rules")
app.command("notify-test")(delivery_commands.notify_test)

out = Console()
T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    # Plain write, not rich: a terminal-width wrap would split a file:line message.
    sys.stderr.write(message.rstrip("\n") + "\n")
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn watcher's errors into one-line messages and exit codes."""
    try:
        yield
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except StoreError as exc:
        raise fail(f"database error: {exc}", 1) from None
    except WatcherError as exc:
        raise fail(str(exc)) from None


def load_runtime(init: bool = True, isolated_migration: bool = False) -> Runtime:
    runtime = Runtime.load(Settings())
    if init:
        runtime.init_database(isolated_migration=isolated_migration)
    return runtime


def guarded(func: Callable[[], T]) -> T:
    with user_errors():
        return func()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def since_option(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return utcnow() - parse_duration(value)
    except ValueError as exc:
        raise fail(f"--since: {exc}") from None


@app.callback()
def main(
    log_format: Annotated[str, typer.Option(help="human or json")] = "",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    # Every command reads the settings: a bad value is one line here, not a traceback.
    try:
        settings = Settings()
    except ValidationError as exc:
        raise fail(settings_problems(exc)) from None
    setup_logging(log_format or settings.log_format, verbose)
    tune_malloc()  # before any worker thread allocates (watcher.service.memory says why)


@app.command()
def init() -> None:
    """Create or upgrade the database and load the baseline (safe to run again)."""
    def work() -> int:
        runtime = load_runtime(init=False)
        return runtime.init_database()
    changed = guarded(work)
    out.print(f"database ready; {changed} baseline facts added or updated")


@app.command()
def check(
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Poll sources now, store what changed, send alerts, and print a summary."""
    from watcher.pipeline import dispatch_outbox, poll_source

    runtime = guarded(load_runtime)
    names = source or list(runtime.sources)
    unknown = [n for n in names if n not in runtime.sources]
    if unknown:
        raise fail(f"unknown source {unknown[0]!r} (known: {', '.join(runtime.sources)})")

    async def work() -> tuple[list[Any], Any]:
        async with runtime.network():
            reports = await asyncio.gather(
                *(poll_source(runtime, runtime.sources[n], force=True) for n in names))
            return list(reports), await dispatch_outbox(runtime, limit=1000)

    reports, dispatch = asyncio.run(work())
    if json_output:
        print_json({"sources": [r.__dict__ | {"error": r.error} for r in reports],
                    "sent": dispatch.sent, "failed": dispatch.failed})
        return
    table = Table("source", "requests", "304", "documents", "facts", "changes", "alerts",
                  "error", title="poll summary")
    for r in reports:
        table.add_row(r.source, str(r.requests), str(r.not_modified), str(r.documents),
                      str(r.facts), str(r.changes), str(r.alerts), r.error or "")
    out.print(table)
    out.print(f"deliveries sent: {dispatch.sent}, failed: {dispatch.failed}")


@app.command()
def run(
    http: Annotated[str | None, typer.Option(
        help="Serve /healthz, /metrics (and the web pages) on HOST:PORT, e.g. "
             "127.0.0.1:9108.")] = None,
    log_format: Annotated[str, typer.Option(help="human or json (same as the global "
                                                 "option)")] = "",
) -> None:
    """Run the daemon: poll every source on its schedule and deliver alerts.

    SIGTERM or Ctrl-C stops it cleanly; SIGHUP (or `watcher reload`) re-reads the
    sources, rules and targets."""
    import logging

    from watcher.service.relaunch import relaunch_without_docstrings

    relaunch_without_docstrings()  # python -OO: watcher.service.relaunch says why
    from watcher.service.schedule import Daemon

    if log_format:
        if log_format not in ("human", "json"):
            raise fail(f"--log-format {log_format!r}: use human or json")
        setup_logging(log_format, logging.getLogger().level == logging.DEBUG)
    # A schema upgrade runs in a child process: Alembic would stay resident for the
    # daemon's whole life (about 11 MB) for a few moments' work.
    runtime = guarded(lambda: load_runtime(isolated_migration=True))
    sock, web = None, None
    if http:
        # Only with --http: the endpoint brings uvicorn and Starlette (3 MB) to a daemon
        # that otherwise only polls.
        from watcher.service import http as http_endpoint

        try:
            host, port = http_endpoint.parse_address(http)
            sock = http_endpoint.bind(host, port)
        except (ValueError, OSError) as exc:
            raise fail(f"--http {http}: {exc}") from None
        token = runtime.settings.web_token
        if http_endpoint.is_loopback(host) or token:
            from watcher.web import create_app

            web = create_app(runtime.engine, token=token)
        else:
            logging.getLogger("watcher.http").warning(
                "web pages not served on %s without WATCHER_WEB_TOKEN; only /healthz and "
                "/metrics", host)
    asyncio.run(Daemon(runtime, http_socket=sock, web=web).run())


@app.command()
def reload() -> None:
    """Make the running daemon re-read sources, rules and targets (sends it SIGHUP).

    The daemon is found through its pid file (WATCHER_PID_FILE; default beside the SQLite
    database). An invalid edit is reported here, with file:line, and nothing is sent: the
    daemon keeps running its current configuration."""
    from watcher.service.pidfile import pid_file_path, signal_reload
    from watcher.service.runtime import Config

    settings = Settings()
    guarded(lambda: Config.load(settings))
    pid = guarded(lambda: signal_reload(pid_file_path(settings)))
    out.print(f"asked the daemon (pid {pid}) to reload its configuration")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind; off loopback needs "
                                           "WATCHER_WEB_TOKEN.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8080,
) -> None:
    """Serve the change log, facts, sources, Atom feed and JSON API on the web (read-only)."""
    import uvicorn

    from watcher.web import create_app

    settings = Settings()
    if not is_loopback(host) and not settings.web_token:
        raise fail(f"refusing to serve on {host}: set WATCHER_WEB_TOKEN to bind beyond "
                   "loopback (every request must then carry the token)")
    runtime = guarded(load_runtime)
    out.print(f"serving on http://{host}:{port}/ (Ctrl-C to stop)", markup=False,
              highlight=False)
    uvicorn.run(create_app(runtime.engine, token=settings.web_token), host=host, port=port,
                log_level="warning")


@app.command()
def log(
    since: Annotated[str | None, typer.Option(help="Only changes newer than this, e.g. 7d.")
                     ] = None,
    kind: Annotated[str | None, typer.Option(help="funding, facility, organisation, figure")
                    ] = None,
    type_: Annotated[str | None, typer.Option("--type", help="new, changed, removed")] = None,
    source: Annotated[str | None, typer.Option(help="Only changes from this source.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many changes.")] = 100,
    json_output: JsonOption = False,
) -> None:
    """Show the change log, newest first."""
    runtime = guarded(load_runtime)
    with store.transaction(runtime.engine) as session:
        entries = queries.change_log(session, since=since_option(since), kind=kind,
                                     change_type=type_, source=source, limit=limit)
    if json_output:
        print_json([e.as_json() for e in entries])
        return
    if not entries:
        out.print("no changes match (poll now with `watcher check`)", markup=False)
        return
    table = Table("id", "detected (UTC)", "kind", "change", "sources", title="change log")
    for e in entries:
        table.add_row(str(e.id), e.detected_at.strftime("%Y-%m-%d %H:%M"), e.kind,
                      describe_change(e.type, e.name, e.before, e.after, e.current),
                      ", ".join(sorted({d.source for d in e.documents})))
    out.print(table)


@app.command()
def show(change_id: int, json_output: JsonOption = False) -> None:
    """Show one change: before and after, evidence, sources and deliveries."""
    runtime = guarded(load_runtime)
    with store.transaction(runtime.engine) as session:
        entry = queries.change(session, change_id)
    if entry is None:
        raise fail(f"no change with id {change_id}")
    if json_output:
        print_json(entry.as_json())
        return
    summary = describe_change(entry.type, entry.name, entry.before, entry.after, entry.current)
    out.print(f"#{entry.id} {summary}", markup=False, highlight=False)
    out.print(f"kind: {entry.kind}   key: {entry.fact_key}   "
              f"detected: {entry.detected_at:%Y-%m-%d %H:%M} UTC", markup=False)
    out.print(f"evidence: “{entry.evidence}”", markup=False)
    for d in entry.documents:
        out.print(f"source: {d.source} [{d.language}] {d.title} <{d.url}>", markup=False)
    for delivery in entry.deliveries:
        out.print(f"delivery #{delivery.id} {delivery.rule_id} -> {delivery.target}: "
                  f"{delivery.status} ({delivery.attempts} attempts)"
                  + (f" last error: {delivery.last_error}" if delivery.last_error else ""),
                  markup=False)


GIA_READER = Reader(title="span#PRHeadlineSpan", body="span#pressrelease",
                    drop=("div.mB15.f15",))


def _read_target(target: str, runtime: Runtime) -> tuple[bytes, str, str]:
    path = Path(target)
    if path.exists():
        return path.read_bytes(), "", path.resolve().as_uri()
    if not target.startswith(("http://", "https://")):
        raise fail(f"{target}: no such file, and not an http(s) URL")

    async def get() -> tuple[bytes, str, str]:
        async with runtime.network() as fetcher:
            result = await fetcher.fetch(target)
        if result.error:
            raise fail(f"{target}: {result.error}")
        return result.content, result.content_type, target

    return asyncio.run(get())


@app.command()
def extract(
    target: Annotated[str, typer.Argument(help="A saved page (file) or an http(s) URL.")],
    explain: Annotated[bool, typer.Option(help="Show the sentence and cue behind each fact.")
                       ] = False,
    json_output: JsonOption = False,
) -> None:
    """Print the facts of one page. Nothing is stored."""
    from watcher.extract import extract as extract_facts
    from watcher.read import ensure_readable, read_page

    runtime = guarded(lambda: load_runtime(init=False))
    content, content_type, url = _read_target(target, runtime)
    with user_errors():
        ensure_readable(content, content_type, url)
        reader = GIA_READER if b'id="pressrelease"' in content else None
        document = read_page(content, content_type, url=url, source="cli", reader=reader)
        facts = extract_facts(document, runtime.gazetteer)
    if json_output:
        print_json([{"kind": str(f.kind), "name": f.name, "key": f.key,
                     "amount_hkd": f.amount_hkd, "status": str(f.status) if f.status else None,
                     "attributes": dict(f.attributes), "evidence": f.evidence,
                     "cue": f.cue, "language": f.language} for f in facts])
        return
    table = Table("#", "kind", "name", "amount (HKD)", "status", title=document.title or url)
    for number, f in enumerate(facts, 1):
        table.add_row(str(number), str(f.kind), f.name,
                      f"{f.amount_hkd:,}" if f.amount_hkd else "", str(f.status or ""))
    out.print(table)
    if explain:  # one block per fact: a table column is too narrow for a sentence
        for number, f in enumerate(facts, 1):
            # page text is escaped: "[...]" in a sentence is not rich markup
            out.print(f"[bold]{number}. {escape(f.name)}[/bold]\n"
                      f"   sentence: {escape(f.evidence)}\n   why: {escape(f.cue)}",
                      highlight=False)


@app.command("eval")
def eval_command(
    directory: Annotated[Path, typer.Argument(help="A directory of labelled pages "
                                                   "(see docs/eval.md).")] = Path("tests/eval"),
    worst: Annotated[int, typer.Option(min=0, help="How many of the worst pages to list.")] = 5,
    json_output: JsonOption = False,
) -> None:
    """Score extraction on labelled pages: precision, recall and F1 per fact kind, for
    amounts and statuses, and the worst pages. Nothing is stored."""
    from watcher.eval import evaluate, measures, verdict
    from watcher.extract import Gazetteer
    from watcher.extract.baseline import load_baseline

    def work() -> Any:
        gazetteer = Gazetteer.from_baseline(load_baseline(Settings().baseline_file))
        return evaluate(directory, gazetteer)

    report = guarded(work)
    if json_output:
        print_json(report.as_json(worst) | {"misses": verdict(report)})
        return
    table = Table("measure", "precision", "recall", "F1", "right", "extra", "missed",
                  title=f"extraction on {len(report.pages)} labelled pages")
    for label, c in measures(report):
        table.add_row(label, f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}",
                      str(c.tp), str(c.fp), str(c.fn))
    out.print(table)
    out.print(f"negative pages: {report.negative_pages}, funding facts on them: "
              f"{report.negative_funding}; amounts not exact: {report.wrong_amounts}")
    pages = report.worst(worst)
    if pages:
        listing = Table("page", "mistakes", "what went wrong", title="worst pages")
        for page in pages:
            listing.add_row(page.case, str(page.errors), escape("\n".join(page.mistakes)))
        out.print(listing)
    for miss in verdict(report):
        out.print(f"below threshold: {miss}", markup=False, highlight=False)


@app.command("sources")
def sources_command(json_output: JsonOption = False) -> None:
    """List the sources with their health: last success, last error, failures, next due."""
    runtime = guarded(load_runtime)
    with store.transaction(runtime.engine) as session:
        health = {h.name: h for h in source_store.health(session)}
    rows = [health[name] for name in runtime.sources if name in health]
    if json_output:
        print_json([asdict(h) | {"tags": list(h.tags)} for h in rows])  # slots: no __dict__
        return
    table = Table("name", "kind", "last success", "failures", "last error", "next due",
                  title="sources")
    for h in rows:
        table.add_row(h.name, h.kind, _when(h.last_success_at), str(h.consecutive_failures),
                      (h.last_error or "")[:80], _when(h.next_due_at))
    out.print(table)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@app.command()
def validate() -> None:
    """Check the sources, rules, targets and baseline; print every problem with file:line."""
    from watcher.service.runtime import Config

    config = guarded(lambda: Config.load(Settings()))
    out.print(f"ok: {len(config.sources)} sources, {len(config.rules)} rules, "
              f"{len(config.targets)} targets, {len(config.baseline.entries)} baseline facts")


@outbox_app.callback(invoke_without_command=True)
def outbox_default(
    ctx: typer.Context,
    pending: Annotated[bool, typer.Option("--pending", help="Waiting to be sent.")] = False,
    failed: Annotated[bool, typer.Option("--failed", help="Dead-lettered deliveries.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Inspect and retry notification deliveries (no command: list them)."""
    if ctx.invoked_subcommand is None:
        outbox_list(pending=pending, failed=failed, json_output=json_output)


@outbox_app.command("list")
def outbox_list(
    pending: Annotated[bool, typer.Option("--pending")] = False,
    failed: Annotated[bool, typer.Option("--failed", help="Dead-lettered deliveries.")] = False,
    json_output: JsonOption = False,
) -> None:
    """List deliveries, newest first."""
    status = "pending" if pending else "dead" if failed else None
    runtime = guarded(load_runtime)
    with store.transaction(runtime.engine) as session:
        rows = outbox_store.listing(session, status)
    if json_output:
        print_json([r.__dict__ for r in rows])
        return
    table = Table("id", "change", "rule", "target", "route", "status", "attempts", "due",
                  "last error", title="outbox")
    for r in rows:
        due = "" if r.status == "sent" else _when(r.next_attempt_at)
        table.add_row(str(r.id), str(r.change_id or ""), r.rule_id, r.target, r.route or "",
                      r.status, str(r.attempts), due, (r.last_error or "")[:80])
    out.print(table)


@outbox_app.command("retry")
def outbox_retry(
    delivery_id: Annotated[int | None, typer.Argument()] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every failed delivery.")] = False,
) -> None:
    """Make a failed delivery (or all of them) due now."""
    if delivery_id is None and not all_:
        raise fail("give a delivery id or --all")
    runtime = guarded(load_runtime)
    with store.transaction(runtime.engine) as session:
        count = outbox_store.retry(session, delivery_id, utcnow())
    out.print(f"{count} deliveries queued again")


@app.command()
def prune(
    older_than: Annotated[str, typer.Option(help="Drop raw snapshots older than this.")] = "90d",
) -> None:
    """Drop old raw page snapshots and fetch logs; facts, changes and alerts stay."""
    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        raise fail(f"--older-than: {exc}") from None
    runtime = guarded(load_runtime)
    from watcher.store.retention import prune as prune_store

    with store.transaction(runtime.engine) as session:
        snapshots, fetches = prune_store(session, utcnow() - age)
    out.print(f"pruned {snapshots} snapshots and {fetches} fetch records older than {older_than}")


def _day_option(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


@app.command()
def backfill(
    source: Annotated[str, typer.Option(help="gia (both languages) or one daily-index "
                                             "source, e.g. gia-daily-index-en.")],
    since: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")],
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: "
                                                   "yesterday, Hong Kong time).")] = None,
    alert: Annotated[bool, typer.Option("--alert", help="Send alerts for what it finds "
                                                        "(default: history only).")] = False,
    max_days: Annotated[int | None, typer.Option(min=1, help="Stop after this many days "
                                                             "(run again to go on).")] = None,
) -> None:
    """Read the daily press-release archive day by day, politely, to build history.
    Resumable: days already done are skipped."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from watcher.pipeline import dispatch_outbox
    from watcher.service import backfill as backfill_module

    first = _day_option("--since", since)
    assert first is not None
    last = _day_option("--until", until) or (
        utcnow().astimezone(backfill_module.HONG_KONG).date() - timedelta(days=1))
    runtime = guarded(load_runtime)
    with user_errors():
        sources = backfill_module.archive_sources(runtime.sources, source)
        days = backfill_module.days_between(first, last)

    async def work() -> tuple[backfill_module.BackfillReport, int]:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=Console(stderr=True)) as progress:
            task = progress.add_task(f"backfill {source}", total=len(days))
            async with runtime.network():
                report = await backfill_module.backfill(
                    runtime, sources, first, last, alert=alert, max_days=max_days,
                    on_day=lambda day: progress.update(
                        task, advance=1, description=f"backfill {source} {day}"))
                sent = (await dispatch_outbox(runtime, limit=1000)).sent if alert else 0
        return report, sent

    report, sent = asyncio.run(work())
    out.print(f"{report.days} days read ({report.already_done} already done, "
              f"{report.missing} without an archive page), {report.documents} documents, "
              f"{report.facts} facts, {report.changes} changes"
              + (f", {report.alerts} alerts, {sent} sent" if alert else ""), markup=False)
    if report.error:
        raise fail(f"backfill stopped at {report.stopped_at}: {report.error}; "
                   "run the same command again to resume", 1)
