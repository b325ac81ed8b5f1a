"""Split plain text into sentences, English and Chinese, keeping each one as written.

The extractor quotes a sentence as a fact's evidence, so sentences keep their original
text (only trimmed) and their offsets into the input. Blank lines always end a sentence;
a single line break ends one only after sentence punctuation or before a list item's mark
(a wrapped line does not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# An English full stop ends a sentence when whitespace and then something other than a
# lower-case letter follow ("e.g. the" and "approx. five" stay whole). Chinese full stops
# need no space. Closing quotes and brackets stay with the sentence they close. Every
# alternative opens with a literal character, so the engine skips straight to the next
# candidate; an English stop is a match that starts with one of ``_EN_STOPS``.
_EN_STOPS = ".!?"
_BOUNDARY = re.compile("|".join(
    [re.escape(stop) + r"""[\"”’')\]]*(?=\s+[^a-z\s])""" for stop in _EN_STOPS]
    + [stop + "[」』”’）)]*" for stop in "。！？；"]
    + [r"\n\s*\n"]
    # A list written one item a line ("(1) ...;\n(2) ..."): a line that ends with ";" or
    # ":" ends its item, and a line that opens with an item's mark starts one.
    + [r"[;:](?=[ \t]*\n)", r"\n(?=[ \t]*(?:\(\w{1,4}\)|\d{1,2}\.|[•·▪])\s)"]
))
# Words whose full stop is an abbreviation, not the end of a sentence.
_ABBREVIATIONS = frozenset(
    [
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "no", "nos", "co", "ltd", "inc",
        "corp", "dept", "govt", "approx", "est", "fig", "vs", "e.g", "i.e", "etc", "jan",
        "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "hon"
    ]
)
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
# A stop after this many ASCII letters ends a word longer than any abbreviation.
_LONG_WORD = max(map(len, _ABBREVIATIONS)) + 1
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str  # as written, trimmed
    start: int  # offset of text[0] in the input
    end: int


def _is_abbreviation(text: str, dot: int) -> bool:
    # Most stops end a long word or follow a digit or a bracket: say so without the search
    # (which could still find a word before a line break: "Ltd\n.").
    before = text[dot - 1] if dot else ""
    if before not in _LETTERS and before not in ".\n":
        return False
    tail = text[dot - _LONG_WORD:dot] if dot >= _LONG_WORD else ""
    if tail.isascii() and tail.isalpha():
        return False
    match = _WORD_BEFORE.search(text, max(0, dot - 12), dot)
    if not match:
        return False
    word = match.group(1)
    if word.lower().rstrip(".") in _ABBREVIATIONS:
        return True
    # "S." in "John S. Lee" is an initial; the "T." ending "I&T." is not.
    standalone = match.start() == 0 or text[match.start() - 1].isspace()
    return len(word) == 1 and word.isupper() and standalone


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of ``text`` in order; empty pieces are dropped."""
    sentences: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        stop, end = match.span()
        if text[stop] in _EN_STOPS and _is_abbreviation(text, stop):
            continue
        _emit(sentences, text, start, end)
        start = end
    _emit(sentences, text, start, len(text))
    return sentences


def _emit(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        offset = start + piece.index(stripped[0])  # the first character that is no space
        sentences.append(Sentence(stripped, offset, offset + len(stripped)))
