"""Rule tests (watcher.rules.testing): the shipped rules' own tests pass (this is how CI
runs them), and a test that should fail does, with a located line."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.errors import ConfigError
from watcher.rules.testing import (
    ExpectedAlert,
    RaisedAlert,
    compare,
    find_test_files,
    run_test_file,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "rules" / "tests").glob("*.yaml"))
PAGE = """\
      - page:
          url: https://www.info.gov.hk/gia/general/202411/20/P2024112000321.htm
          title: Government launches Industry Upgrading Matching Fund
          text: >-
            The Government today announced the launch of the Industry Upgrading Matching
            Fund, a HK$500 million fund for manufacturers in Hong Kong.
"""


def test_shipped_rules_have_tests() -> None:
    assert {p.name for p in SHIPPED} >= {"funding.yaml", "facilities.yaml",
                                         "source-health.yaml"}
    assert find_test_files([], REPO / "rules") == SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_rule_tests_pass(path: Path) -> None:
    result = run_test_file(path)
    assert result.tests >= 1
    assert result.failures == []


def write(tmp_path: Path, expect: str) -> Path:
    path = tmp_path / "tests" / "t.yaml"
    path.parent.mkdir()
    path.write_text(f"rules: {REPO / 'rules'}\ntests:\n  - name: fund\n    steps:\n"
                    f"{PAGE}        expect:\n{expect}", encoding="utf-8")
    return path


RAISED = ("new-funding [new-funding:industry-upgrading-matching-fund:amount_hkd=500000000,"
          "status=launched] 'New fund: Industry Upgrading Matching Fund (HK$500 million)'")


def test_wrong_expectation_fails_with_file_line_and_what_came(tmp_path: Path) -> None:
    path = write(tmp_path, "          - rule: new-funding\n"
                           "            subject: 'New fund: Industry Upgrading (HK$5 million)'\n")
    result = run_test_file(path)
    assert not result.ok
    assert result.failures == [
        f"{path}:11:9: test 'fund' step 1: expected alert new-funding 'New fund: Industry "
        "Upgrading (HK$5 million)' was not raised",
        f"{path}:11:9: test 'fund' step 1: unexpected alert {RAISED} (raised: {RAISED})",
    ]


def test_expecting_nothing_when_an_alert_comes_fails(tmp_path: Path) -> None:
    result = run_test_file(write(tmp_path, "          []\n"))
    [line] = result.failures
    assert ": test 'fund' step 1: unexpected alert new-funding" in line


def test_malformed_test_file_is_a_located_config_error(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("tests:\n  - name: x\n    steps:\n      - page: {text: hi}\n"
                    "        expct: []\n")
    with pytest.raises(ConfigError) as info:
        run_test_file(path)
    assert str(info.value).splitlines() == [
        f"{path}:4:9: tests[0].steps[0]: missing key 'expect'",
        f"{path}:5:9: tests[0].steps[0]: unknown key 'expct' (allowed: page, fail, at, expect)",
    ]


def test_compare_is_order_free_and_fields_optional() -> None:
    raised = [RaisedAlert("a", "k1", "S1"), RaisedAlert("b", "k2", "S2")]
    assert compare([ExpectedAlert(rule="b"), ExpectedAlert(rule="a", subject="S1")],
                   raised) == []
    assert compare([ExpectedAlert(rule="a", dedup_key="k9")], raised[:1]) == [
        "expected alert a [k9] was not raised",
        "unexpected alert a [k1] 'S1' (raised: a [k1] 'S1')",
    ]
