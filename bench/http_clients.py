"""CPU cost of the HTTP client alone: full pages, then conditional GETs, to one loopback host.

    python bench/http_clients.py                          # every client installed, 2 runs
    python bench/http_clients.py --client httpx2 --client watcher --runs 3

The page server (bench/server.py: GIA-shaped pages of 30-60 KB, 45 KB on average, each
with an ETag) runs in this process; each client runs in a child process of its own, which
measures its own CPU time (``time.process_time``), so the server's work is never counted,
and its peak RSS (the interpreter, the client's modules, its buffers).
In the child: a warm-up of 32 requests (imports, connections), then ``--requests`` full
pages (200), then the same pages again with their ETags (304), ``--concurrency`` at a time
through one client. Bodies are read in chunks, as watcher reads them under its size cap.
Runs alternate the clients' order. Clients:

    aiohttp         aiohttp's ClientSession (watcher's client before httpx)
    httpx           httpx.AsyncClient on its own transport (httpcore)
    httpx-aiohttp   httpx.AsyncClient on the httpx-aiohttp transport (aiohttp underneath)
    httpx2          httpx2.AsyncClient on its own transport (httpcore2)
    httpx2-aiohttp  httpx2.AsyncClient on httpx-aiohttp's httpx2 transport
    httpx2-watcher  httpx2.AsyncClient on watcher's own aiohttp transport (no address
                    policy: loopback), the client watcher fetches with
    watcher         watcher.fetch.Fetcher (address policy, robots off, no per-host delay):
                    what a poll pays per request, the client plus watcher's own work

A client whose package is not installed is reported and left out. To compare httpx 0.28
with a newer httpx, run this once in a virtualenv holding each.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CLIENTS = ["aiohttp", "httpx", "httpx-aiohttp", "httpx2", "httpx2-aiohttp",
           "httpx2-watcher", "watcher"]
PACKAGES = {"aiohttp": ["aiohttp"], "httpx": ["httpx", "httpcore"],
            "httpx-aiohttp": ["httpx", "httpx-aiohttp", "aiohttp"],
            "httpx2": ["httpx2", "httpcore2"],
            "httpx2-aiohttp": ["httpx2", "httpx-aiohttp", "aiohttp"],
            "httpx2-watcher": ["httpx2", "aiohttp", "watcher"], "watcher": ["watcher"]}
CHUNK = 64 * 1024
WARM_UP = 32

# One GET: url, request headers -> (status, etag, body bytes read).
Get = Callable[[str, dict[str, str]], Awaitable[tuple[int, str | None, int]]]


# -- in the child: one client, measured ---------------------------------------------------

async def _measure(client: str, urls: list[str], concurrency: int) -> dict[str, Any]:
    async with _open(client) as get:
        await _batch(get, urls[:WARM_UP], {}, concurrency)
        started, wall = time.process_time(), time.perf_counter()
        etags = await _batch(get, urls, {}, concurrency)
        full_cpu, full_wall = time.process_time() - started, time.perf_counter() - wall
        started, wall = time.process_time(), time.perf_counter()
        await _batch(get, urls, etags, concurrency, expect=304)
        cond_cpu, cond_wall = time.process_time() - started, time.perf_counter() - wall
    return {"full_cpu_s": full_cpu, "full_wall_s": full_wall,
            "conditional_cpu_s": cond_cpu, "conditional_wall_s": cond_wall,
            "peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """This process's VmHWM: the interpreter, the client's modules and its buffers."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _batch(get: Get, urls: list[str], etags: dict[str, str], concurrency: int,
                 expect: int = 200) -> dict[str, str]:
    """Every URL once, ``concurrency`` at a time; the ETag of each."""
    queue = list(reversed(urls))
    seen: dict[str, str] = {}

    async def worker() -> None:
        while queue:
            url = queue.pop()
            headers = {"If-None-Match": etags[url]} if url in etags else {}
            status, etag, size = await get(url, headers)
            if status != expect or (status == 200 and size < 1000):
                raise SystemExit(f"{url}: HTTP {status}, {size} bytes (expected {expect})")
            seen[url] = etag or ""

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return seen


