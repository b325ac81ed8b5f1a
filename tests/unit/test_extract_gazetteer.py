"""The gazetteer: every spelling of a thing -> one key, and no two things merged."""

from __future__ import annotations

import pytest

from tests.unit.extract_helpers import ROOT
from watcher.extract.baseline import load_baseline
from watcher.extract.gazetteer import Entity, Gazetteer, packaged_entities
from watcher.extract.spelling import normalise, slugify
from watcher.models import FactKind


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_baseline(load_baseline(ROOT / "db" / "baseline.yaml"))


@pytest.mark.parametrize(("name", "key"), [
    ("the AMC", "advanced-manufacturing-centre"),
    ("Advanced Manufacturing Centre", "advanced-manufacturing-centre"),
    ("advanced manufacturing center", "advanced-manufacturing-centre"),
    ("AMC's", "advanced-manufacturing-centre"),
    ("先進製造業中心", "advanced-manufacturing-centre"),
    ("a second AMC", "second-advanced-manufacturing-centre"),
    ("the second Advanced Manufacturing Centre", "second-advanced-manufacturing-centre"),
    ("第二所先進製造業中心", "second-advanced-manufacturing-centre"),
    ("NIAS", "new-industrialisation-acceleration-scheme"),
    ("新型工業加速計劃", "new-industrialisation-acceleration-scheme"),
    ("Re-industrialisation Funding Scheme", "new-industrialisation-funding-scheme"),
    ("Reindustrialization Funding Scheme", "new-industrialisation-funding-scheme"),
    ("再工業化資助計劃", "new-industrialisation-funding-scheme"),
    ("RTTP", "new-industrialisation-and-technology-training-programme"),
    ("the Innovation and Technology Fund's", "innovation-and-technology-fund"),
    ("InnoParks", "innoparks"),
    ("創新園", "innoparks"),
    ("將軍澳創新園", "tseung-kwan-o-innopark"),
    ("Science Park", "hong-kong-science-park"),
    ("數碼港", "cyberport"),
    ("微電子中心", "microelectronics-centre"),
    ("HKMRDI", "hong-kong-microelectronics-research-and-development-institute"),
    ("香港微電子研發院", "hong-kong-microelectronics-research-and-development-institute"),
    ("新型工業化發展辦公室", "new-industrialisation-development-office"),
    ("NIDO", "new-industrialisation-development-office"),
    ("third InnoHK research cluster", "third-innohk-research-cluster"),
    ("Research Talent Hub", "research-talent-hub"),
])
def test_resolve(gazetteer: Gazetteer, name: str, key: str) -> None:
    entity = gazetteer.resolve(name)
    assert entity is not None, name
    assert entity.key == key


def test_resolve_unknown_and_ordinals(gazetteer: Gazetteer) -> None:
    assert gazetteer.resolve("Quantum Park") is None
    assert gazetteer.resolve("") is None
    fourth = gazetteer.resolve("fourth InnoHK research cluster")
    assert fourth is not None and fourth.key == "fourth-innohk-research-cluster"
    assert gazetteer.resolve("first AMC") == gazetteer.get("advanced-manufacturing-centre")


def test_abbreviations_keep_their_case(gazetteer: Gazetteer) -> None:
    assert [m.entity.key for m in gazetteer.find("the camc and amc and AMC")] == [
        "advanced-manufacturing-centre"]
    assert gazetteer.find("financial itf report") == []


def test_find_longest_first_with_spans(gazetteer: Gazetteer) -> None:
    text = "The second AMC, the AMC and Tseung Kwan O InnoPark; 將軍澳創新園及第三個InnoHK研發平台"
    mentions = gazetteer.find(text)
    assert [(m.text, m.entity.key) for m in mentions] == [
        ("second AMC", "second-advanced-manufacturing-centre"),
        ("AMC", "advanced-manufacturing-centre"),
        ("Tseung Kwan O InnoPark", "tseung-kwan-o-innopark"),
        ("將軍澳創新園", "tseung-kwan-o-innopark"),
        ("第三個InnoHK研發平台", "third-innohk-research-cluster"),
    ]
    assert all(text[m.start:m.end] == m.text for m in mentions)


def test_find_tolerates_spacing_quotes_and_word_boundaries(gazetteer: Gazetteer) -> None:
    found = gazetteer.find("the Hong  Kong\nScience Park’s tenants; Cyberports; notAMC")
    assert [m.entity.key for m in found] == ["hong-kong-science-park", "cyberport"]


def test_alias_naming_two_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="alias 'AMC' names both"):
        Gazetteer([Entity("a", FactKind.FACILITY, "A Centre", ("AMC",)),
                   Entity("b", FactKind.FACILITY, "B Centre", ("AMC",))])


def test_same_key_in_baseline_and_data_merges(gazetteer: Gazetteer) -> None:
    nias = gazetteer.get("new-industrialisation-acceleration-scheme")
    assert nias is not None
    assert nias.amount_hkd == 10_000_000_000  # from the baseline
    assert gazetteer.by_amount(FactKind.FUNDING, 10_000_000_000, "for production lines") == nias
    assert gazetteer.by_amount(FactKind.FUNDING, 10_000_000_000, "for life sciences") is None
    assert gazetteer.by_amount(FactKind.FUNDING, 1, "for production lines") is None


def test_packaged_entities_are_valid_and_distinct() -> None:
    entities = packaged_entities()
    assert len(entities) >= 25
    assert len({e.key for e in entities}) == len(entities)
    Gazetteer(entities)  # no alias collisions on its own either
    assert packaged_entities() is entities  # read once


def test_packaged_only_gazetteer_works_without_baseline() -> None:
    gazetteer = Gazetteer.from_baseline(None)
    entity = gazetteer.resolve("NIFS")
    assert entity is not None and entity.amount_hkd is None
    assert gazetteer.resolve("AMC") is None  # the AMC comes from the baseline


@pytest.mark.parametrize(("name", "slug"), [
    ("New Industrialisation Acceleration Scheme", "new-industrialisation-acceleration-scheme"),
    ("The I&T Blueprint", "the-i-and-t-blueprint"),
    ("Hong Kong’s  Quantum—Park!", "hong-kongs-quantum-park"),
    ("智能生產支援計劃", "智能生產支援計劃"),
    ("RAISe+ Scheme", "raise-scheme"),
])
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_normalise() -> None:
    assert normalise("The Re-industrialization Funding Program’s") == (
        "reindustrialisation funding programme")
