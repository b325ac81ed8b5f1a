"""``watcher outbox``: deliveries listed and retried."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from watcher import store
from watcher.cli.common import (
    JsonOption,
    Typer,
    fail,
    guarded,
    load_for_reading,
    load_runtime,
    out,
    print_json,
    say,
    when,
)
from watcher.display import plural
from watcher.store import outbox as outbox_store
from watcher.store.timeutil import utcnow

if TYPE_CHECKING:
    from watcher.delivery.dispatch import DispatchReport
    from watcher.service.runtime import Runtime

outbox_app = Typer(help="Inspect and retry notification deliveries.")


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
    runtime = load_for_reading()
    with store.transaction(runtime.engine) as session:
        rows = outbox_store.listing(session, status)
    if json_output:
        print_json([asdict(r) for r in rows])  # Delivery has slots: no __dict__
        return
    table = Table("id", "change", "rule", "target", "route", "status", "attempts", "due",
                  "last error", title="outbox")
    for r in rows:
        due = "" if r.status == "sent" else when(r.next_attempt_at)
        table.add_row(str(r.id), str(r.change_id or ""), r.rule_id, r.target, r.route or "",
                      r.status, str(r.attempts), due, (r.last_error or "")[:80])
    out.print(table)


@outbox_app.command("retry")
def outbox_retry(
    delivery_id: Annotated[int | None, typer.Argument(metavar="ID")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every failed delivery.")] = False,
) -> None:
    """Send a failed delivery (or all of them) again: now, or through the running daemon
    when there is one (it holds the outbox; its next dispatch sends them)."""
    if delivery_id is None and not all_:
        raise fail("give a delivery id or --all")
    _retry(guarded(load_runtime), delivery_id)


def _retry(runtime: Runtime, delivery_id: int | None) -> None:
    from watcher.service.pidfile import pid_file_path, running_daemon

    with store.transaction(runtime.engine) as session:
        if delivery_id is not None:
            status = outbox_store.status_of(session, delivery_id)
            if status is None:
                raise fail(f"no delivery with id {delivery_id} (`watcher outbox` lists them)")
            if status == outbox_store.SENT:
                raise fail(f"delivery {delivery_id} was sent already; nothing to retry")
        count = outbox_store.retry(session, delivery_id, utcnow())
    queued = plural(count, "delivery", "deliveries")
    if not count:
        say("no failed deliveries to retry")
        return
    daemon = running_daemon(pid_file_path(runtime.settings))
    if daemon is not None:
        say(f"{queued} queued again; the daemon (pid {daemon}) sends them at its next "
            f"dispatch (every {runtime.settings.dispatch_every_s:g}s)")
        return
    from watcher.pipeline import dispatch_outbox

    async def send_now() -> DispatchReport:
        async with runtime.network():
            return await dispatch_outbox(runtime, limit=max(count, 50))

    report = asyncio.run(send_now())
    say(f"{queued} queued again and sent now (no daemon running): {report.sent} sent, "
        f"{report.failed} failed" + (f", {report.deferred} held for quiet hours"
                                     if report.deferred else ""))
    if report.failed:
        raise typer.Exit(1)