class _open:
    """``async with _open(name) as get:`` one client, its connections reused."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closers: list[Callable[[], Awaitable[Any]]] = []

    async def __aenter__(self) -> Get:
        name = self.name
        if name == "aiohttp":
            return await self._aiohttp()
        if name == "watcher":
            return await self._watcher()
        if name.startswith("httpx2"):
            import httpx2 as httpx
        else:
            import httpx  # type: ignore[no-redef]
        transport: Any = None
        if name == "httpx2-watcher":
            sys.path.insert(0, str(REPO))
            import aiohttp

            from watcher.fetch.connect import AiohttpTransport
            transport = AiohttpTransport(aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0)))
        elif name.endswith("-aiohttp"):
            import aiohttp
            if name.startswith("httpx2"):
                from httpx_aiohttp.httpx2 import AiohttpTransport
            else:
                from httpx_aiohttp import AiohttpTransport  # type: ignore[assignment]
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
            transport = AiohttpTransport(client=session)  # type: ignore[call-arg]
        client = httpx.AsyncClient(
            transport=transport, timeout=30.0,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64))
        self.closers.append(client.aclose)

        async def get(url: str, headers: dict[str, str]) -> tuple[int, str | None, int]:
            size = 0
            async with client.stream("GET", url, headers=headers) as response:
                async for chunk in response.aiter_bytes(CHUNK):
                    size += len(chunk)
                return response.status_code, response.headers.get("ETag"), size

        return get

    async def _aiohttp(self) -> Get:
        import aiohttp
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.closers.append(session.close)

        async def get(url: str, headers: dict[str, str]) -> tuple[int, str | None, int]:
            size = 0
            async with session.get(url, headers=headers) as response:
                async for chunk in response.content.iter_chunked(CHUNK):
                    size += len(chunk)
                return response.status, response.headers.get("ETag"), size

        return get

    async def _watcher(self) -> Get:
        sys.path.insert(0, str(REPO))
        from watcher.fetch import Fetcher, FetchPolicy
        from watcher.fetch.address import AddressPolicy

        # The page server is on loopback, which watcher refuses unless allowed.
        fetcher = Fetcher(FetchPolicy(per_host_delay_s=0, per_host_concurrency=64,
                                      obey_robots=False, retries=0,
                                      allow=AddressPolicy.parse("127.0.0.0/8")))
        await fetcher.__aenter__()
        self.closers.append(fetcher.__aexit__)

        async def get(url: str, headers: dict[str, str]) -> tuple[int, str | None, int]:
            result = await fetcher.fetch(url, etag=headers.get("If-None-Match"))
            if result.error:
                raise SystemExit(f"{url}: {result.error}")
            return result.status or 0, result.etag, len(result.content)

        return get

    async def __aexit__(self, *exc: object) -> None:
        for close in reversed(self.closers):
            await close()


# -- in the parent: the server, the children, the table -----------------------------------

def _versions(client: str) -> str | None:
    """"httpx 0.28.1, httpcore 1.0.9", or None when a package is missing."""
    found = []
    for package in PACKAGES[client]:
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            return None
    return ", ".join(found)


def _span(values: list[float], form: str = "{:.2f}") -> str:
    low, high = form.format(min(values)), form.format(max(values))
    return low if low == high else f"{low}-{high}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _child(client: str, urls: list[str], concurrency: int) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", client, "--concurrency", str(concurrency)]
    done = subprocess.run(argv, input="\n".join(urls), capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{client} failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", action="append", choices=CLIENTS,
                        help="a client to measure (repeatable; default: all installed)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        urls = sys.stdin.read().split()
        print(json.dumps(asyncio.run(_measure(args.child, urls, args.concurrency))))
        return

    sys.path.insert(0, str(HERE))
    from server import PageServer

    clients = []
    for client in args.client or CLIENTS:
        versions = _versions(client)
        if versions is None:
            print(f"{client}: not installed, left out")
        else:
            clients.append((client, versions))
    rows: dict[str, list[dict[str, Any]]] = {client: [] for client, _ in clients}
    with PageServer(args.requests, max_requests=(args.requests * 2 + WARM_UP)
                    * len(clients) * args.runs + 100) as server:
        urls = server.page_urls()
        for run in range(args.runs):
            order = clients if run % 2 == 0 else list(reversed(clients))
            for client, _ in order:
                rows[client].append(_child(client, urls, args.concurrency))
        pages = server.site.n
        mean_kb = sum(len(server.site.page_body(i)) for i in range(pages)) / pages / 1024

    print(f"{args.requests:,} GETs to 127.0.0.1, {args.concurrency} at a time, pages of "
          f"{mean_kb:.0f} KB on average; CPU seconds of the client process "
          f"({args.runs} runs each)")
    print(f"{datetime.now(UTC):%Y-%m-%d}, {_cpu_model()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{'client':16} {'304s: CPU s':>14} {'full pages: CPU s':>18} {'peak RSS MB':>12}"
          "  versions")
    for client, versions in clients:
        cond = _span([r["conditional_cpu_s"] for r in rows[client]])
        full = _span([r["full_cpu_s"] for r in rows[client]])
        rss = _span([r["peak_rss_mb"] for r in rows[client]], "{:.0f}")
        print(f"{client:16} {cond:>14} {full:>18} {rss:>12}  {versions}")
    if args.json:
        args.json.write_text(json.dumps({"clients": dict(clients), "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
