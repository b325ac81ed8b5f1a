"""Extraction's fast paths find exactly what the plain patterns find.

Some patterns are written to open with a literal or a character class so that the regex
engine can skip to candidates (watcher.extract.sentences, shapes, coref), and the gazetteer
scans pages with no Chinese alias character with its English half only. Some finders look
for keywords in the lower-cased text first and try their pattern only there (head words,
back-references, the gazetteer's folded pattern, currency marks). Each is checked here
against the readable pattern or the plain code it replaces, on the labelled corpus and on
odd input (the characters that ignoring case treats specially: İ ı ſ and the Kelvin sign).
"""

from __future__ import annotations

import random
import re
from itertools import accumulate
from pathlib import Path

import pytest

from tests.unit.extract_helpers import SEED_ARTICLE
from watcher.eval.labels import load_cases
from watcher.eval.run import read_case
from watcher.extract import (
    Gazetteer,
    amounts,
    coref,
    facts,
    find_amounts,
    gazetteer,
    scan,
    sentences,
    shapes,
    split_sentences,
    status,
)
from watcher.extract.baseline import load_baseline
from watcher.extract.gazetteer import Entity
from watcher.extract.names import Name, find_names
from watcher.extract.sentences import Sentence
from watcher.models import FactKind
from watcher.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

