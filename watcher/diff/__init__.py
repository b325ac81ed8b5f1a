"""Diff: what a page says now against what is known, as changes.

    changes.py    pure: (facts of a page, its previous version, the current state of
                  each fact) -> the changes worth reporting
    describe.py   a change in one line, for tables, logs and the feed
"""

from watcher.diff.changes import compare, diff

__all__ = ["compare", "diff"]
