"""The database schema, as SQLModel tables. Nothing outside ``watcher.store`` imports this.

Times are stored in UTC, whatever offset they come with (``UTCDateTime``). Amounts
are BIGINT: HK$10 billion does not fit in 32 bits.
Page bodies are kept once per distinct content (``snapshot``, keyed by SHA-256 and
zlib-compressed), so a page polled a thousand times unchanged costs one row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, LargeBinary, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from watcher.store.timeutil import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware column that means the same instant on every database.

    PostgreSQL's timestamptz keeps the instant by itself. SQLite has no such type:
    SQLAlchemy writes the wall-clock digits and drops the offset, so a feed date of
    14:15 +08:00 came back as 14:15 UTC, eight hours late. Values are turned into UTC
    before they are written and read back as UTC (aware) on both."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value)  # a naive value is already UTC (utcnow() or read back)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value)


def _utc() -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


def _utc_required() -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=False))


def _json_list() -> Column[Any]:
    return Column(JSON, nullable=False, server_default="[]")


class SourceRow(SQLModel, table=True):
    __tablename__ = "source"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=200)
    kind: str = Field(max_length=20)
    url: str
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    last_polled_at: datetime | None = _utc()
    next_due_at: datetime | None = _utc()
    last_success_at: datetime | None = _utc()
    last_error: str | None = None
    last_error_at: datetime | None = _utc()
    consecutive_failures: int = 0
    # A replica holds a lease on a source while polling it, so two replicas never poll
    # the same source in the same interval. An expired lease is free to take.
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = _utc()


class PageStateRow(SQLModel, table=True):
    """What the last response for a URL said, for the next conditional GET."""

    __tablename__ = "page_state"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True, index=True)
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = Field(default=None, max_length=64)
    last_status: int | None = None
    last_fetched_at: datetime | None = _utc()
    # Answers that said "unchanged" (304, or the same body again). A followed page's
    # unchanged answer is counted here instead of adding a ``fetch`` row: a warm poll of
    # a thousand pages then writes no log rows for the pages that did not change.
    not_modified_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class FetchRow(SQLModel, table=True):
    __tablename__ = "fetch"
    __table_args__ = (Index("ix_fetch_source_time", "source_id", "fetched_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    url: str
    fetched_at: datetime = _utc_required()
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = Field(default=None, max_length=64)
    size: int = 0
    elapsed_ms: int = 0
    not_modified: bool = False
    error: str | None = None


class SnapshotRow(SQLModel, table=True):
    __tablename__ = "snapshot"

    hash: str = Field(primary_key=True, max_length=64)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # zlib-compressed
    size: int
    first_seen: datetime = _utc_required()


class DocumentRow(SQLModel, table=True):
    __tablename__ = "document"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True, index=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    title: str = ""
    published_at: datetime | None = _utc()
    language: str = Field(default="en", max_length=8)
    text: str = ""
    content_hash: str | None = Field(default=None, max_length=64)  # snapshot.hash, if kept
    first_seen: datetime = _utc_required()
    last_seen: datetime = _utc_required()


class FactRow(SQLModel, table=True):
    """One row per (key, scope).

    ``scope`` is ``baseline`` for the seed, ``current`` for the store's present belief
    about the key, and ``doc:<id>`` for what one document says. Diffing a page compares
    its facts with its own previous ``doc:`` rows and with ``current``.
    """

    __tablename__ = "fact"
    __table_args__ = (UniqueConstraint("key", "scope", name="uq_fact_key_scope"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, max_length=200)
    scope: str = Field(index=True, max_length=40)
    kind: str = Field(max_length=20)
    name: str
    amount_hkd: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    status: str | None = Field(default=None, max_length=30)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    evidence: str = ""
    language: str = Field(default="en", max_length=8)
    document_id: int | None = Field(default=None, foreign_key="document.id", index=True)
    origin: str = Field(max_length=20)  # baseline | observed
    last_change_id: int | None = None  # for scope=current: the change that set this state
    first_seen: datetime = _utc_required()
    last_seen: datetime = _utc_required()
    # Every amount the page (for scope=current: the newest pages) tied to the fact, with
    # its role: RoleAmount.as_json() dicts. amount_hkd is the size alone.
    amounts: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json_list())
    # scope=current: when the newest page that told something of the fact was published;
    # an older page never moves the fact (watcher.diff).
    evidence_at: datetime | None = _utc()


class ChangeRow(SQLModel, table=True):
    __tablename__ = "change"

    id: int | None = Field(default=None, primary_key=True)
    identity: str = Field(unique=True, max_length=500)
    type: str = Field(max_length=20, index=True)
    fact_key: str = Field(index=True, max_length=200)
    kind: str = Field(max_length=20, index=True)
    name: str
    before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    current: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    evidence: str = ""
    language: str = Field(default="en", max_length=8)
    document_id: int | None = Field(default=None, foreign_key="document.id")
    source_id: int | None = Field(default=None, foreign_key="source.id")
    detected_at: datetime = Field(
        sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
    amounts: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json_list())
    # The fact's state before the change ({} when there was none): a dismissal restores it.
    prior: dict[str, Any] = Field(default_factory=dict, sa_column=Column(
        JSON, nullable=False, server_default="{}"))
    # Set by `watcher dismiss` or the web page's button: a person said the change is wrong.
    dismissed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True))
    dismiss_reason: str | None = Field(default=None, max_length=500)


class ChangeDocumentRow(SQLModel, table=True):
    """Every document that reported a change: one change, many sources (EN, ZH, news)."""

    __tablename__ = "change_document"

    change_id: int = Field(foreign_key="change.id", primary_key=True)
    document_id: int = Field(foreign_key="document.id", primary_key=True)
    seen_at: datetime = _utc_required()


class OutboxRow(SQLModel, table=True):
    """One delivery: an alert for one target. Written in the transaction that stores the
    change, so a change is never stored without its deliveries (nor the reverse)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    change_id: int | None = Field(default=None, foreign_key="change.id", index=True)
    source_id: int | None = Field(default=None, foreign_key="source.id")
    rule_id: str = Field(max_length=200)
    target: str  # the target's display name (privacy form); never the secret URL
    dedup_key: str = Field(unique=True, max_length=700)
    subject: str
    body: str
    severity: str = Field(default="info", max_length=20)
    status: str = Field(default="pending", max_length=20)  # pending|sending|sent|dead
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = _utc_required()
    next_attempt_at: datetime = _utc_required()
    sent_at: datetime | None = _utc()
    claimed_by: str | None = Field(default=None, max_length=200)
    # The rule's dedup key without target or time: realert looks up the last alert by it.
    alert_key: str | None = Field(default=None, max_length=600, index=True)
    # The route the delivery travels by (watcher.delivery.routing); None = immediate.
    route: str | None = Field(default=None, max_length=100)


class MetaRow(SQLModel, table=True):
    __tablename__ = "meta"

    key: str = Field(primary_key=True, max_length=100)
    value: str
