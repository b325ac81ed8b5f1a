"""Extraction's fast paths find exactly what the plain patterns find.

Some patterns are written to open with a literal or a character class so that the regex
engine can skip to candidates (watcher.extract.sentences, shapes, coref), and the gazetteer
scans pages with no Chinese alias character with its English half only. Each is checked
here against the readable pattern it replaces, on the labelled corpus and on odd input.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from watcher.baseline import load_baseline
from watcher.eval.labels import load_cases
from watcher.eval.shapes import read_case
from watcher.extract import Gazetteer, coref, sentences, shapes, split_sentences
from watcher.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

# The readable forms (as they were before being rewritten for speed).
PLAIN_BOUNDARY = re.compile(
    r"""
    (?P<en>[.!?])[\"”’')\]]*(?=\s+[^a-z\s])
    | [。！？；][」』”’）)]*
    | \n\s*\n
    """,
    re.VERBOSE,
)
PLAIN_PRODUCTION_LINE = re.compile(r"\bproduction\s+lines?\b|生產線", re.IGNORECASE)
PLAIN_EN_HEAD = re.compile(r"(?<=\s)" + shapes._EN_HEAD.pattern[len(r"\s"):])
PLAIN_REFERENCE = re.compile(r"(?<![A-Za-z])(?:[Tt]he|[Tt]his)"
                             + coref._EN_REFERENCE.pattern[len("[Tt](?<![A-Za-z].)(?:he|his)"):])


@pytest.fixture(scope="module")
def texts() -> list[str]:
    found = [document.title + "\n" + document.text
             for case in load_cases(ROOT / "tests" / "eval") for document in read_case(case)]
    found.append((ROOT.parent / "shared" / "seed-article.txt").read_text(encoding="utf-8"))
    rng = random.Random(5)
    alphabet = list("aeiouprsctdnlhPRODUCTIONTSF Fund Scheme The this \n\t.!?,'’)\"İı"
                    "生產線計劃。；」")
    found += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(400)))
              for _ in range(2000)]
    found += ["Production\nLines.", "xproduction line", "PRODUCTİON LINE", "the Fund’s",
              "This Scheme. The Centre", "e.g. the", "Ends.\n\n新", "2024.\n"]
    return found


def _spans(regex: re.Pattern[str], text: str, group: str | None = None) -> list[tuple[int, int]]:
    return [m.span(group) if group else m.span() for m in regex.finditer(text)]


def test_sentence_boundaries_are_the_plain_patterns(texts: list[str]) -> None:
    for text in texts:
        assert _spans(sentences._BOUNDARY, text) == _spans(PLAIN_BOUNDARY, text), text
        english = [m.start() for m in PLAIN_BOUNDARY.finditer(text) if m.group("en")]
        assert english == [m.start() for m in sentences._BOUNDARY.finditer(text)
                           if text[m.start()] in sentences._EN_STOPS]


def test_production_lines_heads_and_references_are_the_plain_patterns(
        texts: list[str]) -> None:
    for text in texts:
        assert _spans(shapes._PRODUCTION_LINE, text) == _spans(PLAIN_PRODUCTION_LINE, text)
        assert _spans(shapes._EN_HEAD, text, "head") == _spans(PLAIN_EN_HEAD, text, "head")
        assert _spans(coref._EN_REFERENCE, text) == _spans(PLAIN_REFERENCE, text)


def test_the_gazetteer_finds_the_same_names_with_or_without_chinese(
        texts: list[str]) -> None:
    gazetteer = Gazetteer.from_baseline(load_baseline(Settings().baseline_file))
    english = "Hong Kong Science Park, the second AMC and the New Industrialisation Fund."
    for text in [english, *texts[:200]]:
        # A trailing 科 (it opens Chinese aliases) makes the gazetteer use its whole pattern.
        assert gazetteer.find(text) == gazetteer.find(text + "\n科")[: len(gazetteer.find(text))]
        assert len(gazetteer.find(text + "\n科")) == len(gazetteer.find(text))
    assert [m.entity.key for m in gazetteer.find(english)][:2] == [
        "hong-kong-science-park", "second-advanced-manufacturing-centre"]
    assert split_sentences(english)  # the module's public entry still splits it
