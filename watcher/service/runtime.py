"""Everything a poll needs, loaded once from the settings: the database engine, the
sources, rules and targets, the baseline's gazetteer and the HTTP fetcher.

``load()`` validates all configuration before anything runs, so a broken file stops
start-up with its file:line error; ``reload()`` swaps in new configuration only when all
of it is valid, so a bad edit leaves the running configuration in place.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from watcher import store
from watcher.config.loader import load_sources
from watcher.config.rules import load_rules
from watcher.config.sources import SourceBase
from watcher.config.targets import Target, load_targets
from watcher.delivery.notify import SendResult, console_send, send
from watcher.delivery.pace import Pacer
from watcher.delivery.routing import Routes, load_routes
from watcher.errors import ConfigError
from watcher.extract import Gazetteer
from watcher.extract.baseline import Baseline, load_baseline
from watcher.fetch import Fetcher
from watcher.fetch.address import AddressPolicy
from watcher.fetch.budget import HostTurns, PageBudget
from watcher.rules.model import Rule
from watcher.service.failures import PollFailures
from watcher.service.observe import Metrics
from watcher.service.settings import Settings
from watcher.store import sources as source_store
from watcher.store.baseline import seed_baseline
from watcher.store.timeutil import utcnow

CONSOLE = "console"  # the built-in target when no notification target is configured


@dataclass(frozen=True)
class Config:
    """The validated contents of the sources, rules and notification settings."""

    sources: dict[str, SourceBase]
    rules: list[Rule]
    targets: list[Target]
    baseline: Baseline
    gazetteer: Gazetteer
    routes: Routes = field(default_factory=Routes)

    @classmethod
    def load(cls, settings: Settings) -> Config:
        sources = load_sources(settings.sources_dir)
        rules = load_rules(settings.rules_dir)
        targets = load_targets(settings.notify)
        baseline = load_baseline(settings.baseline_file)
        check_fetch_allow(settings)
        return cls(
            sources={s.name: s for s in sources if s.enabled},
            rules=[r for r in rules if r.enabled],
            targets=targets,
            baseline=baseline,
            gazetteer=Gazetteer.from_baseline(baseline),
            routes=load_routes(settings.routes_file),
        )


def check_fetch_allow(settings: Settings) -> None:
    """WATCHER_FETCH_ALLOW names hosts and networks; a typo is one line, not a host
    silently refused at every poll."""
    try:
        AddressPolicy.parse(settings.fetch_allow)
    except ValueError as exc:
        raise ConfigError(str(exc), "WATCHER_FETCH_ALLOW (or fetch_allow in watcher.toml)"
                          ) from None


def default_owner(settings: Settings) -> str:
    return settings.replica_id or f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    config: Config
    owner: str
    _fetcher: Fetcher | None = field(default=None, repr=False)
    metrics: Metrics = field(default_factory=Metrics, repr=False)
    # Paces messages per target (Slack: one a second) across dispatch cycles.
    pacer: Pacer = field(default_factory=Pacer, repr=False)
    # Fetched pages not yet stored, across every poll in flight (watcher.fetch.budget).
    page_budget: PageBudget = field(default_factory=PageBudget, repr=False)
    # Long polls of one host take turns (watcher.fetch.budget.HostTurns says why).
    host_turns: HostTurns = field(default_factory=HostTurns, repr=False)
    # Polls that could not store what they fetched, until one does (retried, /healthz).
    poll_failures: PollFailures = field(default_factory=PollFailures, repr=False)

    @classmethod
    def load(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or Settings()
        config = Config.load(settings)
        engine = store.make_engine(settings.database_url,
                                   connect_timeout_s=settings.db_connect_timeout_s,
                                   statement_timeout_s=settings.db_statement_timeout_s)
        return cls(settings, engine, config, default_owner(settings),
                   page_budget=PageBudget(settings.pages_in_memory))

    # -- configuration views -------------------------------------------------------
    @property
    def sources(self) -> dict[str, SourceBase]:
        return self.config.sources

    @property
    def rules(self) -> list[Rule]:
        return self.config.rules

    @property
    def gazetteer(self) -> Gazetteer:
        return self.config.gazetteer

    @property
    def targets(self) -> list[Target]:
        return self.config.targets

    @property
    def routes(self) -> Routes:
        return self.config.routes

    def reload(self) -> None:
        """Swap in the configuration on disk; raises ConfigError and keeps the old one."""
        self.config = Config.load(self.settings)
        self.poll_failures.keep_only(set(self.sources))
        self.register_sources()

    def targets_for(self, tags: Iterable[str]) -> list[Target]:
        """A rule naming tags reaches the targets carrying one of them; a target without
        tags receives everything; with no target at all, alerts go to the console."""
        if not self.targets:
            return [Target(name=CONSOLE, url="", tags=())]
        wanted = set(tags)
        return [t for t in self.targets if not wanted or not t.tags or wanted & set(t.tags)]

    def send(self, target_name: str, subject: str, body: str) -> SendResult:
        if target_name == CONSOLE:
            return console_send(subject, body)
        for target in self.targets:
            if target.name == target_name:
                return send(target, subject, body)
        return SendResult(ok=False, error=f"target {target_name} is no longer configured")

    # -- database ------------------------------------------------------------------
    def init_database(self, isolated_migration: bool = False) -> int:
        """Create or upgrade the schema, seed the baseline and register the sources.
        Returns how many baseline rows changed (0 on a second run).

        ``isolated_migration`` (the daemon): a needed upgrade runs in a child process, so
        that Alembic is never resident in the long-running one (store.migrate)."""
        store.migrate(self.engine, isolated=isolated_migration)
        with store.transaction(self.engine) as session:
            store.serialize_init(session)  # replicas starting together take turns
            changed = seed_baseline(
                session, [(e.known_fact(), e.quote) for e in self.config.baseline.entries],
                utcnow())
        self.register_sources()
        return changed

    def register_sources(self) -> None:
        with store.transaction(self.engine) as session:
            store.serialize_init(session)
            source_store.register_sources(
                session,
                [(s.name, s.kind, str(s.url), tuple(s.tags)) for s in self.sources.values()],
            )

    # -- network -------------------------------------------------------------------
    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            raise RuntimeError("open the fetcher first: async with runtime.network()")
        return self._fetcher

    @asynccontextmanager
    async def network(self) -> AsyncIterator[Fetcher]:
        """An HTTP client for the duration of a command or of the daemon."""
        async with Fetcher.from_settings(self.settings) as fetcher:
            self._fetcher = fetcher
            try:
                yield fetcher
            finally:
                self._fetcher = None
