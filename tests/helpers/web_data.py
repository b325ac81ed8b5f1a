"""A realistic database for the web tests and the README screenshot, written through the
store's own functions (register_sources, seed_baseline, save_document, save_changes,
outbox.enqueue), never with SQL.

    ids = populate(engine, page_base="http://127.0.0.1:PORT")   # change ids by name

Pages live under ``page_base`` so a browser test can follow the evidence links to a
local server; ``page_bodies(page_base)`` gives the HTML to serve for each path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from watcher import store
from watcher.models import Change, ChangeType, Document, FactKind, KnownFact, Status
from watcher.store import facts as fact_store
from watcher.store import outbox
from watcher.store import sources as source_store
from watcher.store.baseline import seed_baseline

HOSTILE = "<script>alert(1)</script>"
TARGET = "ops-email (mailto://wat…@example.org)"

BASELINE = [
    (KnownFact("new-industrialisation-acceleration-scheme", FactKind.FUNDING,
               "New Industrialisation Acceleration Scheme", "baseline",
               amount_hkd=10_000_000_000, status=Status.EARMARKED),
     "Furthermore, a fund of HK$10 billion has been earmarked to support qualifying "
     "companies in setting up production facilities in Hong Kong."),
    (KnownFact("new-industrialisation-funding-scheme", FactKind.FUNDING,
               "New Industrialisation Funding Scheme", "baseline",
               amount_hkd=15_000_000, status=Status.LAUNCHED),
     "The New Industrialisation Funding Scheme subsidises manufacturers on a 1:2 "
     "matching basis, up to HK$15 million."),
    (KnownFact("second-advanced-manufacturing-centre", FactKind.FACILITY,
               "Second Advanced Manufacturing Centre", "baseline", status=Status.PLANNED),
     "The government is planning to establish a second AMC."),
    (KnownFact("microelectronics-centre", FactKind.FACILITY, "Microelectronics Centre",
               "baseline", status=Status.PLANNED),
     "The government is planning to establish ... the Microelectronics Centre."),
    (KnownFact("advanced-manufacturing-centre", FactKind.FACILITY,
               "Advanced Manufacturing Centre", "baseline", status=Status.EXISTING),
     "The city boasts the Science Park, Cyberport, multiple InnoParks, an AMC."),
    (KnownFact("third-innohk-research-cluster", FactKind.FACILITY,
               "Third InnoHK research cluster", "baseline", status=Status.CONTEMPLATED),
     "It's also contemplating a third InnoHK research cluster."),
    (KnownFact("new-industrialisation-development-office", FactKind.ORGANISATION,
               "New Industrialisation Development Office", "baseline", status=Status.PLANNED),
     "A New Industrialisation Development Office will be set up."),
]


@dataclass(frozen=True)
class Story:
    """One press release (and optionally its Chinese twin) reporting one change."""

    name: str
    when: datetime
    source: str
    path: str
    title: str
    evidence: str
    change: dict[str, Any]
    zh_title: str = ""
    zh_evidence: str = ""
    rule: str = ""
    delivery: str = "sent"  # sent | pending | dead


def _t(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, 30, tzinfo=UTC)


STORIES = [
    Story("nias-launched", _t(2025, 2, 14), "gia-en", "/gia/general/202502/14/P2025021400321.htm",
          "New Industrialisation Acceleration Scheme opens for applications",
          "The HK$10 billion New Industrialisation Acceleration Scheme is now open for "
          "applications from enterprises setting up smart production lines in Hong Kong.",
          dict(type="changed", key="new-industrialisation-acceleration-scheme",
               kind="funding", name="New Industrialisation Acceleration Scheme",
               before={"status": "earmarked"}, after={"status": "launched"},
               current={"amount_hkd": 10_000_000_000, "status": "launched"}),
          zh_title="「新型工業加速計劃」接受申請",
          zh_evidence="100億元的「新型工業加速計劃」現正接受企業申請。",
          rule="funding-changed"),
    Story("raise-plus", _t(2025, 3, 20), "gia-en", "/gia/general/202503/20/P2025032000410.htm",
          "RAISe+ Scheme approves first batch of projects",
          "The Research, Academic and Industry Sectors One-plus Scheme, with HK$10 billion, "
          "has approved its first batch of projects.",
          dict(type="new", key="raise-plus-scheme", kind="funding",
               name="Research, Academic and Industry Sectors One-plus Scheme", before={},
               after={"amount_hkd": 10_000_000_000, "status": "launched"},
               current={"amount_hkd": 10_000_000_000, "status": "launched"}),
          rule="new-funding"),
    Story("amc2-construction", _t(2025, 5, 8), "itf", "/itf/en/news/amc2-works.html",
          "Works start on the second Advanced Manufacturing Centre",
          "Construction of the second Advanced Manufacturing Centre in the Yuen Long "
          "InnoPark has begun and is expected to complete in 2027.",
          dict(type="changed", key="second-advanced-manufacturing-centre", kind="facility",
               name="Second Advanced Manufacturing Centre", before={"status": "planned"},
               after={"status": "under_construction"},
               current={"status": "under_construction"}),
          zh_title="第二所先進製造業中心動工",
          zh_evidence="位於元朗創新園的第二所先進製造業中心已經動工。",
          rule="new-facility", delivery="pending"),
    Story("nifs-raised", _t(2025, 8, 27), "gia-en", "/gia/general/202508/27/P2025082700288.htm",
          "Funding ceiling of the New Industrialisation Funding Scheme doubled",
          "The funding ceiling of the New Industrialisation Funding Scheme will be raised "
          "from HK$15 million to HK$30 million per enterprise.",
          dict(type="changed", key="new-industrialisation-funding-scheme", kind="funding",
               name="New Industrialisation Funding Scheme", before={"amount_hkd": 15_000_000},
               after={"amount_hkd": 30_000_000},
               current={"amount_hkd": 30_000_000, "status": "launched"}),
          rule="funding-changed", delivery="dead"),
    Story("mec-opened", _t(2025, 10, 16), "itf", "/itf/en/news/mec-opening.html",
          "Microelectronics Centre opens in Yuen Long",
          "The Microelectronics Centre in the Yuen Long InnoPark commenced operation today, "
          "offering pilot production lines for third-generation semiconductors.",
          dict(type="changed", key="microelectronics-centre", kind="facility",
               name="Microelectronics Centre", before={"status": "planned"},
               after={"status": "opened"}, current={"status": "opened"}),
          rule="new-facility"),
    Story("nido-established", _t(2025, 11, 3), "gia-en",
          "/gia/general/202511/03/P2025110300199.htm",
          "New Industrialisation Development Office set up",
          "The New Industrialisation Development Office was established today under the "
          "Innovation, Technology and Industry Bureau.",
          dict(type="changed", key="new-industrialisation-development-office",
               kind="organisation", name="New Industrialisation Development Office",
               before={"status": "planned"}, after={"status": "established"},
               current={"status": "established"})),
    Story("frontier-fund", _t(2026, 1, 15), "gia-en",
          "/gia/general/202601/15/P2026011500512.htm",
          "HK$10 billion I&T Industry-Oriented Fund to be set up",
          "A HK$10 billion I&T Industry-Oriented Fund will be set up to channel more market "
          "capital into strategic emerging industries.",
          dict(type="new", key="i-and-t-industry-oriented-fund", kind="funding",
               name="I&T Industry-Oriented Fund", before={},
               after={"amount_hkd": 10_000_000_000, "status": "planned"},
               current={"amount_hkd": 10_000_000_000, "status": "planned"}),
          rule="new-funding"),
    Story("innohk3", _t(2026, 2, 24), "gia-en", "/gia/general/202602/24/P2026022400377.htm",
          "Third InnoHK research cluster to focus on advanced manufacturing",
          "The Government plans to set up a third InnoHK research cluster focusing on "
          "advanced manufacturing, materials, energy and sustainable development.",
          dict(type="changed", key="third-innohk-research-cluster", kind="facility",
               name="Third InnoHK research cluster", before={"status": "contemplated"},
               after={"status": "planned"}, current={"status": "planned"}),
          rule="new-facility"),
]

HOSTILE_STORY = Story(
    "hostile", _t(2026, 3, 1), "gia-en", "/gia/general/202603/01/P2026030100001.htm",
    f"Bogus title {HOSTILE}",
    f"A fund {HOSTILE} of HK$5 million was announced.",
    dict(type="new", key="hostile-fund", kind="funding", name=f"Evil {HOSTILE} Fund",
         before={}, after={"amount_hkd": 5_000_000}, current={"amount_hkd": 5_000_000}),
    rule="new-funding")

SOURCES = [
    ("gia-en", "rss", "https://www.info.gov.hk/gia/rss/general_en.xml", ("gov", "en")),
    ("gia-zh", "rss", "https://www.info.gov.hk/gia/rss/general_tc.xml", ("gov", "zh")),
    ("itf", "page", "https://www.itc.gov.hk/en/news/", ("gov",)),
]


def page_text(title: str, evidence: str) -> str:
    return (f"{title}\n\nThe Government today announced the following. {evidence} "
            "Further details will be announced in due course.\n\nEnds")


def page_bodies(stories: list[Story] | None = None) -> dict[str, bytes]:
    """path -> HTML of each press release, for a local server; the evidence is in it."""
    out: dict[str, bytes] = {}
    for story in stories or STORIES:
        out[story.path] = (f"<!doctype html><html><head><meta charset='utf-8'><title>"
                           f"{story.title}</title></head><body><h1>{story.title}</h1>"
                           f"<p>The Government today announced the following.</p>"
                           f"<p id='evidence'>{story.evidence}</p></body></html>").encode()
    return out


def populate(engine: Engine, page_base: str = "https://www.info.gov.hk",
             hostile: bool = False) -> dict[str, int]:
    """Fill ``engine``'s (migrated) database; returns change id by story name."""
    stories = STORIES + ([HOSTILE_STORY] if hostile else [])
    ids: dict[str, int] = {}
    start = stories[0].when - timedelta(days=30)
    with store.transaction(engine) as session:
        source_ids = source_store.register_sources(session, SOURCES)
        seed_baseline(session, BASELINE, start)
    for story in stories:
        with store.transaction(engine) as session:
            ids[story.name] = _store_story(session, story, page_base, source_ids)
    last = stories[-1].when
    with store.transaction(engine) as session:
        source_store.finish_poll(session, "gia-en", last, last + timedelta(minutes=15), None)
        source_store.finish_poll(session, "gia-zh", last, last + timedelta(minutes=15), None)
        for attempt in range(3):
            source_store.finish_poll(session, "itf", last + timedelta(minutes=attempt),
                                     last + timedelta(hours=1),
                                     "HTTP 503 Service Unavailable from www.itc.gov.hk")
    return ids


