"""Measuring extraction: a labelled corpus of pages, a scorer and a report.

A case is a page (HTML in one of the real sources' shapes) and a label file beside it that
lists every fact an analyst would record (docs/eval.md). Typical use::

    report = evaluate(Path("tests/eval"), gazetteer)   # reads, extracts, scores
    report.kinds["funding"].precision
"""

from watcher.eval.labels import Case, LabelFact, load_case, load_cases
from watcher.eval.report import THRESHOLDS, measures, verdict
from watcher.eval.run import evaluate, predict, read_case
from watcher.eval.score import Counts, PageResult, Report, score
from watcher.eval.shapes import SHAPES

__all__ = [
    "SHAPES",
    "THRESHOLDS",
    "Case",
    "Counts",
    "LabelFact",
    "PageResult",
    "Report",
    "evaluate",
    "load_case",
    "load_cases",
    "measures",
    "predict",
    "read_case",
    "score",
    "verdict",
]
