"""describe: one-line change summaries with amounts in their human form."""

from watcher.diff.describe import describe_change


def test_every_hkd_field_reads_as_money() -> None:
    line = describe_change("changed", "NIAS", {"cap_per_project_hkd": None},
                           {"cap_per_project_hkd": "200000000"}, {})
    assert line == "NIAS: cap_per_project none -> HK$200 million"


def test_new_fact_shows_amount_and_status() -> None:
    line = describe_change("new", "Fund", {}, {}, {"amount_hkd": 500_000_000,
                                                   "status": "under_construction"})
    assert line == "new: Fund (HK$500 million, under construction)"