def _store_story(session: Any, story: Story, page_base: str,
                 source_ids: dict[str, int]) -> int:
    values = story.change
    change = Change(type=ChangeType(values["type"]), fact_key=values["key"],
                    kind=FactKind(values["kind"]), name=values["name"],
                    evidence=story.evidence, before=values["before"], after=values["after"],
                    current=values["current"], language="en",
                    prior=values["before"] if values["type"] == "changed" else {})
    url = page_base + story.path
    source_id = source_ids[story.source]
    document = Document(url=url, source=story.source, title=story.title,
                        text=page_text(story.title, story.evidence), language="en",
                        published=story.when - timedelta(hours=2))
    document_id = fact_store.save_document(session, source_id, document, None, story.when)
    stored = fact_store.save_changes(session, [change], document_id=document_id,
                                     document_url=url, source_id=source_id, now=story.when)
    change_id = stored[0].id
    if story.zh_title:
        zh_url = page_base + story.path.replace(".htm", "_zh.htm")
        twin = Document(url=zh_url, source="gia-zh", title=story.zh_title,
                        text=page_text(story.zh_title, story.zh_evidence), language="zh",
                        published=story.when - timedelta(hours=2))
        twin_id = fact_store.save_document(session, source_ids["gia-zh"], twin, None,
                                           story.when)
        fact_store.save_changes(session, [change], document_id=twin_id, document_url=zh_url,
                                source_id=source_ids["gia-zh"], now=story.when)
    if story.rule:
        outbox.enqueue(session, change_id=change_id, source_id=source_id, rule_id=story.rule,
                       target=TARGET, dedup_key=f"{story.rule}:{change.identity}",
                       subject=story.title, body=story.evidence, severity="info",
                       now=story.when)
        session.flush()
        delivery = outbox.listing(session, limit=1)[0]
        if story.delivery == "sent":
            outbox.mark_sent(session, delivery.id, story.when + timedelta(seconds=5))
        elif story.delivery == "dead":
            outbox.mark_failed(session, delivery.id, "SMTP 550 mailbox unavailable",
                               story.when + timedelta(days=3), timedelta(seconds=30),
                               timedelta(days=2))
    return change_id
