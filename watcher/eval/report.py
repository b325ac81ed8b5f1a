"""What ``watcher eval`` prints: one row per measure, the floors each part must meet, and
the worst pages' mistakes."""

from __future__ import annotations

from dataclasses import dataclass

from watcher.eval.score import Counts, Report


@dataclass(frozen=True, slots=True)
class Floors:
    """What a part of the corpus must reach for extraction to be trusted."""

    kinds: dict[str, tuple[float, float]]  # kind -> (precision, recall)
    amounts_exact: float
    status_accuracy: float
    role_errors: int = 0
    negative_funding: int = 0


# Real pages (issue 14): the floors the `test` part must meet in each language for alerts
# to be trusted on pages nobody tuned on. tests/unit/test_eval.py asserts them.
REAL = Floors({"funding": (0.97, 0.92), "facility": (0.97, 0.92)}, amounts_exact=0.95,
              status_accuracy=0.85)
# Hand-made pages (issue 5), written and tuned here.
HANDMADE = Floors({"funding": (0.95, 0.90), "facility": (0.95, 0.90)}, amounts_exact=0.95,
                  status_accuracy=0.85)
THRESHOLDS = HANDMADE.kinds


def floors_of(part: str) -> Floors:
    return HANDMADE if part == "handmade" else REAL


def measures(report: Report) -> list[tuple[str, Counts]]:
    """(label, counts) for each fact kind, then sizes and statuses as (key, value) pairs."""
    rows = [(kind, counts) for kind, counts in report.kinds.items()]
    rows += [("sizes (HKD)", report.amounts), ("statuses", report.statuses)]
    return rows


def verdict(report: Report, floors: Floors = HANDMADE) -> list[str]:
    """The floors the report misses, as readable lines; empty when all hold."""
    misses = []
    for kind, (precision, recall) in floors.kinds.items():
        counts = report.kinds[kind]
        if counts.precision < precision:
            misses.append(f"{kind} precision {counts.precision:.3f} < {precision}")
        if counts.recall < recall:
            misses.append(f"{kind} recall {counts.recall:.3f} < {recall}")
    if report.amounts_exact < floors.amounts_exact:
        misses.append(f"amounts exact {report.amounts_exact:.3f} < {floors.amounts_exact}")
    if report.role_errors > floors.role_errors:
        misses.append(f"{report.role_errors} amount-role errors")
    if report.status_accuracy < floors.status_accuracy:
        misses.append(f"status accuracy {report.status_accuracy:.3f} < "
                      f"{floors.status_accuracy}")
    if report.negative_funding > floors.negative_funding:
        misses.append(f"{report.negative_funding} funding facts on negative pages")
    return misses
