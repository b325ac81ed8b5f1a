"""``watcher run``, ``watcher reload`` and ``watcher serve``: the long-running processes."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Annotated

import typer

from watcher.cli.common import fail, guarded, load_runtime, out
from watcher.service.logs import setup_logging
from watcher.service.settings import Settings

if TYPE_CHECKING:
    from watcher.service.pidfile import PidFile


def run(
    http: Annotated[str | None, typer.Option(
        metavar="HOST:PORT", help="Serve /healthz, /metrics (and the web pages) on HOST:PORT, e.g. "
             "127.0.0.1:9108.")] = None,
    log_format: Annotated[str, typer.Option(metavar="FORMAT", help="human or json (same "
                                                                   "as the global option)")
                          ] = "",
    replace: Annotated[bool, typer.Option("--replace", help="If a daemon already runs with "
                                          "this pid file, stop it and take over (default: "
                                          "refuse, exit 2).")] = False,
) -> None:
    """Run the daemon: poll every source on its schedule and deliver alerts.

    SIGTERM or Ctrl-C stops it cleanly; SIGHUP (or `watcher reload`) re-reads the
    sources, rules and targets."""
    import logging

    from watcher.service.relaunch import relaunch_without_docstrings

    relaunch_without_docstrings()  # python -OO: watcher.service.relaunch says why
    from watcher.service.pidfile import PidFile, pid_file_path

    if log_format:
        if log_format not in ("human", "json"):
            raise fail(f"--log-format {log_format!r}: use human or json")
        setup_logging(log_format, logging.getLogger().level == logging.DEBUG)
    # First of all, before it migrates or loads anything: one daemon per pid file, or
    # `watcher reload` would reach only one of two and the other would run on unseen.
    settings = Settings()
    pid_file = guarded(lambda: PidFile.claim(pid_file_path(settings), replace=replace,
                                             stop_wait_s=settings.shutdown_grace_s + 10))
    try:
        _run_daemon(pid_file, http)
    finally:
        pid_file.release()


def _run_daemon(pid_file: PidFile, http: str | None) -> None:
    import logging

    from watcher.service.schedule import Daemon

    # A schema upgrade runs in a child process: Alembic would stay resident for the
    # daemon's whole life (about 11 MB) for a few moments' work.
    runtime = guarded(lambda: load_runtime(isolated_migration=True))
    sock, web = None, None
    if http:
        # Only with --http: the endpoint brings uvicorn and Starlette (3 MB) to a daemon
        # that otherwise only polls.
        from watcher.service import http as http_endpoint

        try:
            host, port = http_endpoint.parse_address(http)
            sock = http_endpoint.bind(host, port)
        except (ValueError, OSError) as exc:
            raise fail(f"--http {http}: {exc}") from None
        token = runtime.settings.web_token
        if http_endpoint.is_loopback(host) or token:
            from watcher.web import create_app

            web = create_app(runtime.engine, token=token)
        else:
            logging.getLogger("watcher.http").warning(
                "web pages not served on %s without WATCHER_WEB_TOKEN; only /healthz and "
                "/metrics", host)
    asyncio.run(Daemon(runtime, http_socket=sock, web=web, pid_file=pid_file).run())


def reload() -> None:
    """Make the running daemon re-read sources, rules and targets (sends it SIGHUP).

    The daemon is found through its pid file (WATCHER_PID_FILE; default beside the SQLite
    database). An invalid edit is reported here, with file:line, and nothing is sent: the
    daemon keeps running its current configuration."""
    from watcher.service.pidfile import pid_file_path, signal_reload
    from watcher.service.runtime import Config

    settings = Settings()
    guarded(lambda: Config.load(settings))
    pid = guarded(lambda: signal_reload(pid_file_path(settings)))
    out.print(f"asked the daemon (pid {pid}) to reload its configuration")


def serve(
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Address to bind; off loopback "
                                      "needs WATCHER_WEB_TOKEN.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="TCP port (0: any free one).")
                    ] = 8080,
) -> None:
    """Serve the change log, facts, sources, Atom feed and JSON API on the web (read-only)."""
    import uvicorn

    from watcher.service import http as http_endpoint
    from watcher.web import create_app

    settings = Settings()
    if not 0 <= port <= 65535:
        raise fail(f"--port {port}: use a TCP port, 0 to 65535")
    if not http_endpoint.is_loopback(host) and not settings.web_token:
        raise fail(f"refusing to serve on {host}: set WATCHER_WEB_TOKEN to bind beyond "
                   "loopback (every request must then carry the token)")
    runtime = guarded(load_runtime)
    # Bound before saying "serving": a port in use is one line here, not uvicorn's error
    # after a message that said all was well.
    try:
        sock = http_endpoint.bind(host, port)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise fail(f"cannot serve on {host}:{port}: {reason}", 1) from None
    address = http_endpoint.socket_address(sock)
    out.print(f"serving on http://{address}/ (Ctrl-C to stop)", markup=False, highlight=False)
    server = uvicorn.Server(uvicorn.Config(create_app(runtime.engine, token=settings.web_token),
                                           log_level="warning"))
    server.run(sockets=[sock])
