"""Deployment files: docker-compose.yml, the Dockerfile and the systemd unit.

No container engine runs here, so what can be checked without one is: the compose file
parses, binds every port to 127.0.0.1 and gives watcher settings it knows (a typo in a
WATCHER_* name would be silently ignored at run time); the image runs the CLI as a
non-root user; the unit file parses (and passes `systemd-analyze verify` where present).
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from watcher.config.targets import load_targets
from watcher.service.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in lines if line and not line.startswith("#")]


def settings_field(variable: str) -> str:
    assert variable.startswith("WATCHER_"), variable
    name = variable.removeprefix("WATCHER_").lower()
    assert name in Settings.model_fields, f"{variable} is not a watcher setting"
    return name


def test_compose_has_watcher_postgres_and_a_mail_catcher(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"watcher", "postgres", "mailpit"} <= set(services)
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert services["watcher"]["build"] == "."
    assert services["watcher"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_binds_every_port_to_loopback(compose: dict[str, Any]) -> None:
    published = [(name, str(port)) for name, service in compose["services"].items()
                 for port in service.get("ports", [])]
    assert published, "nothing published: the test would prove nothing"
    for name, port in published:
        assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_compose_settings_are_real_and_point_at_the_other_services(
        compose: dict[str, Any]) -> None:
    service = compose["services"]["watcher"]
    environment = service["environment"]
    for variable in environment:
        settings_field(variable)
    database = make_url(environment["WATCHER_DATABASE_URL"])
    assert database.drivername == "postgresql+psycopg" and database.host == "postgres"
    postgres = compose["services"]["postgres"]["environment"]
    assert (database.username, database.password, database.database) == (
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"])
    [target] = load_targets(environment["WATCHER_NOTIFY"])  # Apprise accepts it
    assert "mailpit:1025" in target.name
    assert service["command"][:3] == ["run", "--http", "0.0.0.0:9108"]
    assert any("9108:9108" in str(p) for p in service["ports"])
    assert "/healthz" in " ".join(service["healthcheck"]["test"])


def test_the_image_is_slim_non_root_and_runs_the_cli() -> None:
    instructions = dockerfile()
    [base] = [args for op, args in instructions if op == "FROM"]
    assert base.startswith("python:3.11") and base.endswith("-slim")
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("ENTRYPOINT", '["watcher"]') in instructions
    assert ("CMD", '["run"]') in instructions
    # The entry point is the console script pyproject installs: watcher.cli's typer app.
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["watcher"] == "watcher.cli:app"
    for op, args in instructions:
        if op == "ENV":
            for assignment in args.split():
                if assignment.startswith("WATCHER_"):
                    settings_field(assignment.split("=", 1)[0])


def test_the_image_copies_what_the_runtime_reads() -> None:
    copied = {args.split()[0] for op, args in dockerfile() if op == "COPY"}
    assert {"pyproject.toml", "watcher", "db", "sources", "rules"} <= copied
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "*.db" in ignored


def read_unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read_string((REPO / "deploy" / "watcher.service").read_text())
    return unit


def test_the_systemd_unit_runs_the_daemon_and_reloads_with_sighup() -> None:
    unit = read_unit()
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    service = unit["Service"]
    command = service["ExecStart"].split()
    assert command[0].endswith("/watcher") and "run" in command
    assert command[command.index("--http") + 1].startswith("127.0.0.1:")
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["User"] not in ("root", "0")
    assert int(service["TimeoutStopSec"]) > Settings.model_fields["shutdown_grace_s"].default
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_systemd_unit_settings_are_real() -> None:
    text = (REPO / "deploy" / "watcher.service").read_text()
    assignments = [line.split("=", 1)[1] for line in text.splitlines()
                   if line.startswith("Environment=")]
    assert assignments
    for assignment in assignments:
        settings_field(assignment.split("=", 1)[0])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # verify insists that ExecStart exists; point it at a binary that does.
    text = (REPO / "deploy" / "watcher.service").read_text()
    unit = tmp_path / "watcher.service"
    unit.write_text(text.replace("/opt/watcher/.venv/bin/watcher", "/bin/true"))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
