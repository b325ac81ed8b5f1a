"""Benchmark: one full watcher cycle against urlwatch 2.29 on the same local pages.

    python bench/run.py --n 1000                 # the table, the ratios, the latency probe
    python bench/run.py --n 100 --n 1000 --n 5000
    python bench/run.py --n 50 --rounds 1 --no-urlwatch --no-probe   # smoke test

For each N: a page server on 127.0.0.1 (bench/server.py) serves N GIA-shaped press
releases of 30-60 KB listed in RSS feeds of up to 1,000 items. Each tool runs as its own
process, measured with wait4(): wall and CPU seconds, peak RSS. The server counts
requests, conditional requests, 304s and bytes sent. Round 0 is cold (empty database /
cache); each later round first changes ``--fraction`` of the pages (5%: new paragraphs,
and funding pages change their amount) and then runs watcher and urlwatch, alternating
which goes first.

watcher runs ``python -m watcher check --json`` (fetch, read, extract, diff, store, rules,
outbox, delivery to a local SMTP server) with politeness off for the loopback host:
WATCHER_PER_HOST_DELAY_S=0, WATCHER_PER_HOST_CONCURRENCY=16, WATCHER_OBEY_ROBOTS=false,
and WATCHER_FETCH_ALLOW=127.0.0.0/8 (watcher fetches only public addresses by default).
urlwatch has no such limits. urlwatch is installed into bench/.venv-urlwatch from the
package index on first use, and runs one url job per page, reporters off.

The latency probe changes one fund's amount 20 times and measures, in this process, from
the start of the poll that sees the change to the SMTP server receiving the email.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from server import FEED_SIZE, PageServer, is_fund_page  # noqa: E402

URLWATCH_VERSION = "2.29"
URLWATCH_VENV = HERE / ".venv-urlwatch"
CONCURRENCY = 16
POLITENESS_OFF = {
    "WATCHER_PER_HOST_DELAY_S": "0",
    "WATCHER_PER_HOST_CONCURRENCY": str(CONCURRENCY),
    "WATCHER_OBEY_ROBOTS": "false",
}
# The page server is on loopback, which watcher refuses to fetch unless allowed.
LOOPBACK_ALLOWED = {"WATCHER_FETCH_ALLOW": "127.0.0.0/8"}
SMTP_USER, SMTP_PASSWORD = "bench", "bench-password"
RUN_TIMEOUT_S = 900.0


@dataclass
class Measure:
    n: int
    phase: str  # "cold" or "warm 1", "warm 2", ...
    tool: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    requests: int
    conditional: int
    not_modified: int
    bytes_received: int
    parsed: int | None  # pages read and extracted (watcher); None when not known
    store_bytes: int
    growth_bytes: int
    changed_pages: int
    exit_code: int
    note: str = ""


# -- SMTP --------------------------------------------------------------------------------

@dataclass
class Mailbox:
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or b"")
        with self.lock:
            self.arrivals.append((time.time(), str(message["Subject"])))
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def start_smtp(mailbox: Mailbox) -> tuple[Any, str]:
    import logging

    # aiosmtpd logs a warning about its own deprecated Session.login_data at every login
    # (its logger is "mail.log"); not news in a benchmark's output.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        if isinstance(data, LoginPassword):
            return AuthResult(success=data.password.decode() == SMTP_PASSWORD)
        return AuthResult(success=False, handled=False)

    with socket.socket() as probe:  # aiosmtpd cannot report a port 0 binding
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=check,
                            auth_require_tls=False)
    controller.start()
    url = (f"mailto://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}"
           "?from=watcher@example.org&to=ops@example.org")
    return controller, url


# -- processes ---------------------------------------------------------------------------

def peak_rss_mb(pid: int | str = "self") -> float | None:
    """The process's peak resident set (VmHWM) in MB, or None where /proc has no answer.

    Not ``ru_maxrss``: Linux keeps a process's maxrss across fork and exec, so a child
    started by this (large) process would report this process's size as its own peak."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def measure_process(argv: list[str], env: dict[str, str], cwd: Path,
                    out: Path) -> tuple[float, float, float, int, str]:
    """Run to completion; (wall s, CPU s, peak RSS MB, exit code, stdout). The peak is
    the child's own VmHWM, sampled while it runs (ru_maxrss where /proc is missing)."""
    peak: float | None = None
    with open(out, "wb") as stdout, open(out.with_suffix(".err"), "wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=stdout, stderr=stderr)
        deadline = started + RUN_TIMEOUT_S
        while True:  # bounded wait: a hung tool is killed, not waited for forever
            sample = peak_rss_mb(process.pid)
            if sample is not None:
                peak = max(peak or 0.0, sample)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return (wall, usage.ru_utime + usage.ru_stime,
            peak if peak is not None else usage.ru_maxrss / 1024,
            process.returncode, out.read_text(errors="replace"))


def sqlite_bytes(path: Path) -> int:
    """Bytes a SQLite database uses (pages in use, write-ahead log included), read through
    SQLite itself: file sizes would count free pages and a WAL file that a long-lived
    process keeps at its largest."""
    if not path.is_file():
        return 0
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


# -- watcher -----------------------------------------------------------------------------

class WatcherRun:
    name = "watcher"

    def __init__(self, work: Path, server: PageServer, notify: str) -> None:
        self.work = work
        self.db = work / "watcher.db"
        sources = work / "sources"
        sources.mkdir(parents=True)
        for k, url in enumerate(server.feed_urls()):
            (sources / f"bench-{k}.yaml").write_text(
                f"name: bench-{k}\nkind: rss\nurl: {url}\ninterval: 15m\n"
                f"max_items: {FEED_SIZE}\ntags: [gov, en]\nfollow:\n"
                '  title: "span#PRHeadlineSpan"\n  body: "span#pressrelease"\n'
                '  drop: ["div.mB15.f15"]\n')
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")},
            "WATCHER_DATABASE_URL": f"sqlite:///{self.db}",
            "WATCHER_SOURCES_DIR": str(sources),
            "WATCHER_RULES_DIR": str(REPO / "rules"),
            "WATCHER_NOTIFY": notify,
            **POLITENESS_OFF,
            **LOOPBACK_ALLOWED,
        }
        self.runs = 0

    def store_bytes(self) -> int:
        return sqlite_bytes(self.db)

    def run(self) -> tuple[float, float, float, int, int | None, str]:
        self.runs += 1
        out = self.work / f"check-{self.runs}.json"
        wall, cpu, rss, code, stdout = measure_process(
            [sys.executable, "-m", "watcher", "check", "--json"], self.env, REPO, out)
        parsed: int | None = None
        note = ""
        try:
            summary = json.loads(stdout)
            parsed = sum(s["documents"] for s in summary["sources"])
            errors = [s["error"] for s in summary["sources"] if s["error"]]
            note = f"{summary['sent']} mails" + (f"; errors: {errors[0][:80]}" if errors else "")
        except (ValueError, KeyError):
            err = out.with_suffix(".err").read_text(errors="replace").strip().splitlines()
            note = f"failed: {err[-1][:100] if err else 'no output'}"
        return wall, cpu, rss, code, parsed, note


