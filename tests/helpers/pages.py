"""Pages read through the real pipeline's database half (extract -> diff -> store ->
rules -> outbox) without a web server, as `watcher rules test` does:

    desk = Desk.open(tmp_path / "watcher.db")
    desk.read("The Government launched the HK$5 billion ... Scheme", url=..., published=...)
    desk.subjects()   # the alerts queued so far, oldest first
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from watcher import store
from watcher.config.sources import HtmlSource
from watcher.extract import extract
from watcher.fetch.poll import Fetched, Page, PollReport
from watcher.models import Document, Fact, FetchResult
from watcher.pipeline import store_poll
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings
from watcher.store import outbox

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)


@dataclass
class Desk:
    rt: Runtime
    source: HtmlSource
    polls: int = field(default=0)

    @classmethod
    def open(cls, database_url: str, workdir: Path) -> Desk:
        sources = workdir / "sources"
        sources.mkdir(parents=True, exist_ok=True)
        (sources / "desk.yaml").write_text(
            "name: desk\nkind: html\nurl: https://www.info.gov.hk/gia/general/today.htm\n"
            "tags: [gov]\n")
        settings = Settings(database_url=database_url, sources_dir=sources, notify="",
                            rules_dir=REPO / "rules", routes_file=workdir / "no-routes.yaml")
        rt = Runtime.load(settings)
        rt.init_database()
        source = rt.sources["desk"]
        assert isinstance(source, HtmlSource)
        return cls(rt, source)

    def read(self, text: str, *, url: str, title: str = "", language: str = "en",
             published: datetime | None = None) -> PollReport:
        """One poll of one page, its facts extracted."""
        document = Document(url=url, source="desk", title=title, text=text,
                            language=language, published=published)
        return self.poll([(document, extract(document, self.rt.gazetteer))])

    def poll(self, pages: list[tuple[Document, list[Fact]]]) -> PollReport:
        """One poll (one chunk) of documents whose facts are given."""
        fetched = Fetched()
        for document, _ in pages:
            content = f"{document.title}\n\n{document.text}".encode()
            digest = hashlib.sha256(content).hexdigest()
            fetched.results.append((FetchResult(url=document.url, status=200), digest))
            fetched.pages.append(Page(document, content, digest))
        report = PollReport(source="desk")
        self.polls += 1
        store_poll(self.rt, self.source, fetched, [facts for _, facts in pages], report,
                   T0 + timedelta(hours=self.polls))
        return report

    def subjects(self) -> list[str]:
        with store.transaction(self.rt.engine) as session:
            rows = outbox.listing(session, limit=10_000)
        return [d.subject for d in sorted(rows, key=lambda d: d.id)]

    def close(self) -> None:
        self.rt.engine.dispose()
