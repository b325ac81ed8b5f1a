"""Extraction: plain-text documents -> facts (funds and amounts, facilities and status).

Pure functions; the only I/O is reading the packaged ``gazetteer.yaml`` once, and the
baseline file (``db/baseline.yaml``, read by :mod:`watcher.extract.baseline`), whose
entries the gazetteer knows by name. Typical use::

    gazetteer = Gazetteer.from_baseline(load_baseline(path))   # once
    facts = extract(document, gazetteer)                       # per document
"""

from watcher.extract.amounts import Amount, find_amounts, parse_amount
from watcher.extract.facts import extract, merge_facts
from watcher.extract.gazetteer import Entity, Gazetteer, Mention
from watcher.extract.sentences import Sentence, split_sentences
from watcher.extract.spelling import normalise, slugify
from watcher.extract.status import StatusCue, find_status, find_status_cues

__all__ = [
    "Amount",
    "Entity",
    "Gazetteer",
    "Mention",
    "Sentence",
    "StatusCue",
    "extract",
    "find_amounts",
    "find_status",
    "find_status_cues",
    "merge_facts",
    "normalise",
    "parse_amount",
    "slugify",
    "split_sentences",
]
