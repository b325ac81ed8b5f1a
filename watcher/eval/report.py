"""What ``watcher eval`` prints: one row per measure, and the worst pages' mistakes."""

from __future__ import annotations

from watcher.eval.score import Counts, Report

# The thresholds issue 5 set for trusting extraction; tests/unit/test_eval.py asserts them.
THRESHOLDS: dict[str, tuple[float, float]] = {"funding": (0.95, 0.90), "facility": (0.95, 0.90)}


def measures(report: Report) -> list[tuple[str, Counts]]:
    """(label, counts) for each fact kind, then amounts and statuses."""
    rows = [(kind, counts) for kind, counts in report.kinds.items()]
    rows += [("amounts (HKD, exact)", report.amounts), ("statuses", report.statuses)]
    return rows


def verdict(report: Report) -> list[str]:
    """The thresholds the report misses, as readable lines; empty when all hold."""
    misses = []
    for kind, (precision, recall) in THRESHOLDS.items():
        counts = report.kinds[kind]
        if counts.precision < precision:
            misses.append(f"{kind} precision {counts.precision:.3f} < {precision}")
        if counts.recall < recall:
            misses.append(f"{kind} recall {counts.recall:.3f} < {recall}")
    if report.wrong_amounts:
        misses.append(f"{report.wrong_amounts} amounts not exact to the dollar")
    if report.negative_funding:
        misses.append(f"{report.negative_funding} funding facts on negative pages")
    return misses
