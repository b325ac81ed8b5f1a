"""Measuring extraction: a labelled corpus of pages, a scorer and a report.

A case is a page and a label file beside it that lists every fact an analyst would record
(docs/eval.md): real published pages (their text as published, with the address), split
once by address into ``dev`` (tuned on) and ``test`` (only measured), and hand-made pages in
the real sources' HTML shapes. Typical use::

    report = evaluate(Path("tests/eval"), gazetteer)   # reads, extracts, scores
    report.kinds["funding"].precision
"""

from watcher.eval.labels import PARTS, Case, LabelFact, load_case, load_cases, split_part
from watcher.eval.report import HANDMADE, REAL, THRESHOLDS, Floors, floors_of, measures, verdict
from watcher.eval.run import evaluate, predict, read_case
from watcher.eval.score import Counts, PageResult, Report, score
from watcher.eval.shapes import SHAPES

__all__ = [
    "HANDMADE",
    "PARTS",
    "REAL",
    "SHAPES",
    "THRESHOLDS",
    "Case",
    "Counts",
    "Floors",
    "LabelFact",
    "PageResult",
    "Report",
    "evaluate",
    "floors_of",
    "load_case",
    "load_cases",
    "measures",
    "predict",
    "read_case",
    "score",
    "split_part",
    "verdict",
]
