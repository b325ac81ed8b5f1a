"""``watcher check`` and ``watcher backfill``: polling now, and reading the GIA archive
day by day."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from watcher import store
from watcher.cli.common import JsonOption, fail, guarded, load_runtime, out, print_json, user_errors
from watcher.display import plural
from watcher.store.timeutil import utcnow


def check(
    source: Annotated[list[str] | None, typer.Option(
        metavar="NAME", help="Only this source (repeatable).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Poll sources now, store what changed, send alerts, and print a summary.

    Exit status: 0 when every source was polled, 1 when any source failed (its error is
    in the summary; a poll the database refused to store is named first, and nothing of
    it is counted), 2 for a mistake in the command or the configuration."""
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
            try:
                return list(reports), await dispatch_outbox(runtime, limit=1000)
            except Exception as exc:  # the outbox is in the same database
                if not store.is_database_error(exc):
                    raise
                return list(reports), store.describe_error(exc, runtime.engine.url)

    reports, dispatch = asyncio.run(work())
    undelivered = dispatch if isinstance(dispatch, str) else None
    sent, unsent = (0, 0) if undelivered else (dispatch.sent, dispatch.failed)
    failed = [r for r in reports if r.error]
    if json_output:
        print_json({"sources": [_summary(r) for r in reports], "sent": sent,
                    "failed": unsent, "dispatch_error": undelivered})
    else:
        table = Table("source", "requests", "304", "documents", "facts", "changes", "alerts",
                      "error", title="poll summary")
        for r in reports:
            table.add_row(r.source, str(r.requests), str(r.not_modified), str(r.documents),
                          str(r.facts), str(r.changes), str(r.alerts), r.error or "")
        out.print(table)
        out.print(f"deliveries sent: {sent}, failed: {unsent}")
    unstored = [r for r in reports if r.incomplete]
    if unstored:  # the database's trouble first: it is no one source's
        more = f" (and {len(unstored) - 1} more sources)" if len(unstored) > 1 else ""
        raise fail(f"{unstored[0].source}: the poll could not be stored: "
                   f"{unstored[0].incomplete}{more}", 1)
    if undelivered:
        raise fail(f"the outbox could not be sent: database error: {undelivered}", 1)
    if failed:
        from watcher.fetch.client import unreachable

        if len(failed) == len(reports) and all(unreachable(r.error or "") for r in failed):
            raise fail(f"no source's host could be reached ({plural(len(failed), 'source')}: "
                       "name not found, refused or no route): is this machine offline, or "
                       "does it need a proxy?", 1)
        raise fail(f"{plural(len(failed), 'source')} of {len(reports)} failed: "
                   + ", ".join(r.source for r in failed), 1)


def _summary(report: Any) -> dict[str, Any]:
    """A poll's report for --json: its errors counted by reason (``retry_at`` is the
    daemon's business)."""
    summary: dict[str, Any] = {k: v for k, v in report.__dict__.items() if k != "retry_at"}
    return summary | {"errors": report.errors.counts(), "error": report.error}


def _day_option(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def backfill(
    source: Annotated[str, typer.Option(metavar="NAME",
        help="gia (both languages) or one daily-index "
                                             "source, e.g. gia-daily-index-en.")],
    since: Annotated[str, typer.Option(metavar="DAY", help="First day, YYYY-MM-DD.")],
    until: Annotated[str | None, typer.Option(metavar="DAY", help="Last day, YYYY-MM-DD (default: "
                                                   "yesterday, Hong Kong time).")] = None,
    alert: Annotated[bool, typer.Option("--alert", help="Send alerts for what it finds "
                                                        "(default: history only).")] = False,
    max_days: Annotated[int | None, typer.Option(metavar="DAYS", help="Stop after this many days "
                                                             "(run again to go on).")] = None,
) -> None:
    """Read the daily press-release archive day by day, politely, to build history.
    Resumable: days already done are skipped."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from watcher.pipeline import dispatch_outbox
    from watcher.service import backfill as backfill_module

    if max_days is not None and max_days < 1:
        raise fail(f"--max-days {max_days}: give 1 or more")
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
