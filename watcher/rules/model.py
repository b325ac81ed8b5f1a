"""What a rule in ``rules/*.yaml`` may say (loading a directory of them:
watcher.config.rules).

Unknown keys are errors. Regular expressions and Jinja2 templates are compiled when the
file loads, and every template is rendered once against a sample event of each kind in
``when``, so a typo or an unknown variable is a load error naming ``file:line:col`` --
never a blank alert at 3 a.m.

Matching (``watcher.rules.evaluate.matches``): every condition given must hold;
``any``/``all``/``not`` combine sub-matches. Regexes run on RE2, in time linear in the
text (no backreferences or lookaround: watcher.rules.regex), are searched
case-insensitively (write ``(?-i:...)`` to opt out) and work the same for English and
Chinese text. ``amount`` and ``status`` test the fact's current values as far as the
event knows them: a ``fact_changed`` Change holds only the changed fields, so the
pipeline passes the observed ``Fact`` along for the rest.

Templates use Jinja2 with ``trim_blocks``/``lstrip_blocks``: a line holding only a block
tag leaves no blank line, but a block tag that *ends* a line of text also eats that
newline -- write ``{% endif +%}`` there. Filters: ``hkd`` (amount in words), ``status``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal

from jinja2 import (
    StrictUndefined,
    Template,
    TemplateAssertionError,
    TemplateError,
    TemplateSyntaxError,
    meta,
)
from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from watcher.config.common import Strict as _Base
from watcher.config.common import check_slug, duration_field
from watcher.errors import ConfigError
from watcher.models import (
    AmountRole,
    Change,
    ChangeType,
    Document,
    FactKind,
    RoleAmount,
    Status,
)
from watcher.rules.events import (
    DEFAULT_FACT_DEDUP,
    DEFAULT_SOURCE_DEDUP,
    EVENT_TYPES,
    FACT_EVENTS,
    Event,
    EventType,
    template_context,
)
from watcher.rules.regex import Pattern
from watcher.rules.render import format_hkd, format_status, parse_hkd
from watcher.rules.sandbox import RuleEnvironment, render

Severity = Literal["info", "warning", "critical"]
# The size, the status, and the terms (watcher.models.TERM_FIELDS).
ChangedField = Literal["amount_hkd", "status", "cap_per_project_hkd", "threshold_hkd",
                       "matching_ratio", "government_share", "added_hkd"]

# The one place templates are compiled: sandboxed and bounded (rules are config, but
# config gets copied from the internet: watcher.rules.sandbox), StrictUndefined so a typo
# raises instead of printing "".
ENVIRONMENT = RuleEnvironment(
    undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
)
ENVIRONMENT.filters["hkd"] = format_hkd
ENVIRONMENT.filters["status"] = format_status
# Named in "no filter named ..." errors: watcher's own first, then Jinja's built-ins.
OWN_FILTERS = ("hkd", "status")
FILTER_NAMES = (*OWN_FILTERS, *sorted(set(ENVIRONMENT.filters) - set(OWN_FILTERS)))

DEFAULT_BODY = """\
{% if fact %}
{{ fact.name }} ({{ fact.kind }})
{% if change.field %}
Changed {{ change.field }}: {{ old }} -> {{ new }}
{% endif %}
{% if fact.amount %}
Amount: {{ fact.amount }}
{% endif %}
{% if fact.status %}
Status: {{ fact.status_text }}
{% endif %}

"{{ evidence }}"
{% else %}
Source {{ source.name }}: {{ event }} after {{ source.consecutive_failures }} failed polls
{% if source.error %}
Last error: {{ source.error }}
{% endif %}
{% endif %}
{% if page.url %}

