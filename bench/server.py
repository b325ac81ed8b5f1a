"""A bounded page server on 127.0.0.1 for the benchmark: N press releases in the GIA shape.

Each page is 30-60 KB: site chrome (navigation, scripts, styles) around a headline
``span#PRHeadlineSpan`` and a body ``span#pressrelease`` ending in the ``div.mB15.f15``
footer, as on www.info.gov.hk. One page in ten announces a fund with an HKD amount, so
extraction finds facts and a change of such a page changes a fact. Pages are listed in RSS
feeds of at most 1,000 items (``/gia/rss/bench_<k>.xml``). Every response carries an ETag
and a Last-Modified date and honours If-None-Match / If-Modified-Since (RFC 9110: the
ETag wins when both are sent).

``change(fraction, seed)`` edits that fraction of pages (a new paragraph; funding pages
also change their amount) and the feeds that list them. ``stats()`` counts requests,
conditional requests, 304s and bytes sent since the last ``reset_stats()``.

The server is bounded: it refuses requests beyond ``max_requests`` and shuts itself down
after ``max_lifetime_s`` even if nobody stops it.

    python bench/server.py --n 1000 --port 8000     # serve until the lifetime runs out
"""

from __future__ import annotations

import argparse
import email.utils
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FEED_SIZE = 1000  # a source may follow at most 1,000 items per poll
PAGE_PATH = "/gia/general/bench/P{:07d}.htm"
FEED_PATH = "/gia/rss/bench_{}.xml"

_ADJ = ["Smart", "Green", "Advanced", "Digital", "Precision", "Marine", "Robotic", "Quantum",
        "Biomedical", "Sustainable", "Creative", "Aerospace", "Microelectronic", "Clean",
        "Connected", "Industrial", "Electric", "Photonic", "Agri-tech", "Circular"]
_NOUN = ["Production", "Manufacturing", "Materials", "Logistics", "Textiles", "Electronics",
         "Packaging", "Automation", "Pharmaceuticals", "Foods", "Batteries", "Sensors",
         "Semiconductors", "Construction", "Shipping", "Printing", "Chemicals", "Metals",
         "Plastics", "Instruments"]
_TYPE = ["Support Fund", "Matching Fund", "Subsidy Scheme", "Development Programme"]

_FILLER = [
    "The spokesman said that the Government attaches great importance to the views of the "
    "public and will continue to listen to stakeholders during the consultation period. "
    "Members of the public may submit their comments by post, by fax or by email.",
    "According to the statistics released today, the number of visitor arrivals in the "
    "third quarter rose by 5.2 per cent compared with the same period last year, while "
    "the average hotel occupancy rate stood at 87 per cent.",
    "The department reminded members of the public to stay alert during the typhoon season, "
    "to keep away from the shoreline and to follow the latest weather information issued by "
    "the Observatory on its website and mobile application.",
    "The Secretary visited two districts this morning to learn about the work of local "
    "community organisations, and met residents to hear their views on the improvement of "
    "public facilities and transport services in the neighbourhood.",
    "A spokesman for the bureau said that the relevant legislative amendments would be "
    "introduced into the Legislative Council within the current legislative session, after "
    "taking into account the comments received during the public engagement exercise.",
    "The inspection covered 124 premises across the territory. Officers checked compliance "
    "with the licensing conditions and issued advice on fire safety, ventilation and the "
    "proper storage of goods. Follow-up inspections will be carried out.",
    "The Government will continue to monitor the situation closely and maintain close "
    "liaison with the relevant Mainland authorities. Updates will be announced on the "
    "dedicated webpage and through the mobile application in due course.",
    "The exhibition is open to the public free of charge from 10am to 6pm daily, except on "
    "Tuesdays. Guided tours in Cantonese, English and Putonghua are available on weekends; "
    "registration is required and places will be allocated on a first-come basis.",
    "The committee noted the progress of the works and the expenditure incurred so far. "
    "Members were briefed on the revised programme, the arrangements for traffic diversion "
    "and the measures to minimise noise and dust nuisance to nearby residents.",
    "Tenders are invited for the provision of cleansing services at government offices in "
    "Kowloon. Tender documents may be obtained from the procurement section; the closing "
    "time for submission is noon on the date stated in the tender notice.",
]
_TITLES = ["LCQ{n}: Public transport services", "Visitor arrivals statistics for period {n}",
           "Tender notice no. {n} for cleansing services", "Inspection results: round {n}",
           "Secretary visits district (photo {n})", "Consultation on proposals, paper {n}"]


