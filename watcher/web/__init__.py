"""The read-only web interface: change log, facts, sources, Atom feed and JSON API."""

from watcher.web.app import create_app

__all__ = ["create_app"]
