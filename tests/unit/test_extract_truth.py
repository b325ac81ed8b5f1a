"""The mistakes issue 14 found on pages nobody here wrote, each as a sentence of the same
shape: amounts taken for a fund's size that were caps, thresholds or project costs; generic
names taken for new funds; statuses read from the wrong words."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.extract import Gazetteer, extract
from watcher.extract.baseline import load_baseline
from watcher.models import AmountRole, Document, Fact, Status

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_baseline(load_baseline(ROOT / "db" / "baseline.yaml"))


def _facts(gazetteer: Gazetteer, text: str, title: str = "") -> dict[str, Fact]:
    language = "en" if text.isascii() else "zh"
    return {f.key: f for f in extract(Document("u", "s", title, text, language), gazetteer)}


def _roles(fact: Fact) -> set[tuple[str, int, int | None]]:
    return {(str(a.role), a.hkd, a.previous_hkd) for a in fact.amounts}


# --- amounts have roles: only a stated size is the fund's amount -------------------------

def test_a_lowered_threshold_is_no_size(gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, "The minimum project cost under the HK$5 billion New "
                              "Industrialisation Acceleration Scheme is lowered from HK$200 "
                              "million to HK$100 million.")
    nias = facts["new-industrialisation-acceleration-scheme"]
    assert nias.amount_hkd == 5_000_000_000
    assert ("threshold", 100_000_000, 200_000_000) in _roles(nias)
    assert nias.attribute("threshold_hkd") == "100000000"


def test_a_grant_a_project_cost_and_private_investment_are_no_size(
        gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, (
        "The total cost of the project is projected to be around $600 million, and the "
        "expected New Industrialisation Acceleration Scheme funding amount involved will be "
        "around $200 million. The New Industrialisation Funding Scheme has supported over 100 "
        "lines with a total estimated project cost of around $1.3 billion, of which $930 "
        "million came from private investment."))
    nias = facts["new-industrialisation-acceleration-scheme"]
    assert nias.amount_hkd is None
    assert ("grant", 200_000_000, None) in _roles(nias)
    nifs = facts["new-industrialisation-funding-scheme"]
    assert nifs.amount_hkd is None
    assert {("project_cost", 1_300_000_000, None),
            ("private_investment", 930_000_000, None)} <= _roles(nifs)


@pytest.mark.parametrize(("text", "key", "role", "hkd"), [
    ("The Pilot Scheme provides up to HK$300,000 per enterprise under the Technology "
     "Voucher Programme.", "technology-voucher-programme", "cap_per_project", 300_000),
    ("The Government will inject $3 billion into the Innovation and Technology Fund.",
     "innovation-and-technology-fund", "added", 3_000_000_000),
    ("新型工業化資助計劃的資助上限將由每個項目1,500萬元提高至3,000萬元。",
     "new-industrialisation-funding-scheme", "cap_per_project", 30_000_000),
    ("「新型工業加速計劃」項目總成本的最低要求會由3億元調低至1.5億元。",
     "new-industrialisation-acceleration-scheme", "threshold", 150_000_000),
    ("公司投資約2.5億元設立生產線，其中3,000萬元獲新型工業化資助計劃資助。",
     "new-industrialisation-funding-scheme", "grant", 30_000_000),
])
def test_each_role_in_english_and_chinese(gazetteer: Gazetteer, text: str, key: str, role: str,
                                          hkd: int) -> None:
    fact = _facts(gazetteer, text)[key]
    assert (role, hkd) in {(r, h) for r, h, _ in _roles(fact)}
    assert fact.amount_hkd is None  # none of these is the fund's size


@pytest.mark.parametrize(("text", "key", "size"), [
    ("The Government launched the New Industrialisation Acceleration Scheme in October 2023 "
     "with a funding of $10 billion.", "new-industrialisation-acceleration-scheme",
     10_000_000_000),
    ("政府預留100億元推出「新型工業加速計劃」。", "new-industrialisation-acceleration-scheme",
     10_000_000_000),
    ("This included $2 billion for setting up the Innovation and Technology Venture Fund.",
     "innovation-and-technology-venture-fund", 2_000_000_000),
    ("The CMF, with a total size of HK$400M, invests in start-ups.", "cyberport-macro-fund",
     400_000_000),
])
def test_a_stated_size_is_the_size(gazetteer: Gazetteer, text: str, key: str,
                                   size: int) -> None:
    fact = _facts(gazetteer, text)[key]
    assert fact.amount_hkd == size
    assert any(a.role is AmountRole.SIZE and a.hkd == size for a in fact.amounts)


def test_a_total_approved_is_a_grant_not_the_size(gazetteer: Gazetteer) -> None:
    fact = _facts(gazetteer, "Since the launch of TVP, a total of over $6.2 billion of public "
                             "funding have been approved.")["technology-voucher-programme"]
    assert fact.amount_hkd is None and ("grant", 6_200_000_000, None) in _roles(fact)


# --- names that stand on their own ---------------------------------------------------------

def test_a_generic_name_is_the_full_name_on_the_page(gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, "The Government announced the launch of the Factory Line "
                              "Renewal Support Pilot Scheme today. The Pilot Scheme provides "
                              "up to HK$300,000 per enterprise.")
    assert "pilot-scheme" not in facts
    fact = facts["factory-line-renewal-support-pilot-scheme"]
    assert fact.status is Status.LAUNCHED
    assert fact.attribute("cap_per_project_hkd") == "300000"


def test_a_generic_name_alone_makes_no_fact(gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, "The Pilot Scheme provides up to HK$300,000 per enterprise.")
    assert not facts


def test_the_government_owns_no_production_line(gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, "The Government will help manufacturers to set up new smart "
                              "production lines in Hong Kong.")
    assert not [k for k in facts if k.startswith("production-line")]


def test_a_company_plant_is_named_after_its_owner(gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, "Vitasoy International Holdings Limited will set up a smart "
                              "production line in Tai Po InnoPark.")
    line = facts["production-line-vitasoy-international-holdings-limited"]
    assert line.status is Status.PLANNED


def test_the_ai_supercomputing_centre_is_the_baselines_centre(gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, "The Artificial Intelligence Supercomputing Centre at Cyberport "
                              "commenced operation today.")
    assert facts["supercomputing-centre"].status is Status.OPENED
    assert "artificial-intelligence-supercomputing-centre" not in facts


def test_a_simplified_page_reads_like_a_traditional_one(gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, "政府预留100亿元推出「新型工业加速计划」。")
    nias = facts["new-industrialisation-acceleration-scheme"]
    assert nias.amount_hkd == 10_000_000_000
    assert nias.evidence == "政府预留100亿元推出「新型工业加速计划」。"  # as written


def test_government_accounts_take_their_amounts_and_make_no_fact(gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, "二零一八/一九年度基本工程儲備基金整體撥款為124億元。")
    assert not facts


# --- status from the words that govern the thing --------------------------------------------

@pytest.mark.parametrize(("text", "key", "status"), [
    ("Applications seeking no more than $2.8 million under the New Industrialisation Funding "
     "Scheme will be processed according to the newly established streamlined procedures.",
     "new-industrialisation-funding-scheme", None),
    ("新型工業化資助計劃資助企業為現有生產線引進先進技術。",
     "new-industrialisation-funding-scheme", None),
    ("The Microelectronics Centre will be in operation early next year.",
     "microelectronics-centre", Status.PLANNED),
    ("The Microelectronics Centre commenced operation in 2024.", "microelectronics-centre",
     Status.OPENED),
    ("微電子中心已於今年落成。", "microelectronics-centre", Status.OPENED),
    ("第二個先進製造業中心預計於2027年落成。", "second-advanced-manufacturing-centre",
     Status.PLANNED),
    ("政府正研究興建第二個先進製造業中心。", "second-advanced-manufacturing-centre",
     Status.CONTEMPLATED),
    ("政府打算設立新型工業化發展辦公室。", "new-industrialisation-development-office",
     Status.PLANNED),
    ("The Chief Executive officiated at the launch ceremony of the New Industrialisation "
     "Acceleration Scheme today.", "new-industrialisation-acceleration-scheme",
     Status.LAUNCHED),
    ("創科創投基金於2017年成立。", "innovation-and-technology-venture-fund", Status.LAUNCHED),
    ("The Government will inject $2 billion into the Innovation and Technology Fund.",
     "innovation-and-technology-fund", None),
    ("The Government will consider applications under the Technology Voucher Programme.",
     "technology-voucher-programme", None),
    ("set up a $10 billion New Industrialisation Acceleration Scheme – To promote new "
     "industrialisation, we will provide financial assistance.",
     "new-industrialisation-acceleration-scheme", Status.PLANNED),
])
def test_status_from_the_governing_words(gazetteer: Gazetteer, text: str, key: str,
                                         status: Status | None) -> None:
    facts = _facts(gazetteer, text)
    assert key in facts or status is None
    assert (facts[key].status if key in facts else None) == status


def test_a_headlines_launch_of_one_scheme_is_not_anothers(gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, "The pilot scheme is open from today.",
                   title="ITC launches pilot scheme and enhances New Industrialisation "
                         "Acceleration Scheme")
    nias = facts.get("new-industrialisation-acceleration-scheme")
    assert nias is None or nias.status is None


def test_a_launch_named_in_a_policy_address_is_a_plan(gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, "The Chief Executive announced in his Policy Address the launch "
                              "of the Technology Voucher Programme.",
                   title="Policy Address: new measures")
    assert facts["technology-voucher-programme"].status is Status.PLANNED


@pytest.mark.parametrize("text", [
    "Members are invited to approve a new commitment of $1,200 million for setting up the "
    "Smart Production Line Matching Fund.",
    "請委員批准一筆為數12億元的新承擔額，用以設立智能生產線配對基金。",
])
def test_a_finance_committee_commitment_is_a_planned_funds_size(gazetteer: Gazetteer,
                                                               text: str) -> None:
    (fact,) = [f for f in _facts(gazetteer, text).values()]
    assert fact.amount_hkd == 1_200_000_000 and fact.status is Status.PLANNED


def test_a_kind_of_line_is_no_companys_line(gazetteer: Gazetteer) -> None:
    facts = _facts(gazetteer, "We will set up a Pilot Manufacturing and Testing production "
                              "line in Tai Po InnoPark.")
    assert not [k for k in facts if k.startswith("production-line")]
    facts = _facts(gazetteer, "ABC Ltd's smart production lines in Tai Po InnoPark opened.")
    assert facts["production-line-abc-ltd"].status is Status.OPENED
