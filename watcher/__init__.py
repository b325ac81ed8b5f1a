"""watcher: watches official pages for new funds, changed amounts and new facilities."""

__version__ = "0.1.0"