{{ page.title }}
{{ page.url }}
{% endif %}
"""


def _listify(value: object) -> object:
    """``kind: funding`` and ``kind: [funding, facility]`` both mean a list."""
    return [value] if isinstance(value, str) else value


def _compile_regex(value: object) -> object:
    # RE2, not re: a pattern runs on every page's text and must not backtrack for ever
    # (watcher.rules.regex). ValueError names the pattern and the problem.
    return Pattern(value) if isinstance(value, str) else value


class Strict(_Base):
    model_config = ConfigDict(populate_by_name=True)


class AmountRange(Strict):
    """Amount bounds in HKD, inclusive: ``{gte: 1000000000}`` or ``{gte: HK$1 billion}``."""

    gte: int | None = None
    lte: int | None = None

    @field_validator("gte", "lte", mode="before")
    @classmethod
    def _amount(cls, value: object) -> object:
        return value if value is None else parse_hkd(value)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _bounds(self) -> AmountRange:
        if self.gte is None and self.lte is None:
            raise ValueError("give gte, lte or both")
        if self.gte is not None and self.lte is not None and self.gte > self.lte:
            raise ValueError(f"gte ({self.gte}) is above lte ({self.lte})")
        return self


class Match(Strict):
    """Conditions on the event; all given must hold. Fact conditions never match a
    source event."""

    model_config = ConfigDict(arbitrary_types_allowed=True)  # Pattern (RE2)

    kind: tuple[FactKind, ...] = ()
    name: Pattern | None = None  # searched in the name, English or Chinese
    evidence: Pattern | None = None  # searched in the evidence sentence
    amount: AmountRange | None = None  # the fact's current amount
    status: tuple[Status, ...] = ()  # the fact's current status
    old_status: tuple[Status, ...] = ()  # fact_changed: status before
    new_status: tuple[Status, ...] = ()  # fact_changed: status after
    changed_field: tuple[ChangedField, ...] = ()  # fact_changed: any of these changed
    source_tags: tuple[str, ...] = ()  # any of these
    language: tuple[Literal["en", "zh"], ...] = ()  # the page's language
    any: tuple[Match, ...] = ()
    all: tuple[Match, ...] = ()
    not_: Match | None = Field(default=None, alias="not")

    _listed = field_validator(
        "kind", "status", "old_status", "new_status", "changed_field", "source_tags",
        "language", mode="before",
    )(_listify)
    _regex = field_validator("name", "evidence", mode="before")(_compile_regex)


# --- templates -------------------------------------------------------------------------

_SAMPLE_DOC = Document(
    url="https://www.info.gov.hk/gia/general/202501/15/P2025011500123.htm",
    source="sample-source",
    title="Sample press release",
    text="",
    published=datetime(2025, 1, 15, 9, 30, tzinfo=UTC),
)
_SAMPLE_CHANGES = {
    "fact_added": Change(
        ChangeType.NEW, "sample-fund", FactKind.FUNDING, "Sample Fund",
        "A fund of HK$10 billion has been earmarked.",
        after={"amount_hkd": 10_000_000_000, "status": "earmarked", "name_zh": "樣本基金"},
    ),
    "fact_changed": Change(
        ChangeType.CHANGED, "sample-fund", FactKind.FUNDING, "Sample Fund",
        "The fund was increased to HK$30 million; each project may get up to HK$3 million.",
        before={"amount_hkd": 15_000_000, "status": "planned",
                "cap_per_project_hkd": "1000000"},
        after={"amount_hkd": 30_000_000, "status": "launched",
               "cap_per_project_hkd": "3000000"},
        amounts=(RoleAmount(AmountRole.SIZE, 30_000_000, "HK$30 million",
                            previous_hkd=15_000_000),
                 RoleAmount(AmountRole.CAP_PER_PROJECT, 3_000_000, "up to HK$3 million",
                            "up_to")),
    ),
    "fact_removed": Change(
        ChangeType.REMOVED, "sample-fund", FactKind.FUNDING, "Sample Fund",
        "A fund of HK$10 billion has been earmarked.",
        before={"amount_hkd": 10_000_000_000, "status": "earmarked"},
    ),
}


def sample_event(event_type: EventType) -> Event:
    """A representative event of each type, used to try templates at load time."""
    if event_type in FACT_EVENTS:
        return Event.for_change(
            _SAMPLE_CHANGES[event_type], source_name="sample-source", source_tags=("gov",),
            document=_SAMPLE_DOC,
        )
    return Event.for_source(
        event_type, source="sample-source", source_tags=("gov",),
        consecutive_failures=3, error="HTTP 503 Service Unavailable",
    )


def _variables() -> frozenset[str]:
    stub = SimpleNamespace(id="x", description="", severity="info", labels={})
    return frozenset(template_context(stub, sample_event("fact_added")))


TEMPLATE_VARIABLES = _variables()


def compile_template(text: str) -> Template:
    """Compile ``text``; a syntax error or an unknown top-level variable (in any branch,
    found statically) raises ValueError with a message for the rule file."""
    try:
        tree = ENVIRONMENT.parse(text)
    except TemplateSyntaxError as exc:
        raise ValueError(
            f"template syntax error: {exc.message} (template line {exc.lineno})"
        ) from None
    except RecursionError:  # thousands of nested brackets
        raise ValueError("template nests too deeply") from None
    try:
        # Filters and tests are looked up when the tree compiles, not when it parses.
        template = ENVIRONMENT.from_string(tree)
        unknown = sorted(meta.find_undeclared_variables(tree) - TEMPLATE_VARIABLES)
    except TemplateAssertionError as exc:
        raise ValueError(_assertion_message(exc)) from None
    if unknown:
        raise ValueError(
            f"unknown template variable {unknown[0]!r} "
            f"(known: {', '.join(sorted(TEMPLATE_VARIABLES))})"
        )
    return template


def _assertion_message(exc: TemplateAssertionError) -> str:
    missing = re.fullmatch(r"No filter named '(.+)'\.?", exc.message or "")
    if missing:
        return (f"no filter named {missing.group(1)!r} (filters: {', '.join(FILTER_NAMES)}; "
                f"template line {exc.lineno})")
    return f"template error: {exc.message} (template line {exc.lineno})"


class _AnyAttributes(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def try_template(template: Template, rule: Any, events: tuple[str, ...]) -> None:
    """Render once per event type with a sample, so an attribute typo (``fact.nmae``) or a
    fact variable used for a source event fails now rather than at alert time."""
    for event_type in dict.fromkeys(events):
        context = template_context(rule, sample_event(event_type))  # type: ignore[arg-type]
        if context["fact"] is not None:
            # Attributes differ from fact to fact; any name is plausible at load time.
            context["fact"]["attributes"] = _AnyAttributes(context["fact"]["attributes"])
        try:
            render(template, context)
        except (TemplateError, ArithmeticError, TypeError, ValueError, MemoryError) as exc:
            hint = ""
            if event_type not in FACT_EVENTS and "'None' has no attribute" in str(exc):
                hint = " (fact is empty for source events: guard with {% if fact %})"
            raise ValueError(
                f"template fails for a sample {event_type} event: {exc}{hint}"
            ) from None


class Rule(Strict):
    id: str
    description: str = ""
    enabled: bool = True
    when: tuple[EventType, ...]
    match: Match = Match()
    severity: Severity = "info"
    labels: dict[str, str] = Field(default_factory=dict)
    dedup_key: str | None = None  # default: rule + fact key + new value (or source+event)
    realert: timedelta | None = None  # no second alert on one dedup key within this
    subject: str
    body: str = DEFAULT_BODY
    notify: tuple[str, ...] = ()  # target tags; () = every target

    _subject: Template = PrivateAttr()
    _body: Template = PrivateAttr()
    _dedup: dict[str, Template] = PrivateAttr(default_factory=dict)
    _origin: str = PrivateAttr(default="<rule>")
    _notify_at: ConfigError = PrivateAttr(default_factory=lambda: ConfigError(""))

    _listed = field_validator("when", "notify", mode="before")(_listify)

    @field_validator("when")
    @classmethod
    def _some_event(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # A check after item validation, so a misspelt event gives one error, not two.
        if not value:
            raise ValueError(f"name at least one event (allowed: {', '.join(EVENT_TYPES)})")
        return value

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        return check_slug(value, "id")

    @field_validator("realert", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return duration_field(value)

    @field_validator("subject", "body", "dedup_key")
    @classmethod
    def _template(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if info.field_name == "subject" and not value.strip():
            raise ValueError("the subject must not be empty")
        template = compile_template(value)
        if "when" in info.data:  # else `when` itself was invalid and is reported
            stub = SimpleNamespace(
                id=info.data.get("id", "rule"), description=info.data.get("description", ""),
                severity=info.data.get("severity", "info"), labels=info.data.get("labels", {}),
            )
            try_template(template, stub, info.data["when"])
        return value

    def model_post_init(self, context: Any, /) -> None:
        self._subject = ENVIRONMENT.from_string(self.subject)
        self._body = ENVIRONMENT.from_string(self.body)
        if self.dedup_key is not None:
            custom = ENVIRONMENT.from_string(self.dedup_key)
            self._dedup = {event: custom for event in self.when}
        else:
            self._dedup = {
                event: ENVIRONMENT.from_string(
                    DEFAULT_FACT_DEDUP if event in FACT_EVENTS else DEFAULT_SOURCE_DEDUP
                )
                for event in self.when
            }

    @property
    def subject_template(self) -> Template:
        return self._subject

    @property
    def body_template(self) -> Template:
        return self._body

    def dedup_template(self, event_type: str) -> Template:
        return self._dedup[event_type]

    @property
    def origin(self) -> str:
        """``file:line`` where the rule was defined, for messages."""
        return self._origin
