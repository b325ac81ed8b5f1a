"""Rule files (watcher.config.rules, watcher.rules.model) and their evaluation
(watcher.rules.evaluate)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watcher.config.rules import load_rule_file, load_rules
from watcher.errors import ConfigError, ConfigErrors
from watcher.models import (
    Alert,
    AmountRole,
    Change,
    ChangeType,
    Document,
    Fact,
    FactKind,
    RoleAmount,
    Status,
)
from watcher.rules.evaluate import evaluate
from watcher.rules.events import Event, changed_fields, template_context
from watcher.rules.model import Rule

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "rules"
NIAS_EVIDENCE = (
    "Furthermore, a fund of HK$10 billion has been earmarked to support qualifying "
    "companies in setting up production facilities in Hong Kong."
)
PRESS = Document(
    url="https://www.info.gov.hk/gia/general/202501/15/P2025011500123.htm",
    source="gia-press",
    title="New Industrialisation Acceleration Scheme opens for applications",
    text="",
    language="en",
    published=datetime(2025, 1, 15, 9, 30, tzinfo=UTC),
)
PRESS_ZH = Document(
    url="https://www.info.gov.hk/gia/general/202501/15/P2025011500124.htm",
    source="gia-press", title="新型工業化加速計劃", text="", language="zh",
)


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # Error messages show paths relative to the working directory.
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def shipped() -> list[Rule]:
    return load_rules(ROOT / "rules")


@pytest.fixture(scope="module")
def good() -> list[Rule]:
    return load_rules(FIXTURES / "good")


def added(kind: FactKind, key: str, name: str, evidence: str, **after: object) -> Change:
    return Change(ChangeType.NEW, key, kind, name, evidence, after=dict(after))


def event(change: Change, document: Document = PRESS, tags: tuple[str, ...] = ("gov",)) -> Event:
    return Event.for_change(change, source_name="gia-press", source_tags=tags, document=document)


NIAS = added(FactKind.FUNDING, "new-industrialisation-acceleration-scheme",
             "New Industrialisation Acceleration Scheme", NIAS_EVIDENCE,
             amount_hkd=10_000_000_000, status="earmarked")
AMOUNT_CHANGED = Change(
    ChangeType.CHANGED, "research-matching-grant", FactKind.FUNDING, "Research Matching Grant",
    "The grant is increased to HK$30 million.",
    before={"amount_hkd": 15_000_000}, after={"amount_hkd": 30_000_000},
)
TERMS_CHANGED = Change(
    ChangeType.CHANGED, "research-matching-grant", FactKind.FUNDING, "Research Matching Grant",
    "The matching ratio becomes 1:2.",
    before={"matching_ratio": "1:1"}, after={"matching_ratio": "1:2"},
)
FUND_LAUNCHED = Change(
    ChangeType.CHANGED, "research-matching-grant", FactKind.FUNDING, "Research Matching Grant",
    "The grant is now open for applications.",
    before={"status": "planned"}, after={"status": "launched"},
)
AMC_BUILT = Change(
    ChangeType.CHANGED, "second-amc", FactKind.FACILITY, "Second Advanced Manufacturing Centre",
    "The second AMC is under construction.",
    before={"status": "planned"}, after={"status": "under_construction"},
)
MICRO = added(FactKind.FACILITY, "microelectronics-centre", "Microelectronics Centre",
              "The government is planning to establish the Microelectronics Centre.",
              status="planned")
MICRO_OPENED = added(FactKind.FACILITY, "microelectronics-centre", "Microelectronics Centre",
                     "The Microelectronics Centre opened today.", status="opened")
OFFICE = added(FactKind.ORGANISATION, "new-industrialisation-development-office",
               "New Industrialisation Development Office",
               "A New Industrialisation Development Office will be set up.", status="planned")
SMALL = added(FactKind.FUNDING, "small-grant", "Small Grant", "A grant of HK$300,000.",
              amount_hkd=300_000)
SURVEY = added(FactKind.FIGURE, "fhki-iot-familiar", "IoT familiarity", "44 percent were familiar",
               value="44%")
NIAS_ZH = added(FactKind.FUNDING, "new-industrialisation-acceleration-scheme",
                "New Industrialisation Acceleration Scheme", "政府預留100億元推動新型工業化。",
                amount_hkd=10_000_000_000, name_zh="新型工業化加速計劃")
SUPER_ZH = added(FactKind.FACILITY, "supercomputing-centre", "Supercomputing Centre",
                 "計劃興建超級計算中心。", status="planned")
REMOVED = Change(ChangeType.REMOVED, "small-grant", FactKind.FUNDING, "Small Grant",
                 "A grant of HK$300,000.", before={"amount_hkd": 300_000})
THRESHOLD_LOWERED = Change(
    ChangeType.CHANGED, "scheme-x", FactKind.FUNDING, "Scheme X",
    "The minimum project cost under the HK$5 billion Scheme X is lowered from HK$200 million "
    "to HK$100 million.",
    before={"threshold_hkd": "200000000"}, after={"threshold_hkd": "100000000"},
    amounts=(RoleAmount(AmountRole.SIZE, 5_000_000_000, "HK$5 billion"),
             RoleAmount(AmountRole.THRESHOLD, 100_000_000, "HK$100 million", "",
                        200_000_000, "'minimum project cost'")),
)
CAP_RAISED_AND_ADDED = Change(
    ChangeType.CHANGED, "scheme-x", FactKind.FUNDING, "Scheme X",
    "A further $3 billion will be injected, and the cap raised from $15 million to $30 million.",
    before={"cap_per_project_hkd": "15000000", "added_hkd": None},
    after={"cap_per_project_hkd": "30000000", "added_hkd": "3000000000"},
)
SIZE_AND_TERMS = Change(
    ChangeType.CHANGED, "scheme-x", FactKind.FUNDING, "Scheme X",
    "Scheme X grows from $5 billion to $8 billion; the minimum project cost is now $100 million.",
    before={"amount_hkd": 5_000_000_000, "threshold_hkd": None},
    after={"amount_hkd": 8_000_000_000, "threshold_hkd": "100000000"},
)
FAILING = Event.source_failing("gia-press", ("gov",), 3, "HTTP 503 Service Unavailable")
RECOVERED = Event.source_recovered("gia-press", ("gov",), 3)


# --- the shipped rules ---------------------------------------------------------------------


def test_shipped_rules_load(shipped: list[Rule]) -> None:
    assert [r.id for r in shipped] == [
        "funding-changed", "funding-terms-changed", "new-facility", "facility-status-moved",
        "new-funding", "source-failing", "source-recovered",
    ]
    assert {r.id: r.notify for r in shipped}["funding-terms-changed"] == ("digest",)
    assert all(r.enabled for r in shipped)
    assert {r.id: r.origin for r in shipped}["facility-status-moved"] == (
        "rules/new-facility.yaml:24"
    )


SHIPPED_TABLE = [
    # (event, [(rule id, subject, dedup key)])
    (event(NIAS), [(
        "new-funding",
        "New fund: New Industrialisation Acceleration Scheme (HK$10 billion)",
        "new-funding:new-industrialisation-acceleration-scheme:"
        "amount_hkd=10000000000,status=earmarked",
    )]),
    (event(AMOUNT_CHANGED), [(
        "funding-changed",
        "Amount changed: Research Matching Grant HK$15 million -> HK$30 million",
        "funding-changed:research-matching-grant:amount_hkd=30000000",
    )]),
    (event(TERMS_CHANGED), [(
        "funding-terms-changed",
        "Terms: Research Matching Grant: matching ratio changed from 1:1 to 1:2",
        "funding-terms-changed:research-matching-grant:matching_ratio=1:2",
    )]),
    (event(THRESHOLD_LOWERED), [(
        "funding-terms-changed",
        "Terms: Scheme X: minimum project cost lowered from HK$200 million to HK$100 million",
        "funding-terms-changed:scheme-x:threshold_hkd=100000000",
    )]),
    (event(CAP_RAISED_AND_ADDED), [(
        "funding-terms-changed",
        "Terms: Scheme X: cap per project raised from HK$15 million to HK$30 million; "
        "HK$3 billion to be added",
        "funding-terms-changed:scheme-x:added_hkd=3000000000,cap_per_project_hkd=30000000",
    )]),
    # A size and a term moving together: one alert, the size's, which lists the term.
    (event(SIZE_AND_TERMS), [(
        "funding-changed",
        "Amount changed: Scheme X HK$5 billion -> HK$8 billion",
        "funding-changed:scheme-x:amount_hkd=8000000000,threshold_hkd=100000000",
    )]),
    (event(FUND_LAUNCHED), [(
        "funding-changed",
        "Status changed: Research Matching Grant planned -> launched",
        "funding-changed:research-matching-grant:status=launched",
    )]),
    (event(MICRO), [(
        "new-facility", "New facility: Microelectronics Centre (planned)",
        "new-facility:microelectronics-centre:status=planned",
    )]),
    (event(OFFICE), [(
        "new-facility",
        "New organisation: New Industrialisation Development Office (planned)",
        "new-facility:new-industrialisation-development-office:status=planned",
    )]),
    (event(AMC_BUILT), [(
        "facility-status-moved",
        "Status changed: Second Advanced Manufacturing Centre planned -> under construction",
        "facility-status-moved:second-amc:status=under_construction",
    )]),
    (event(SURVEY), []),
    (event(REMOVED), []),
    (FAILING, [(
        "source-failing", "Source failing: gia-press (3 failed polls)",
        "source-failing:gia-press:source_failing",
    )]),
    (RECOVERED, [(
        "source-recovered", "Source recovered: gia-press",
        "source-recovered:gia-press:source_recovered",
    )]),
]


@pytest.mark.parametrize(("ev", "expected"), SHIPPED_TABLE)
def test_shipped_rules_fire(shipped: list[Rule], ev: Event,
                            expected: list[tuple[str, str, str]]) -> None:
    alerts = evaluate(shipped, ev)
    assert [(a.rule_id, a.subject, a.dedup_key) for a in alerts] == expected
    for alert in alerts:
        assert alert.body.strip()
        assert "template failed" not in alert.subject


def test_new_funding_alert_in_full(shipped: list[Rule]) -> None:
    [alert] = evaluate(shipped, event(NIAS))
    assert alert == Alert(
        rule_id="new-funding",
        change_identity=NIAS.identity,
        subject="New fund: New Industrialisation Acceleration Scheme (HK$10 billion)",
        body=(
            "New Industrialisation Acceleration Scheme: HK$10 billion\n"
            "Status: earmarked\n"
            "\n"
            f'"{NIAS_EVIDENCE}"\n'
            "\n"
            "New Industrialisation Acceleration Scheme opens for applications\n"
            "https://www.info.gov.hk/gia/general/202501/15/P2025011500123.htm\n"
            "Published 2025-01-15 17:30 HKT"  # 09:30 UTC, in Hong Kong time
        ),
        tags=(),
        dedup_key="new-funding:new-industrialisation-acceleration-scheme:"
                  "amount_hkd=10000000000,status=earmarked",
        severity="warning",
    )


def test_amount_change_body_has_old_and_new(shipped: list[Rule]) -> None:
    [alert] = evaluate(shipped, event(AMOUNT_CHANGED))
    assert "Amount: HK$15 million -> HK$30 million" in alert.body
    assert '"The grant is increased to HK$30 million."' in alert.body


def test_source_alert_body_and_identity(shipped: list[Rule]) -> None:
    [alert] = evaluate(shipped, FAILING)
    assert "Last error: HTTP 503 Service Unavailable" in alert.body
    assert alert.change_identity == "source_failing:gia-press"
    assert alert.severity == "critical"
    [rule] = [r for r in shipped if r.id == "source-failing"]
    assert rule.realert is not None and rule.realert.days == 1


# --- matching: combinators, thresholds, Chinese ------------------------------------------


GOOD_TABLE = [
    (event(NIAS), {"big-funding"}),
    (event(SMALL), {"small-funding"}),
    (event(added(FactKind.FUNDING, "k", "Mid Fund", "e", amount_hkd=50_000_000)),
     {"small-funding"}),  # lte is inclusive
    (event(added(FactKind.FUNDING, "k", "Mid Fund", "e", amount_hkd=50_000_001)), set()),
    (event(added(FactKind.FUNDING, "k", "Edge Fund", "e", amount_hkd=1_000_000_000)),
     {"big-funding"}),  # gte is inclusive
    (event(added(FactKind.FUNDING, "k", "No Amount Fund", "e")), set()),
    (event(NIAS_ZH, PRESS_ZH), {"big-funding", "chinese-name"}),
    (event(SUPER_ZH, PRESS_ZH), {"chinese-evidence", "chip-facility-not-open"}),
    (event(SUPER_ZH, PRESS), {"chip-facility-not-open"}),  # language: zh not met
    (event(MICRO), {"chip-facility-not-open"}),  # any: name matches, case-insensitively
    (event(MICRO_OPENED), set()),  # not: status opened
    (event(AMC_BUILT), {"status-planned-to-built"}),
    (event(FUND_LAUNCHED), set()),  # new status not in the list
    (event(AMOUNT_CHANGED), {"amount-changed"}),
    (event(TERMS_CHANGED), set()),
    (event(SURVEY, tags=("fhki",)), {"fhki-figures"}),
    (event(SURVEY, tags=("gov",)), set()),  # all: the tag condition fails
    (FAILING, {"any-source-down"}),
    (Event.source_failing("fhki-news", ("fhki",), 3, "timeout"), set()),
    (RECOVERED, set()),
]


@pytest.mark.parametrize(("ev", "expected"), GOOD_TABLE)
def test_which_rules_fire(good: list[Rule], ev: Event, expected: set[str]) -> None:
    assert {a.rule_id for a in evaluate(good, ev)} == expected


def test_rendered_variables(good: list[Rule]) -> None:
    by_rule = {a.rule_id: a for a in evaluate(good, event(AMOUNT_CHANGED))}
    assert by_rule["amount-changed"].subject == (
        "Amount: Research Matching Grant HK$15 million -> HK$30 million"
    )
    assert by_rule["amount-changed"].dedup_key == "amount:research-matching-grant:30000000"
    by_rule = {a.rule_id: a for a in evaluate(good, event(SURVEY, tags=("fhki",)))}
    assert by_rule["fhki-figures"].subject == "Figure: IoT familiarity = 44%"
    by_rule = {a.rule_id: a for a in evaluate(good, event(NIAS_ZH, PRESS_ZH))}
    assert by_rule["chinese-name"].subject == "中文名稱: New Industrialisation Acceleration Scheme"


def test_disabled_rule_never_fires(good: list[Rule]) -> None:
    assert "disabled-rule" not in {a.rule_id for a in evaluate(good, event(NIAS))}
    assert any(r.id == "disabled-rule" and not r.enabled for r in good)


def test_event_fact_fills_in_fields_the_change_lacks(shipped: list[Rule]) -> None:
    fact = Fact(FactKind.FACILITY, "second-amc", "Second Advanced Manufacturing Centre",
                AMC_BUILT.evidence, amount_hkd=2_000_000_000, status=Status.UNDER_CONSTRUCTION)
    ev = Event.for_change(AMC_BUILT, source_name="gia-press", document=PRESS, fact=fact)
    context = template_context(shipped[0], ev)
    assert context["fact"]["amount"] == "HK$2 billion"
    assert context["fact"]["status_text"] == "under construction"
    assert context["change"]["field"] == "status"
    assert context["page"]["language"] == "en"


def test_changed_fields_core_first() -> None:
    change = Change(ChangeType.CHANGED, "k", FactKind.FUNDING, "n", "e",
                    before={"status": "planned", "amount_hkd": 1, "ratio": "1:1"},
                    after={"status": "launched", "amount_hkd": 2, "ratio": "1:2"})
    assert changed_fields(change) == ["amount_hkd", "status", "ratio"]


def test_event_must_be_consistent() -> None:
    with pytest.raises(ValueError, match="needs the Change"):
        Event(type="fact_added", source="s")
    with pytest.raises(ValueError, match="cannot be a fact_removed event"):
        Event(type="fact_removed", source="s", change=NIAS)
    with pytest.raises(ValueError, match="carries no Change"):
        Event(type="source_failing", source="s", change=NIAS)


# --- evaluation-time template failures -----------------------------------------------------


def _rule_from(tmp_path: Path, text: str) -> Rule:
    path = tmp_path / "rule.yaml"
    path.write_text(text, encoding="utf-8")
    [rule] = load_rule_file(path)
    return rule


def test_template_failure_at_evaluation_still_alerts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # `old.status` exists for the load-time sample (a status change) but not for an
    # amount-only change: the rule still fires, loudly, instead of crashing or going blank.
    rule = _rule_from(tmp_path, (
        "id: status-words\n"
        "when: fact_changed\n"
        'subject: "{{ fact.name }} was {{ old.status }}"\n'
    ))
    with caplog.at_level(logging.ERROR, logger="watcher.rules"):
        [alert] = evaluate([rule], event(AMOUNT_CHANGED))
    assert alert.subject == (
        "[watcher] rule status-words template failed (fact_changed: Research Matching Grant)"
    )
    assert "has no attribute 'status'" in alert.body
    assert "Fact: Research Matching Grant (funding, key research-matching-grant)" in alert.body
    assert alert.dedup_key == "status-words:research-matching-grant:amount_hkd=30000000"
    assert "status-words" in caplog.text


def test_default_body_for_facts_and_sources(tmp_path: Path) -> None:
    rule = _rule_from(tmp_path, (
        "id: everything\n"
        "when: [fact_added, fact_changed, fact_removed, source_failing, source_recovered]\n"
        'subject: "{{ event }}: {{ fact.name if fact else source.name }}"\n'
    ))
    [alert] = evaluate([rule], event(AMOUNT_CHANGED))
    assert alert.subject == "fact_changed: Research Matching Grant"
    assert "Changed amount_hkd: amount_hkd=15000000 -> amount_hkd=30000000" in alert.body
    assert alert.body.endswith(PRESS.url)
    [alert] = evaluate([rule], FAILING)
    assert alert.subject == "source_failing: gia-press"
    assert "Last error: HTTP 503 Service Unavailable" in alert.body
    assert alert.dedup_key == "everything:gia-press:source_failing"


# --- load errors: one line each, file:line:col ------------------------------------------


BAD = "tests/fixtures/rules/bad"


@pytest.mark.parametrize(("name", "message"), [
    ("unknown-key.yaml",
     f"{BAD}/unknown-key.yaml:5:3: match: unknown key 'amout' (allowed: kind, name, evidence, "
     "amount, status, old_status, new_status, changed_field, source_tags, language, any, "
     "all, not)"),
    ("bad-regex.yaml",
     f"{BAD}/bad-regex.yaml:4:9: match.name: invalid regular expression '(Fund|Scheme': "
     "missing ) at '(Fund|Scheme'"),
    ("template-syntax.yaml",
     f"{BAD}/template-syntax.yaml:3:10: subject: template syntax error: unexpected '}}' "
     "(template line 1)"),
    ("fact-in-source-rule.yaml",
     f"{BAD}/fact-in-source-rule.yaml:4:7: body: template fails for a sample source_failing "
     "event: 'None' has no attribute 'name' (fact is empty for source events: guard with "
     "{% if fact %})"),
])
def test_load_error_is_one_exact_line(name: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_rule_file(FIXTURES / "bad" / name)
    assert str(info.value) == message


def test_unknown_variables_are_load_errors() -> None:
    with pytest.raises(ConfigErrors) as info:
        load_rule_file(FIXTURES / "bad" / "unknown-variable.yaml")
    assert str(info.value).splitlines() == [
        f"{BAD}/unknown-variable.yaml:4:9: body: unknown template variable 'ammount' (known: "
        "change, event, evidence, fact, new, new_amount, old, old_amount, page, rule, source)",
        f"{BAD}/unknown-variable.yaml:10:12: subject: template fails for a sample fact_changed "
        "event: 'dict object' has no attribute 'nmae'",
    ]


def test_duplicate_id_across_files() -> None:
    with pytest.raises(ConfigError) as info:
        load_rules(FIXTURES / "duplicate")
    assert str(info.value) == (
        "tests/fixtures/rules/duplicate/b.yaml:5:7: duplicate rule id 'same-id' "
        "(first defined at tests/fixtures/rules/duplicate/a.yaml:1)"
    )


def test_all_errors_of_a_directory_are_collected() -> None:
    with pytest.raises(ConfigErrors) as info:
        load_rules(FIXTURES / "bad")
    lines = str(info.value).splitlines()
    assert len(lines) == 6
    assert [line.split(":")[0] for line in lines] == sorted(
        line.split(":")[0] for line in lines
    )


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("id: Bad_Id\nwhen: fact_added\nsubject: s\n",
     "rule.yaml:1:5: id: id 'Bad_Id' must be a slug: lower-case letters, digits and '-'"),
    ("id: x\nwhen: fact_seen\nsubject: s\n",
     "rule.yaml:2:7: when: must be 'fact_added', 'fact_changed', 'fact_removed', "
     "'source_failing' or 'source_recovered' (got 'fact_seen')"),
    ("id: x\nwhen: fact_added\nsubject: s\nmatch:\n  amount: {gte: 10 zillion}\n",
     "rule.yaml:5:17: match.amount.gte: invalid amount '10 zillion': unknown unit 'zillion' "
     "(allowed: b, billion, bn, k, m, million, mn, thousand, trillion)"),
    ("id: x\nwhen: fact_added\nsubject: s\nmatch:\n  amount: {gte: 5, lte: 1}\n",
     "rule.yaml:5:11: match.amount: gte (5) is above lte (1)"),
    ("id: x\nwhen: fact_added\nsubject: s\nrealert: soon\n",
     "rule.yaml:4:10: realert: invalid duration 'soon': use a number and a unit s, m, h, d "
     "or w, e.g. 15m"),
    ("id: x\nwhen: fact_added\n",
     "rule.yaml:1:1: missing key 'subject'"),
    ("id: x\nwhen: []\nsubject: s\n",
     "rule.yaml:2:7: when: name at least one event (allowed: fact_added, fact_changed, "
     "fact_removed, source_failing, source_recovered)"),
    ("id: x\nwhen: fact_added\nsubject: s\nseverity: urgent\n",
     "rule.yaml:4:11: severity: must be 'info', 'warning' or 'critical' (got 'urgent')"),
])
def test_other_load_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           yaml_text: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rule.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rule_file(Path("rule.yaml"))
    assert str(info.value) == message


def test_amounts_in_words_and_regex_case(tmp_path: Path) -> None:
    rule = _rule_from(tmp_path, (
        "id: words\nwhen: fact_added\nsubject: s\n"
        "match:\n  name: 'acceleration SCHEME'\n  amount: {gte: HK$10 billion, lte: 1.5e10}\n"
    ) .replace("1.5e10", "15 billion"))
    assert rule.match.amount is not None
    assert (rule.match.amount.gte, rule.match.amount.lte) == (10**10, 15 * 10**9)
    assert [a.rule_id for a in evaluate([rule], event(NIAS))] == ["words"]


def test_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rules directory not found"):
        load_rules(tmp_path / "nope")


def test_unknown_notify_tag_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from watcher.config.rules import check_tags

    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(
        "- id: a\n  when: fact_added\n  subject: s\n  notify: [email, pager]\n"
        "- id: b\n  when: fact_added\n  subject: s\n", encoding="utf-8",
    )
    rules = load_rules(Path("rules"))
    assert [str(e) for e in check_tags(rules, {"email", "slack"})] == [
        "rules/r.yaml:4:11: notify: unknown target tag 'pager' (known: email, slack)",
    ]
    assert check_tags(rules, {"email", "pager"}) == []


# --- regexes on RE2: a pattern cannot hang a poll -------------------------------------------


def test_a_backtracking_pattern_on_long_page_text_answers_at_once(tmp_path: Path) -> None:
    """With Python's re, this pattern against a few thousand words of evidence takes
    longer than the universe has left; `rules check` said ok and every poll hung."""
    rule = _rule_from(tmp_path, (
        "id: hostile\nwhen: fact_added\nsubject: s\n"
        "match:\n  evidence: '^(\\w+\\s?)+\\d$'\n"))
    long_text = "The Government announced a fund for manufacturers " * 400 + "!"
    change = added(FactKind.FUNDING, "f", "Some Fund", long_text)
    started = time.monotonic()
    assert evaluate([rule], event(change)) == []
    assert evaluate([rule], event(added(FactKind.FUNDING, "g", "Fund", "phase 2"))) != []
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(("pattern", "reason"), [
    (r"(Fund)\s+\1", "invalid escape sequence at '\\1' (rules use RE2: no backreferences "
                     "or lookaround)"),
    ("Fund(?=s)", "invalid perl operator at '(?=' (rules use RE2: no backreferences or "
                  "lookaround)"),
])
def test_what_re2_cannot_do_is_refused_at_load_with_file_and_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern: str, reason: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("rule.yaml").write_text(
        f"id: r\nwhen: fact_added\nsubject: s\nmatch:\n  name: '{pattern}'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rule_file(Path("rule.yaml"))
    assert str(info.value) == (f"rule.yaml:5:9: match.name: invalid regular expression "
                               f"'{pattern}': {reason}")


def test_re2_patterns_match_chinese_and_case_as_before(tmp_path: Path) -> None:
    rule = _rule_from(tmp_path, "id: zh\nwhen: fact_added\nsubject: s\n"
                                "match:\n  name: '(?-i:New) .*SCHEME|工業化'\n")
    assert [a.rule_id for a in evaluate([rule], event(NIAS))] == ["zh"]
    assert [a.rule_id for a in evaluate([rule], event(NIAS_ZH))] == ["zh"]
    assert evaluate([rule], event(SUPER_ZH)) == []


def test_templates_see_every_amount_with_its_role(tmp_path: Path) -> None:
    rule = _rule_from(tmp_path, (
        "id: amounts\nwhen: fact_changed\nsubject: \"{{ change.terms | join('; ') }}\"\n"
        "body: \"{% for a in fact.amounts %}{{ a.role_text }}: {{ a.amount }}"
        "{% if a.qualifier %} ({{ a.qualifier }}){% endif %}"
        "{% if a.previous %} was {{ a.previous }}{% endif %}; {% endfor %}\"\n"))
    fact = Fact(kind=FactKind.FUNDING, key="scheme-x", name="Scheme X", evidence="e",
                amount_hkd=5_000_000_000, attributes=(("threshold_hkd", "100000000"),),
                amounts=(RoleAmount(AmountRole.SIZE, 5_000_000_000, "HK$5 billion"),
                         RoleAmount(AmountRole.THRESHOLD, 100_000_000, "HK$100 million",
                                    "at_least", 200_000_000)))
    ev = Event.for_change(THRESHOLD_LOWERED, source_name="gia", document=PRESS, fact=fact)
    [alert] = evaluate([rule], ev)
    assert alert.subject == ("minimum project cost lowered from HK$200 million to "
                             "HK$100 million")
    assert alert.body == ("size: HK$5 billion; "
                          "threshold: HK$100 million (at_least) was HK$200 million;")
