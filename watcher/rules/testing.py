"""Rule tests in YAML, like ``promtool test rules``: pages in, expected alerts out.

Each test starts from the baseline, reads its steps in order through the real pipeline
(extract -> diff -> store -> rules -> outbox, on a throw-away SQLite file) and compares
the alerts each step raised with those it expects (rule, and if given dedup key and
subject). Dedup and realert apply as in production: a step that repeats a page expects
no alert.

::

    # rules/tests/new-funding.yaml
    rules: ..                     # the rule directory, relative to this file (default ..)
    baseline: ../../db/baseline.yaml   # default: the configured baseline file
    failing_after: 3              # failed polls before source_failing (default 3)
    tests:
      - name: a new fund alerts once
        source_tags: [gov, en]    # the polled source's tags (default [gov])
        steps:
          - page:
              url: https://www.info.gov.hk/gia/general/202501/15/P2025011500123.htm
              title: Government launches Green Fund
              text: The Government today announced a HK$2 billion Green Fund.
            expect:
              - rule: new-funding
                dedup_key: "new-funding:green-fund:amount_hkd=2000000000"
                subject: "New fund: Green Fund (HK$2 billion)"
          - fail: HTTP 503 Service Unavailable   # a failed poll instead of a page
            at: 2025-01-15T10:00:00+08:00        # optional; default one hour per step
            expect: []

Failures are one line each, ``file:line:col: test 'name' step N: ...``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from watcher import store
from watcher.config.common import Strict as _Strict
from watcher.config.rules import load_rules
from watcher.config.sources import HtmlSource
from watcher.config.yamlload import Located, load_documents
from watcher.delivery.routing import Routes
from watcher.errors import ConfigError
from watcher.extract import Gazetteer, extract
from watcher.extract.baseline import load_baseline
from watcher.models import Document, FetchResult
from watcher.service.settings import Settings
from watcher.store import outbox

START = datetime(2025, 1, 15, 1, 0, tzinfo=UTC)  # 09:00 in Hong Kong
SOURCE = "rules-test"
SOURCE_URL = "https://www.info.gov.hk/gia/rss/general_en.xml"




class PageSpec(_Strict):
    url: str = "https://www.info.gov.hk/gia/general/202501/15/P2025011500001.htm"
    title: str = ""
    text: str
    language: Literal["en", "zh"] = "en"
    published: datetime | None = None


class ExpectedAlert(_Strict):
    rule: str
    dedup_key: str | None = None
    subject: str | None = None


class Step(_Strict):
    page: PageSpec | None = None
    fail: str | None = None  # the error of a failed poll
    at: datetime | None = None
    expect: list[ExpectedAlert]

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        if (self.page is None) == (self.fail is None):
            raise ValueError("give either page or fail")
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("at: give a timezone, e.g. 2025-01-15T09:00:00+08:00")
        return self


class Case(_Strict):
    name: str
    source_tags: tuple[str, ...] = ("gov",)
    steps: list[Step] = Field(min_length=1)


class RuleTestFile(_Strict):
    rules: str = ".."
    baseline: str | None = None
    failing_after: int = Field(default=3, ge=1)
    tests: list[Case] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    rule: str
    dedup_key: str
    subject: str

    def __str__(self) -> str:
        return f"{self.rule} [{self.dedup_key}] {self.subject!r}"


@dataclass
class FileResult:
    path: str
    tests: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _matches(expected: ExpectedAlert, raised: RaisedAlert) -> bool:
    return (expected.rule == raised.rule
            and expected.dedup_key in (None, raised.dedup_key)
            and expected.subject in (None, raised.subject))


def compare(expected: Sequence[ExpectedAlert], raised: Sequence[RaisedAlert]) -> list[str]:
    """Problems, one per missing or unexpected alert (order does not matter)."""
    left = list(raised)
    problems = []
    for want in expected:
        found = next((r for r in left if _matches(want, r)), None)
        if found is None:
            shown = want.rule + (f" [{want.dedup_key}]" if want.dedup_key else "") + (
                f" {want.subject!r}" if want.subject else "")
            problems.append(f"expected alert {shown} was not raised")
        else:
            left.remove(found)
    missing = bool(problems)
    problems += [f"unexpected alert {r}" for r in left]
    if missing:  # show what came instead, so a near miss (a subject typo) is obvious
        problems[-1] += f" (raised: {'; '.join(map(str, raised)) or 'nothing'})"
    return problems


def _resolve(base: Path, value: str) -> Path:
    """``value`` relative to ``base``, written the short way: messages name the rule files
    as ``rules/new-funding.yaml``, not ``rules/tests/../new-funding.yaml``. (normpath, not
    resolve(): a relative path stays relative and a symlink is not followed.)"""
    path = Path(value)
    return path if path.is_absolute() else Path(os.path.normpath(base / path))


class _Run:
    """One test case against a fresh database."""

    def __init__(self, spec: RuleTestFile, case: Case, rules_dir: Path, baseline_file: Path,
                 workdir: Path) -> None:
        from watcher.service.runtime import Config, Runtime

        baseline = load_baseline(baseline_file)
        settings = Settings(database_url=f"sqlite:///{workdir / 'rules-test.db'}", notify="",
                            rules_dir=rules_dir, baseline_file=baseline_file,
                            routes_file=workdir / "no-routes.yaml",
                            failing_after=spec.failing_after)
        self.source = HtmlSource(name=SOURCE, kind="html", url=SOURCE_URL,
                                 tags=case.source_tags)
        config = Config(sources={SOURCE: self.source}, rules=load_rules(rules_dir),
                        targets=[], baseline=baseline,
                        gazetteer=Gazetteer.from_baseline(baseline), routes=Routes())
        self.rt = Runtime(settings, store.make_engine(settings.database_url), config,
                          "rules-test")
        self.rt.init_database()
        self.seen = 0

    def step(self, step: Step, now: datetime) -> list[RaisedAlert]:
        from watcher.fetch.poll import Fetched, Page, PollReport
        from watcher.pipeline import store_poll

        report = PollReport(source=SOURCE)
        fetched = Fetched()
        extracted = []
        if step.page is not None:
            spec = step.page
            document = Document(url=spec.url, source=SOURCE, title=spec.title, text=spec.text,
                                language=spec.language, published=spec.published)
            content = f"{spec.title}\n\n{spec.text}".encode()
            digest = hashlib.sha256(content).hexdigest()
            fetched.pages.append(Page(document, content, digest))
            fetched.results.append((FetchResult(url=spec.url, status=200), digest))
            extracted.append(extract(document, self.rt.gazetteer))
        else:
            assert step.fail is not None
            report.errors.append(step.fail)
            fetched.results.append((FetchResult(url=SOURCE_URL, status=None, error=step.fail),
                                    None))
        store_poll(self.rt, self.source, fetched, extracted, report, now)
        with store.transaction(self.rt.engine) as session:
            rows = [d for d in outbox.listing(session, limit=10_000) if d.id > self.seen]
        self.seen = max([self.seen, *(d.id for d in rows)])
        return [RaisedAlert(d.rule_id, d.alert_key or "", d.subject)
                for d in sorted(rows, key=lambda d: d.id)]

    def close(self) -> None:
        self.rt.engine.dispose()


def _case_failures(doc: Located, spec: RuleTestFile, index: int, rules_dir: Path,
                   baseline_file: Path) -> list[str]:
    case = spec.tests[index]
    failures = []
    with tempfile.TemporaryDirectory(prefix="watcher-rules-test-") as tmp:
        run = _Run(spec, case, rules_dir, baseline_file, Path(tmp))
        try:
            for number, step in enumerate(case.steps, start=1):
                now = step.at or START + timedelta(hours=number - 1)
                raised = run.step(step, now.astimezone(UTC))
                for problem in compare(step.expect, raised):
                    where = doc.error("", ("tests", index, "steps", number - 1, "expect"))
                    failures.append(f"{where.located().rstrip(': ')}: test {case.name!r} "
                                    f"step {number}: {problem}")
        finally:
            run.close()
    return failures


def run_test_file(path: Path, *, baseline_file: Path | None = None) -> FileResult:
    """Run every test in one file. Raises ConfigError for a malformed file (or rules
    that do not load); test failures are returned, one located line each."""
    documents = load_documents(path)
    if len(documents) != 1:
        raise ConfigError("a rule test file holds one YAML document", str(path))
    doc = documents[0]
    spec: RuleTestFile = doc.validate(RuleTestFile)
    rules_dir = _resolve(path.parent, spec.rules)
    if spec.baseline is not None:
        baseline_file = _resolve(path.parent, spec.baseline)
    if baseline_file is None:
        baseline_file = Settings().baseline_file
    result = FileResult(doc.path, tests=len(spec.tests))
    for index in range(len(spec.tests)):
        result.failures += _case_failures(doc, spec, index, rules_dir, baseline_file)
    return result


def find_test_files(paths: Sequence[Path], rules_dir: Path) -> list[Path]:
    """The files to run: those given (directories expanded), else ``rules_dir/tests``."""
    chosen = list(paths) or [rules_dir / "tests"]
    found: list[Path] = []
    for path in chosen:
        if path.is_dir():
            found += sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        else:
            found.append(path)
    return found
