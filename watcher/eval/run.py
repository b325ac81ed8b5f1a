"""Run the extractor over a labelled corpus: read each page as its source would, extract,
and score. The only I/O of the evaluation (reading the corpus files)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from pathlib import Path

from watcher.config.sources import Entries
from watcher.eval.labels import Case, load_cases
from watcher.eval.score import Report, score
from watcher.eval.shapes import SHAPES
from watcher.extract import Gazetteer, extract, merge_facts
from watcher.extract.script import traditional_characters
from watcher.models import Document, Fact
from watcher.read import read_entries, read_page


def read_text_page(case: Case) -> Document:
    """A real page's published text: the headline on the first line, then the body."""
    title, _, body = case.page_path.read_text(encoding="utf-8").partition("\n")
    published = (datetime.combine(case.published, time(12), tzinfo=UTC)
                 if case.published else None)
    return Document(url=case.url, source="eval", title=title.strip(), text=body.strip(),
                    language=case.language, published=published)


def read_case(case: Case) -> list[Document]:
    """The documents of a case's page, read as its source would read it."""
    if case.shape == "text":
        return [read_text_page(case)]
    content = case.page_path.read_bytes()
    url = case.page_path.resolve().as_uri()
    shape = SHAPES[case.shape]
    if isinstance(shape, Entries):
        return read_entries(content, "text/html; charset=utf-8", url=url, source="eval",
                            entries=shape, language=case.language)
    return [read_page(content, "text/html; charset=utf-8", url=url, source="eval",
                      reader=shape, language=case.language)]


def predict(case: Case, gazetteer: Gazetteer) -> list[Fact]:
    """The facts of a case's page; a page read as several documents (a table's rows) gives
    one fact per key, as the store would keep them."""
    facts: list[Fact] = []
    for document in read_case(case):
        facts.extend(extract(document, gazetteer))
    return merge_facts(facts)


def with_known_keys(case: Case, gazetteer: Gazetteer) -> Case:
    """``case`` with each labelled fact also answering to the key the gazetteer gives its
    name: a labeller who did not know the Automotive Platforms and Application Systems R&D
    Centre wrote the slug of 汽车科技研发中心, and watcher's key for that name is the same
    thing. Only the label's own names are resolved, the same way on every part."""
    facts = []
    for fact in case.facts:
        names = [fact.name, *fact.also] if fact.name else list(fact.also)
        keys = {entity.key for name in names
                if (entity := gazetteer.resolve(traditional_characters(name))) is not None
                and entity.kind is fact.kind}
        keys -= {fact.key, *fact.also}
        facts.append(fact.model_copy(update={"also": (*fact.also, *sorted(keys))})
                     if keys else fact)
    return replace(case, facts=tuple(facts))


def evaluate(directory: Path, gazetteer: Gazetteer) -> Report:
    """Score extraction over every labelled page under ``directory``."""
    cases = [with_known_keys(case, gazetteer) for case in load_cases(directory)]
    return score((case, predict(case, gazetteer)) for case in cases)