# The readable forms (as they were before being rewritten for speed).
PLAIN_BOUNDARY = re.compile(
    r"""
    (?P<en>[.!?])[\"”’')\]]*(?=\s+[^a-z\s])
    | [。！？；][」』”’）)]*
    | \n\s*\n
    | [;:](?=[ \t]*\n)
    | \n(?=[ \t]*(?:\(\w{1,4}\)|\d{1,2}\.|[•·▪])\s)
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
    found.append(SEED_ARTICLE.read_text(encoding="utf-8"))
    rng = random.Random(5)
    alphabet = list("aeiouprsctdnlhPRODUCTIONTSF Fund Scheme The this \n\t.!?,'’)\"İı"
                    "生產線計劃。；」")
    found += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(400)))
              for _ in range(2000)]
    found += ["Production\nLines.", "xproduction line", "PRODUCTİON LINE", "the Fund’s",
              "This Scheme. The Centre", "e.g. the", "Ends.\n\n新", "2024.\n"]
    # Names, heads, references and money with odd cases, spaces and characters.
    words = ["Hong", "Kong", "Science", "Park", "AMC", "amc", "InnoHK", "INNOHK", "I&T",
             "Re-industrialisation", "Reindustrialisation", "Fund", "FUND", "Scheme",
             "the", "The", "This", "this", "ITF", "ITF’s", "Cyberport", "Cyberports",
             "Centre", "Center", "laboratories", "Lab", "Programme", "program", "Ltd",
             "HK$", "$", "3", "million", "dollars", "DOLLARS", "元", "Co", "S", "\u212a",
             "ſcheme", "İnnoHK", "ınnovation", "Productıon", "production", "lines", "and",
             "&", "2nd", "Microelectronics", "Research", "Institute", "InnoPark", "e.g",
             "Mr", "approx", "I&T.", "AMC.", "Ltd.", "No.", "5.2", "per", "cent"]
    seps = [" ", " ", " ", "  ", "\n", "\n\n", ". ", ".\n", ", ", "-", "’s ", "(", ") ", "'s "]
    found += ["".join(rng.choice(words) + rng.choice(seps) for _ in range(rng.randrange(60)))
              for _ in range(3000)]
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


def test_head_words_and_references_found_from_keywords_are_the_patterns_finds(
        texts: list[str]) -> None:
    for text in texts:
        assert [m.span() for m in shapes._head_matches(text)] == _spans(shapes._EN_HEAD, text)
        assert [m.span() for m in coref._en_references(text)] == _spans(
            coref._EN_REFERENCE, text)


def test_the_folded_gazetteer_pattern_finds_what_the_english_half_finds(
        texts: list[str]) -> None:
    known = Gazetteer.from_baseline(load_baseline(Settings().baseline_file))
    assert known._folded is not None and known._ascii_regex is not None
    aliases = [a for e in known.entities for a in (e.name, *e.aliases) if a.isascii()]
    rng = random.Random(11)
    mixed = [" ".join(rng.choice(aliases) for _ in range(8)) for _ in range(300)]
    mixed += [text.upper() for text in mixed[:100]] + [text.lower() for text in mixed[:100]]
    hits = 0
    for text in [*texts, *mixed]:
        want = _spans(known._ascii_regex, text)
        assert [m.span() for m in known._ascii_matches(text)] == want, text
        hits += len(want)
    assert hits > 1000  # the texts do name things


def test_every_alias_has_a_folded_form() -> None:
    for alias in ["AMC", "Hong Kong Science and Technology Parks", "I&T", "RAISe",
                  "Re-industrialisation Funding Scheme", "Cyberport’s", "bud專項基金"]:
        units = gazetteer._folded_units(alias)
        assert units is not None
        if units[-1] == gazetteer._FOLDED_WORD_END:
            units.pop()
        assert re.fullmatch("".join(units), alias.lower()), alias


def test_amounts_are_only_looked_for_where_a_currency_is(texts: list[str]) -> None:
    for word in [*amounts._PREFIXES, *amounts._SUFFIXES]:
        assert any(mark in word for mark in amounts._CURRENCY_MARKS) or "dollars" in word
    for text in texts:
        plain = [m for m in amounts._AMOUNT.finditer(text)
                 if m.group("pre") or m.group("zpre") or m.group("suf")]
        assert [a.start for a in find_amounts(text)] == [
            m.start() if m.group("pre") or m.group("zpre") else m.start("num") for m in plain]


def _plain_split(text: str) -> list[Sentence]:
    """split_sentences as it was before its abbreviation check learnt its shortcuts."""
    out: list[Sentence] = []
    start = 0

    def abbreviation(dot: int) -> bool:
        match = sentences._WORD_BEFORE.search(text, max(0, dot - 12), dot)
        if not match:
            return False
        word = match.group(1)
        if word.lower().rstrip(".") in sentences._ABBREVIATIONS:
            return True
        standalone = match.start() == 0 or text[match.start() - 1].isspace()
        return len(word) == 1 and word.isupper() and standalone

    def emit(end: int) -> None:
        piece = text[start:end]
        if piece.strip():
            offset = start + (len(piece) - len(piece.lstrip()))
            out.append(Sentence(piece.strip(), offset, offset + len(piece.strip())))

    for match in sentences._BOUNDARY.finditer(text):
        if text[match.start()] in sentences._EN_STOPS and abbreviation(match.start()):
            continue
        emit(match.end())
        start = match.end()
    emit(len(text))
    return out


def test_sentences_are_the_plain_splits(texts: list[str]) -> None:
    extra = ["Ltd\n. Next", "Kinwah Ltd. The", "approximately. The", "S. Lee", "x.e.g. The",
             "Incorporated. The", "Co.. The", "A. B", "1. The", "(see above). The"]
    for text in [*texts, *extra]:
        assert split_sentences(text) == _plain_split(text), text


def test_a_folded_hit_that_is_no_name_hides_no_name_inside_it() -> None:
    # "xy&z" is where the folded pattern sees the case-exact "XY&Z", but the name is the
    # "Z Fund" that starts inside it.
    known = Gazetteer([Entity("xyz", FactKind.ORGANISATION, "XY&Z"),
                       Entity("z-fund", FactKind.FUNDING, "Z Fund")])
    for text in ["xy&Z Fund", "XY&Z Fund", "xy&z fund."]:
        assert [m.span() for m in known._ascii_matches(text)] == _spans(
            known._ascii_regex, text) != []


def _plain_mask(text: str, names: list[Name]) -> str:
    chars = list(text)
    for name in names:
        chars[name.start:name.end] = "\0" * (name.end - name.start)
    return "".join(chars)


def test_status_cues_by_opening_letter_are_the_plain_alternation(texts: list[str]) -> None:
    plain = re.compile(rf"(?<![A-Za-z])(?=[{status._EN_FIRST}])(?:{status._alternation(False)})"
                       rf"|(?=[{status._ZH_FIRST}])(?:{status._alternation(True)})",
                       re.IGNORECASE)
    # Every English cue is in the letters it opens with: "will be set up" only under w.
    assert status._openers(status._CUES[0][1]) == {"w"}
    assert status._openers(r"\b(?:is|are)\s+due") == {"i", "a"}
    assert status._openers(r"\w+") is None and status._openers(r"(?:x)?") is None
    cased = [text.upper() for text in texts[:500]] + ["ſet up", "WİLL BE SET UP", "İnaugurated"]
    for text in [*texts, *cased]:
        want = [(m.lastgroup, m.span()) for m in plain.finditer(text)]
        got = [(m.lastgroup and m.lastgroup.split("_")[0], m.span())
               for m in status._REGEX.finditer(text)]
        assert got == want, text
        if not status._CJK.search(text) and not status._PLAN_ITEM.match(text):
            assert [c.start for c in status.find_status_cues(text)] == [s for _, (s, _) in want]


def test_a_sentence_is_masked_as_the_whole_text_was(texts: list[str]) -> None:
    known = Gazetteer.from_baseline(load_baseline(Settings().baseline_file))
    for text in texts[:2000]:
        found = split_sentences(text)
        names = find_names(text, known, lambda found=found: [s.start for s in found])
        # a name across a sentence end ("Hong Kong\n\nScience Park") is blanked in both
        names.append(Name(FactKind.FACILITY, "x", "x", text[3:60], 3, min(60, len(text)), True))
        names.sort(key=lambda n: n.start)
        whole = _plain_mask(text, names)
        starts = [n.start for n in names]
        reach = list(accumulate((n.end for n in names), max))
        for sentence in found:
            assert facts._mask(text, names, starts, reach, sentence) == whole[
                sentence.start:sentence.end]


def test_every_head_word_opens_with_a_needle() -> None:
    heads = [*shapes._EN_HEADS, *re.search(r"\(\?i:([^)]*)\)",
                                           coref._EN_REFERENCE.pattern).group(1).split("|")]
    for head in heads:
        assert any(head.startswith(needle) for needle in scan.HEAD_NEEDLES), head


def test_production_lines_and_name_chains_skip_only_where_the_pattern_finds_nothing(
        texts: list[str]) -> None:
    for text in texts:
        assert shapes.find_production_lines(text) == _spans(PLAIN_PRODUCTION_LINE, text)
        for head in shapes._EN_HEAD.finditer(text):
            at = head.start("head")
            for floor in (0, max(0, at - 30)):
                lo = max(floor, at - shapes._CHAIN_WINDOW)
                plain = shapes._CHAIN.search(text, lo, at)
                assert shapes._chain_start(text, floor, at) == (plain.start() if plain else None)


def test_fractions_skip_only_what_the_pattern_would_not_find(texts: list[str]) -> None:
    rng = random.Random(3)
    words = ["one-third of the cost", "HALF", "三分之二", "1:2", "matching", "ſet", "İnitially",
             "fırst", "half", "Fund", ".", "per project", "of", "the"]
    made = [" ".join(rng.choice(words) for _ in range(rng.randrange(2, 14)))
            for _ in range(3000)]
    for text in [*texts, *made]:
        fraction, plain = facts._fraction(text), facts._FRACTION.search(text)
        assert (fraction and fraction.span()) == (plain and plain.span())
    for fraction in facts._FRACTIONS:
        assert any(word in fraction for word in facts._FRACTION_WORDS)
