"""``watcher log``, ``show``, ``sources`` and ``prune``: what the database holds, and
dropping old snapshots."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from watcher import store
from watcher.cli.common import (
    JsonOption,
    fail,
    guarded,
    load_for_reading,
    load_runtime,
    out,
    print_json,
    since_option,
    when,
)
from watcher.config.common import parse_duration
from watcher.diff.describe import amount_text, describe_change
from watcher.display import plural
from watcher.models import ChangeType, FactKind
from watcher.store import queries
from watcher.store import sources as source_store
from watcher.store.timeutil import utcnow


def log(
    since: Annotated[str | None, typer.Option(
        metavar="DURATION", help="Only changes newer than this, e.g. 7d.")] = None,
    kind: Annotated[str | None, typer.Option(
        metavar="KIND", help="funding, facility, organisation, figure")] = None,
    type_: Annotated[str | None, typer.Option(
        "--type", metavar="TYPE",
        help="new, changed, removed, seen (a known thing first seen)")] = None,
    source: Annotated[str | None, typer.Option(
        metavar="NAME", help="Only changes from this source.")] = None,
    limit: Annotated[int, typer.Option(metavar="N", help="At most this many changes.")] = 100,
    json_output: JsonOption = False,
) -> None:
    """Show the change log, newest first."""
    for option, value, allowed in (("--kind", kind, FactKind), ("--type", type_, ChangeType)):
        if value is not None and value not in set(allowed):
            raise fail(f"{option} {value!r}: use one of {', '.join(allowed)}")
    runtime = load_for_reading()
    with store.transaction(runtime.engine) as session:
        entries = queries.change_log(session, since=since_option(since), kind=kind,
                                     change_type=type_, source=source, limit=limit)
    if json_output:
        print_json([e.as_json() for e in entries])
        return
    if not entries:
        out.print("no changes match (poll now with `watcher check`)", markup=False)
        return
    table = Table("id", "detected", "kind", "change", "sources", title="change log")
    for e in entries:
        text = describe_change(e.type, e.name, e.before, e.after, e.current, e.amounts)
        table.add_row(str(e.id), when(e.detected_at), e.kind,
                      text + (" (dismissed)" if e.dismissed_at else ""),
                      ", ".join(sorted({d.source for d in e.documents})))
    out.print(table)


def show(change_id: int, json_output: JsonOption = False) -> None:
    """Show one change: before and after, evidence, sources and deliveries."""
    runtime = load_for_reading()
    with store.transaction(runtime.engine) as session:
        entry = queries.change(session, change_id)
    if entry is None:
        raise fail(f"no change with id {change_id}")
    if json_output:
        print_json(entry.as_json())
        return
    summary = describe_change(entry.type, entry.name, entry.before, entry.after, entry.current,
                              entry.amounts)
    out.print(f"#{entry.id} {summary}", markup=False, highlight=False)
    out.print(f"kind: {entry.kind}   key: {entry.fact_key}   "
              f"detected: {when(entry.detected_at)}", markup=False)
    if entry.dismissed_at is not None:
        out.print(f"dismissed: {when(entry.dismissed_at)}"
                  + (f" ({entry.dismiss_reason})" if entry.dismiss_reason else ""),
                  markup=False, highlight=False)
    out.print(f"evidence: “{entry.evidence}”", markup=False)
    for amount in entry.amounts:
        out.print(f"amount: {amount_text(amount)}", markup=False, highlight=False)
    for d in entry.documents:
        out.print(f"source: {d.source} [{d.language}] {d.title} <{d.url}>", markup=False)
    for delivery in entry.deliveries:
        out.print(f"delivery #{delivery.id} {delivery.rule_id} -> {delivery.target}: "
                  f"{delivery.status} ({plural(delivery.attempts, 'attempt')})"
                  + (f" last error: {delivery.last_error}" if delivery.last_error else ""),
                  markup=False)


def sources_command(json_output: JsonOption = False) -> None:
    """List the sources with their health: last success, last error, failures, next due."""
    runtime = load_for_reading()
    with store.transaction(runtime.engine) as session:
        health = {h.name: h for h in source_store.health(session)}
    rows = [health[name] for name in runtime.sources if name in health]
    if json_output:
        print_json([asdict(h) | {"tags": list(h.tags)} for h in rows])  # slots: no __dict__
        return
    table = Table("name", "kind", "last success", "failures", "last error", "next due",
                  title="sources")
    for h in rows:
        table.add_row(h.name, h.kind, when(h.last_success_at), str(h.consecutive_failures),
                      (h.last_error or "")[:80], when(h.next_due_at))
    out.print(table)


def prune(
    older_than: Annotated[str, typer.Option(metavar="DURATION",
        help="Drop raw snapshots older than this.")] = "90d",
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
