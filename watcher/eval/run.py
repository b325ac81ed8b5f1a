"""Run the extractor over a labelled corpus: read each page as its source would, extract,
and score. The only I/O of the evaluation (reading the corpus files)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from watcher.eval.labels import Case, load_cases
from watcher.eval.score import Report, score
from watcher.eval.shapes import read_case
from watcher.extract import Gazetteer, extract, merge_facts
from watcher.extract.script import traditional_characters
from watcher.models import Fact


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
