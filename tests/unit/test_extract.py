"""The extraction stage end to end: table-driven cases, language twins, real pages."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.unit.extract_helpers import FIXTURES, ROOT, SEED_ARTICLE, gia_document
from watcher.extract import Gazetteer, extract
from watcher.extract.baseline import load_baseline
from watcher.models import Document, Fact, FactKind

CASES: list[dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "cases" / "extract.yaml").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_baseline(load_baseline(ROOT / "db" / "baseline.yaml"))


def _document(case: dict[str, Any]) -> Document:
    if "page" in case:
        return gia_document(FIXTURES / case["page"], case.get("language"))
    text = (ROOT / case["file"]).read_text(encoding="utf-8") if "file" in case else case["text"]
    return Document(url="test:" + case["id"], source="test", title=case.get("title", ""),
                    text=text, language=case.get("language", "en"))


def _check(fact: Fact, want: dict[str, Any]) -> None:
    assert fact.kind == FactKind(want["kind"]), fact
    if "amount_hkd" in want:
        assert fact.amount_hkd == want["amount_hkd"], fact
    if "status" in want:
        assert (fact.status.value if fact.status else None) == want["status"], fact
    for name, value in want.get("attributes", {}).items():
        assert fact.attribute(name) == value, (name, fact)
    for amount in want.get("amounts", []):  # each listed amount, with its role (and old value)
        said = {(str(a.role), a.hkd): a for a in fact.amounts}
        assert (amount["role"], amount["hkd"]) in said, (amount, fact.amounts)
        if "previous_hkd" in amount:
            assert said[(amount["role"], amount["hkd"])].previous_hkd == amount["previous_hkd"]


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 25
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any], gazetteer: Gazetteer) -> None:
    facts = extract(_document(case), gazetteer)
    by_key = {f.key: f for f in facts}
    assert len(by_key) == len(facts), "one fact per key"
    for want in case.get("expect", []):
        assert want["key"] in by_key, f"missing {want['key']}; got {sorted(by_key)}"
        _check(by_key[want["key"]], want)
    if case.get("exact"):
        assert sorted(by_key) == sorted(w["key"] for w in case.get("expect", []))
    for kind in case.get("absent_kinds", []):
        assert not [f for f in facts if f.kind == FactKind(kind)], facts
    for fact in facts:  # every fact explains itself and quotes the page
        assert fact.cue and fact.evidence
        assert fact.language == _document(case).language


TWINS = ["nias_launch", "second_amc", "mec_opening", "itf_ceiling"]


def _comparable(facts: list[Fact]) -> set[tuple[Any, ...]]:
    return {(f.kind, f.key, f.amount_hkd, f.status, f.attributes) for f in facts}


@pytest.mark.parametrize("stem", TWINS)
def test_english_and_chinese_twins_give_the_same_facts(stem: str, gazetteer: Gazetteer) -> None:
    english = extract(gia_document(FIXTURES / "pages" / f"{stem}_en.html"), gazetteer)
    chinese = extract(gia_document(FIXTURES / "pages" / f"{stem}_zh.html"), gazetteer)
    assert english and _comparable(english) == _comparable(chinese)
    assert {f.language for f in english} == {"en"}
    assert {f.language for f in chinese} == {"zh"}


def test_evidence_is_the_sentence_as_written(gazetteer: Gazetteer) -> None:
    facts = extract(gia_document(FIXTURES / "pages" / "nias_launch_en.html"), gazetteer)
    nias = next(f for f in facts if f.key == "new-industrialisation-acceleration-scheme")
    assert nias.evidence.startswith("The Innovation, Technology and Industry Bureau today")
    assert nias.evidence.endswith("smart production lines in Hong Kong.")
    assert nias.cue == ("size 'HK$10 billion' (beside the fund's name) + known name "
                        "'New Industrialisation Acceleration Scheme'; status cue 'launched'")


def test_real_speech_page_goes_through(gazetteer: Gazetteer) -> None:
    document = gia_document(FIXTURES / "pages" / "real_gia_press_release_en.html")
    assert document.title.startswith("Speech by CE at HKEX")
    facts = extract(document, gazetteer)
    assert not [f for f in facts if f.kind is FactKind.FUNDING]


def test_seed_keys_are_baseline_keys(gazetteer: Gazetteer) -> None:
    baseline = load_baseline(ROOT / "db" / "baseline.yaml")
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    facts = extract(Document("u", "s", "", text), gazetteer)
    for fact in facts:
        entry = baseline.get(fact.key)
        assert entry is not None, fact.key
        assert (entry.kind, entry.amount_hkd) == (fact.kind, fact.amount_hkd)
        if fact.status is not None:
            assert entry.status == fact.status, fact.key
    # Figures are not extracted; the existing InnoHK clusters are only implied ("a third").
    unstated = {e.key for e in baseline.entries if e.kind is FactKind.FIGURE}
    unstated.add("innohk-research-cluster")
    assert {e.key for e in baseline.entries} - {f.key for f in facts} == unstated


@pytest.mark.parametrize("text", ["", "   \n\n  ", "。。。", "$", "HK$", "第", "\x00\ufffd",
                                  "(" * 5000, "HK$" + "9" * 400 + " billion"])
def test_odd_input_never_crashes(text: str, gazetteer: Gazetteer) -> None:
    assert isinstance(extract(Document("u", "s", text, text), gazetteer), list)


def test_large_text_goes_through_in_one_pass(gazetteer: Gazetteer) -> None:
    """A 50 KB page (the pages repeated): still one fact per key, the same facts."""
    small = gia_document(FIXTURES / "pages" / "nias_launch_en.html")
    big = "\n\n".join([small.text] * 70)
    assert len(big) > 45_000
    once = extract(Document("u", "s", "", small.text), gazetteer)
    many = extract(Document("u", "s", "", big), gazetteer)
    assert _comparable(many) == _comparable(once)
