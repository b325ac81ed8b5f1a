"""Every mistake a user can make is one line naming the problem, with the right exit code,
never a traceback (issue 18). Each test runs the real command, through typer's runner or
as a process where the command would start a daemon."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import Result

from tests.helpers.cli import invoke
from tests.helpers.http_server import LOOPBACK_ALLOW

REPO = Path(__file__).resolve().parents[2]
UNKNOWN_FILTER = REPO / "tests" / "fixtures" / "rules" / "unknown-filter"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no watcher.toml from the checkout
    for name in [k for k in os.environ if k.startswith("WATCHER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WATCHER_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("WATCHER_SOURCES_DIR", str(tmp_path / "sources"))
    monkeypatch.setenv("WATCHER_PID_FILE", str(tmp_path / "watcher.pid"))
    monkeypatch.setenv("WATCHER_FETCH_ALLOW", LOOPBACK_ALLOW)  # the test servers' addresses
    (tmp_path / "sources").mkdir()
    return tmp_path


def one_line(result: Result | subprocess.CompletedProcess[str]) -> str:
    """The command's whole stderr, asserted to be a single line without a traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def watcher_process(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m watcher ARGS` in the environment the test set (the fixture's)."""
    return subprocess.run([sys.executable, "-m", "watcher", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))


# --- a rule template with an unknown filter ---------------------------------------------

FILTER_LINE = (f"{UNKNOWN_FILTER / 'new-funding.yaml'}:7:7: body: no filter named 'hdk' "
               "(filters: hkd, status, abs, attr, ")


@pytest.mark.parametrize("command", [["rules", "check"], ["validate"], ["check"]])
def test_unknown_filter_is_one_located_line(command: list[str], env: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_RULES_DIR", str(UNKNOWN_FILTER))
    result = invoke(*command)
    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith(FILTER_LINE), line
    assert line.endswith("xmlattr; template line 2)"), line


def test_unknown_filter_stops_the_daemon_with_one_line(env: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_RULES_DIR", str(UNKNOWN_FILTER))
    result = watcher_process("run")
    assert result.returncode == 2
    assert one_line(result).startswith(FILTER_LINE)


# --- the database URL ---------------------------------------------------------------------

DB_HINT = "use sqlite:///path/watcher.db or postgresql+psycopg://user@host/db"


@pytest.mark.parametrize(("url", "problem"), [
    ("not a url", "not a database URL"),
    ("mysql://bot:TopS3cret@db.example/w", "mysql databases are not supported"),
    ("postgresql+psycopg2://bot:TopS3cret@db.example/w",
     "the driver 'postgresql+psycopg2' is not installed"),
])
@pytest.mark.parametrize("command", [["validate"], ["log"], ["check"], ["run"], ["serve"],
                                     ["outbox", "retry", "--all"]])
def test_a_bad_database_url_is_one_line_from_every_command(
        url: str, problem: str, command: list[str], env: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_DATABASE_URL", url)
    result = invoke(*command)
    assert result.exit_code == 2
    assert one_line(result) == (
        f"WATCHER_DATABASE_URL (or database_url in watcher.toml): {problem}: {DB_HINT}")
    assert "TopS3cret" not in result.output


def test_the_databases_watcher_runs_on_are_accepted(env: Path) -> None:
    from watcher.service.settings import Settings

    for url in ("postgresql://bot@db.example/w", "postgresql+psycopg://bot@db.example/w",
                "sqlite://", f"sqlite:///{env / 'w.db'}"):
        assert Settings(database_url=url).database_url == url


def test_a_read_only_command_never_creates_or_migrates(env: Path) -> None:
    result = invoke("log")
    assert result.exit_code == 1
    assert one_line(result) == (
        f"database error: no database yet at {env / 'w.db'}: `watcher init` creates it, "
        "`watcher check` polls the sources now")
    assert not (env / "w.db").exists()


def test_a_read_only_command_on_an_unreachable_database_says_so(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("WATCHER_DATABASE_URL", f"postgresql+psycopg://u:pw@127.0.0.1:{port}/w")
    result = invoke("log")
    assert result.exit_code == 1
    line = one_line(result)
    assert line == (f"database error: cannot connect to the database at 127.0.0.1:{port}: "
                    "connection refused")


# --- commands given what they cannot use ----------------------------------------------------


def test_extract_a_directory(env: Path) -> None:
    result = invoke("extract", str(env / "sources"))
    assert result.exit_code == 2
    assert one_line(result) == (
        f"{env / 'sources'}: a directory; give one saved page (a file) or an http(s) URL")


@pytest.mark.parametrize(("option", "value", "allowed"), [
    ("--kind", "fundin", "funding, facility, organisation, figure"),
    ("--type", "renamed", "new, changed, removed, seen"),
])
def test_log_with_an_unknown_kind_names_the_kinds(option: str, value: str, allowed: str,
                                                  env: Path) -> None:
    result = invoke("log", option, value)
    assert result.exit_code == 2
    assert one_line(result) == f"{option} {value!r}: use one of {allowed}"


def test_retry_of_no_such_delivery(env: Path) -> None:
    assert invoke("init").exit_code == 0
    result = invoke("outbox", "retry", "999")
    assert result.exit_code == 2
    assert one_line(result) == "no delivery with id 999 (`watcher outbox` lists them)"


def test_serve_on_a_port_in_use(env: Path) -> None:
    import socket

    assert invoke("init").exit_code == 0
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = invoke("serve", "--port", str(port))
    assert result.exit_code == 1
    assert one_line(result) == f"cannot serve on 127.0.0.1:{port}: Address already in use"
    assert "serving" not in result.stdout


# --- `watcher check` when sources fail -------------------------------------------------------


def _source(env: Path, name: str, url: str) -> None:
    (env / "sources" / f"{name}.yaml").write_text(
        f"name: {name}\nkind: html\nurl: {url}\ninterval: 1h\n")


def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("FETCH_RETRIES", "0"), ("OBEY_ROBOTS", "false"),
                        ("PER_HOST_DELAY_S", "0"), ("CONNECT_TIMEOUT_S", "5")):
        monkeypatch.setenv(f"WATCHER_{name}", value)


def _closed_port() -> int:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return int(closed.getsockname()[1])


def test_check_exits_1_when_a_source_failed(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers.daemon import fund_page
    from tests.helpers.http_server import LocalServer, Reply

    _no_waiting(monkeypatch)
    with LocalServer() as site:
        site.routes["/ok.htm"] = fund_page("Alpha", 500)
        site.routes["/gone.htm"] = Reply(404, {}, b"gone")
        _source(env, "alpha", site.url("/ok.htm"))
        _source(env, "beta", site.url("/gone.htm"))
        result = invoke("check")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1] == "1 source of 2 failed: beta"


def test_check_hints_when_no_host_answers(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_waiting(monkeypatch)
    _source(env, "alpha", f"http://127.0.0.1:{_closed_port()}/a.htm")
    _source(env, "beta", f"http://127.0.0.1:{_closed_port()}/b.htm")
    result = invoke("check")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "no source's host could be reached (2 sources: name not found, refused or no "
        "route): is this machine offline, or does it need a proxy?")


def test_check_help_says_the_exit_codes(env: Path) -> None:
    result = invoke("check", "--help")
    assert "1 when any source failed" in " ".join(result.stdout.split())


# --- help, plurals and paths ---------------------------------------------------------------

COMMANDS = [[], ["log"], ["check"], ["backfill"], ["serve"], ["extract"], ["eval"], ["run"],
            ["outbox"], ["outbox", "retry"], ["rules", "test"], ["prune"], ["show"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "watcher")
def test_help_shows_no_type_noise(command: list[str], env: Path) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    for noise in ("<bool>", "<str>", "<int", "<list", "range>", "x>=", "<path>", "TYPE_"):
        assert noise not in result.stdout, (noise, result.stdout)


def test_help_names_values_plainly(env: Path) -> None:
    text = " ".join(invoke("log", "--help").stdout.split())
    assert "--since DURATION" in text and "--kind KIND" in text and "--limit N" in text
    assert " ".join(invoke("extract", "--help").stdout.split()).count("PAGE") >= 2


def test_rules_test_counts_and_paths_read_right(env: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "tests").mkdir(parents=True)
    (rules / "new-funding.yaml").write_text(
        (REPO / "rules" / "new-funding.yaml").read_text(encoding="utf-8"))
    (rules / "tests" / "one.yaml").write_text(
        "tests:\n  - name: a quiet page\n    steps:\n"
        "      - page: {url: 'https://www.info.gov.hk/x.htm', title: t, text: 'Nothing.'}\n"
        "        expect: []\n")
    (rules / "broken.yaml").write_text(
        "id: broken\nwhen: fact_added\nsubject: '{{ fact.nmae }}'\n")
    result = invoke("rules", "test", str(rules / "tests" / "one.yaml"))
    # The rules load from tests/.. and one is broken: its path is written the short way.
    assert result.exit_code == 2
    assert one_line(result).startswith("rules/broken.yaml:3:10: subject: ")  # cwd: env
    (rules / "broken.yaml").unlink()
    result = invoke("rules", "test", str(rules / "tests" / "one.yaml"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["rules/tests/one.yaml: 1 test, ok",
                                          "all 1 rule test passed in 1 file"]


def test_a_target_apprise_refuses_is_one_line_with_its_reason(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_NOTIFY", "mailto://bot:S3cretPw@127.0.0.1:2599?to=o@example.org")
    result = invoke("notify-test")
    assert result.exit_code == 2
    assert one_line(result) == ("WATCHER_NOTIFY: target 1 (mailto): Apprise cannot use this "
                                "URL: Invalid From email specified: Apprise <****@127.0.0.1>")
    assert "S3cretPw" not in result.output


def test_a_send_failure_is_reported_once(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_NOTIFY", f"json://127.0.0.1:{_closed_port()}/hook")
    result = invoke("notify-test")
    assert result.exit_code == 1
    assert result.stderr == ""  # neither Apprise's own lines nor a second report
    [line] = result.stdout.splitlines()
    assert line.startswith("json://127.0.0.1:") and ": FAILED: " in line
