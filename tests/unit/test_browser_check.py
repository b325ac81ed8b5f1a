"""The browser test's decision when Chromium is absent: skip, with a one-line reason that
says how to install it, except under CI, where it fails (tests/helpers/browser.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.browser import in_ci, missing_browser


@pytest.fixture
def chromium(tmp_path: Path) -> Path:
    path = tmp_path / "chromium"
    path.write_text("#!/bin/sh\n")
    return path


def test_a_browser_that_is_there_runs(chromium: Path) -> None:
    assert missing_browser({}, chromium) is None
    assert missing_browser({"CI": "true"}, chromium) is None


def test_a_missing_browser_is_skipped_with_how_to_install_it(tmp_path: Path) -> None:
    missing = missing_browser({}, tmp_path / "chromium")
    assert missing is not None and not missing.fail
    assert "apt-get install chromium" in missing.reason
    assert str(tmp_path / "chromium") in missing.reason
    assert "\n" not in missing.reason


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_a_missing_browser_fails_under_ci(tmp_path: Path, value: str) -> None:
    missing = missing_browser({"CI": value}, tmp_path / "chromium")
    assert missing is not None and missing.fail
    assert "apt-get install chromium" in missing.reason and "\n" not in missing.reason


@pytest.mark.parametrize("value", ["", "0", "false", "False", "no"])
def test_ci_unset_or_false_is_not_ci(value: str) -> None:
    assert not in_ci({"CI": value})
    assert not in_ci({})

