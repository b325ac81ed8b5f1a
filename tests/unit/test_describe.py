"""describe: one-line change summaries with amounts in their human form, and a scheme's
terms worded as what they are."""

import pytest

from watcher.diff.describe import amount_text, describe_change
from watcher.rules.render import term_phrase


def test_every_hkd_field_reads_as_money() -> None:
    line = describe_change("changed", "NIAS", {"cap_per_project_hkd": None},
                           {"cap_per_project_hkd": "200000000"}, {})
    assert line == "NIAS: cap per project HK$200 million"


def test_new_fact_shows_amount_and_status() -> None:
    line = describe_change("new", "Fund", {}, {}, {"amount_hkd": 500_000_000,
                                                   "status": "under_construction"})
    assert line == "new: Fund (HK$500 million, under construction)"


def test_a_first_sighting_says_so() -> None:
    line = describe_change("seen", "ITF", {}, {"status": "existing"}, {"status": "existing"})
    assert line == "first seen: ITF (existing)"


def test_size_and_terms_in_one_line() -> None:
    line = describe_change("changed", "Scheme X",
                           {"amount_hkd": 5_000_000_000, "threshold_hkd": "200000000"},
                           {"amount_hkd": 6_000_000_000, "threshold_hkd": "100000000"}, {})
    assert line == ("Scheme X: amount HK$5 billion -> HK$6 billion; "
                    "minimum project cost lowered from HK$200 million to HK$100 million")


@pytest.mark.parametrize(("field", "old", "new", "amounts", "words"), [
    ("threshold_hkd", "200000000", "100000000", [],
     "minimum project cost lowered from HK$200 million to HK$100 million"),
    ("cap_per_project_hkd", "15000000", "30000000", [],
     "cap per project raised from HK$15 million to HK$30 million"),
    ("added_hkd", None, "3000000000", [], "HK$3 billion to be added"),
    ("threshold_hkd", None, "5000000",
     [{"role": "threshold", "hkd": 5000000, "cue": "'minimum contribution'"}],
     "minimum contribution HK$5 million"),
    ("matching_ratio", "1:1", "1:2", [], "matching ratio changed from 1:1 to 1:2"),
    ("government_share", "1/3", "1/2", [], "government share raised from 1/3 to 1/2"),
    ("cap_per_project_hkd", "15000000", None, [],
     "cap per project no longer stated (was HK$15 million)"),
])
def test_terms_are_worded_as_what_they_are(field: str, old: str | None, new: str | None,
                                           amounts: list[dict[str, object]],
                                           words: str) -> None:
    assert term_phrase(field, old, new, amounts) == words


def test_an_amount_with_its_role() -> None:
    assert amount_text({"role": "cap_per_project", "hkd": 30_000_000, "qualifier": "up_to",
                        "previous_hkd": 15_000_000}) == (
        "cap per project: HK$30 million (up to; was HK$15 million)")
    assert amount_text({"role": "size", "hkd": 200_000_000, "earlier": True}) == (
        "size: HK$200 million (an earlier value)")
