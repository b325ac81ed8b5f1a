"""Run the extractor over a labelled corpus: read each page as its source would, extract,
and score. The only I/O of the evaluation (reading the corpus files)."""

from __future__ import annotations

from pathlib import Path

from watcher.config.sources import Entries
from watcher.eval.labels import Case, load_cases
from watcher.eval.score import Report, score
from watcher.eval.shapes import SHAPES
from watcher.extract import Gazetteer, extract, merge_facts
from watcher.models import Document, Fact
from watcher.read import read_entries, read_page


def read_case(case: Case) -> list[Document]:
    """The documents of a case's page, read as its source would read it."""
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


def evaluate(directory: Path, gazetteer: Gazetteer) -> Report:
    """Score extraction over every labelled page under ``directory``."""
    return score((case, predict(case, gazetteer)) for case in load_cases(directory))
