"""Process-wide settings: environment variables ``WATCHER_*``, else ``watcher.toml``, else
defaults that run from a fresh clone (a SQLite file beside the repo's sources and rules).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# The repository root when running from a checkout; sources/ and rules/ live there.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WATCHER_", toml_file="watcher.toml", extra="forbid"
    )

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'watcher.db'}",
        description="Any SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db",
    )
    # PostgreSQL: give up connecting, and cancel a statement, after this long (0: never).
    db_connect_timeout_s: float = Field(default=10.0, ge=0)
    db_statement_timeout_s: float = Field(default=60.0, ge=0)
    sources_dir: Path = PROJECT_ROOT / "sources"
    rules_dir: Path = PROJECT_ROOT / "rules"
    baseline_file: Path = PROJECT_ROOT / "db" / "baseline.yaml"
    # Optional routes (digests, quiet hours, storm threshold); see watcher.delivery.routing.
    routes_file: Path = PROJECT_ROOT / "routes.yaml"
    # Apprise URLs separated by spaces or commas, or the path of an Apprise YAML config.
    notify: str = ""
    contact: str = "watcher-operator@example.org"
    user_agent: str = ""  # default built from the version and `contact`
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)  # silence while reading a response
    # The whole of one request, however the server trickles it; not retried in the poll.
    total_timeout_s: float = Field(default=60.0, gt=0)
    # Hosts and CIDR networks that may be fetched although not public (watcher.fetch.address;
    # checked when the runtime loads).
    fetch_allow: str = ""
    max_body_bytes: int = 5 * 1024 * 1024
    per_host_delay_s: float = 3.0  # politeness: gap between requests to one host
    per_host_concurrency: int = 1
    fetch_retries: int = 2
    # Fetched pages held in memory before they are stored, across all polls at once.
    pages_in_memory: int = Field(default=100, ge=1)
    obey_robots: bool = True
    log_format: str = "human"  # or "json"
    failing_after: int = 3  # consecutive failed polls before a source_failing alert
    retry_base_delay: timedelta = timedelta(seconds=30)  # first retry of a failed delivery
    delivery_max_age: timedelta = timedelta(days=2)  # then the delivery is dead-lettered
    # A dispatcher claims deliveries for this long: if it dies between sending and marking
    # one sent, another (or its restart) sends it again once the claim has run out.
    delivery_lease_s: float = Field(default=120.0, gt=0)
    replica_id: str = ""  # default: hostname-pid
    # Bearer token for the web pages; required by `watcher serve` off loopback.
    web_token: str = ""
    # The daemon (`watcher run`). The pid file lets `watcher reload` find it; default:
    # watcher.pid beside a SQLite database, else in the temporary directory.
    pid_file: Path | None = None
    dispatch_every_s: float = 10.0  # how often the outbox dispatcher runs
    startup_spread_s: float = 60.0  # due sources' first polls spread over this window
    shutdown_grace_s: float = 5.0  # in-flight polls get this long on SIGTERM, then cancel
    misfire_grace_s: float = 300.0  # a poll that could not start on time runs this late
    # A replica holds a source's lease while polling and renews it every third of this;
    # a killed replica's sources are free again at most this long after it died.
    poll_lease_s: float = 60.0
    # A poll whose pages could not be stored (the database refused) is tried again after
    # this, then twice as long each time, up to an hour or the source's interval.
    poll_retry_s: float = Field(default=30.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return check_database_url(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def effective_user_agent(self) -> str:
        from watcher import __version__

        return self.user_agent or (
            f"watcher/{__version__} (+https://github.com/watcher; {self.contact})"
        )


# The databases watcher is built and tested for, and the driver each URL form needs.
DATABASE_EXAMPLES = "sqlite:///path/watcher.db or postgresql+psycopg://user@host/db"


def check_database_url(value: str) -> str:
    """The URL, if SQLAlchemy can parse it and names SQLite or PostgreSQL through a driver
    that is installed; else ValueError with a message that never repeats the URL (it may
    hold a password). Its driver is imported here, so a URL naming one that is not
    installed (``postgresql+psycopg2://``) is this one line, not a traceback later."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise ValueError(f"not a database URL: use {DATABASE_EXAMPLES}") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"{backend} databases are not supported: use {DATABASE_EXAMPLES}")
    try:
        url.get_dialect().import_dbapi()
    except (ImportError, NoSuchModuleError):
        raise ValueError(f"the driver {url.drivername!r} is not installed: use "
                         f"{DATABASE_EXAMPLES}") from None
    return value


def settings_problems(exc: ValidationError) -> str:
    """One line per invalid setting, named as the environment and watcher.toml spell it.
    Never the value: a URL setting may carry a password."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        name = "_".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")  # pydantic's, for our checks
        lines.append(f"WATCHER_{name.upper()} (or {name} in watcher.toml): {message}")
    return "\n".join(lines)
