"""What a source definition in ``sources/*.yaml`` may say.

A file holds one source (a mapping) or several (a list of mappings). ``kind`` is required
and picks the model; unknown keys are errors, so a typo never silently disables a field.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
    model_validator,
)

from watcher.config.common import Strict, check_slug, duration_field

DEFAULT_INTERVAL = timedelta(hours=1)  # a source giving neither interval nor cron


class Reader(Strict):
    """CSS selectors that read one page (or one entry of a page) into a document."""

    title: str | None = None  # default: <title>
    body: str | None = None  # default: <body>
    date: str | None = None  # default: the feed item's date, or none
    drop: tuple[str, ...] = ()  # removed before reading, e.g. the "Ends/..." footer
    # "paragraph": the text's paragraphs are numbered ("47. ..."), as a speech's are, and
    # each fact's evidence is cited with its paragraph ("[¶47] ..."). A PDF's page is
    # cited whatever this says.
    cite: Literal["paragraph"] | None = None


class Entries(Strict):
    """In-page entries, each its own document (e.g. the rows of ITF's "What's New" table)."""

    select: str  # one element per entry, e.g. "table tbody tr"
    title: str | None = None  # within the entry; default: the entry's text
    body: str | None = None  # within the entry; default: the entry's text
    date: str | None = None
    link: str | None = None  # an <a> within the entry, for the document's URL


class SourceBase(Strict):
    kind: str  # narrowed to a Literal by each kind's model
    name: str
    url: HttpUrl
    interval: timedelta | None = None
    cron: str | None = None  # a crontab line, instead of interval, e.g. "0 9 * * *"
    jitter: timedelta | None = None
    tags: tuple[str, ...] = ()
    language: Literal["en", "zh"] | None = None  # None: detect from the text
    enabled: bool = True
    max_items: int = Field(default=50, ge=1, le=1000)  # links followed per poll
    description: str = ""

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        return check_slug(value, "name")

    @field_validator("interval", "jitter", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return duration_field(value)

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Checked here, at load time, with the parser the scheduler will use later.
        if value is None:
            return value
        if info.data.get("interval") is not None:
            raise ValueError("give either interval or cron, not both")
        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(
                f"invalid cron {value!r}: {exc} (five fields: minute hour day month weekday)"
            ) from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_interval(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("interval") is None and data.get("cron") is None:
            return {**data, "interval": DEFAULT_INTERVAL}
        return data

    @property
    def every(self) -> timedelta:
        """The polling period; a cron source is treated as daily for lease lengths."""
        return self.interval or timedelta(days=1)


class RssSource(SourceBase):
    """An RSS or Atom feed. Each item's link is fetched and read with ``follow``; without
    ``follow`` the item's own title and description are the document."""

    kind: Literal["rss"]
    follow: Reader | None = None


class HtmlSource(SourceBase):
    """An HTML page. With ``items`` it is a list page whose links are followed and read
    with ``follow``; with ``entries`` each matching element is a document; with neither,
    the page itself is one document read with ``page``."""

    kind: Literal["html"]
    items: str | None = None  # CSS selector of the <a> elements to follow
    follow: Reader | None = None
    entries: Entries | None = None
    page: Reader | None = None

    # Field validators run in declaration order, so each sees the fields above it in
    # ``info.data`` and its error points at the key that conflicts.
    @field_validator("follow")
    @classmethod
    def _follow_needs_items(cls, value: Reader | None, info: ValidationInfo) -> Reader | None:
        if value is not None and info.data.get("items") is None:
            raise ValueError(
                "follow reads the pages that items links to; give items too "
                "(or use page to read this page itself)"
            )
        return value

    @field_validator("entries")
    @classmethod
    def _entries_or_items(cls, value: Entries | None, info: ValidationInfo) -> Entries | None:
        if value is not None and info.data.get("items") is not None:
            raise ValueError("give either items (links to follow) or entries, not both")
        return value

    @field_validator("page")
    @classmethod
    def _page_alone(cls, value: Reader | None, info: ValidationInfo) -> Reader | None:
        if value is not None and (
            info.data.get("items") is not None or info.data.get("entries") is not None
        ):
            raise ValueError("page reads this page as one document; it cannot go with "
                             "items or entries")
        return value


Source = Annotated[RssSource | HtmlSource, Field(discriminator="kind")]
SOURCE_KINDS: dict[str, type[SourceBase]] = {"rss": RssSource, "html": HtmlSource}
