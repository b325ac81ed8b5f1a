"""Serve a site's catalogue fixtures (tests/fixtures/sources/<site>/) from a LocalServer.

Each site directory mirrors the real site's paths: the file ``gia/rss/general_en.xml``
is served at ``/gia/rss/general_en.xml``; a ``.../index.html`` is also served at its
directory's path (``/`` for a top-level one, ``/news`` for ``news/index.html``).
``site.yaml`` names the real ``host`` (or ``hosts``), extra ``routes`` (path, possibly
with a query -> file) and what each shipped source must yield (``expect``).

Fixture bodies keep the real absolute URLs (``https://www.info.gov.hk/...``) as the real
feeds do; they are rewritten to the local server when served, so links lead back to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import HttpUrl

from tests.helpers.http_server import LocalServer, Reply
from watcher.config.sources import SourceBase

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
SITE_FILE = "site.yaml"
TYPES = {".xml": "application/rss+xml", ".txt": "text/plain; charset=utf-8",
         ".pdf": "application/pdf"}
NOT_SERVED = {SITE_FILE, "make_fixtures.py"}  # a site's notes and fixture builders


@dataclass
class Site:
    name: str
    directory: Path
    hosts: list[str]
    expect: dict[str, dict[str, Any]]
    twins: list[list[str]] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path) -> Site:
        data = yaml.safe_load((directory / SITE_FILE).read_text(encoding="utf-8"))
        hosts = data.get("hosts") or [data["host"]]
        return cls(directory.name, directory, hosts, data.get("expect") or {},
                   data.get("twins") or [], data.get("routes") or {})

    def files(self) -> dict[str, Path]:
        """Local path -> fixture file."""
        out: dict[str, Path] = {}
        for file in sorted(self.directory.rglob("*")):
            if not file.is_file() or file.name in NOT_SERVED:
                continue
            path = "/" + file.relative_to(self.directory).as_posix()
            out[path] = file
            if file.name == "index.html":
                folder = path[: -len("index.html")]
                out[folder] = file
                if folder != "/":
                    out[folder.rstrip("/")] = file
        for path, name in self.routes.items():
            out[path] = self.directory / name
        return out

    def serve(self, server: LocalServer) -> None:
        for path, file in self.files().items():
            body = file.read_bytes()
            for host in self.hosts:
                for scheme in ("https", "http"):
                    body = body.replace(f"{scheme}://{host}".encode(), server.base_url.encode())
            content_type = TYPES.get(file.suffix, "text/html")
            server.routes[path] = Reply(200, {"Content-Type": content_type,
                                              "ETag": f'"{file.stat().st_mtime_ns}"'}, body)


def sites() -> list[Site]:
    """The catalogue's sites: every fixture directory with a site.yaml, except those that
    say ``catalogue: false`` (fixtures made for one test, such as twins/)."""
    found = []
    for directory in sorted(FIXTURES.iterdir()):
        file = directory / SITE_FILE
        if file.is_file() and yaml.safe_load(file.read_text(encoding="utf-8")).get(
                "catalogue", True):
            found.append(Site.load(directory))
    return found


def local_copy(source: SourceBase, server: LocalServer) -> SourceBase:
    """The source with its URL moved to the local server (same path and query)."""
    parts = urlsplit(str(source.url))
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return source.model_copy(update={"url": HttpUrl(server.base_url + path)})
