"""Extraction accuracy, measured: the labelled corpus in tests/eval meets issue 5's
thresholds, and the scorer, the label loader and the two commands behave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from watcher.errors import ConfigError
from watcher.eval import (
    REAL,
    SHAPES,
    THRESHOLDS,
    Case,
    LabelFact,
    Report,
    evaluate,
    load_case,
    load_cases,
    score,
    split_part,
    verdict,
)
from watcher.eval.labels import LabelAmount
from watcher.extract import Gazetteer
from watcher.extract.baseline import load_baseline
from watcher.models import AmountRole, Fact, FactKind, RoleAmount, Status

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "eval"
HANDMADE_CORPUS = CORPUS / "handmade"
REAL_CORPUS = CORPUS / "real"


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_baseline(load_baseline(ROOT / "db" / "baseline.yaml"))


@pytest.fixture(scope="module")
def report(gazetteer: Gazetteer) -> Report:
    return evaluate(CORPUS, gazetteer)


# --- the corpus ---------------------------------------------------------------------------

def test_handmade_corpus_covers_the_real_sources_in_both_languages() -> None:
    cases = load_cases(HANDMADE_CORPUS)
    assert len(cases) >= 40
    assert {c.shape for c in cases} == set(SHAPES)
    assert {c.language for c in cases} == {"en", "zh"}
    assert sum(c.language == "zh" for c in cases) >= 12
    assert sum(c.negative for c in cases) >= 10
    assert {c.part for c in cases} == {"handmade"}


def test_real_corpus_is_large_enough_in_both_parts_and_languages() -> None:
    cases = load_cases(REAL_CORPUS)
    assert len(cases) >= 60 and sum(c.negative for c in cases) >= 15
    assert len({c.url for c in cases}) == len(cases), "one page per address"
    for part in ("dev", "test"):
        for language in ("en", "zh"):
            assert sum(c.part == part and c.language == language for c in cases) >= 10
    assert sum(c.part == "test" and c.negative for c in cases) >= 5
    amounts = [a for c in cases for f in c.facts for a in f.amounts]
    assert {a.role for a in amounts} >= {"added", "cap_per_project", "grant", "project_cost",
                                          "threshold", "private_investment"}


def test_the_split_is_fixed_by_the_address_and_keeps_twins_together() -> None:
    cases = load_cases(REAL_CORPUS)
    by_url = {c.url: c for c in cases}
    for case in cases:
        if case.twin in by_url:
            assert by_url[case.twin].part == case.part
        elif not case.twin:
            assert case.part == split_part(case.url)
    # the rule itself: two in five addresses are test, by SHA-256 of the address
    parts = [split_part(f"https://example.org/{n}") for n in range(1000)]
    assert 350 <= parts.count("test") <= 450
    assert split_part("https://example.org/1") == split_part("https://example.org/1 ")


def test_twins_take_the_part_of_their_smaller_address(tmp_path: Path) -> None:
    a, b = "https://x.gov.hk/a.htm", "https://x.gov.hk/zh/a.htm"
    for name, url, twin in (("en", a, b), ("zh", b, None)):
        (tmp_path / f"{name}.txt").write_text("Headline\nBody.", encoding="utf-8")
        (tmp_path / f"{name}.yaml").write_text(
            f"url: {url}\nlanguage: en\n" + (f"twin: {twin}\n" if twin else ""),
            encoding="utf-8")
    cases = load_cases(tmp_path)
    assert {c.part for c in cases} == {split_part(min(a, b))}


# --- the floors -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(THRESHOLDS))
def test_handmade_pages_meet_their_floors(report: Report, kind: str) -> None:
    handmade = report.subset("handmade")
    precision, recall = THRESHOLDS[kind]
    counts = handmade.kinds[kind]
    mistakes = [m for p in handmade.pages for m in p.mistakes if kind in m]
    assert counts.precision >= precision, mistakes
    assert counts.recall >= recall, mistakes


def test_handmade_pages_have_no_funding_fact_on_a_negative_page(report: Report) -> None:
    handmade = report.subset("handmade")
    assert handmade.negative_pages >= 10
    assert handmade.negative_funding == 0, [p.mistakes for p in handmade.pages if p.negative]


# The real pages' test part, measured (README, Accuracy): these are the figures it stands
# at, kept as floors so that no change lowers them unnoticed. Issue 14's own floors
# (watcher.eval.REAL: precision 0.97 and recall 0.92 for funds and facilities, no role
# errors, status 0.85, in each language) are the target; the README says which are met.
MEASURED_TEST: dict[str | None, dict[str, float]] = {
    None: {"funding_p": 0.95, "funding_r": 0.84, "facility_p": 0.89, "facility_r": 0.73,
           "role_errors": 2, "status": 0.43},
    "en": {"funding_p": 0.94, "funding_r": 0.85, "facility_p": 0.94, "facility_r": 0.79,
           "role_errors": 2, "status": 0.37},
    "zh": {"funding_p": 0.96, "funding_r": 0.82, "facility_p": 0.81, "facility_r": 0.64,
           "role_errors": 0, "status": 0.64},
}


@pytest.mark.parametrize("language", [None, "en", "zh"])
def test_real_test_pages_hold_their_measured_figures(report: Report,
                                                     language: str | None) -> None:
    test = report.subset("test", language)
    floors = MEASURED_TEST[language]
    assert test.kinds["funding"].precision >= floors["funding_p"], test.kinds["funding"]
    assert test.kinds["funding"].recall >= floors["funding_r"], test.kinds["funding"]
    assert test.kinds["facility"].precision >= floors["facility_p"], test.kinds["facility"]
    assert test.kinds["facility"].recall >= floors["facility_r"], test.kinds["facility"]
    assert test.role_errors <= floors["role_errors"]
    assert test.status_accuracy >= floors["status"]
    # the floors of issue 14 that are met are held as the issue set them
    assert test.amounts_exact >= REAL.amounts_exact
    assert test.negative_funding == 0


# --- the scorer --------------------------------------------------------------------------

def _case(*facts: LabelFact, negative: bool = False) -> Case:
    return Case("t/page", Path("t/page.yaml"), Path("t/page.html"), "gia", "en", negative,
                tuple(facts))


def _fact(kind: FactKind, key: str, amount: int | None = None,
          status: Status | None = None) -> Fact:
    return Fact(kind, key, key, "evidence.", amount_hkd=amount, status=status, cue="test")


def test_scorer_counts_keys_amounts_and_statuses() -> None:
    gold = _case(
        LabelFact(kind=FactKind.FUNDING, key="nias", amount_hkd=10, status=Status.LAUNCHED),
        LabelFact(kind=FactKind.FACILITY, key="amc"),
        LabelFact(kind=FactKind.FUNDING, key="rfs", amount_hkd=5),
    )
    predicted = [_fact(FactKind.FUNDING, "nias", 11, Status.LAUNCHED),  # wrong amount
                 _fact(FactKind.FACILITY, "amc", None, Status.OPENED),  # status not stated
                 _fact(FactKind.FUNDING, "other-fund", 7)]  # not on the page
    result = score([(gold, predicted)])
    funding = result.kinds["funding"]
    assert (funding.tp, funding.fp, funding.fn) == (1, 1, 1)
    assert result.kinds["facility"].precision == 1.0
    # amounts: 11 for nias is wrong (fp + fn), 7 is extra (fp), 5 for rfs missed (fn)
    assert (result.amounts.tp, result.amounts.fp, result.amounts.fn) == (0, 2, 2)
    assert result.wrong_amounts == 1 and result.sizes_given == 1
    assert result.amounts_exact == 0.0
    assert (result.statuses.tp, result.statuses.fp, result.statuses.fn) == (1, 1, 0)
    assert (result.status_right, result.status_judged) == (1, 2)
    assert "amount of nias: HK$11, labelled HK$10" in result.pages[0].mistakes
    assert result.worst(1)[0].case == "t/page"


def test_scorer_accepts_also_keys_and_counts_negatives() -> None:
    chinese = _case(LabelFact(kind=FactKind.FUNDING, key="ai-subsidy-scheme",
                              also=("人工智能資助計劃",)))
    assert score([(chinese, [_fact(FactKind.FUNDING, "人工智能資助計劃")])]).kinds[
        "funding"].f1 == 1.0
    negative = _case(negative=True)
    result = score([(negative, [_fact(FactKind.FUNDING, "capital-works-reserve-fund", 9)])])
    assert result.negative_funding == 1
    assert verdict(result) == ["funding precision 0.000 < 0.95",
                               "1 funding facts on negative pages"]


def test_roles_are_scored_against_the_labels_roles() -> None:
    gold = _case(LabelFact(kind=FactKind.FUNDING, key="nias", amount_hkd=10_000,
                           amounts=(LabelAmount(role="cap_per_project", hkd=200),
                                    LabelAmount(role="previous_cap", hkd=150))))
    right = Fact(FactKind.FUNDING, "nias", "n", "e.", amount_hkd=10_000, cue="t", amounts=(
        RoleAmount(AmountRole.SIZE, 10_000), RoleAmount(AmountRole.CAP_PER_PROJECT, 200,
                                                        previous_hkd=150)))
    assert score([(gold, [right])]).role_errors == 0
    # the cap taken for the size, and the old cap for a grant: two role errors
    wrong = Fact(FactKind.FUNDING, "nias", "n", "e.", amount_hkd=200, cue="t", amounts=(
        RoleAmount(AmountRole.SIZE, 200), RoleAmount(AmountRole.GRANT, 150)))
    result = score([(gold, [wrong])])
    assert result.role_errors == 2 and result.wrong_amounts == 1
    assert any("role of HK$200" in m and "labelled cap_per_project" in m
               for m in result.pages[0].mistakes)
    # an amount the label does not tie to the fact is no role error (only a wrong size)
    unlabelled = Fact(FactKind.FUNDING, "nias", "n", "e.", cue="t",
                      amounts=(RoleAmount(AmountRole.GRANT, 999),))
    assert score([(gold, [unlabelled])]).role_errors == 0


def test_a_kind_mismatch_is_a_miss_and_an_extra() -> None:
    gold = _case(LabelFact(kind=FactKind.ORGANISATION, key="nido"))
    result = score([(gold, [_fact(FactKind.FACILITY, "nido")])])
    assert result.kinds["organisation"].fn == 1 and result.kinds["facility"].fp == 1


# --- label files -------------------------------------------------------------------------

def _label(tmp_path: Path, text: str) -> Path:
    (tmp_path / "page.html").write_text("<html><body><h1>T</h1></body></html>")
    path = tmp_path / "page.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "message"), [
    ("page: page.html\nshape: gia\nlanguage: en\nfacts:\n  - {kind: funding, key: x, amont: 1}\n",
     "page.yaml:5:"),
    ("page: page.html\nshape: blog\nlanguage: en\n", "unknown shape 'blog' (known: gia"),
    ("page: missing.html\nshape: gia\nlanguage: en\n", "page 'missing.html' not found"),
    ("page: page.html\nshape: gia\nlanguage: en\nfacts:\n  - {kind: funding, key: x}\n"
     "  - {kind: funding, key: x}\n", "fact 'x' is listed twice"),
    ("page: page.html\nshape: gia\nlanguage: en\nnegative: true\nfacts:\n"
     "  - {kind: funding, key: x}\n", "a negative page lists no funding fact"),
    ("page: page.html\nshape: gia\nlanguage: en\nfacts:\n  - {kind: figure, key: x}\n",
     "kind must be one of: funding, facility, organisation"),
    ("page: page.html\nshape: gia\nlanguage: en\nfacts:\n  - {kind: funding, key: x, "
     "status: started}\n", "page.yaml:5:"),
])
def test_bad_label_files_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_case(_label(tmp_path, text))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no label files"):
        load_cases(tmp_path)


# --- the commands ------------------------------------------------------------------------

def _env(tmp_path: Path) -> dict[str, str]:
    return {"WATCHER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "WATCHER_NOTIFY": ""}


def test_eval_command_prints_each_part_and_json(tmp_path: Path) -> None:
    from watcher.cli import app

    runner = CliRunner()
    table = runner.invoke(app, ["eval", str(CORPUS), "--worst", "3"], env=_env(tmp_path))
    assert table.exit_code == 0, table.output
    for part in ("dev:", "test:", "handmade:"):
        assert part in table.output
    assert "dev: worst pages" in table.output and "test: worst pages" not in table.output
    assert "amount-role errors" in table.output and "status accuracy" in table.output
    as_json = json.loads(runner.invoke(app, ["eval", str(CORPUS), "--json"],
                                       env=_env(tmp_path)).output)
    assert set(as_json) == {"dev", "test", "handmade"}
    assert set(as_json["test"]) == {"all", "en", "zh"}
    handmade = as_json["handmade"]["all"]
    assert handmade["pages"] >= 40 and handmade["kinds"]["funding"]["precision"] >= 0.95
    assert {"amounts_exact", "role_errors", "status_accuracy"} <= set(handmade)
    only = runner.invoke(app, ["eval", str(CORPUS), "--part", "test", "--worst", "1"],
                         env=_env(tmp_path))
    assert "test: worst pages" in only.output and "dev:" not in only.output
    bad = runner.invoke(app, ["eval", str(CORPUS), "--part", "tset"], env=_env(tmp_path))
    assert bad.exit_code == 2 and "parts: dev, test, handmade" in bad.output


def test_eval_command_lists_the_worst_pages(tmp_path: Path) -> None:
    from watcher.cli import app

    page = HANDMADE_CORPUS / "gia" / "ai_subsidy_scheme_en.html"
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "p.html").write_bytes(page.read_bytes())
    (tmp_path / "corpus" / "p.yaml").write_text(  # an analyst who missed the amount
        "page: p.html\nshape: gia\nlanguage: en\nfacts:\n"
        "  - {kind: funding, key: artificial-intelligence-subsidy-scheme}\n")
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "corpus")], env=_env(tmp_path))
    assert result.exit_code == 0, result.output
    assert "worst pages" in result.output and "extra facility" in result.output
    assert "below threshold: facility precision 0.000 < 0.95" in result.output


def test_eval_command_reports_bad_labels_in_one_line(tmp_path: Path) -> None:
    from watcher.cli import app

    _label(tmp_path, "page: page.html\nshape: blog\nlanguage: en\n")
    result = CliRunner().invoke(app, ["eval", str(tmp_path)], env=_env(tmp_path))
    assert result.exit_code == 2
    assert "unknown shape 'blog'" in result.output and "Traceback" not in result.output


def test_extract_explain_shows_sentence_and_cue(tmp_path: Path) -> None:
    from watcher.cli import app

    page = HANDMADE_CORPUS / "gia" / "lcq_new_industrialisation_en.html"
    wide = _env(tmp_path) | {"COLUMNS": "500"}  # one line per cell line: no wrapping
    result = CliRunner().invoke(app, ["extract", "--explain", str(page)], env=wide)
    assert result.exit_code == 0, result.output
    assert ("why: size '$10 billion' (launched ... with a funding of) + known "
            "name 'New Industrialisation Acceleration Scheme'; cap_per_project '$200 million' "
            "(capped at)") in result.output
    assert "cap_per_project: $200 million because 'capped at'" in result.output
    assert "why: 'the Scheme' refers back to" not in result.output  # merged into the NIAS
    data = json.loads(CliRunner().invoke(app, ["extract", "--json", str(page)],
                                         env=_env(tmp_path)).output)
    nias = next(f for f in data if f["key"] == "new-industrialisation-acceleration-scheme")
    assert nias["cue"].startswith("size '$10 billion' (launched ... with a funding of)")
    assert {"role": "size", "hkd": 10_000_000_000, "text": "$10 billion",
            "cue": "launched ... with a funding of"} in nias["amounts"]
    assert "status cue 'launched'" in nias["cue"]
    assert nias["evidence"].startswith("(1) The Government launched the New Industrialisation")