def fund_name(index: int) -> str:
    """A name unique to the page, in the shapes the extractor knows (``... Fund``)."""
    slot = index // 10
    return (f"{_ADJ[slot % 20]} {_NOUN[(slot // 20) % 20]} "
            f"{_TYPE[(slot // 400) % 4]}" + (f" {slot // 1600 + 1}" if slot >= 1600 else ""))


def is_fund_page(index: int) -> bool:
    return index % 10 == 0


def fund_amount_million(index: int, version: int) -> int:
    return 100 + (index * 37) % 900 + 50 * version


def _chrome(rng: random.Random, size: int) -> str:
    """Site navigation and scripts around the release: what a reader must skip."""
    parts: list[str] = []
    total = 0
    while total < size:
        n = rng.randrange(100000)
        part = (f'<li class="menuItem"><a href="/gia/general/menu/{n}.htm" '
                f'title="Section {n}">Section {n} information and services</a></li>\n')
        if n % 7 == 0:
            part = (f"<script>var s{n}=document.getElementById('m{n}');"
                    f"if(s{n}){{s{n}.style.display='none';}}</script>\n")
        parts.append(part)
        total += len(part)
    return "".join(parts)


def render_page(index: int, version: int, seed: int = 0) -> bytes:
    rng = random.Random(f"{seed}:{index}")
    target = rng.randrange(30_000, 58_000)
    if is_fund_page(index):
        name = fund_name(index)
        title = f"Government launches {name}"
        lead = (f"     The Government today announced the launch of the {name}, a "
                f"HK${fund_amount_million(index, version)} million fund that will subsidise "
                "manufacturers on a 1:1 matching basis to set up smart production lines in "
                "Hong Kong.")
    else:
        title = rng.choice(_TITLES).format(n=index)
        lead = "     " + rng.choice(_FILLER)
    paragraphs = [lead]
    body_size = rng.randrange(4_000, 12_000)
    while sum(map(len, paragraphs)) < body_size:
        paragraphs.append("     " + rng.choice(_FILLER))
    if version:
        paragraphs.append(f"     This release was updated (revision {version}) to add "
                          "further details of the arrangements.")
    body = "<br><br>\n".join(paragraphs)
    head_chrome = _chrome(rng, (target - body_size) * 2 // 3)
    tail_chrome = _chrome(rng, (target - body_size) // 3)
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{title}</title>
<link rel="stylesheet" href="/gia/css/style.css">
</head>
<body>
<div id="headerBanner">20-11-2024</div>
<ul id="navigation">
{head_chrome}</ul>
<div id="contentBody" class="row">
 <div class="rel">
  <div class="fontSize1" id="PRHeadline"><span id="PRHeadlineSpan">{title}</span></div>
  <div id="starBar" class="fontSize1">{"*" * 85}</div>
 </div>
 <span id="pressrelease" class="fontSize1">
{body}
  <div> </div>
  <div class="mB15 f15">Ends/Wednesday, November 20, 2024
  <br>
   Issued at HKT 16:30
  </div>
  <div style="margin-top:10px;">
   NNNN
  </div>
 </span>
</div>
<ul id="footerLinks">
{tail_chrome}</ul>
</body>
</html>
"""
    return page.encode()


@dataclass
class Stats:
    requests: int = 0
    conditional: int = 0
    not_modified: int = 0
    bytes_sent: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class Site:
    """The pages' state: versions, validators, the rendered bodies (cached)."""

    def __init__(self, n: int, seed: int = 0) -> None:
        if n < 1:
            raise ValueError("n must be at least 1")
        self.n = n
        self.seed = seed
        started = time.time()
        self.versions = [0] * n
        self.modified = [started] * n
        self.feed_versions = [0] * self.feed_count
        self.feed_modified = [started] * self.feed_count
        self._cache: dict[int, tuple[int, bytes]] = {}
        self.lock = threading.Lock()

    @property
    def feed_count(self) -> int:
        return (self.n + FEED_SIZE - 1) // FEED_SIZE

    def feed_range(self, k: int) -> range:
        return range(k * FEED_SIZE, min(self.n, (k + 1) * FEED_SIZE))

    def change(self, fraction: float, seed: int) -> list[int]:
        """Edit ``fraction`` of the pages (at least one); returns their indexes."""
        count = max(1, round(self.n * fraction))
        chosen = sorted(random.Random(f"change:{seed}").sample(range(self.n), count))
        self.change_pages(chosen)
        return chosen

    def change_pages(self, indexes: list[int]) -> None:
        now = time.time()
        with self.lock:
            for i in indexes:
                self.versions[i] += 1
                # At least a second later: the feed shows the date to the second, and a
                # change within the same second as the last left the feed byte for byte
                # the same (watcher then rightly follows none of its items).
                self.modified[i] = max(now, self.modified[i] + 1)
                k = i // FEED_SIZE
                self.feed_versions[k] += 1
                self.feed_modified[k] = max(now, self.feed_modified[k] + 1)

    def page(self, index: int) -> tuple[str, float, bytes | None]:
        version = self.versions[index]
        etag = f'"p{index}-v{version}"'
        cached = self._cache.get(index)
        body = cached[1] if cached and cached[0] == version else None
        return etag, self.modified[index], body

    def page_body(self, index: int) -> bytes:
        version = self.versions[index]
        body = render_page(index, version, self.seed)
        self._cache[index] = (version, body)
        return body

    def feed(self, k: int, base_url: str) -> bytes:
        items = []
        for i in self.feed_range(k):
            when = email.utils.formatdate(self.modified[i], localtime=False)
            title = (f"Government launches {fund_name(i)}" if is_fund_page(i)
                     else f"Press release {i}")
            items.append(f"<item><title>{title}</title>"
                         f"<link>{base_url}{PAGE_PATH.format(i)}</link>"
                         f"<description>Press release {i}</description>"
                         f"<pubDate>{when}</pubDate></item>")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
                f"<title>Press Releases {k}</title><link>{base_url}/gia/general/today.htm</link>"
                "<description>Benchmark press releases</description><language>en</language>\n"
                + "\n".join(items) + "\n</channel></rss>\n").encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for any client that wants it
    # TCP_NODELAY, as web servers set it (nginx's tcp_nodelay is on by default). Without
    # it the body, written after the headers, waits for the client's delayed ACK: up to
    # 40 ms per response on a kept-alive connection (a new connection starts in quick-ACK
    # mode and escapes it), which slowed keep-alive clients alone (1,000 cached pages
    # over 8 connections: 5.4 s).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def end_headers(self) -> None:
        self.server.count_bytes(sum(len(h) for h in getattr(self, "_headers_buffer", [])))
        super().end_headers()

    def do_GET(self) -> None:
        server = self.server
        if not server.admit():
            self._send(503, b"request limit reached\n", {"Connection": "close"})
            return
        conditional = bool(self.headers.get("If-None-Match")
                           or self.headers.get("If-Modified-Since"))
        path = self.path.split("?", 1)[0]
        site = server.site
        if path.startswith("/gia/general/bench/P") and path.endswith(".htm"):
            index = _number(path[len("/gia/general/bench/P"):-4], site.n)
            if index is None:
                return self._finish(404, b"no such page\n", {}, conditional)
            etag, modified, body = site.page(index)
            if self._not_modified(etag, modified):
                return self._finish(304, b"", _validators(etag, modified), conditional)
            body = body or site.page_body(index)
            return self._finish(200, body, {"Content-Type": "text/html; charset=utf-8",
                                            **_validators(etag, modified)}, conditional)
        if path.startswith("/gia/rss/bench_") and path.endswith(".xml"):
            k = _number(path[len("/gia/rss/bench_"):-4], site.feed_count)
            if k is None:
                return self._finish(404, b"no such feed\n", {}, conditional)
            etag = f'"feed{k}-v{site.feed_versions[k]}"'
            modified = site.feed_modified[k]
            if self._not_modified(etag, modified):
                return self._finish(304, b"", _validators(etag, modified), conditional)
            body = site.feed(k, server.base_url)
            return self._finish(200, body, {"Content-Type": "application/rss+xml",
                                            **_validators(etag, modified)}, conditional)
        self._finish(404, b"not found\n", {}, conditional)

    def _not_modified(self, etag: str, modified: float) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:  # RFC 9110 13.1.3: If-Modified-Since is then ignored
            return etag in [t.strip() for t in match.split(",")] or match.strip() == "*"
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                parsed = email.utils.parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
            return int(modified) <= parsed
        return False

    def _finish(self, status: int, body: bytes, headers: dict[str, str],
                conditional: bool) -> None:
        self.server.record(status, conditional, len(body))
        self._send(status, body, headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


def _validators(etag: str, modified: float) -> dict[str, str]:
    return {"ETag": etag, "Last-Modified": email.utils.formatdate(modified, usegmt=True)}


def _number(text: str, limit: int) -> int | None:
    return int(text) if text.isdigit() and int(text) < limit else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A listen backlog like a web server's (socketserver's default is 5): with more
    # clients connecting at once the kernel dropped SYNs, retried only after 1 s.
    request_queue_size = 128
    base_url = ""

    def __init__(self, site: Site, max_requests: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.site = site
        self.max_requests = max_requests
        self.stats = Stats()
        self.total_requests = 0
        self.lock = threading.Lock()

    def admit(self) -> bool:
        with self.lock:
            self.total_requests += 1
            return self.total_requests <= self.max_requests

    def record(self, status: int, conditional: bool, size: int) -> None:
        with self.lock:
            s = self.stats
            s.requests += 1
            s.conditional += conditional
            s.not_modified += status == 304
            s.bytes_sent += size
            s.by_status[status] = s.by_status.get(status, 0) + 1

    def count_bytes(self, size: int) -> None:
        with self.lock:
            self.stats.bytes_sent += size


class PageServer:
    """``with PageServer(n) as server:`` serves on ``server.base_url`` in a thread."""

    def __init__(self, n: int, *, seed: int = 0, max_requests: int | None = None,
                 max_lifetime_s: float = 1800.0) -> None:
        self.site = Site(n, seed)
        self._server = _Server(self.site, max_requests or 40 * n + 1000)
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        self._server.base_url = self.base_url
        self.max_lifetime_s = max_lifetime_s
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._timer = threading.Timer(max_lifetime_s, self._server.shutdown)
        self._timer.daemon = True

    def feed_urls(self) -> list[str]:
        return [self.base_url + FEED_PATH.format(k) for k in range(self.site.feed_count)]

    def page_urls(self) -> list[str]:
        return [self.base_url + PAGE_PATH.format(i) for i in range(self.site.n)]

    def change(self, fraction: float, seed: int) -> list[int]:
        return self.site.change(fraction, seed)

    def stats(self) -> Stats:
        with self._server.lock:
            s = self._server.stats
            return Stats(s.requests, s.conditional, s.not_modified, s.bytes_sent,
                         dict(s.by_status))

    def reset_stats(self) -> None:
        with self._server.lock:
            self._server.stats = Stats()

    def start(self) -> PageServer:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> PageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of pages")
    parser.add_argument("--lifetime", type=float, default=600.0, help="seconds, then stop")
    parser.add_argument("--max-requests", type=int, default=None)
    args = parser.parse_args()
    server = PageServer(args.n, max_requests=args.max_requests, max_lifetime_s=args.lifetime)
    with server:
        print("feeds:", *server.feed_urls(), sep="\n  ", flush=True)
        server._thread.join(timeout=args.lifetime + 5)


if __name__ == "__main__":
    main()
