"""``watcher outbox``: deliveries listed and retried."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from watcher import store
from watcher.cli.common import JsonOption, fail, guarded, load_runtime, out, print_json, when
from watcher.store import outbox as outbox_store
from watcher.store.timeutil import utcnow

outbox_app = typer.Typer(help="Inspect and retry notification deliveries.")


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
