"""db/baseline.yaml: the seed article's facts, loaded strictly with file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.extract_helpers import ROOT, SEED_ARTICLE
from watcher.errors import ConfigError, ConfigErrors
from watcher.extract.baseline import load_baseline
from watcher.models import FactKind, FactOrigin, Status

BASELINE = ROOT / "db" / "baseline.yaml"

GOOD_ENTRY = """\
  - key: microelectronics-centre
    kind: facility
    name: Microelectronics Centre
    aliases: [MEC, 微電子中心]
    status: planned
    quote: "The government is planning to establish ... the Microelectronics Centre."
    source: seed-article
"""
HEADER = """\
version: 1
sources:
  seed-article:
    title: Seed
entries:
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "baseline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_real_baseline_has_the_seed_articles_facts() -> None:
    baseline = load_baseline(BASELINE)
    by_key = {e.key: e for e in baseline.entries}
    fund = by_key["new-industrialisation-acceleration-scheme"]
    assert (fund.kind, fund.amount_hkd, fund.status) == (
        FactKind.FUNDING, 10_000_000_000, Status.EARMARKED)
    expected = {
        "new-industrialisation-development-office": (FactKind.ORGANISATION, Status.PLANNED),
        "hong-kong-science-park": (FactKind.FACILITY, Status.EXISTING),
        "cyberport": (FactKind.FACILITY, Status.EXISTING),
        "innoparks": (FactKind.FACILITY, Status.EXISTING),
        "advanced-manufacturing-centre": (FactKind.FACILITY, Status.EXISTING),
        "second-advanced-manufacturing-centre": (FactKind.FACILITY, Status.PLANNED),
        "hong-kong-microelectronics-research-and-development-institute":
            (FactKind.FACILITY, Status.PLANNED),
        "microelectronics-centre": (FactKind.FACILITY, Status.PLANNED),
        "third-innohk-research-cluster": (FactKind.FACILITY, Status.CONTEMPLATED),
        "supercomputing-centre": (FactKind.FACILITY, Status.PLANNED),
        "innovation-and-technology-development-blueprint":
            (FactKind.ORGANISATION, Status.EXISTING),
        "federation-of-hong-kong-industries": (FactKind.ORGANISATION, Status.EXISTING),
    }
    for key, (kind, status) in expected.items():
        assert (by_key[key].kind, by_key[key].status) == (kind, status), key
    figures = {e.key: e.value for e in baseline.entries if e.kind is FactKind.FIGURE}
    assert figures["fhki-2022-survey-iot-well-versed"] == 27
    assert figures["fhki-2022-survey-iot-familiar"] == 44
    assert figures["fhki-2022-survey-5g-iot-plans"] == 50


def test_every_quote_is_in_the_seed_article() -> None:
    baseline = load_baseline(BASELINE)
    # The baseline names its article's file (from the repository root), and it is there.
    assert baseline.sources["seed-article"].file == str(SEED_ARTICLE.relative_to(ROOT))
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    for entry in baseline.entries:
        assert entry.quote in article, entry.key


def test_aliases_in_both_languages() -> None:
    by_key = {e.key: e for e in load_baseline(BASELINE).entries}
    assert "AMC" in by_key["advanced-manufacturing-centre"].aliases
    assert "先進製造業中心" in by_key["advanced-manufacturing-centre"].aliases
    assert "微電子中心" in by_key["microelectronics-centre"].aliases
    assert "創新園" in by_key["innoparks"].aliases
    assert "新型工業化發展辦公室" in by_key["new-industrialisation-development-office"].aliases
    assert "香港微電子研發院" in by_key[
        "hong-kong-microelectronics-research-and-development-institute"].aliases
    assert "新型工業加速計劃" in by_key["new-industrialisation-acceleration-scheme"].aliases


def test_known_facts() -> None:
    facts = {f.key: f for f in load_baseline(BASELINE).known_facts()}
    assert all(f.origin is FactOrigin.BASELINE for f in facts.values())
    assert facts["new-industrialisation-acceleration-scheme"].amount_hkd == 10_000_000_000
    survey = facts["fhki-2022-survey-iot-well-versed"]
    assert dict(survey.attributes) == {"value": "27", "unit": "percent"}


def test_minimal_file_loads(tmp_path: Path) -> None:
    baseline = load_baseline(write(tmp_path, HEADER + GOOD_ENTRY))
    assert [e.key for e in baseline.entries] == ["microelectronics-centre"]


def test_bad_status_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + GOOD_ENTRY.replace("status: planned", "status: plannd"))
    with pytest.raises(ConfigError) as info:
        load_baseline(path)
    assert str(info.value).startswith(f"{path}:10:13: entries[0].status: must be 'contemplated'")
    assert info.value.line == 10


def test_unknown_key_points_at_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + GOOD_ENTRY + "    amount: 5\n")
    with pytest.raises(ConfigError) as info:
        load_baseline(path)
    assert str(info.value).startswith(
        f"{path}:13:5: entries[0]: unknown key 'amount' (allowed: key, kind, name, ")


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + GOOD_ENTRY + "  - key: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_baseline(path)
    assert info.value.path == str(path)
    assert info.value.line is not None and info.value.line >= 13
    assert "YAML: expected ',' or ']'" in str(info.value)


def test_shared_alias_between_two_keys_is_refused(tmp_path: Path) -> None:
    second = GOOD_ENTRY.replace("key: microelectronics-centre", "key: second-centre").replace(
        "name: Microelectronics Centre", "name: Second Centre").replace(
        "aliases: [MEC, 微電子中心]", "aliases: [Mec]")
    path = write(tmp_path, HEADER + GOOD_ENTRY + second)
    with pytest.raises(ConfigError) as info:
        load_baseline(path)
    assert str(info.value) == (
        f"{path}:16:14: alias 'Mec' of 'second-centre' already names 'microelectronics-centre'")


def test_duplicate_key_and_missing_fields_reported_together(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + GOOD_ENTRY + GOOD_ENTRY.replace("MEC, 微電子中心", ""))
    with pytest.raises(ConfigError, match=r":13:10: duplicate key 'microelectronics-centre'"):
        load_baseline(path)
    broken = HEADER + "  - key: Bad Key\n    kind: gadget\n"
    with pytest.raises(ConfigErrors) as info:
        load_baseline(write(tmp_path, broken))
    lines = str(info.value).splitlines()
    assert any(":6:10: entries[0].key: key 'Bad Key' must be a slug" in x for x in lines)
    assert any(":7:11: entries[0].kind: must be 'funding'" in x for x in lines)
    assert any("entries[0]: missing key 'quote'" in x for x in lines)


def test_figure_needs_a_value(tmp_path: Path) -> None:
    entry = GOOD_ENTRY.replace("kind: facility", "kind: figure").replace(
        "    status: planned\n", "")
    with pytest.raises(ConfigError, match="a figure needs a value"):
        load_baseline(write(tmp_path, HEADER + entry))


@pytest.mark.parametrize("text", ["", "[]", "just text", "entries: 5"])
def test_not_a_baseline(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        load_baseline(write(tmp_path, text))


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match=r"baseline\.yaml: cannot read file"):
        load_baseline(Path("/nonexistent/baseline.yaml"))