class DaemonRun(WatcherRun):
    """The same cycle in a long-lived process (bench/cycle.py), as `watcher run` polls:
    start-up and imports are paid once, before the first cycle, and not measured."""

    name = "watcher daemon"

    def __init__(self, work: Path, server: PageServer, notify: str) -> None:
        super().__init__(work, server, notify)
        with open(work / "cycle.err", "wb") as stderr:  # the child keeps its own copy
            # -OO: `watcher run` starts itself so (watcher.service.relaunch)
            self.process = subprocess.Popen(
                [sys.executable, "-OO", str(HERE / "cycle.py")], env=self.env, cwd=REPO,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True)

    def run(self) -> tuple[float, float, float, int, int | None, str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("cycle\n")
        self.process.stdin.flush()
        line = _readline(self.process.stdout, RUN_TIMEOUT_S)
        if not line:
            err = (self.work / "cycle.err").read_text(errors="replace").strip().splitlines()
            return 0.0, 0.0, 0.0, 1, None, f"failed: {err[-1][:100] if err else 'no output'}"
        cycle = json.loads(line)
        note = f"{cycle['sent']} mails in {cycle['dispatch_s']:.1f} s"
        if cycle["errors"]:
            note += f"; errors: {cycle['errors'][0][:80]}"
        return (cycle["wall_s"], cycle["cpu_s"], cycle["peak_rss_mb"], 0, cycle["documents"],
                note)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _readline(stream: Any, timeout: float) -> str:
    """One line, or "" after ``timeout`` seconds (a hung cycle must not hang the bench)."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0] if got else ""


# -- urlwatch ----------------------------------------------------------------------------

def urlwatch_bin() -> Path:
    """urlwatch 2.29 in its own virtualenv, installed from the package index once."""
    binary = URLWATCH_VENV / "bin" / "urlwatch"
    if binary.exists():
        return binary
    print(f"installing urlwatch {URLWATCH_VERSION} into {URLWATCH_VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(URLWATCH_VENV)], check=True)
    subprocess.run([str(URLWATCH_VENV / "bin" / "pip"), "install", "-q",
                    f"urlwatch=={URLWATCH_VERSION}"], check=True)
    return binary


class UrlwatchRun:
    name = "urlwatch"

    def __init__(self, work: Path, server: PageServer) -> None:
        import yaml

        self.work = work
        work.mkdir(parents=True)
        self.binary = urlwatch_bin()
        self.urls = work / "urls.yaml"
        self.config = work / "urlwatch.yaml"
        self.cache = work / "cache.db"
        self.urls.write_text("\n---\n".join(f'url: "{u}"' for u in server.page_urls()) + "\n")
        # urlwatch writes its default configuration on first use; then reporters go off.
        empty = work / "empty.yaml"
        empty.write_text("")
        subprocess.run([str(self.binary), "--urls", str(empty), "--config", str(self.config),
                        "--cache", str(work / "scratch.db")], capture_output=True, check=True,
                       timeout=120)
        (work / "scratch.db").unlink(missing_ok=True)
        config = yaml.safe_load(self.config.read_text())
        for reporter in config["report"].values():
            if isinstance(reporter, dict) and "enabled" in reporter:
                reporter["enabled"] = False
        self.config.write_text(yaml.safe_dump(config))
        self.env = dict(os.environ)
        self.runs = 0

    def store_bytes(self) -> int:
        return sqlite_bytes(self.cache)

    def run(self) -> tuple[float, float, float, int, int | None, str]:
        self.runs += 1
        out = self.work / f"run-{self.runs}.txt"
        wall, cpu, rss, code, stdout = measure_process(
            [str(self.binary), "--urls", str(self.urls), "--config", str(self.config),
             "--cache", str(self.cache)], self.env, self.work, out)
        note = "" if code == 0 else "failed: " + stdout.strip()[-100:]
        return wall, cpu, rss, code, None, note


# -- one N -------------------------------------------------------------------------------

def compile_optimized_bytecode() -> None:
    """The daemon runs under -OO (watcher.service.relaunch), from the .opt-2.pyc files an installed
    daemon has: the Docker image compiles them, and a virtualenv gets them on the first
    start unless PYTHONDONTWRITEBYTECODE is set. Without them, every start compiles every
    module from source: a second and a half more, and about 3 MB more resident."""
    import sysconfig

    paths = {sysconfig.get_path("stdlib"), sysconfig.get_path("purelib"),
             sysconfig.get_path("platlib"), str(REPO / "watcher")}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    print("compiling -OO bytecode (once; later runs find it)", flush=True)
    # Unwritable directories and the stdlib's deliberately broken test files only
    # print errors: the daemon then compiles those few modules itself.
    subprocess.run([sys.executable, "-OO", "-m", "compileall", "-q", "-j0", *sorted(paths)],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def bench_n(n: int, rounds: int, fraction: float, with_urlwatch: bool, with_daemon: bool,
            notify: str, root: Path) -> list[Measure]:
    results: list[Measure] = []
    requests_per_round = 4 * (n + n // FEED_SIZE + 2)  # three tools, and some slack
    with PageServer(n, max_requests=requests_per_round * (rounds + 1) + 100,
                    max_lifetime_s=RUN_TIMEOUT_S * 2 * (rounds + 1)) as server:
        tools: list[WatcherRun | UrlwatchRun] = [WatcherRun(root / f"watcher-{n}", server,
                                                            notify)]
        if with_daemon:
            tools.append(DaemonRun(root / f"daemon-{n}", server, notify))
        if with_urlwatch:
            tools.append(UrlwatchRun(root / f"urlwatch-{n}", server))
        for r in range(rounds + 1):
            changed: list[int] = []
            if r:
                changed = server.change(fraction, seed=r)
            phase = "cold" if r == 0 else f"warm {r}"
            order = tools if r % 2 == 0 else list(reversed(tools))
            for tool in order:
                name = tool.name
                before = tool.store_bytes()
                server.reset_stats()
                wall, cpu, rss, code, parsed, note = tool.run()
                stats = server.stats()
                after = tool.store_bytes()
                results.append(Measure(
                    n=n, phase=phase, tool=name, wall_s=wall, cpu_s=cpu, peak_rss_mb=rss,
                    requests=stats.requests, conditional=stats.conditional,
                    not_modified=stats.not_modified, bytes_received=stats.bytes_sent,
                    parsed=parsed, store_bytes=after, growth_bytes=after - before,
                    changed_pages=len(changed), exit_code=code, note=note))
                print(f"  N={n} {phase:7} {name:14} {wall:7.2f}s  {note}", flush=True)
        for tool in tools:
            if isinstance(tool, DaemonRun):
                tool.close()
    return results


# -- latency probe -----------------------------------------------------------------------

def latency_probe(mailbox: Mailbox, notify: str, root: Path, changes: int = 20) -> list[float]:
    """Seconds from the start of the poll that sees a changed amount to the email's
    arrival at the SMTP server, for ``changes`` changes."""
    from watcher.pipeline import dispatch_outbox, poll_source
    from watcher.service.runtime import Runtime
    from watcher.service.settings import Settings

    work = root / "probe"
    with PageServer(100, max_requests=100 * (changes + 2) * 2 + 100,
                    max_lifetime_s=600) as server:
        sources = work / "sources"
        sources.mkdir(parents=True)
        (sources / "probe.yaml").write_text(
            f"name: probe\nkind: rss\nurl: {server.feed_urls()[0]}\ninterval: 15m\n"
            "max_items: 100\nfollow:\n  title: \"span#PRHeadlineSpan\"\n"
            "  body: \"span#pressrelease\"\n  drop: [\"div.mB15.f15\"]\n")
        settings = Settings(database_url=f"sqlite:///{work / 'watcher.db'}",
                            sources_dir=sources, rules_dir=REPO / "rules", notify=notify,
                            per_host_delay_s=0, per_host_concurrency=CONCURRENCY,
                            obey_robots=False,
                            fetch_allow=LOOPBACK_ALLOWED["WATCHER_FETCH_ALLOW"])
        runtime = Runtime.load(settings)
        runtime.init_database()
        source = runtime.sources["probe"]
        funds = [i for i in range(100) if is_fund_page(i)]

        async def probe() -> list[float]:
            latencies: list[float] = []
            async with runtime.network():
                await poll_source(runtime, source, force=True)  # the first poll: all new
                await dispatch_outbox(runtime, limit=1000)
                for k in range(changes):
                    seen = mailbox.count()
                    server.site.change_pages([funds[k % len(funds)]])
                    started = time.time()
                    await poll_source(runtime, source, force=True)
                    await dispatch_outbox(runtime, limit=1000)
                    deadline = time.monotonic() + 10
                    while mailbox.count() <= seen and time.monotonic() < deadline:
                        await asyncio.sleep(0.001)
                    with mailbox.lock:
                        arrived = mailbox.arrivals[seen:]
                    if arrived:
                        latencies.append(arrived[0][0] - started)
            return latencies

        return asyncio.run(probe())


# -- output ------------------------------------------------------------------------------

def _mb(size: int) -> str:
    return f"{size / 1e6:.1f}"


def print_table(results: list[Measure], latencies: list[float] | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    console.print(
        "Politeness off for the loopback host (urlwatch has none): "
        + ", ".join(f"{k}={v}" for k, v in POLITENESS_OFF.items())
        + "; loopback allowed: "
        + ", ".join(f"{k}={v}" for k, v in LOOPBACK_ALLOWED.items()))
    table = Table("N", "round", "tool", "wall s", "CPU s", "peak RSS MB", "requests",
                  "conditional", "304", "MB received", "pages parsed", "store MB",
                  "growth MB", "note",
                  title="one full cycle (store: SQLite pages in use)")
    for m in results:
        table.add_row(str(m.n), m.phase, m.tool, f"{m.wall_s:.2f}", f"{m.cpu_s:.2f}",
                      f"{m.peak_rss_mb:.0f}", str(m.requests), str(m.conditional),
                      str(m.not_modified), _mb(m.bytes_received),
                      "" if m.parsed is None else str(m.parsed), _mb(m.store_bytes),
                      _mb(m.growth_bytes), m.note)
    console.print(table)
    ratios = Table("N", "round", "watcher as", "wall urlwatch/watcher",
                   "CPU urlwatch/watcher", "RSS urlwatch/watcher", "growth urlwatch/watcher",
                   title="ratios (higher is better for watcher)")
    pairs: dict[tuple[int, str], dict[str, Measure]] = {}
    for m in results:
        pairs.setdefault((m.n, m.phase), {})[m.tool] = m
    for (n, phase), pair in pairs.items():
        if "urlwatch" not in pair:
            continue
        u = pair["urlwatch"]
        for w in (pair[t] for t in ("watcher", "watcher daemon") if t in pair):
            ratios.add_row(str(n), phase, "check" if w.tool == "watcher" else "daemon",
                           _ratio(u.wall_s, w.wall_s), _ratio(u.cpu_s, w.cpu_s),
                           _ratio(u.peak_rss_mb, w.peak_rss_mb),
                           _ratio(u.growth_bytes, w.growth_bytes))
    if ratios.row_count:
        console.print(ratios)
    for line in target_lines(pairs):
        console.print(line)
    if latencies is not None:
        if latencies:
            console.print(f"change -> email: median {statistics.median(latencies):.3f} s, "
                          f"worst {max(latencies):.3f} s over {len(latencies)} changes")
        else:
            console.print("change -> email: no email arrived")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else ("inf" if a > 0 else "-")


def target_lines(pairs: dict[tuple[int, str], dict[str, Measure]]) -> list[str]:
    lines: list[str] = []
    for (n, phase), pair in pairs.items():
        for tool in ("watcher", "watcher daemon"):
            if tool in pair:
                lines += _targets(n, phase, pair[tool], pair.get("urlwatch"))
    return lines


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _targets(n: int, phase: str, w: Measure, u: Measure | None) -> list[str]:
    lines: list[str] = []
    cold = phase == "cold"
    label = f"{phase} ({'check' if w.tool == 'watcher' else 'daemon'})"
    if not cold:
        unconditional = w.requests - w.conditional
        extra = (w.parsed or 0) - w.changed_pages
        lines.append(f"target N={n} {label}: every request conditional "
                     f"({unconditional} unconditional): {_verdict(unconditional == 0)}; "
                     f"pages parsed {w.parsed} for {w.changed_pages} changed: "
                     f"{_verdict(extra <= 0)}")
    if u is None:
        return lines
    if not cold and n in (1000, 5000):
        goal = 3 if n == 1000 else 5
        lines.append(f"target N={n} {label}: watcher wall <= 1/{goal} of urlwatch's: "
                     f"{w.wall_s:.2f} vs {u.wall_s:.2f} s: "
                     f"{_verdict(w.wall_s * goal <= u.wall_s)}")
    if not cold:
        lines.append(f"target N={n} {label}: store growth <= 1/10 of urlwatch's: "
                     f"{_mb(w.growth_bytes)} vs {_mb(u.growth_bytes)} MB: "
                     f"{_verdict(w.growth_bytes * 10 <= u.growth_bytes)}")
    if cold and n == 1000:
        lines.append(f"target N={n} {label}: no slower than urlwatch: {w.wall_s:.2f} vs "
                     f"{u.wall_s:.2f} s: {_verdict(w.wall_s <= u.wall_s)}")
    if n == 5000:
        lines.append(f"target N={n} {label}: peak RSS <= 100 MB: "
                     f"{w.peak_rss_mb:.0f} MB: {_verdict(w.peak_rss_mb <= 100)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append",
                        help="number of pages (repeatable; default 1000)")
    parser.add_argument("--rounds", type=int, default=2, help="warm rounds after the cold one")
    parser.add_argument("--fraction", type=float, default=0.05,
                        help="share of pages changed before each warm round")
    parser.add_argument("--no-urlwatch", action="store_true", help="measure watcher only")
    parser.add_argument("--no-probe", action="store_true", help="skip the latency probe")
    parser.add_argument("--no-daemon", action="store_true",
                        help="skip the in-process (daemon) cycle; measure `watcher check` only")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip compiling -OO bytecode (the daemon then compiles its "
                             "modules as it starts)")
    parser.add_argument("--probe-changes", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    sizes = args.n or [1000]
    if any(n < 1 or n > 20_000 for n in sizes) or args.rounds < 0 or args.rounds > 20:
        parser.error("--n must be 1..20000 and --rounds 0..20")
    if not 0 < args.fraction <= 1:
        parser.error("--fraction must be in (0, 1]")

    if not (args.no_daemon or args.no_compile):
        compile_optimized_bytecode()
    mailbox = Mailbox()
    controller, notify = start_smtp(mailbox)
    root = Path(tempfile.mkdtemp(prefix="watcher-bench-"))
    try:
        results: list[Measure] = []
        for n in sizes:
            results += bench_n(n, args.rounds, args.fraction, not args.no_urlwatch,
                               not args.no_daemon, notify, root)
        latencies = None if args.no_probe else latency_probe(
            mailbox, notify, root, args.probe_changes)
        print_table(results, latencies)
        if args.json:
            args.json.write_text(json.dumps({
                "results": [asdict(m) for m in results], "latencies_s": latencies,
                "politeness": POLITENESS_OFF}, indent=2))
    finally:
        controller.stop()
        if args.keep:
            print(f"work directory kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if all(m.exit_code == 0 for m in results) else 1


if __name__ == "__main__":
    sys.exit(main())
